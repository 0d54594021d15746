"""Documents and chunk groups as JSON objects (documents.jsonl, chunks.jsonl) and back."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from index.files import sha256_text
from index.groups import ChunkGroup
from ingest.types import Chunk, Document, Span

LOCATOR_FIELDS = (
    "doc_id", "title", "source_type", "section", "page", "start", "end", "subject", "url", "date",
)  # fmt: skip


def canonical(obj: Any) -> str:
    """Stable JSON for hashing: sorted keys, no spaces.

    >>> canonical({"b": 1, "a": [1, "é"]})
    '{"a":[1,"é"],"b":1}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def document_json(doc: Document) -> dict[str, Any]:
    """Every field of `doc` as plain JSON values (spans as [name, start, end])."""
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "source_type": doc.source_type,
        "text": doc.text,
        "sections": [[s.name, s.start, s.end] for s in doc.sections],
        "pages": [[s.name, s.start, s.end] for s in doc.pages],
        "url": doc.url,
        "date": doc.date,
        "subject": doc.subject,
        "aliases": list(doc.aliases),
        "path": doc.path,
        "meta": doc.meta,
    }


def document_from_json(d: Mapping[str, Any]) -> Document:
    """The `Document` that `document_json` wrote."""
    return Document(
        doc_id=d["doc_id"],
        title=d["title"],
        source_type=d["source_type"],
        text=d["text"],
        sections=tuple(Span(str(n), int(a), int(b)) for n, a, b in d.get("sections", ())),
        pages=tuple(Span(str(n), int(a), int(b)) for n, a, b in d.get("pages", ())),
        url=d.get("url"),
        date=d.get("date"),
        subject=d.get("subject"),
        aliases=tuple(d.get("aliases", ())),
        path=d.get("path"),
        meta=dict(d.get("meta") or {}),
    )


def document_fingerprint(record: Mapping[str, Any]) -> str:
    """sha256 of a document record's content and metadata (its source path aside).

    >>> document_fingerprint({"doc_id": "d", "path": "a"}) == document_fingerprint({"doc_id": "d"})
    True
    """
    return sha256_text(canonical({k: v for k, v in record.items() if k != "path"}))


def locator_json(chunk: Chunk) -> dict[str, Any]:
    """Where a chunk stands, without its text."""
    return {name: getattr(chunk, name) for name in LOCATOR_FIELDS}


def chunks_fingerprint(chunks: Sequence[Chunk]) -> str:
    """sha256 over a document's chunk ids and locators, in order."""
    return sha256_text(canonical([[c.chunk_id, locator_json(c)] for c in chunks]))


def group_json(group: ChunkGroup, embed_sha: str) -> dict[str, Any]:
    """One line of chunks.jsonl: the primary chunk and its other occurrences."""
    return {
        "chunk_id": group.chunk_id,
        "embed_sha": embed_sha,
        "text": group.chunk.text,
        "locator": locator_json(group.chunk),
        "also": [locator_json(c) for c in group.occurrences[1:]],
    }


def group_from_json(d: Mapping[str, Any], texts: Mapping[str, str]) -> tuple[ChunkGroup, str]:
    """(group, embed_sha) from a chunks.jsonl line; each occurrence's text is cut from `texts`."""
    chunks = []
    for loc in [d["locator"], *d.get("also", ())]:
        start, end = int(loc["start"]), int(loc["end"])
        text = texts[loc["doc_id"]][start:end]
        chunks.append(Chunk(chunk_id=d["chunk_id"], text=text, **loc))
    if chunks[0].text != d["text"]:
        raise ValueError(f"chunk {d['chunk_id']}: text differs from its document's offsets")
    return ChunkGroup(tuple(chunks)), str(d["embed_sha"])
