"""The build's chunk table in a scratch file (index/chunk_spool.py) against the same table held
in memory."""

from __future__ import annotations

import random
from pathlib import Path

from index.chunk_spool import ChunkSpool
from index.groups import ChunkGroup, group_order
from ingest.ids import chunk_id
from ingest.types import Chunk


def _in_memory(kept: list[Chunk], new: list[Chunk]) -> list[ChunkGroup]:
    """What the build did before the table went to a file: collapse by chunk_id, sort."""
    by_id: dict[str, list[Chunk]] = {}
    for c in [*kept, *new]:
        by_id.setdefault(c.chunk_id, []).append(c)
    groups = [ChunkGroup(tuple(sorted(cs, key=group_order))) for cs in by_id.values()]
    return sorted(groups, key=lambda g: (group_order(g.chunk), g.chunk_id))


def _chunk(rng: random.Random, doc: str, i: int) -> Chunk:
    text = rng.choice(["Dose 600,000 IU/kg.", "Renal dosing: halve.", "µg not mg", f"t{i}"])
    start = rng.randrange(0, 50)
    section = rng.choice([None, "Dosage", "Warnings"])
    return Chunk(
        chunk_id(text), doc, f"Title {doc}", "label", section, None, start, start + 9, text
    )


def test_the_spooled_table_is_the_table_held_in_memory(tmp_path: Path) -> None:
    """Seeded chunks with repeated texts across documents (groups of several occurrences) and
    tied locators, documents given in shuffled order, one given twice (the later copy wins):
    the same groups, occurrences and order, read back field for field. It fails when the
    occurrences or the groups are not sorted (both checked)."""
    rng = random.Random(21)
    kept = [_chunk(rng, f"old{d}", i) for d in range(6) for i in range(8)]
    new_by_doc = {f"new{d}": [_chunk(rng, f"new{d}", i) for i in range(8)] for d in range(9)}
    want = _in_memory(kept, [c for cs in new_by_doc.values() for c in cs])
    assert any(len(g.occurrences) > 2 for g in want)  # positive control: texts do repeat
    spool = ChunkSpool(tmp_path)
    try:
        stale = spool.begin("new3")  # an earlier copy of new3, replaced below
        spool.add(_chunk(rng, "new3", 99), stale)
        order = list(new_by_doc)
        rng.shuffle(order)
        for doc in order:
            slot = spool.begin(doc)
            for c in new_by_doc[doc]:
                spool.add(c, slot)
        for c in kept:
            spool.add(c, spool.slot(c.doc_id))
        got = spool.groups()
        assert len(got) == len(want)
        assert got.occurrences == len(kept) + 72
        assert list(got) == want
        assert got[-1] == want[-1] and got[2:4] == want[2:4]
    finally:
        spool.close()


def test_chunk_ids_of_any_length_group_as_strings_do(tmp_path: Path) -> None:
    """Ids are kept as fixed-width bytes, widened when a longer one comes: ids that are
    prefixes of each other, a non-ASCII id and long ones still group, and groups whose primaries
    stand at the same locator still sort by id as strings do."""
    ids = ["ab", "abc", "ab", "é", "x" * 70, "abc", "a", "x" * 70 + "b", "b", "a" * 30]
    docs = ["d0", "d1", "d2", "d3", "d4", "d5", "d6", "d4", "d6", "d6"]  # d4, d6: tied locators
    chunks = [
        Chunk(cid, doc, "T", "label", None, None, 0, 1, "t")
        for cid, doc in zip(ids, docs, strict=True)
    ]
    spool = ChunkSpool(tmp_path)
    try:
        for c in chunks:
            spool.add(c, spool.slot(c.doc_id))
        assert list(spool.groups()) == _in_memory([], chunks)
        got = [g.chunk_id for g in spool.groups()]
        assert got == ["ab", "abc", "é", "x" * 70, "x" * 70 + "b", "a", "a" * 30, "b"]
    finally:
        spool.close()


def test_an_empty_spool_has_no_groups(tmp_path: Path) -> None:
    spool = ChunkSpool(tmp_path)
    try:
        assert len(spool.groups()) == 0 and list(spool.groups()) == []
        spool.begin("d")
        assert len(spool.groups()) == 0
    finally:
        spool.close()
