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

from index.indexed_sequence import IndexedSequence
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

    def __init__(
        self, dim: int, dtype: type[np.floating | np.integer], folder: str | Path | None = None
    ):
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


class RowTable(IndexedSequence[RowRef]):
    """Row ranges of one of a few sources, as arrays (some 17 bytes a chunk, where a `RowRef`
    object costs about a hundred): entry i is rows lo[i]..hi[i]-1 of sources[src[i]].

    >>> from index.npy_rows import ArrayRows
    >>> a, b = ArrayRows(np.arange(4).reshape(2, 2)), ArrayRows(np.arange(6).reshape(3, 2) + 10)
    >>> t = RowTable([a, b], 3)
    >>> t.set(0, 1, 2, 3); t.set(1, 0, 0, 2); t.copy(2, 0)
    >>> [r.read().tolist() for r in t]
    [[[14, 15]], [[0, 1], [2, 3]], [[14, 15]]]
    """

    def __init__(self, sources: Sequence[RowSource], n: int) -> None:
        self.sources = list(sources)
        self.src = np.zeros(n, dtype=np.int8)
        self.lo = np.zeros(n, dtype=np.int64)
        self.hi = np.zeros(n, dtype=np.int64)

    def set(self, i: int, src: int, lo: int, hi: int) -> None:
        self.src[i], self.lo[i], self.hi[i] = src, lo, hi

    def copy(self, i: int, j: int) -> None:
        """Entry i becomes entry j."""
        self.set(i, int(self.src[j]), int(self.lo[j]), int(self.hi[j]))

    def __len__(self) -> int:
        return len(self.src)

    def _item(self, i: int) -> RowRef:
        return RowRef(self.sources[int(self.src[i])], int(self.lo[i]), int(self.hi[i]))

    def total(self) -> int:
        """Rows over all entries."""
        return int((self.hi - self.lo).sum())


def rows_npy(
    refs: Sequence[RowRef], dim: int, dtype: type[np.floating | np.integer]
) -> Iterator[bytes]:
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
