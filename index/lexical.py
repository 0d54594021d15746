"""`LexicalRetriever`: BM25 (bm25s) over each chunk's contextual text, English stopwords."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

from index.bm25_build import bm25_index
from index.context import embed_text
from index.dense import top_k
from index.groups import ChunkGroup, admitted_rows
from index.types import Filters, Passage

STOPWORDS = "en"


def bm25_tokens(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased word tokens (2+ characters) without English stopwords, as bm25s splits them.

    >>> bm25_tokens(["The dose of IL-2 is 600,000 units"])
    [['dose', 'il', '600', '000', 'units']]
    """
    if not texts:
        return []
    out = bm25s.tokenize(list(texts), stopwords=STOPWORDS, return_ids=False, show_progress=False)
    return [list(tokens) for tokens in out]


def build_bm25(groups: Sequence[ChunkGroup]) -> bm25s.BM25 | None:
    """A bm25s index whose document i is the contextual text of `groups[i]` (None when empty),
    built a batch of texts at a time (index.bm25_build)."""
    if not groups:
        return None
    return bm25_index(lambda: (embed_text(g.chunk) for g in groups), bm25_tokens)


def save_bm25(bm25: bm25s.BM25 | None, folder: Path) -> None:
    """Write the bm25s files (no pickle) into `folder` (nothing when the index is empty)."""
    folder.mkdir(parents=True, exist_ok=True)
    if bm25 is not None:
        bm25.save(str(folder), allow_pickle=False, show_progress=False)


class LexicalRetriever:
    """BM25 over `groups`; filters become a bm25s weight mask (0 drops a row), zero scores drop."""

    name = "lexical"

    def __init__(self, groups: Sequence[ChunkGroup], bm25: bm25s.BM25 | None = None) -> None:
        self.groups = list(groups)
        self.bm25 = bm25 if bm25 is not None else build_bm25(self.groups)
        if self.bm25 is not None and self.bm25.scores["num_docs"] != len(self.groups):
            raise ValueError(
                f"BM25 index has {self.bm25.scores['num_docs']} rows for {len(self.groups)} chunks"
            )

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Passage]:
        """Top-k by BM25 among rows the filters admit; never a zero-score passage."""
        rows = admitted_rows(self.groups, filters)
        if self.bm25 is None or k <= 0 or rows == []:
            return []
        tokens = [t for t in bm25_tokens([query])[0] if t in self.bm25.vocab_dict and t]
        if not tokens:
            return []
        mask = None
        if rows is not None:
            mask = np.zeros(len(self.groups), dtype=np.float32)
            mask[rows] = 1.0
        scores = np.asarray(self.bm25.get_scores(tokens, weight_mask=mask), dtype=np.float64)
        best = [int(i) for i in top_k(scores, k) if scores[i] > 0]
        return [
            self.groups[i].passage(float(scores[i]), rank, self.name, filters)
            for rank, i in enumerate(best, start=1)
        ]

    def save(self, folder: Path) -> None:
        """Write the bm25s files (no pickle) into `folder` (nothing when the index is empty)."""
        save_bm25(self.bm25, folder)

    @classmethod
    def load(cls, folder: Path, groups: Sequence[ChunkGroup]) -> LexicalRetriever:
        """Read what `save` wrote (no pickle)."""
        if not groups:
            return cls(groups, None)
        bm25 = bm25s.BM25.load(str(folder), allow_pickle=False, show_progress=False)
        return cls(groups, bm25)
