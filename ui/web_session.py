"""Per-session uploads: a small in-memory side index merged with the main index.

An upload stays in its uploader's session: its chunks are embedded into an exact (flat) FAISS
index and a bm25s index held in memory, and a `SessionView` presents main + side as one index to
`qa.engine.QA`. Dense scores are cosines from the same model, so the two dense lists merge by
score; BM25 scores of different collections are not comparable, so the two lexical lists merge
by reciprocal rank. The hybrid fusion on top is the index's own `HybridRetriever`.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.dense import DenseRetriever
from index.fusion import rrf
from index.groups import ChunkGroup
from index.hybrid import HybridRetriever
from index.lexical import LexicalRetriever
from index.recent import RecentVectors
from index.types import Filters, Passage, Retriever
from index.units import POOLED, embed_chunks
from ingest.types import Chunk, Document
from qa.terms import tokens

if TYPE_CHECKING:
    from index.embedder import Embedder
    from qa.engine import QA
    from qa.settings import Settings
    from qa.types import Answer


def merge_by_score(lists: Sequence[Sequence[Passage]], k: int, name: str) -> list[Passage]:
    """Passages of several lists with comparable scores, best score first, re-ranked from 1.

    >>> from ingest.types import Chunk as C
    >>> a = Passage(C("a", "d", "t", "x", None, None, 0, 1, "a"), 0.2, 1, "dense")
    >>> b = Passage(C("b", "e", "t", "x", None, None, 0, 1, "b"), 0.9, 1, "dense")
    >>> [(p.chunk.chunk_id, p.rank) for p in merge_by_score([[a], [b]], 5, "dense")]
    [('b', 1), ('a', 2)]
    """
    seen: dict[str, Passage] = {}
    for ranked in lists:
        for p in ranked:
            if p.chunk.chunk_id not in seen or p.score > seen[p.chunk.chunk_id].score:
                seen[p.chunk.chunk_id] = p
    best = sorted(seen.values(), key=lambda p: -p.score)[:k]
    return [Passage(p.chunk, p.score, rank, name, p.also) for rank, p in enumerate(best, 1)]


def merge_by_rank(
    lists: Sequence[Sequence[Passage]], k: int, name: str, rrf_k: int = 60
) -> list[Passage]:
    """Passages of several lists whose scores are not comparable, fused by reciprocal rank."""
    by_id: dict[str, Passage] = {}
    for ranked in lists:
        for p in ranked:
            by_id.setdefault(p.chunk.chunk_id, p)
    fused = rrf([[p.chunk.chunk_id for p in r] for r in lists], rrf_k)
    return [
        Passage(by_id[cid].chunk, score, rank, name, by_id[cid].also)
        for rank, (cid, score) in enumerate(fused[:k], start=1)
    ]


def _document(by_id: dict[str, Document], doc_id: str) -> Document:
    try:
        return by_id[doc_id]
    except KeyError as exc:
        raise KeyError(f"no document with id {doc_id!r}") from exc


class MergedRetriever:
    """Searches the main and the side retriever and merges their lists."""

    def __init__(
        self, main: Retriever, side: Retriever, name: str, by_score: bool, rrf_k: int = 60
    ) -> None:
        self.main, self.side, self.name = main, side, name
        self.by_score, self.rrf_k = by_score, rrf_k

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Passage]:
        lists = [self.main.search(query, k, filters), self.side.search(query, k, filters)]
        if self.by_score:
            return merge_by_score(lists, k, self.name)
        return merge_by_rank(lists, k, self.name, self.rrf_k)


def group_chunks(chunks: Sequence[Chunk]) -> list[ChunkGroup]:
    """Chunks with identical ids collapse into one group (first occurrence leads).

    >>> c = Chunk("h", "d", "t", "x", None, None, 0, 1, "a")
    >>> len(group_chunks([c, c]))
    1
    """
    groups: dict[str, list[Chunk]] = {}
    for c in chunks:
        groups.setdefault(c.chunk_id, []).append(c)
    return [ChunkGroup(tuple(v)) for v in groups.values()]


@dataclass(frozen=True)
class SideIndex:
    """An in-memory index over a session's uploaded documents."""

    documents: tuple[Document, ...]
    chunks: tuple[Chunk, ...]
    dense: DenseRetriever
    lexical: LexicalRetriever
    units: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    unit_mode: str = POOLED  # how the unit vectors were made (index/units.py)

    @classmethod
    def build(
        cls,
        documents: Sequence[Document],
        chunks: Sequence[Chunk],
        embedder: Embedder,
        query_embedder: Embedder | None = None,
        unit_mode: str = POOLED,
    ) -> SideIndex:
        groups = group_chunks(chunks)
        vectors, spans, pooled = embed_chunks(
            embedder, [g.chunk for g in groups], unit_mode, batch_size=32
        )
        units = {
            g.chunk_id: (np.asarray(sp, dtype=np.int32).reshape(-1, 2), vecs)
            for g, sp, vecs in zip(groups, spans, pooled, strict=True)
        }
        dense = DenseRetriever(groups, vectors, query_embedder or embedder, kind="flat")
        lexical = LexicalRetriever(groups)
        return cls(tuple(documents), tuple(chunks), dense, lexical, units, unit_mode)


