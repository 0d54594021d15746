"""The two records that leave ingest: a parsed `Document` and the `Chunk`s cut from it.

A chunk carries its own locator (doc id, title, source type, section, page, character offsets
into the document's stored text), so later stages never reopen a source file to cite it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Source types used across the project (free strings are allowed; these are the known ones).
MONOGRAPH = "monograph"  # drug-handbook monographs and FDA label sections
DEFINITION = "definition"  # dictionary definitions (NCI, the seed's dictionary entries)
PERIODICAL = "periodical"  # magazine / news excerpts ("References in periodicals archive")
JOURNAL = "journal"  # journal abstracts and articles (PubMed, CORD-19)
DOCUMENT = "document"  # anything else: plain text, Markdown, PDF uploads
SOURCE_TYPES = (MONOGRAPH, DEFINITION, PERIODICAL, JOURNAL, DOCUMENT)


@dataclass(frozen=True)
class Span:
    """A named stretch `[start, end)` of a document's stored text (a section or a page)."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class Document:
    """One source document as stored: `text` is what citations' offsets point into.

    `sections` name stretches of `text` (monograph sections, abstract parts); `pages` give the
    1-based page of each stretch for paged sources (PDF), with `Span.name` the page number.
    """

    doc_id: str
    title: str
    source_type: str
    text: str
    sections: tuple[Span, ...] = ()
    pages: tuple[Span, ...] = ()
    url: str | None = None
    date: str | None = None
    subject: str | None = None  # what the document is about (drug or term), for context
    aliases: tuple[str, ...] = ()  # other names of the subject found in the source
    path: str | None = None  # the file it came from, for reports
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Chunk:
    """A retrievable stretch of one document; `text == document.text[start:end]`."""

    chunk_id: str  # content hash of the normalised text (see ingest.ids)
    doc_id: str
    title: str
    source_type: str
    section: str | None
    page: int | None
    start: int
    end: int
    text: str
    subject: str | None = None
    url: str | None = None
    date: str | None = None
