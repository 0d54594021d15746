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
from collections.abc import Callable, Iterator, Mapping
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
    check_counts,
    check_units,
    current_version,
    load_npy,
    read_jsonl,
    read_manifest,
    verify_files,
    verify_manifest_hash,
)
from index.npy_rows import NpyRows
from index.records import group_from_json
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
        self._texts = _Texts(self)
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
        for line_no, record in enumerate(read_jsonl(path), start=1):
            try:
                locators = [record["locator"], *record.get("also", ())]
                if not any(keep(str(loc["doc_id"])) for loc in locators):
                    continue
                group, _ = group_from_json(record, self._texts)
            except (KeyError, TypeError, ValueError) as exc:
                raise IndexCorrupt(f"{path} line {line_no}: {exc!r}") from exc
            yield from (c for c in group.occurrences if keep(c.doc_id))

    def close(self) -> None:
        os.close(self._documents)
        self.vectors.close()
        if self.unit_vectors is not None:
            self.unit_vectors.close()


class _Texts(Mapping[str, str]):
    """doc_id -> text of the previous version's documents, read from their lines on demand;
    the TEXTS_HELD last used are kept."""

    def __init__(self, prev: Previous) -> None:
        self._prev = prev
        self._held: OrderedDict[str, str] = OrderedDict()

    def __getitem__(self, doc_id: str) -> str:
        text = self._held.get(doc_id)
        if text is None:
            text = str(json.loads(self._prev.record_line(doc_id))["text"])
            self._held[doc_id] = text
            if len(self._held) > TEXTS_HELD:
                self._held.popitem(last=False)
        else:
            self._held.move_to_end(doc_id)
        return text

    def __iter__(self) -> Iterator[str]:
        return iter(self._prev.docs)

    def __len__(self) -> int:
        return len(self._prev.docs)


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
    for line_no, record in enumerate(read_jsonl(path), start=1):
        try:
            prev.embed_shas.append(str(record["embed_sha"]))
        except (KeyError, TypeError) as exc:
            raise IndexCorrupt(f"{path} line {line_no}: {exc!r}") from exc
    if UNIT_SPANS in prev.manifest.get("files", {}):
        prev.unit_spans = load_npy(prev.path / UNIT_SPANS)
        prev.unit_vectors = NpyRows(prev.path / UNITS)


def _check(prev: Previous) -> None:
    check_counts(prev.path, prev.manifest, len(prev.docs), prev.n_groups, prev.vectors)
    if prev.unit_spans is not None and prev.unit_vectors is not None:
        check_units(prev.path, prev.manifest, prev.unit_spans, prev.unit_vectors)
