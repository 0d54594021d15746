"""`NpyRows`: rows of a 2-d .npy file read on demand with `os.pread`, never held in memory.

A query reads the vectors of a few dozen answer units; holding every unit's vector of a large
index in memory would cost 768 bytes a unit. A file that shrinks under a reader gives a short
read, which is raised as `IndexCorrupt` (a memory map would kill the process with SIGBUS).
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Protocol

import numpy as np

from index.errors import IndexCorrupt


class NpyRows:
    """A read-only, C-ordered 2-d .npy file; `rows(lo, hi)` reads rows lo..hi-1."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            with open(self.path, "rb") as f:
                major, _ = np.lib.format.read_magic(f)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if major == 1
                    else np.lib.format.read_array_header_2_0
                )
                shape, fortran, dtype = read_header(f, max_header_size=10_000)
                self.offset = f.tell()
        except (OSError, ValueError, SyntaxError) as exc:
            raise IndexCorrupt(f"{self.path}: not a readable .npy file ({exc})") from exc
        if fortran or len(shape) != 2 or dtype.hasobject:
            raise IndexCorrupt(f"{self.path}: expected a C-ordered 2-d numeric array")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self._row_bytes = self.shape[1] * self.dtype.itemsize
        size = self.path.stat().st_size
        if size != self.offset + self.shape[0] * self._row_bytes:
            raise IndexCorrupt(f"{self.path}: {size} bytes do not hold a {shape} {dtype} array")
        self._fd = os.open(self.path, os.O_RDONLY)
        self._closer = weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, lo: int, hi: int) -> np.ndarray:
        """Rows lo..hi-1 as a new array (IndexCorrupt when the file no longer holds them)."""
        lo, hi = max(0, lo), min(self.shape[0], hi)
        if hi <= lo:
            return np.zeros((0, self.shape[1]), dtype=self.dtype)
        want = (hi - lo) * self._row_bytes
        data = os.pread(self._fd, want, self.offset + lo * self._row_bytes)
        if len(data) != want:
            raise IndexCorrupt(f"{self.path}: rows {lo}..{hi - 1} cut off ({len(data)} bytes)")
        return np.frombuffer(data, dtype=self.dtype).reshape(hi - lo, self.shape[1])

    def read_all(self) -> np.ndarray:
        return self.rows(0, self.shape[0])

    def close(self) -> None:
        self._closer()


class RowSource(Protocol):
    """Anything that hands out rows lo..hi-1 of a 2-d array: a .npy file, a scratch file, an
    array in memory."""

    @property
    def shape(self) -> tuple[int, int]: ...

    def rows(self, lo: int, hi: int) -> np.ndarray: ...


class ArrayRows:
    """An array in memory as a `RowSource`.

    >>> ArrayRows(np.arange(6).reshape(3, 2)).rows(1, 3).tolist()
    [[2, 3], [4, 5]]
    """

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    @property
    def shape(self) -> tuple[int, int]:
        n, dim = self.array.shape
        return (int(n), int(dim))

    def rows(self, lo: int, hi: int) -> np.ndarray:
        return self.array[lo:hi]
