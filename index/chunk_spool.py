"""The chunk table of a build, in a scratch file rather than in memory.

A build sees every chunk of the corpus before it can order them (occurrences of the same text
collapse into one group, and groups sort by their primary's locator). Held as `Chunk` objects,
that table costs some 2 KiB a chunk, most of it the texts. Instead each chunk is written to an
anonymous scratch file as one JSON line when it arrives (`ChunkSpool.add`), and the table is
kept as line numbers: a group is its occurrences' lines (`SpooledGroups`), read back when asked.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import overload

from index.groups import ChunkGroup, group_order
from ingest.types import Chunk

_FIELDS = tuple(f.name for f in dataclasses.fields(Chunk))


class ChunkSpool:
    """An append-only file of chunks, one JSON line each, read back by line number.

    >>> s = ChunkSpool()
    >>> one = Chunk("c1", "d", "T", "journal", None, None, 0, 4, "dose")
    >>> a, b = s.add(one), s.add(Chunk("c2", "d", "T", "journal", "Dosage", 2, 5, 9, "600 µg"))
    >>> (a, b), s.get(b).text, s.get(a) == one
    ((0, 1), '600 µg', True)
    >>> s.close()
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self._file = tempfile.TemporaryFile(dir=folder)  # unlinked at once: nothing left behind
        self._starts = array("q", [0])  # line i is bytes _starts[i].._starts[i + 1]

    def __len__(self) -> int:
        return len(self._starts) - 1

    def add(self, chunk: Chunk) -> int:
        """Write `chunk` at the end; returns its line number."""
        line = json.dumps([getattr(chunk, name) for name in _FIELDS], ensure_ascii=False)
        data = (line + "\n").encode("utf-8")
        self._file.write(data)
        self._starts.append(self._starts[-1] + len(data))
        return len(self._starts) - 2

    def get(self, line: int) -> Chunk:
        """The chunk written at line number `line`."""
        self._file.flush()
        lo, hi = self._starts[line], self._starts[line + 1]
        data = os.pread(self._file.fileno(), hi - lo, lo)
        if len(data) != hi - lo:
            raise OSError(f"chunk spool: line {line} is cut off")
        return Chunk(*json.loads(data))

    def close(self) -> None:
        self._file.close()


class SpooledGroups(Sequence[ChunkGroup]):
    """Chunk groups whose occurrences are lines of a `ChunkSpool`: group i is lines
    `lines[starts[i]:starts[i + 1]]`, its primary first."""

    def __init__(self, spool: ChunkSpool, lines: array[int], starts: array[int]) -> None:
        self.spool = spool
        self._lines = lines
        self._starts = starts

    def __len__(self) -> int:
        return len(self._starts) - 1

    @overload
    def __getitem__(self, i: int) -> ChunkGroup: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[ChunkGroup]: ...
    def __getitem__(self, i: int | slice) -> ChunkGroup | Sequence[ChunkGroup]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(f"group {i} of {len(self)}")
        i %= len(self)
        lines = self._lines[self._starts[i] : self._starts[i + 1]]
        return ChunkGroup(tuple(self.spool.get(line) for line in lines))

    def __iter__(self) -> Iterator[ChunkGroup]:
        for i in range(len(self)):
            yield self[i]

    @property
    def occurrences(self) -> int:
        """Occurrences over all groups."""
        return len(self._lines)


@dataclasses.dataclass(frozen=True, slots=True)
class Spooled:
    """What ordering a spooled chunk needs: its id, its locator's sort key, its line."""

    chunk_id: str
    start: int
    end: int
    line: int


def spool_chunks(spool: ChunkSpool, chunks: Iterable[Chunk]) -> tuple[Spooled, ...]:
    """Write `chunks` to `spool`; what each one's place in the table needs."""
    return tuple(Spooled(c.chunk_id, c.start, c.end, spool.add(c)) for c in chunks)


def spooled_groups(
    spool: ChunkSpool,
    kept: Iterable[Chunk],
    new: Iterable[tuple[str, Sequence[Spooled]]],
) -> SpooledGroups:
    """The version's groups: the `kept` occurrences of the previous version (spooled now) and
    the `new` chunks by doc_id, collapsed by chunk_id; each group's occurrences and the groups
    sort by locator (ties in the order given), as `index.groups.group_order` says."""
    by_id: dict[str, list[tuple[str, int, int, int]]] = {}
    for c in kept:
        by_id.setdefault(c.chunk_id, []).append((*group_order(c), spool.add(c)))
    for doc_id, spooled in new:
        for s in spooled:
            by_id.setdefault(s.chunk_id, []).append((doc_id, s.start, s.end, s.line))
    order = sorted(by_id.items(), key=lambda item: (min(item[1])[:3], item[0]))
    lines, starts = array("q"), array("q", [0])
    for _, occurrences in order:
        lines.extend(line for *_, line in sorted(occurrences))
        starts.append(len(lines))
    return SpooledGroups(spool, lines, starts)
