"""The live version as an update reads it: without holding its texts, chunks or vectors.

An update needs of the version it replaces: which documents it holds (their fingerprints, to
tell changed from unchanged), the documents.jsonl lines of the ones it keeps, the chunks of the
kept documents, and the embedded rows it may reuse by embed sha. `ClinqaIndex.load` reads a
version whole, as a query process must; an update adding ten documents to a large index need
not. Here a document is its fingerprints and the place of its line in documents.jsonl (its line
is copied when the document is kept, its text read back only while its chunks are cut from it),
chunks.jsonl is streamed, and the vectors are read from their files a row at a time.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexCorrupt
from index.layout import (
    CHUNKS,
    DOCUMENTS,
    UNIT_SPANS,
    UNITS,
    VECTORS,
    current_version,
    read_manifest,
    verify_files,
    verify_manifest_hash,
)
from index.npy_rows import NpyRows
from ingest.types import Chunk

TEXTS_HELD = 64  # documents whose texts are kept while their chunks are read back


@dataclass(frozen=True, slots=True)
class PrevDoc:
    """A document of the previous version: what tells whether it changed, and its line."""

    fingerprint: str
    chunks_sha: str
    text_sha: str
    offset: int  # of its line in documents.jsonl
    length: int


class Previous:
    """The live version of an index folder, read for an update (`read_previous`)."""

    def __init__(
        self, name: str, folder: Path, manifest: dict[str, Any], manifest_hash: str
    ) -> None:
        self.name = name
        self.path = folder
        self.manifest = manifest
        self.manifest_hash = manifest_hash
        self.docs: dict[str, PrevDoc] = {}
        self.embed_shas: list[str] = []
        self._texts: OrderedDict[str, str] = OrderedDict()
        self.vectors = NpyRows(folder / VECTORS)  # closes itself when it is let go
        self.unit_spans: np.ndarray | None = None
        self.unit_vectors: NpyRows | None = None
        self._documents = os.open(folder / DOCUMENTS, os.O_RDONLY)  # last: nothing raises after

    @property
    def n_groups(self) -> int:
        return len(self.embed_shas)

    def record_line(self, doc_id: str) -> bytes:
        """The documents.jsonl line of `doc_id`, as the version holds it."""
        doc = self.docs[doc_id]
        line = os.pread(self._documents, doc.length, doc.offset)
        if len(line) != doc.length:
            raise IndexCorrupt(f"{self.path / DOCUMENTS}: the line of {doc_id} is cut off")
        return line

    def occurrences(self, keep: Callable[[str], bool]) -> Iterator[Chunk]:
        """Every chunk occurrence of the version whose doc_id `keep` admits, in the order of
        chunks.jsonl (each group's primary first), its text cut from its document's text."""
        path = self.path / CHUNKS
        with open(path, encoding="utf-8") as f:
            for line_no, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    group = json.loads(line)
                    locators = [group["locator"], *group.get("also", ())]
                    kept = [loc for loc in locators if keep(str(loc["doc_id"]))]
                    chunks = [self._chunk(group["chunk_id"], loc) for loc in kept]
                    if kept and kept[0] is locators[0] and chunks[0].text != group["text"]:
                        raise ValueError(f"chunk {group['chunk_id']}: text differs from offsets")
                except (KeyError, TypeError, ValueError) as exc:
                    raise IndexCorrupt(f"{path} line {line_no}: {exc!r}") from exc
                yield from chunks

    def close(self) -> None:
        os.close(self._documents)
        self.vectors.close()
        if self.unit_vectors is not None:
            self.unit_vectors.close()

    def _chunk(self, chunk_id: str, loc: dict[str, Any]) -> Chunk:
        start, end = int(loc["start"]), int(loc["end"])
        return Chunk(chunk_id=chunk_id, text=self._text(str(loc["doc_id"]))[start:end], **loc)

    def _text(self, doc_id: str) -> str:
        text = self._texts.get(doc_id)
        if text is None:
            text = str(json.loads(self.record_line(doc_id))["text"])
            self._texts[doc_id] = text
            if len(self._texts) > TEXTS_HELD:
                self._texts.popitem(last=False)
        else:
            self._texts.move_to_end(doc_id)
        return text


def read_previous(index_dir: Path, *, verify: bool = True) -> Previous:
    """The live version of `index_dir` for an update (`IndexMissing` when there is none),
    its files checked against the manifest when `verify`."""
    name, folder = current_version(index_dir)
    manifest, manifest_hash = read_manifest(folder)
    if verify:
        verify_manifest_hash(folder, manifest_hash)
        verify_files(folder, manifest)
    prev = Previous(name, folder, manifest, manifest_hash)
    try:
        _read_documents(prev)
        _read_chunks(prev)
        _check(prev)
    except BaseException:
        prev.close()
        raise
    return prev


def _read_documents(prev: Previous) -> None:
    path = prev.path / DOCUMENTS
    offset = 0
    with open(path, "rb") as f:
        for line_no, line in enumerate(f, start=1):
            if line.strip():
                try:
                    d = json.loads(line)
                    prev.docs[str(d["doc_id"])] = PrevDoc(
                        str(d["fingerprint"]), str(d["chunks_sha"]), str(d["text_sha"]),
                        offset, len(line),
                    )  # fmt: skip
                except (KeyError, TypeError, ValueError) as exc:
                    raise IndexCorrupt(f"{path} line {line_no}: {exc!r}") from exc
            offset += len(line)


def _read_chunks(prev: Previous) -> None:
    path = prev.path / CHUNKS
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if line.strip():
                try:
                    prev.embed_shas.append(str(json.loads(line)["embed_sha"]))
                except (KeyError, TypeError, ValueError) as exc:
                    raise IndexCorrupt(f"{path} line {line_no}: {exc!r}") from exc
    if UNIT_SPANS in prev.manifest.get("files", {}):
        try:
            prev.unit_spans = np.load(prev.path / UNIT_SPANS, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise IndexCorrupt(f"{prev.path / UNIT_SPANS}: {exc}") from exc
        prev.unit_vectors = NpyRows(prev.path / UNITS)


def _check(prev: Previous) -> None:
    counts = prev.manifest.get("counts", {})
    dim = prev.manifest.get("model", {}).get("dim")
    n_units = counts.get("units", len(prev.unit_spans) if prev.unit_spans is not None else 0)
    checks: list[tuple[str, Any, Any]] = [
        ("counts.documents", counts.get("documents"), len(prev.docs)),
        ("counts.chunks", counts.get("chunks"), prev.n_groups),
        ("vectors.npy shape", (prev.n_groups, dim), prev.vectors.shape),
        ("vectors.npy dtype", "float32", str(prev.vectors.dtype)),
    ]
    if prev.unit_spans is not None and prev.unit_vectors is not None:
        checks += [
            (f"{UNIT_SPANS} shape", (n_units, 3), tuple(prev.unit_spans.shape)),
            (f"{UNIT_SPANS} dtype", "int32", str(prev.unit_spans.dtype)),
            (f"{UNITS} shape", (n_units, dim), prev.unit_vectors.shape),
            (f"{UNITS} dtype", "float16", str(prev.unit_vectors.dtype)),
        ]
    for field, want, found in checks:
        if want != found:
            raise IndexCorrupt(f"{prev.path}: {field} expected {want}, found {found}")
