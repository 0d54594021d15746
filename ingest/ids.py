"""Stable ids: chunk ids from content, document ids from paths, content hashes for files."""

from __future__ import annotations

import hashlib
from pathlib import PurePath

from ingest.text import normalise

CHUNK_ID_CHARS = 24


def chunk_id(text: str) -> str:
    """First 24 hex characters of sha256 of the normalised text (equal texts, equal ids).

    >>> chunk_id("IL-2  is a cytokine.") == chunk_id("il-2 is a cytokine.")
    True
    """
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:CHUNK_ID_CHARS]


def content_hash(data: bytes) -> str:
    """sha256 hex digest of raw bytes, recorded in a document's meta.

    >>> content_hash(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def file_doc_id(relative: PurePath | str) -> str:
    """Document id of a plain file: "file:" and its path relative to the root it was found under.

    >>> file_doc_id(PurePath("notes") / "a b.md")
    'file:notes/a b.md'
    """
    return "file:" + PurePath(relative).as_posix()
