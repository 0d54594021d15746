"""The chunk table of a build, in a scratch file rather than in memory.

A build sees every chunk of the corpus before it can order them (occurrences of the same text
collapse into one group, and groups sort by their primary's locator). Held as `Chunk` objects,
that table costs some 2 KiB a chunk, most of it the texts. Instead each chunk is written to an
anonymous scratch file as one JSON line when it arrives (`ChunkSpool.add`), what ordering needs
is kept as arrays, and the table as line numbers: a group is its occurrences' lines
(`SpooledGroups`), read back when asked.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from array import array
from pathlib import Path

import numpy as np

from index.groups import ChunkGroup
from index.indexed_sequence import IndexedSequence
from ingest.ids import CHUNK_ID_CHARS
from ingest.types import Chunk

_FIELDS = tuple(f.name for f in dataclasses.fields(Chunk))


class ChunkSpool:
    """An append-only file of chunks, one JSON line each, read back by line number, with what
    ordering them needs kept as arrays (some 50 bytes a chunk): the chunk id, the document it
    came with, its offsets. A document's chunks belong to its latest copy: `begin` starts a
    copy (and drops an earlier one's chunks), `slot` finds the live one.

    >>> s = ChunkSpool()
    >>> one = Chunk("c1", "d", "T", "journal", None, None, 0, 4, "dose")
    >>> a = s.add(one, s.begin("d"))
    >>> b = s.add(Chunk("c2", "d", "T", "journal", "Dosage", 2, 5, 9, "600 µg"), s.slot("d"))
    >>> (a, b), s.get(b).text, s.get(a) == one, len(s.groups())
    ((0, 1), '600 µg', True, 2)
    >>> _ = s.begin("d")  # a later copy of "d" with no chunks: the earlier ones are gone
    >>> len(s.groups())
    0
    >>> s.close()
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self._file = tempfile.TemporaryFile(dir=folder)  # unlinked at once: nothing left behind
        self._starts = array("q", [0])  # line i is bytes _starts[i].._starts[i + 1]
        self._width = CHUNK_ID_CHARS  # bytes a chunk id takes in _ids (UTF-8, NUL-padded)
        self._ids = bytearray()
        self._slot = array("i")  # the document copy each line came with
        self._begin = array("q")
        self._end = array("q")
        self._doc_ids: list[str] = []  # by slot
        self._live: dict[str, int] = {}  # doc_id -> its live slot

    def __len__(self) -> int:
        return len(self._starts) - 1

    def begin(self, doc_id: str) -> int:
        """A new copy of `doc_id`: its slot (chunks of an earlier copy are dropped)."""
        self._doc_ids.append(doc_id)
        self._live[doc_id] = len(self._doc_ids) - 1
        return self._live[doc_id]

    def slot(self, doc_id: str) -> int:
        """The live copy of `doc_id` (a new one when there is none)."""
        live = self._live.get(doc_id)
        return self.begin(doc_id) if live is None else live

    def add(self, chunk: Chunk, slot: int) -> int:
        """Write `chunk` of the document copy `slot` at the end; returns its line number."""
        if self._doc_ids[slot] != chunk.doc_id:
            raise ValueError(f"chunk {chunk.chunk_id} of {chunk.doc_id} in {self._doc_ids[slot]}")
        key = chunk.chunk_id.encode("utf-8")
        if not key or b"\0" in key:
            raise ValueError(f"chunk id {chunk.chunk_id!r} is empty or holds a NUL")
        if len(key) > self._width:  # a longer id than any before: widen every slot once
            old, width = self._ids, self._width
            self._width = max(len(key), 2 * width)
            self._ids = bytearray().join(
                old[i : i + width].ljust(self._width, b"\0") for i in range(0, len(old), width)
            )
        line = json.dumps([getattr(chunk, name) for name in _FIELDS], ensure_ascii=False)
        data = (line + "\n").encode("utf-8")
        self._file.write(data)
        self._starts.append(self._starts[-1] + len(data))
        self._ids += key.ljust(self._width, b"\0")
        self._slot.append(slot)
        self._begin.append(chunk.start)
        self._end.append(chunk.end)
        return len(self._starts) - 2

    def get(self, line: int) -> Chunk:
        """The chunk written at line number `line`."""
        self._file.flush()
        lo, hi = self._starts[line], self._starts[line + 1]
        data = os.pread(self._file.fileno(), hi - lo, lo)
        if len(data) != hi - lo:
            raise OSError(f"chunk spool: line {line} is cut off")
        return Chunk(*json.loads(data))

    def groups(self) -> SpooledGroups:
        """The live chunks collapsed by chunk id: a group's occurrences sort by locator
        (doc_id, start, end; ties by line), and groups by their primary's locator, then id, as
        `index.groups.group_order` says."""
        n = len(self)
        if n == 0:
            return SpooledGroups(self, np.zeros(0, np.int64), np.zeros(1, np.int64))
        slots = np.frombuffer(self._slot, dtype=np.int32)
        live_slot = np.zeros(len(self._doc_ids), dtype=bool)
        live_slot[list(self._live.values())] = True
        lines = np.flatnonzero(live_slot[slots])
        rank = np.zeros(len(self._doc_ids), dtype=np.int64)  # each slot's doc_id in sorted order
        rank[sorted(range(len(self._doc_ids)), key=self._doc_ids.__getitem__)] = np.arange(
            len(self._doc_ids)
        )
        ids = np.frombuffer(self._ids, dtype=f"S{self._width}")[lines]
        doc = rank[slots[lines]]
        begin = np.frombuffer(self._begin, dtype=np.int64)[lines]
        end = np.frombuffer(self._end, dtype=np.int64)[lines]
        order = np.lexsort((lines, end, begin, doc, ids))  # by id, then occurrence order
        ids, doc, begin, end, lines = ids[order], doc[order], begin[order], end[order], lines[order]
        first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(ids) else lines[:0]
        sizes = np.diff(np.r_[first, len(ids)])
        by_primary = np.lexsort((ids[first], end[first], begin[first], doc[first]))
        starts = np.zeros(len(first) + 1, dtype=np.int64)
        np.cumsum(sizes[by_primary], out=starts[1:])
        take = np.repeat(first[by_primary] - starts[:-1], sizes[by_primary])
        take += np.arange(len(take))
        return SpooledGroups(self, lines[take], starts)

    def close(self) -> None:
        self._file.close()


class SpooledGroups(IndexedSequence[ChunkGroup]):
    """Chunk groups whose occurrences are lines of a `ChunkSpool`: group i is lines
    `lines[starts[i]:starts[i + 1]]`, its primary first."""

    def __init__(self, spool: ChunkSpool, lines: np.ndarray, starts: np.ndarray) -> None:
        self.spool = spool
        self._lines = lines
        self._starts = starts

    def __len__(self) -> int:
        return len(self._starts) - 1

    def _item(self, i: int) -> ChunkGroup:
        lines = self._lines[self._starts[i] : self._starts[i + 1]]
        return ChunkGroup(tuple(self.spool.get(int(line)) for line in lines))

    @property
    def occurrences(self) -> int:
        """Occurrences over all groups."""
        return len(self._lines)