class SessionView:
    """Main index + a session's side index, with the attributes `qa.engine.QA` reads."""

    def __init__(
        self, main: Any, side: SideIndex, settings: Settings, embedder: Embedder | None = None
    ) -> None:
        self.main = main
        self.side = side
        self.unit_mode = main.unit_mode  # the side index's units are made the same way
        self.embedder = embedder or main.embedder
        side_ids = {d.doc_id for d in side.documents}
        self._documents = [d for d in main.documents() if d.doc_id not in side_ids]
        self._documents.extend(side.documents)
        self._by_id = {d.doc_id: d for d in self._documents}
        self.chunks = [c for c in main.chunks if c.doc_id not in side_ids] + list(side.chunks)
        self._side_rows = {g.chunk_id: i for i, g in enumerate(side.dense.groups)}
        self.dense = MergedRetriever(main.dense, side.dense, "dense", True)
        self.lexical = MergedRetriever(main.lexical, side.lexical, "lexical", False, settings.rrf_k)
        self.hybrid = HybridRetriever(
            self.dense, self.lexical, candidates=settings.candidates, rrf_k=settings.rrf_k
        )

    def documents(self) -> list[Document]:
        return list(self._documents)

    def vector(self, chunk_id: str) -> np.ndarray:
        """The stored vector of a chunk: the session's upload first, else the main index's."""
        row = self._side_rows.get(chunk_id)
        if row is not None:
            return self.side.dense.vectors[row]
        return self.main.vector(chunk_id)

    def unit_vectors(self, chunk_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        if chunk_id in self._side_rows:
            return self.side.units.get(chunk_id)
        return self.main.unit_vectors(chunk_id)

    def document(self, doc_id: str) -> Document:
        return _document(self._by_id, doc_id)


class MemoEmbedder:
    """An embedder that remembers its last vectors by text: a session asks each question of two
    views over the same texts (main + uploads, uploads alone), which then embed them once."""

    def __init__(self, inner: Embedder, size: int = 4096) -> None:
        self.inner = inner
        self.name, self.backend, self.max_tokens = inner.name, inner.backend, inner.max_tokens
        self._dim = inner.dim
        self._memo = RecentVectors(inner.dim, size)

    @property
    def dim(self) -> int:
        return self._dim

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        return self._memo.embed(texts, lambda todo: self.inner.embed(todo, batch_size=batch_size))

    def embed_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int = 64,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        return self.inner.embed_spans(texts, spans, batch_size=batch_size)


class SideView:
    """A session's uploads alone, with the attributes `qa.engine.QA` reads."""

    def __init__(self, side: SideIndex, embedder: Embedder, settings: Settings) -> None:
        self.side = side
        self.unit_mode = side.unit_mode
        self.embedder = embedder
        self.chunks = list(side.chunks)
        self._by_id = {d.doc_id: d for d in side.documents}
        self._rows = {g.chunk_id: i for i, g in enumerate(side.dense.groups)}
        self.dense, self.lexical = side.dense, side.lexical
        self.hybrid = HybridRetriever(
            side.dense, side.lexical, candidates=settings.candidates, rrf_k=settings.rrf_k
        )

    def documents(self) -> list[Document]:
        return list(self._by_id.values())

    def vector(self, chunk_id: str) -> np.ndarray:
        return self.side.dense.vectors[self._rows[chunk_id]]

    def unit_vectors(self, chunk_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        return self.side.units.get(chunk_id)

    def document(self, doc_id: str) -> Document:
        return _document(self._by_id, doc_id)


class SessionQA:
    """What a session with uploads asks: main index + uploads, reconciled with the curated index
    so that a figure an upload states is never shown without the curated answer beside it
    (`qa.conflicts.reconcile`)."""

    def __init__(self, merged: QA, uploads: QA, curated: QA, documents: Sequence[Document]) -> None:
        self.merged, self.uploads, self.curated = merged, uploads, curated
        self.upload_ids = frozenset(d.doc_id for d in documents)
        self.hidden_ids = frozenset(
            d.doc_id for d in documents if d.meta.get("stripped_hidden_chars")
        )

    @property
    def index(self) -> Any:
        return self.merged.index

    @property
    def settings(self) -> Settings:
        return self.merged.settings

    def search(
        self, query: str, k: int = 10, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[Passage]:
        return self.merged.search(query, k=k, filters=filters, mode=mode)

    def ask(
        self, question: str, filters: Filters | None = None, subject_hint: str | None = None
    ) -> Answer:
        from qa.conflicts import cites_any, flag_hidden, reconcile

        session = self.merged.ask(question, filters, subject_hint)  # a bad question raises here
        uploaded = self.uploads.ask(question, filters, subject_hint)
        if not (cites_any(session, self.upload_ids) or cites_any(uploaded, self.upload_ids)):
            return session  # the uploads say nothing here: nothing to reconcile
        curated = self.curated.ask(question, filters, subject_hint)
        if not curated.abstained and not self._on_subject(question, subject_hint, curated):
            curated = replace(curated, abstained=True)  # answers something else: not comparable
        shown = reconcile(session, uploaded, curated, self.upload_ids)
        return flag_hidden(shown, self.hidden_ids)

    def _on_subject(self, question: str, hint: str | None, curated: Answer) -> bool:
        """Whether the curated answer is about what the question asks of: a subject (or drug
        name) the question names is the subject, an alias or in the title of a cited document."""
        text = f"{question} {hint or ''}"
        low = f" {' '.join(tokens(text))} "
        asked = [f.lower() for f in self.curated.focus(text)]
        for c in curated.citations:
            doc = self.curated.index.document(c.doc_id)
            names = [n.lower() for n in (doc.subject, *doc.aliases) if n]
            if any(f" {' '.join(tokens(n))} " in low for n in names):
                return True
            if any(a in " | ".join([*names, doc.title.lower()]) for a in asked):
                return True
        return False


@dataclass
class SessionUploads:
    """One browser session's uploaded files (in a private temp folder) and its QA over them."""

    folder: Path
    documents: list[Document] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    qa: SessionQA | None = None

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class Sessions:
    """The uploads of every live session, keyed by gradio's session hash."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._by_session: dict[str, SessionUploads] = {}

    def get(self, session: str) -> SessionUploads | None:
        with self._lock:
            return self._by_session.get(session)

    def open(self, session: str) -> SessionUploads:
        with self._lock:
            found = self._by_session.get(session)
            if found is None:
                folder = Path(tempfile.mkdtemp(dir=self.root, prefix="session-"))
                found = self._by_session[session] = SessionUploads(folder)
            return found

    def close(self, session: str) -> bool:
        """Forget a session and delete its files; False when it had none."""
        with self._lock:
            found = self._by_session.pop(session, None)
        if found is None:
            return False
        found.close()
        return True

    def close_all(self) -> None:
        with self._lock:
            items = list(self._by_session.values())
            self._by_session.clear()
        for s in items:
            s.close()

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_session)


def add_documents(
    uploads: SessionUploads,
    documents: Sequence[Document],
    chunks: Sequence[Chunk],
    curated: QA,
    settings: Settings,
    make_qa: Callable[[Any, Settings], QA],
) -> SessionQA:
    """Add parsed documents to a session and rebuild its side index and QA view."""
    new_ids = {d.doc_id for d in documents}
    uploads.documents = [d for d in uploads.documents if d.doc_id not in new_ids]
    uploads.documents.extend(documents)
    uploads.chunks = [c for c in uploads.chunks if c.doc_id not in new_ids]
    uploads.chunks.extend(chunks)
    main_index = curated.index
    memo = MemoEmbedder(main_index.embedder)
    side = SideIndex.build(
        uploads.documents, uploads.chunks, main_index.embedder, memo, main_index.unit_mode
    )
    uploads.qa = SessionQA(
        make_qa(SessionView(main_index, side, settings, memo), settings),
        make_qa(SideView(side, memo, settings), settings),
        curated,
        uploads.documents,
    )
    return uploads.qa
