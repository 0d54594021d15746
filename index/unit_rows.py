"""Answer-unit vectors on their way into a new version, kept in files rather than in memory.

A build embeds every chunk once and pools its answer units' vectors (768 bytes each as float16,
several per chunk). Held in memory until the version is written, they would grow the build by
kilobytes a chunk; instead the fresh ones go to an anonymous scratch file as they are embedded
(`ScratchRows`, gone when closed or when the process dies), reused ones stay in the previous
version's units.npy, and `UnitRef` says where a chunk's rows lie. `units_npy` streams units.npy
from those refs in row order, a chunk at a time.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.layout import npy_header
from index.npy_rows import NpyRows


class ScratchRows:
    """An append-only file of (k, dim) rows of one dtype, read back by row range.

    >>> s = ScratchRows(3, np.float16)
    >>> s.append(np.ones((2, 3))), s.append(np.zeros((1, 3)))
    ((0, 2), (2, 3))
    >>> s.rows(1, 3).tolist()
    [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    >>> s.close()
    """

    def __init__(self, dim: int, dtype: type[np.floating], folder: str | Path | None = None):
        self.dim = dim
        self.dtype = np.dtype(dtype)
        self._row_bytes = dim * self.dtype.itemsize
        self._file = tempfile.TemporaryFile(dir=folder)  # unlinked at once: nothing left behind
        self._rows = 0

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


@dataclass(frozen=True)
class UnitRef:
    """Rows lo..hi-1 of `source`: one chunk's answer-unit vectors."""

    source: ScratchRows | NpyRows
    lo: int
    hi: int

    def read(self) -> np.ndarray:
        return self.source.rows(self.lo, self.hi)


def units_npy(refs: Sequence[UnitRef], dim: int, dtype: type[np.floating]) -> Iterator[bytes]:
    """units.npy of the rows behind `refs`, in order, as its header and then a chunk at a time.

    >>> import io
    >>> s = ScratchRows(2, np.float16)
    >>> refs = [UnitRef(s, *s.append(np.full((n, 2), n))) for n in (2, 0, 1)]
    >>> np.load(io.BytesIO(b"".join(units_npy(refs[::-1], 2, np.float16)))).tolist()
    [[1.0, 1.0], [2.0, 2.0], [2.0, 2.0]]
    """
    yield npy_header((sum(r.hi - r.lo for r in refs), dim), dtype)
    for ref in refs:
        if ref.hi > ref.lo:
            yield np.ascontiguousarray(ref.read(), dtype=dtype).tobytes()
