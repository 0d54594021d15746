"""`UnitTable`: the stored vector of every answer unit (sentence or list item) of every chunk.

Rows of `spans` are (chunk row, start, end), start and end relative to the chunk's text and in
the order `ingest.text.split_units` gives them; `vectors` holds one float16 row per span, read
from the file row by row when it is an `NpyRows`.

How a unit's vector is made is the build's `unit_vectors` setting, recorded in the manifest's
"units" (an index written before it was recorded is "pooled"):

- "pooled" (default): the mean of the chunk's own contextual token vectors over the unit's
  characters (index/spans.py), from the chunk's forward pass: nothing extra to embed at ingest.
- "alone": the unit embedded alone in its chunk's context (`embed_units`: "<subject> —
  <section>: <sentence>"), about as much embedding again as the chunks themselves. QA then
  also ranks passages by their best unit's similarity instead of the chunk's. Measured on the
  development parts: covidqa.dev hit@5 0.767 -> 0.797 (the pooled vectors in the same place:
  0.739), seed.dev and pubmedqa.dev unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from index.context import embed_text, unit_text
from index.embedder import Embedder
from index.errors import IndexCorrupt
from index.npy_rows import NpyRows
from index.spans import shifted
from ingest.text import split_units
from ingest.types import Chunk

UNIT_DTYPE = np.float16
POOLED, ALONE = "pooled", "alone"
UNIT_MODES = (POOLED, ALONE)


def unit_mode(manifest: dict[str, Any]) -> str:
    """How the index's unit vectors were made ("pooled" when the manifest predates the record).

    >>> unit_mode({}), unit_mode({"units": "alone"})
    ('pooled', 'alone')
    """
    mode = manifest.get("units", POOLED)
    if mode not in UNIT_MODES:
        raise IndexCorrupt(f"manifest: units {mode!r} is not one of {', '.join(UNIT_MODES)}")
    return str(mode)


def chunk_units(chunk: Chunk) -> list[tuple[int, int]]:
    """The answer units of `chunk`, as (start, end) offsets into its text.

    >>> c = Chunk("c", "d", "t", "monograph", None, None, 10, 30, "Give 5 mg. Repeat it.")
    >>> chunk_units(c)
    [(0, 10), (11, 21)]
    """
    return split_units(chunk.text)


def embed_chunks(
    embedder: Embedder, chunks: Sequence[Chunk], mode: str = POOLED, *, batch_size: int = 64
) -> tuple[np.ndarray, list[list[tuple[int, int]]], list[np.ndarray]]:
    """(chunk vectors of their contextual texts, each chunk's unit spans, each chunk's (k, dim)
    unit vectors), the unit vectors made as `mode` says."""
    texts = [embed_text(c) for c in chunks]
    units = [chunk_units(c) for c in chunks]
    if mode == POOLED:
        spans = [
            shifted(u, len(t) - len(c.text)) for u, t, c in zip(units, texts, chunks, strict=True)
        ]
        vectors, pooled = embedder.embed_spans(texts, spans, batch_size=batch_size)
        return vectors, units, pooled
    if mode != ALONE:
        raise ValueError(f"unit vectors must be one of {UNIT_MODES}, got {mode!r}")
    vectors = embedder.embed(texts, batch_size=batch_size)
    return vectors, units, embed_units(embedder, chunks, units, batch_size=batch_size)


def embed_units(
    embedder: Embedder,
    chunks: Sequence[Chunk],
    spans: Sequence[Sequence[tuple[int, int]]],
    *,
    batch_size: int = 64,
) -> list[np.ndarray]:
    """One (k, dim) float32 array per chunk: each of its `spans` embedded alone in the chunk's
    context (`index.context.unit_text`), in one embedder call (which sorts by length)."""
    texts = [unit_text(c, a, b) for c, sp in zip(chunks, spans, strict=True) for a, b in sp]
    flat = (
        embedder.embed(texts, batch_size=batch_size)
        if texts
        else np.zeros((0, embedder.dim), dtype=np.float32)
    )
    if flat.shape != (len(texts), embedder.dim):
        raise ValueError(
            f"embedder {embedder.name} returned shape {flat.shape} for {len(texts)} units"
        )
    bounds = np.cumsum([0, *(len(sp) for sp in spans)])
    return [flat[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


class UnitTable:
    """Look up a chunk row's unit spans and vectors (read only)."""

    def __init__(self, spans: np.ndarray, vectors: np.ndarray | NpyRows, n_rows: int) -> None:
        if spans.ndim != 2 or spans.shape[1] != 3 or len(spans) != len(vectors):
            raise ValueError(f"unit spans {spans.shape} do not fit unit vectors {vectors.shape}")
        rows = spans[:, 0]
        if len(rows) and (np.any(np.diff(rows) < 0) or rows[0] < 0 or rows[-1] >= n_rows):
            raise ValueError(f"unit rows are not sorted within 0..{n_rows - 1}")
        self.spans = spans
        self.vectors = vectors
        self._bounds = np.searchsorted(rows, np.arange(n_rows + 1))

    def row_range(self, row: int) -> tuple[int, int]:
        """The unit rows lo..hi-1 of chunk row `row`."""
        return int(self._bounds[row]), int(self._bounds[row + 1])

    def for_row(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """((k, 2) start/end offsets, (k, dim) float32 vectors) of chunk row `row`."""
        lo, hi = self.row_range(row)
        if isinstance(self.vectors, NpyRows):
            return self.spans[lo:hi, 1:], self.vectors.rows(lo, hi).astype(np.float32)
        return self.spans[lo:hi, 1:], self.vectors[lo:hi].astype(np.float32)
