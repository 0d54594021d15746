"""`IndexedSequence`: a read-only `Sequence` whose items are made on demand from an index.

Tables kept as arrays (`index.scratch_rows.RowTable`, `index.chunk_spool.SpooledGroups`) hand
out one object per entry when asked; this is the indexing, slicing and iteration they share.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar, overload

T = TypeVar("T")


class IndexedSequence(Sequence[T]):
    """Subclasses give `__len__` and `_item(i)` for 0 <= i < len.

    >>> class Squares(IndexedSequence[int]):
    ...     def __len__(self) -> int: return 4
    ...     def _item(self, i: int) -> int: return i * i
    >>> s = Squares()
    >>> s[-1], s[1:3], list(s)
    (9, [1, 4], [0, 1, 4, 9])
    """

    def _item(self, i: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[T]: ...
    def __getitem__(self, i: int | slice) -> T | Sequence[T]:
        n = len(self)
        if isinstance(i, slice):
            return [self._item(j) for j in range(*i.indices(n))]
        if not -n <= i < n:
            raise IndexError(f"item {i} of {n}")
        return self._item(i % n)

    def __iter__(self) -> Iterator[T]:
        for i in range(len(self)):
            yield self._item(i)
