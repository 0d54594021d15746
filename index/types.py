"""What retrieval returns: a `Passage` (a chunk with its score), and the `Retriever` interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ingest.types import Chunk


@dataclass(frozen=True)
class Occurrence:
    """Where an identical chunk text also stands (duplicates collapse into one passage)."""

    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A ranked chunk. `chunk` keeps the first occurrence's locator; `also` lists the others."""

    chunk: Chunk
    score: float
    rank: int
    retriever: str
    also: tuple[Occurrence, ...] = ()

    @property
    def doc_id(self) -> str:
        return self.chunk.doc_id

    @property
    def text(self) -> str:
        return self.chunk.text


@dataclass(frozen=True)
class Filters:
    """Restrict a search before ranking. Empty tuples mean "no restriction"."""

    source_types: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    # Doc-id prefixes, e.g. "spl:608d4f0d" for all sections of one label.
    doc_prefixes: tuple[str, ...] = field(default=())

    def admits(self, chunk: Chunk) -> bool:
        """True when `chunk` passes every filter.

        >>> Filters(source_types=("monograph",)).admits(_demo_chunk("monograph"))
        True
        """
        if self.source_types and chunk.source_type not in self.source_types:
            return False
        if self.doc_ids and chunk.doc_id not in self.doc_ids:
            return False
        if self.doc_prefixes and not any(chunk.doc_id.startswith(p) for p in self.doc_prefixes):
            return False
        return True

    @property
    def empty(self) -> bool:
        return not (self.source_types or self.doc_ids or self.doc_prefixes)


class Retriever(Protocol):
    """One interface, several implementations (dense, lexical, hybrid, Milvus)."""

    name: str

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Passage]:
        """Return at most `k` passages, best first; `[]` when the filters admit nothing."""
        ...


def _demo_chunk(source_type: str) -> Chunk:
    return Chunk("c", "d", "t", source_type, None, None, 0, 1, "x")
