"""From source paths to an updated index: read, chunk, embed, commit (one call for the edges)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.embedder import Embedder
from index.store import UpdateReport, update_index
from index.units import POOLED
from ingest.chunker import chunk_document
from ingest.errors import ReadFailure
from ingest.readers import FileReader, iter_documents
from ingest.types import Chunk, Document


@dataclass(frozen=True)
class IngestSummary:
    """What `ingest_paths` did: the index update and every file it had to skip."""

    report: UpdateReport | None
    failures: tuple[ReadFailure, ...]
    documents_read: int

    @property
    def partial(self) -> bool:
        return bool(self.failures)


def chunker_settings(max_chars: int, max_tokens: int | None) -> dict[str, object]:
    """What the manifest records about chunking (a change means a rebuild).

    >>> chunker_settings(900, 230)["max_chars"]
    900
    """
    return {
        "name": "sentences-in-sections",
        "version": 1,
        "max_chars": max_chars,
        "max_tokens": max_tokens,
        "context": "subject — section: text",
    }


def ingest_paths(
    index_dir: str | Path,
    paths: Sequence[str | Path],
    embedder: Embedder,
    *,
    max_chars: int = 900,
    max_tokens: int | None = 230,
    dense_kind: str = "auto",
    ann_min_chunks: int = 50_000,
    unit_vectors: str = POOLED,
    replace_all: bool = False,
    exclude_doc_ids: Iterable[str] = (),
    progress: Callable[[int, int], None] | None = None,
    on_document: Callable[[Document], None] | None = None,
    read: FileReader | None = None,
) -> IngestSummary:
    """Add the documents under `paths` to the index at `index_dir` (created when missing).

    Bad files are collected in `failures` and skipped; everything else goes in. Documents whose
    id is in `exclude_doc_ids` are left out (eval builds leave-gold-out indexes this way).
    `read` reads one file (ingest.sandbox.file_reader gives a child process's, with limits).
    """
    failures: list[ReadFailure] = []
    excluded = set(exclude_doc_ids)
    counter = {"docs": 0}

    def documents() -> Iterator[tuple[Document, Sequence[Chunk]]]:
        count_tokens = embedder.count_tokens if max_tokens else None
        for item in iter_documents(paths, read=read):
            if isinstance(item, ReadFailure):
                failures.append(item)
                continue
            if item.doc_id in excluded:
                continue
            counter["docs"] += 1
            if on_document is not None:
                on_document(item)
            chunks = chunk_document(
                item, max_chars=max_chars, max_tokens=max_tokens, count_tokens=count_tokens
            )
            yield item, chunks

    report = update_index(
        index_dir,
        documents(),
        embedder,
        chunker_settings=chunker_settings(max_chars, max_tokens),
        dense_kind=dense_kind,
        ann_min_chunks=ann_min_chunks,
        progress=progress,
        replace_all=replace_all,
        unit_vectors=unit_vectors,
    )
    return IngestSummary(report, tuple(failures), counter["docs"])
