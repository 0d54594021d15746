"""`ChunkGroup`: one stored chunk text with every place it occurs (duplicates collapse)."""

from __future__ import annotations

from dataclasses import dataclass

from index.types import Filters, Occurrence, Passage
from ingest.types import Chunk


@dataclass(frozen=True)
class ChunkGroup:
    """Identical chunk texts (same chunk_id): `occurrences[0]` is the primary locator."""

    occurrences: tuple[Chunk, ...]

    @property
    def chunk(self) -> Chunk:
        return self.occurrences[0]

    @property
    def chunk_id(self) -> str:
        return self.occurrences[0].chunk_id

    def admitted(self, filters: Filters | None) -> Chunk | None:
        """The first occurrence the filters admit (None when none does)."""
        if filters is None or filters.empty:
            return self.occurrences[0]
        return next((c for c in self.occurrences if filters.admits(c)), None)

    def passage(self, score: float, rank: int, retriever: str, filters: Filters | None) -> Passage:
        """A passage located at the first admitted occurrence; the others go in `also`."""
        lead = self.admitted(filters) or self.occurrences[0]
        also = tuple(
            Occurrence(c.doc_id, c.start, c.end) for c in self.occurrences if c is not lead
        )
        return Passage(chunk=lead, score=float(score), rank=rank, retriever=retriever, also=also)


def group_order(chunk: Chunk) -> tuple[str, int, int]:
    """Occurrences sort by (doc_id, start, end), so the primary does not depend on history.

    >>> group_order(Chunk("c", "d", "t", "journal", None, None, 4, 9, "x"))
    ('d', 4, 9)
    """
    return (chunk.doc_id, chunk.start, chunk.end)


def admitted_rows(groups: list[ChunkGroup], filters: Filters | None) -> list[int] | None:
    """Rows whose group passes the filters; None means every row (no filter)."""
    if filters is None or filters.empty:
        return None
    return [i for i, g in enumerate(groups) if g.admitted(filters) is not None]
