"""Turn chosen sentences into an answer with [n] markers and verbatim citations (pure).

The answer text is the cited source text itself, whitespace tidied and leading bullets dropped;
numbers and units are never rewritten. Contiguous sentences of one passage share one citation
whose quote is the exact stretch of the stored document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.types import Passage
from ingest.types import Chunk
from qa.types import Citation

_BULLET = re.compile(r"^[\s•\-\*·▪●◦]+")


@dataclass(frozen=True)
class Unit:
    """A sentence or list item of a passage; `start`/`end` are offsets in the stored document."""

    passage: Passage
    start: int
    end: int
    text: str
    score: float = 0.0
    label: str = ""  # e.g. "Boxed warning" for the note added to dosing answers
    gloss: bool = False  # the opening sentence of a dictionary definition


def display(text: str) -> str:
    """Source text as shown in an answer: bullets dropped, whitespace runs collapsed.

    >>> display("• Give 5 mg\\n  daily.")
    'Give 5 mg daily.'
    """
    return re.sub(r"\s+", " ", _BULLET.sub("", text)).strip()


def merge_contiguous(units: Sequence[Unit], doc_text_of: dict[str, str]) -> list[list[Unit]]:
    """Group units that follow each other in the same passage (only whitespace between).

    >>> merge_contiguous([], {})
    []
    """
    groups: list[list[Unit]] = []
    for u in units:
        if groups:
            last = groups[-1][-1]
            text = doc_text_of.get(u.passage.doc_id, "")
            same_chunk = (
                last.passage.chunk.chunk_id == u.passage.chunk.chunk_id
                and not u.label
                and not last.label
            )  # a quote never spans two passages, so it always lies inside a listed one
            if same_chunk and last.end <= u.start and not text[last.end : u.start].strip():
                groups[-1].append(u)
                continue
        groups.append([u])
    return groups


def cite(chunk: Chunk, n: int, start: int, end: int, stored: str) -> Citation:
    """Citation [n] of `stored[start:end]` (the document's own text) with the chunk's locators."""
    return Citation(
        n=n,
        doc_id=chunk.doc_id,
        title=chunk.title,
        source_type=chunk.source_type,
        section=chunk.section,
        page=chunk.page,
        quote=stored[start:end],
        start=start,
        end=end,
        chunk_id=chunk.chunk_id,
        url=chunk.url,
        date=chunk.date,
    )


def compose(units: Sequence[Unit], doc_text_of: dict[str, str]) -> tuple[str, tuple[Citation, ...]]:
    """Answer text with markers, and one citation per group of contiguous units.

    `doc_text_of` maps doc_id to stored text, so every quote is cut from the document itself.
    """
    parts: list[str] = []
    citations: list[Citation] = []
    for group in merge_contiguous(units, doc_text_of):
        first, last = group[0], group[-1]
        c = first.passage.chunk
        stored = doc_text_of[c.doc_id]
        quote = stored[first.start : last.end]
        n = len(citations) + 1
        citations.append(cite(c, n, first.start, last.end, stored))
        prefix = f"{first.label}: " if first.label else ""
        parts.append(f"{prefix}{display(quote)} [{n}]")
    return " ".join(parts), tuple(citations)
