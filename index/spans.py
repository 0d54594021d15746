"""Span vectors from one forward pass: the mean of the contextual token vectors inside each
character span of a text (pure).

A chunk's sentences are scored against the question at query time. Embedding each sentence on its
own then cost ~200 ms a question; pooling the chunk's own token vectors over each sentence's
characters costs nothing beyond the chunk's embedding at ingest, and every token was read in the
context of the chunk's subject and section. Measured on the development parts (200 COVID-QA,
200 PubMedQA, all seed cases): the same hit@5, fact_all and abstentions as embedding sentences
alone, token F1 0.198 -> 0.207.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def span_tokens(offsets: np.ndarray, start: int, end: int) -> np.ndarray:
    """Positions of the tokens whose characters overlap [start, end); special and padding tokens
    (empty offsets) never do.

    >>> span_tokens(np.array([[0, 0], [0, 4], [5, 9], [10, 12], [0, 0]]), 5, 12).tolist()
    [2, 3]
    """
    s, e = offsets[:, 0], offsets[:, 1]
    return np.flatnonzero((e > s) & (s < end) & (e > start))


def pool_spans(
    hidden: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]]
) -> np.ndarray:
    """One L2-normalised row per span: the mean of `hidden[t]` over the span's tokens; a zero row
    for a span with no token (cut off by truncation).

    >>> h = np.array([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    >>> off = np.array([[0, 0], [0, 3], [4, 8], [9, 12]])
    >>> pool_spans(h, off, [(0, 3), (4, 12), (20, 30)]).tolist()
    [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    """
    out = np.zeros((len(spans), hidden.shape[1]), dtype=np.float32)
    for i, (start, end) in enumerate(spans):
        rows = span_tokens(offsets, start, end)
        if rows.size:
            v = hidden[rows].mean(axis=0)
            norm = float(np.linalg.norm(v))
            if norm > 0:
                out[i] = v / norm
    return out


def empty(dim: int) -> np.ndarray:
    """No span vectors: a (0, dim) float32 array.

    >>> empty(3).shape
    (0, 3)
    """
    return np.zeros((0, dim), dtype=np.float32)


def shifted(spans: Sequence[tuple[int, int]], by: int) -> list[tuple[int, int]]:
    """Spans moved `by` characters (a chunk's spans inside its contextual text).

    >>> shifted([(0, 4), (5, 9)], 10)
    [(10, 14), (15, 19)]
    """
    return [(a + by, b + by) for a, b in spans]
