"""Walk files and folders and read every document in them: `iter_documents`.

Dispatch is by extension and content: `.jsonl`/`.ndjson` records, `.pdf` (or any file that starts
like a PDF), `.md`/`.markdown`, `.txt`/`.text` and extension-less text. A text file in the online
dictionary-page format (the seed) is recognised by its content and split into its monograph,
definitions and periodical excerpts. A bad file gives a `ReadFailure` and the walk goes on.

In a folder walk these are not documents and are skipped: hidden names, `README.md`,
`SOURCES.md`, `PROVENANCE.md`, `LICENSE*`/`COPYING*`, and `*.meta.jsonl` (reference data).
A file named explicitly is always read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path, PurePath

from ingest.chunker import MAX_CHUNKS_PER_FILE, estimate_chunks
from ingest.errors import ReadError, ReadFailure
from ingest.ids import content_hash, file_doc_id
from ingest.readers.files import decode_text, load_bytes
from ingest.readers.jsonl import iter_jsonl
from ingest.readers.pdf import is_pdf, pdf_document
from ingest.readers.plain import markdown_document, text_document
from ingest.readers.seed_page import looks_like_seed_page, parse_seed_page
from ingest.types import Document

FileReader = Callable[[Path, PurePath], Iterable[Document | ReadFailure]]

__all__ = ["iter_documents", "read_file", "walk_files", "MAX_FILE_BYTES"]

MAX_FILE_BYTES = 50_000_000
JSONL_SUFFIXES = (".jsonl", ".ndjson")
MARKDOWN_SUFFIXES = (".md", ".markdown")
TEXT_SUFFIXES = (".txt", ".text", "")
PDF_SUFFIXES = (".pdf",)
_NOT_DOCUMENTS = {"readme.md", "sources.md", "provenance.md"}

Item = Document | ReadFailure


def iter_documents(
    paths: Iterable[str | Path],
    *,
    max_file_bytes: int = MAX_FILE_BYTES,
    read: FileReader | None = None,
) -> Iterator[Document | ReadFailure]:
    """Every document under `paths` (files and folders, sorted), and a ReadFailure per bad file.

    Document ids are unique across the walk: a repeated id is a ReadFailure, the first one wins.
    `read(path, relative)` reads one file (default: `read_file` in this process; the sandbox
    passes its child-process reader).
    """

    def in_process(path: Path, relative: PurePath) -> list[Document | ReadFailure]:
        return read_file(path, relative, max_file_bytes=max_file_bytes)

    read_one = read or in_process
    seen_files: set[Path] = set()
    seen_ids: dict[str, str] = {}
    for given in paths:
        root = Path(given)
        if root.is_dir():
            files, base = walk_files(root), root
        elif root.is_file():
            files, base = [root], root.parent
        else:
            yield ReadFailure(str(root), "no such file or directory", "FileNotFoundError")
            continue
        for path in files:
            key = path.resolve()
            if key in seen_files:
                continue
            seen_files.add(key)
            for item in read_one(path, path.relative_to(base)):
                if isinstance(item, Document):
                    first = seen_ids.setdefault(item.doc_id, str(path))
                    if first != str(path):
                        yield ReadFailure(
                            str(path),
                            f"duplicate doc_id {item.doc_id!r} (first in {first})",
                            "ReadError",
                        )
                        continue
                yield item


def walk_files(root: Path) -> list[Path]:
    """Document files under `root`, sorted, skipping hidden names and non-document files."""
    out: list[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if is_document_name(name):
                out.append(Path(folder) / name)
    return out


def is_document_name(name: str) -> bool:
    """False for names a folder walk skips.

    >>> [is_document_name(n) for n in ("a.txt", "SOURCES.md", "labels.meta.jsonl", ".x", "LICENSE")]
    [True, False, False, False, False]
    """
    lower = name.lower()
    if lower.startswith(".") or lower in _NOT_DOCUMENTS or lower.endswith(".meta.jsonl"):
        return False
    return not (lower.startswith("license") or lower.startswith("copying"))


def read_file(
    path: Path, relative: PurePath | None = None, *, max_file_bytes: int = MAX_FILE_BYTES
) -> list[Item]:
    """All documents of one file, or the failures; never raises for a bad file."""
    shown = str(path)
    rel = relative if relative is not None else PurePath(path.name)
    try:
        data = load_bytes(path, max_file_bytes)
        items = _dispatch(path, rel, data)
    except ReadError as exc:
        return [ReadFailure(shown, exc.reason, _error_class(exc), exc.line)]
    docs = [x for x in items if isinstance(x, Document)]
    estimate = sum(estimate_chunks(d) for d in docs)
    if estimate > MAX_CHUNKS_PER_FILE:
        reason = (
            f"file would give about {estimate:,} chunks, over MAX_CHUNKS_PER_FILE="
            f"{MAX_CHUNKS_PER_FILE:,}; split it into smaller files"
        )
        return [ReadFailure(shown, reason, "ReadError")]
    return items


def _dispatch(path: Path, rel: PurePath, data: bytes) -> list[Item]:
    suffix = path.suffix.lower()
    doc_id = file_doc_id(rel)
    meta: dict[str, object] = {"content_sha256": content_hash(data), "path": rel.as_posix()}
    if suffix in JSONL_SUFFIXES:
        return list(iter_jsonl(data, str(path)))
    if suffix in PDF_SUFFIXES or is_pdf(data):
        if not is_pdf(data):
            raise ReadError("not a PDF (no %PDF- header)")
        return [replace(pdf_document(doc_id, data, path.stem, meta), path=str(path))]
    if suffix not in MARKDOWN_SUFFIXES and suffix not in TEXT_SUFFIXES:
        raise ReadError(f"unsupported file type {suffix!r}")
    text, stripped = decode_text(data)
    if stripped:
        meta["stripped_hidden_chars"] = stripped
    if looks_like_seed_page(text):
        docs = parse_seed_page(text, path.stem, path=str(path))
        if docs:  # a page with no entries is read as ordinary text below, not dropped
            return [_add_meta(d, meta) for d in docs]
    if suffix in MARKDOWN_SUFFIXES:
        doc = markdown_document(doc_id, text, path.stem, meta)
    else:
        doc = text_document(doc_id, text, path.stem, meta)
    return [replace(doc, path=str(path))]


def _add_meta(doc: Document, meta: dict[str, object]) -> Document:
    return replace(doc, meta={**meta, **doc.meta})


def _error_class(exc: ReadError) -> str:
    cause = exc.__cause__
    return type(cause).__name__ if cause is not None else type(exc).__name__
