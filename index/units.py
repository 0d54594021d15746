"""`UnitTable`: the stored vector of every answer unit (sentence or list item) of every chunk.

Rows of `spans` are (chunk row, start, end), start and end relative to the chunk's text and in
the order `ingest.text.split_units` gives them; `vectors` holds one float16 row per span
(pooled from the chunk's own forward pass at ingest, see index/spans.py), read from the file
row by row when it is an `NpyRows`.
"""

from __future__ import annotations

import numpy as np

from index.npy_rows import NpyRows
from ingest.text import split_units
from ingest.types import Chunk

UNIT_DTYPE = np.float16


def chunk_units(chunk: Chunk) -> list[tuple[int, int]]:
    """The answer units of `chunk`, as (start, end) offsets into its text.

    >>> c = Chunk("c", "d", "t", "monograph", None, None, 10, 30, "Give 5 mg. Repeat it.")
    >>> chunk_units(c)
    [(0, 10), (11, 21)]
    """
    return split_units(chunk.text)


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
