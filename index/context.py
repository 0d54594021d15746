"""The text that is embedded and BM25-indexed for a chunk: its subject and section, then its text.

A bare "Adults older than age 18: 600,000 international units/kg ..." never names the drug; the
prefix makes it findable. Stored text and offsets stay the source's.
"""

from __future__ import annotations

from ingest.types import Chunk


def context_text(head: str | None, section: str | None, text: str) -> str:
    """Join the non-empty parts as "<head> — <section>: <text>".

    >>> context_text("aldesleukin", "Indications and dosages", "Adults: 600,000 IU/kg")
    'aldesleukin — Indications and dosages: Adults: 600,000 IU/kg'
    """
    prefix = " — ".join(p.strip() for p in (head, section) if p and p.strip())
    return f"{prefix}: {text}" if prefix else text


def embed_text(chunk: Chunk) -> str:
    """The contextual text of `chunk`: subject (or title), section, text."""
    return context_text(chunk.subject or chunk.title, chunk.section, chunk.text)
