"""Vectors on their way into a new version, kept in files rather than in memory.

A build embeds every chunk once: a chunk vector (1.5 KiB as float32) and its answer units'
vectors (768 bytes each as float16, several a chunk). Held in memory until the version is
written, they would grow the build by kilobytes a chunk; instead the fresh ones go to anonymous
scratch files as they are embedded (`ScratchRows`, gone when closed or when the process dies),
reused ones stay where the previous version keeps them, and a `RowRef` says where a chunk's rows
lie. `rows_npy` streams a .npy file from those refs in row order, a chunk at a time.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.layout import npy_header
from index.npy_rows import RowSource


class ScratchRows:
    """An append-only file of (k, dim) rows of one dtype, read back by row range.

    >>> s = ScratchRows(3, np.float16)
    >>> s.append(np.ones((2, 3))), s.append(np.zeros((1, 3)))
    ((0, 2), (2, 3))
    >>> s.rows(1, 3).tolist(), s.shape
    ([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]], (3, 3))
    >>> s.close()
    """

    def __init__(self, dim: int, dtype: type[np.floating], folder: str | Path | None = None):
        self.dim = dim
        self.dtype = np.dtype(dtype)
        self._row_bytes = dim * self.dtype.itemsize
        self._file = tempfile.TemporaryFile(dir=folder)  # unlinked at once: nothing left behind
        self._rows = 0

    @property
    def shape(self) -> tuple[int, int]:
        return (self._rows, self.dim)

    def append(self, rows: np.ndarray) -> tuple[int, int]:
        """Write `rows` (cast to the file's dtype) at the end; returns their row range."""
        data = np.ascontiguousarray(rows, dtype=self.dtype).reshape(-1, self.dim)
        if data.size:
            self._file.write(data.data.cast("B"))
        lo = self._rows
        self._rows += len(data)
        return lo, self._rows

    def rows(self, lo: int, hi: int) -> np.ndarray:
        self._file.flush()
        want = (hi - lo) * self._row_bytes
        data = os.pread(self._file.fileno(), want, lo * self._row_bytes)
        if len(data) != want:
            raise OSError(f"scratch file: rows {lo}..{hi - 1} cut off ({len(data)} bytes)")
        return np.frombuffer(data, dtype=self.dtype).reshape(hi - lo, self.dim)

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True, slots=True)
class RowRef:
    """Rows lo..hi-1 of `source`: a chunk's vector (one row) or its answer units' vectors."""

    source: RowSource
    lo: int
    hi: int

    def read(self) -> np.ndarray:
        return self.source.rows(self.lo, self.hi)


def rows_npy(refs: Sequence[RowRef], dim: int, dtype: type[np.floating]) -> Iterator[bytes]:
    """A .npy file of the rows behind `refs`, in order: its header, then a ref at a time.

    >>> import io
    >>> s = ScratchRows(2, np.float16)
    >>> refs = [RowRef(s, *s.append(np.full((n, 2), n))) for n in (2, 0, 1)]
    >>> np.load(io.BytesIO(b"".join(rows_npy(refs[::-1], 2, np.float16)))).tolist()
    [[1.0, 1.0], [2.0, 2.0], [2.0, 2.0]]
    """
    yield npy_header((sum(r.hi - r.lo for r in refs), dim), dtype)
    for ref in refs:
        if ref.hi > ref.lo:
            yield np.ascontiguousarray(ref.read(), dtype=dtype).tobytes()
