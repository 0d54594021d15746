"""Checks and parsing for files uploaded through the web app (allow-list, size, safe names)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.chunker import chunk_document
from ingest.errors import ReadFailure
from ingest.types import Chunk, Document

ALLOWED_SUFFIXES = (".pdf", ".txt", ".md", ".jsonl")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def refusal(name: str, size: int, max_mb: int) -> str | None:
    """Why an upload is refused (wrong type, empty, too large), or None when it is accepted.

    >>> refusal("notes.exe", 10, 25)
    'notes.exe: only .pdf, .txt, .md, .jsonl files are accepted'
    >>> refusal("a.PDF", 26 * 1024 * 1024, 25)
    'a.PDF: 26.0 MB is over the 25 MB limit'
    """
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        return f"{name}: only {', '.join(ALLOWED_SUFFIXES)} files are accepted"
    if size <= 0:
        return f"{name}: the file is empty"
    if size > max_mb * 1024 * 1024:
        return f"{name}: {size / (1024 * 1024):.1f} MB is over the {max_mb} MB limit"
    return None


def safe_name(name: str) -> str:
    """A file name without path parts or unusual characters, keeping its (lower-case) suffix.

    >>> safe_name("../../etc/My Notes (1).MD")
    'My_Notes_1.md'
    """
    base = Path(name.replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    clean = _UNSAFE.sub("_", stem).strip("._") or "upload"
    return f"{clean[:80]}{suffix}"


def store_upload(source: Path, folder: Path, name: str) -> Path:
    """Copy an upload into `folder` under a safe, unused name; return the new path."""
    target = folder / safe_name(name)
    n = 1
    while target.exists():
        target = folder / f"{Path(safe_name(name)).stem}-{n}{target.suffix}"
        n += 1
    shutil.copyfile(source, target)
    return target


@dataclass(frozen=True)
class Parsed:
    """What reading and chunking some uploads produced."""

    documents: tuple[Document, ...]
    chunks: tuple[Chunk, ...]
    failures: tuple[ReadFailure, ...]


def parse_uploads(
    paths: Sequence[Path],
    *,
    max_chars: int,
    max_tokens: int | None,
    count_tokens: Callable[[str], int] | None,
    sandboxed: bool = True,
    timeout_s: float = 5.0,
    memory_bytes: int = 1 << 30,
) -> Parsed:
    """Read the files with ingest's readers (in a child process under a time and memory limit
    when `sandboxed`) and chunk every document they hold."""
    from ingest.readers import iter_documents  # imports the PDF reader: only when uploading
    from ingest.sandbox import file_reader

    docs: list[Document] = []
    chunks: list[Chunk] = []
    failures: list[ReadFailure] = []
    with file_reader(sandboxed, timeout_s=timeout_s, memory_bytes=memory_bytes) as read:
        for item in iter_documents([str(p) for p in paths], read=read):
            if isinstance(item, ReadFailure):
                failures.append(item)
                continue
            docs.append(item)
            chunks.extend(
                chunk_document(
                    item, max_chars=max_chars, max_tokens=max_tokens, count_tokens=count_tokens
                )
            )
    return Parsed(tuple(docs), tuple(chunks), tuple(failures))
