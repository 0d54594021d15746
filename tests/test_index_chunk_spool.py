"""The build's chunk table in a scratch file (index/chunk_spool.py) against the same table held
in memory."""

from __future__ import annotations

import random
from pathlib import Path

from index.chunk_spool import ChunkSpool, spool_chunks, spooled_groups
from index.groups import ChunkGroup, group_order
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
    return Chunk(f"c-{text}", doc, f"Title {doc}", "label", section, None, start, start + 9, text)


def test_the_spooled_table_is_the_table_held_in_memory(tmp_path: Path) -> None:
    """Seeded chunks with repeated texts across documents (groups of several occurrences) and
    tied locators: the same groups, occurrences and order, read back field for field."""
    rng = random.Random(21)
    kept = [_chunk(rng, f"old{d}", i) for d in range(6) for i in range(8)]
    new_by_doc = {f"new{d}": [_chunk(rng, f"new{d}", i) for i in range(8)] for d in range(6)}
    want = _in_memory(kept, [c for cs in new_by_doc.values() for c in cs])
    assert any(len(g.occurrences) > 2 for g in want)  # positive control: texts do repeat
    spool = ChunkSpool(tmp_path)
    try:
        new = [(doc, spool_chunks(spool, cs)) for doc, cs in new_by_doc.items()]
        got = spooled_groups(spool, kept, new)
        assert len(got) == len(want)
        assert got.occurrences == len(kept) + 48
        assert list(got) == want
        assert got[-1] == want[-1] and got[2:4] == want[2:4]
    finally:
        spool.close()
