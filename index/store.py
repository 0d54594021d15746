"""The versioned index folder: `update_index` writes a new version, `ClinqaIndex.load` reads one.

Documents are added or replaced by doc_id and the rest are kept; unchanged documents cost nothing;
vectors are reused by the sha256 of the embedded text; a crash at any point leaves the previous
version loadable (see index/layout.py for the folder layout).
"""

from __future__ import annotations

import contextlib
import functools
import json
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np

from index.chunk_spool import ChunkSpool, SpooledGroups
from index.context import embed_text
from index.dense import (
    DenseRetriever,
    build_faiss_rows,
    resolve_kind,
    write_faiss,
    write_flat_rows,
)
from index.embedder import MINILM_NAME, Embedder, load_embedder
from index.errors import EmbedderError, IndexCorrupt, IndexInputError, IndexMismatch, IndexMissing
from index.files import file_digest, sha256_text, write_durable
from index.groups import ChunkGroup
from index.hybrid import HybridRetriever
from index.layout import (
    BM25_DIR,
    CHUNKS,
    DENSE,
    DOCUMENTS,
    FORMAT_VERSION,
    MANIFEST,
    MANIFEST_SHA,
    UNIT_SPANS,
    UNITS,
    VECTORS,
    VERSIONS,
    VersionData,
    current_version,
    new_tmp_folder,
    npy_header,
    previous_versions,
    publish,
    read_manifest,
    read_version,
    writer_lock,
)
from index.lexical import STOPWORDS, LexicalRetriever, build_bm25, save_bm25
from index.npy_rows import ArrayRows, NpyRows, RowSource
from index.previous import PrevDoc, Previous, read_previous
from index.record_spool import RecordSpool
from index.records import (
    canonical,
    chunks_fingerprint,
    document_fingerprint,
    document_from_json,
    document_json,
    group_json,
)
from index.scratch_rows import RowTable, ScratchRows, rows_npy
from index.types import Passage, Retriever
from index.units import (
    POOLED,
    UNIT_DTYPE,
    UNIT_MODES,
    UnitTable,
    chunk_units,
    embed_chunks,
    unit_mode,
)
from ingest.types import Chunk, Document

CONTEXT_RULE = "<subject or title> — <section>: <text>"


@dataclass(frozen=True)
class UpdateReport:
    """What `update_index` did. `written` is False when nothing changed (no new version)."""

    added: tuple[str, ...]
    replaced: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]
    chunks_total: int
    chunks_embedded: int
    chunks_reused: int
    version: str
    manifest_hash: str
    written: bool = True


def update_index(
    index_dir: str | Path,
    docs: Iterable[tuple[Document, Sequence[Chunk]]],
    embedder: Embedder,
    *,
    remove_doc_ids: Iterable[str] = (),
    chunker_settings: dict[str, Any],
    dense_kind: str = "auto",
    ann_min_chunks: int = 50_000,
    progress: Callable[[int, int], None] | None = None,
    replace_all: bool = False,
    batch_size: int = 64,
    unit_vectors: str = POOLED,
) -> UpdateReport:
    """Add or replace `docs` by doc_id in the index at `index_dir` (created when missing).

    Documents not given are kept (unless `replace_all`); `remove_doc_ids` are dropped.
    `unit_vectors` ("pooled" or "alone", index/units.py) is how answer units get their vectors;
    a previous version made the other way is embedded again rather than mixed.
    """
    root = Path(index_dir)
    resolve_kind(dense_kind, 0, ann_min_chunks)  # reject a bad kind before any work
    if unit_vectors not in UNIT_MODES:
        raise ValueError(f"unit_vectors must be one of {UNIT_MODES}, got {unit_vectors!r}")
    with writer_lock(root):
        try:
            prev: Previous | None = read_previous(root, verify=True)
        except IndexMissing:
            prev = None
        try:
            return _update(
                root, prev, docs, embedder, set(remove_doc_ids), _plain(chunker_settings),
                dense_kind, ann_min_chunks, progress, replace_all, batch_size, unit_vectors,
            )  # fmt: skip
        finally:
            if prev is not None:
                prev.close()


@dataclass(frozen=True)
class Intake:
    """What the documents given to an update are, against the previous version (by doc_id)."""

    added: dict[str, None]
    replaced: dict[str, None]
    unchanged: dict[str, None]
    changed: dict[str, None]  # added or replaced (their chunks are spooled)


def _intake(
    docs: Iterable[tuple[Document, Sequence[Chunk]]],
    prev_docs: dict[str, PrevDoc],
    spool: RecordSpool,
    chunks_out: ChunkSpool,
) -> Intake:
    """Sort the given documents; the records of changed ones (with their texts) go to `spool`,
    their chunks to `chunks_out`."""
    got = Intake({}, {}, {}, {})
    for doc, chunks in docs:
        record = _record(doc, chunks)
        for seen in (got.added, got.replaced, got.unchanged, got.changed):
            seen.pop(doc.doc_id, None)  # a later copy of the same doc_id wins
        old = prev_docs.get(doc.doc_id)
        same = (
            old is not None
            and old.fingerprint == record["fingerprint"]
            and old.chunks_sha == record["chunks_sha"]
        )
        if same:
            got.unchanged[doc.doc_id] = None
            chunks_out.begin(doc.doc_id)  # this copy wins: an earlier one's chunks are gone
            continue
        (got.replaced if old is not None else got.added)[doc.doc_id] = None
        got.changed[doc.doc_id] = None
        slot = chunks_out.begin(doc.doc_id)
        for c in chunks:
            chunks_out.add(c, slot)
        spool.add(record)
    return got


def _update(
    root: Path,
    prev: Previous | None,
    docs: Iterable[tuple[Document, Sequence[Chunk]]],
    embedder: Embedder,
    remove_ids: set[str],
    chunker: Any,
    dense_kind: str,
    ann_min_chunks: int,
    progress: Callable[[int, int], None] | None,
    replace_all: bool,
    batch_size: int,
    unit_vectors: str,
) -> UpdateReport:
    prev_docs = prev.docs if prev else {}
    dim = int(embedder.dim)
    with (
        contextlib.closing(RecordSpool(root)) as spool,
        contextlib.closing(ChunkSpool(root)) as chunk_spool,
        contextlib.closing(Scratch(dim, root)) as scratch,
    ):
        got = _intake(docs, prev_docs, spool, chunk_spool)
        added, replaced, unchanged, changed = got.added, got.replaced, got.unchanged, got.changed
        given = added.keys() | replaced.keys() | unchanged.keys()
        removed = [d for d in prev_docs if d not in given and (replace_all or d in remove_ids)]

        identity = _identity(embedder)
        reusable = (
            prev is not None
            and _same_model(prev.manifest["model"], identity)
            and unit_mode(prev.manifest) == unit_vectors
        )
        if (
            prev is not None
            and not (added or replaced or removed)
            and reusable
            and prev.manifest["chunker"] == chunker
            and prev.manifest["dense"]["kind"]
            == resolve_kind(dense_kind, prev.n_groups, ann_min_chunks)
        ):
            n = prev.n_groups
            return UpdateReport(
                (), (), tuple(unchanged), (), n, 0, n, prev.name, prev.manifest_hash, written=False
            )

        gone = set(replaced) | set(removed)
        if prev is not None:
            for c in prev.occurrences(lambda d: d not in gone and d not in changed):
                chunk_spool.add(c, chunk_spool.slot(c.doc_id))
        groups = chunk_spool.groups()
        cache = _cached(prev if reusable else None)
        shas, rows, embedded = _vectors(
            groups, cache, embedder, scratch, batch_size, progress, unit_vectors
        )
        reused = int((rows.vectors.src == 1).sum())  # rows from the previous version
        if prev is not None:
            for d, r in prev.docs.items():
                if d not in gone and d not in changed:
                    spool.keep(d, r.text_sha, functools.partial(prev.record_line, d))
        kind = resolve_kind(dense_kind, len(groups), ann_min_chunks)
        settings = {"chunker": chunker, "identity": identity, "kind": kind, "units": unit_vectors}
        settings["requested"] = {"dense_kind": dense_kind, "ann_min_chunks": ann_min_chunks}
        name, manifest_hash = _write_version(root, prev, spool, groups, shas, rows, settings)
        return UpdateReport(
            added=tuple(added),
            replaced=tuple(replaced),
            unchanged=tuple(unchanged),
            removed=tuple(removed),
            chunks_total=len(groups),
            chunks_embedded=embedded,
            chunks_reused=reused,
            version=name,
            manifest_hash=manifest_hash,
        )


def _record(doc: Document, chunks: Sequence[Chunk]) -> dict[str, Any]:
    """documents.jsonl's line for `doc`, after checking its chunks point into its text."""
    for c in chunks:
        if c.doc_id != doc.doc_id:
            raise IndexInputError(f"chunk {c.chunk_id}: doc_id {c.doc_id!r} in {doc.doc_id!r}")
        if not (0 <= c.start <= c.end <= len(doc.text)) or doc.text[c.start : c.end] != c.text:
            raise IndexInputError(
                f"chunk {c.chunk_id} of {doc.doc_id}: text differs from document text "
                f"[{c.start}:{c.end}]"
            )
    record = document_json(doc)
    try:
        fingerprint = document_fingerprint(record)
    except (TypeError, ValueError) as exc:
        raise IndexInputError(f"document {doc.doc_id}: field 'meta' is not JSON ({exc})") from exc
    record.update(
        text_sha=sha256_text(doc.text),
        fingerprint=fingerprint,
        chunks_sha=chunks_fingerprint(chunks),
    )
    return record


@dataclass(frozen=True)
class Embedded:
    """Where each chunk's embedded rows lie, as arrays (a few dozen bytes a chunk): its vector
    (one float32 row), its answer units' vectors (float16) and their spans in the chunk's text
    (int32 start, end; the same rows as the unit vectors). Each lies in this build's scratch
    files (source 0) or in the previous version (source 1)."""

    vectors: RowTable
    units: RowTable
    spans: RowTable


class Scratch:
    """The scratch files of one build: fresh chunk vectors (float32), fresh unit vectors and
    their spans, row for row."""

    def __init__(self, dim: int, folder: Path) -> None:
        self.vectors = ScratchRows(dim, np.float32, folder)
        self.units = ScratchRows(dim, UNIT_DTYPE, folder)
        self.spans = ScratchRows(2, np.int32, folder)

    def close(self) -> None:
        self.vectors.close()
        self.units.close()
        self.spans.close()


@dataclass(frozen=True)
class Cache:
    """The previous version's embedded rows by embed sha (none for an older version without
    unit vectors: its chunks are embedded again)."""

    rows: dict[str, int]  # embed sha -> chunk row of the previous version
    vectors: RowSource
    units: RowSource
    spans: RowSource
    table: UnitTable | None

    def spans_of(self, row: int) -> list[list[int]]:
        assert self.table is not None
        return self.spans.rows(*self.table.row_range(row)).tolist()


def _cached(prev: Previous | None) -> Cache:
    """What of `prev` (None: nothing, as when the model changed) a build may reuse."""
    empty = ArrayRows(np.zeros((0, 0), np.float32))
    if prev is None or prev.unit_spans is None or prev.unit_vectors is None:
        return Cache({}, empty, empty, empty, None)
    table = UnitTable(prev.unit_spans, prev.unit_vectors, prev.n_groups)
    rows = {sha: row for row, sha in enumerate(prev.embed_shas)}
    spans = ArrayRows(prev.unit_spans[:, 1:])
    return Cache(rows, prev.vectors, prev.unit_vectors, spans, table)


def _vectors(
    groups: Sequence[ChunkGroup],
    cache: Cache,
    embedder: Embedder,
    scratch: Scratch,
    batch_size: int,
    progress: Callable[[int, int], None] | None,
    unit_vectors: str,
) -> tuple[list[str], Embedded, int]:
    """(embed sha per group, where the embedded rows lie, number of texts embedded); a cached
    text whose units are unchanged is not embedded again. Texts go to the embedder sorted by
    length; fresh rows go to `scratch` as they come. Contextual texts are made again when
    needed rather than held (they are most of a chunk's size). Unit vectors are pooled from
    the chunks' pass, or (`unit_vectors` "alone") embedded on their own."""
    n = len(groups)
    shas: list[str] = []
    lengths = np.zeros(n, dtype=np.int64)
    todo: dict[str, int] = {}  # sha -> the first row that has it, for texts to embed
    reuse = cache.rows.copy()
    for row, g in enumerate(groups):
        text = embed_text(g.chunk)
        sha = sha256_text(text)
        shas.append(sha)
        lengths[row] = len(text)
        hit = reuse.get(sha)
        if hit is not None and cache.spans_of(hit) == [list(u) for u in chunk_units(g.chunk)]:
            continue
        reuse.pop(sha, None)
        todo.setdefault(sha, row)
    rows = Embedded(
        RowTable([scratch.vectors, cache.vectors], n),
        RowTable([scratch.units, cache.units], n),
        RowTable([scratch.spans, cache.spans], n),
    )
    items = sorted(todo.items(), key=lambda item: (int(lengths[item[1]]), item[0]))
    total = len(items)
    if progress is not None:
        progress(0, total)
    step = max(1, batch_size)
    for start in range(0, total, step):
        batch_rows = [row for _, row in items[start : start + step]]
        chunks = [groups[r].chunk for r in batch_rows]
        try:
            out, units, pooled = embed_chunks(embedder, chunks, unit_vectors, batch_size=step)
        except ValueError as exc:  # an embedder that returned the wrong number of unit rows
            raise EmbedderError(str(exc)) from exc
        if out.shape != (len(chunks), embedder.dim):
            raise EmbedderError(
                f"embedder {embedder.name} returned shape {out.shape}, "
                f"expected {(len(chunks), embedder.dim)}"
            )
        first, _ = scratch.vectors.append(out)
        for j, (r, u, pooled_units) in enumerate(zip(batch_rows, units, pooled, strict=True)):
            rows.vectors.set(r, 0, first + j, first + j + 1)
            rows.units.set(r, 0, *scratch.units.append(pooled_units))
            rows.spans.set(r, 0, *scratch.spans.append(np.asarray(u, np.int32).reshape(-1, 2)))
        if progress is not None:
            progress(min(start + step, total), total)
    assert cache.table is not None or not reuse
    for row, sha in enumerate(shas):
        hit = reuse.get(sha)
        if hit is not None:
            assert cache.table is not None
            rows.vectors.set(row, 1, hit, hit + 1)
            rows.units.set(row, 1, *cache.table.row_range(hit))
            rows.spans.set(row, 1, *cache.table.row_range(hit))
        elif todo[sha] != row:  # the same text as an earlier chunk: the same rows
            for table in (rows.vectors, rows.units, rows.spans):
                table.copy(row, todo[sha])
    return shas, rows, total


def _unit_spans_npy(spans: RowTable) -> Iterator[bytes]:
    """unit_spans.npy of a version, streamed: (chunk row, start, end) as int32."""
    yield npy_header((spans.total(), 3), np.int32)
    for row, ref in enumerate(spans):
        if ref.hi > ref.lo:
            part = np.empty((ref.hi - ref.lo, 3), dtype=np.int32)
            part[:, 0] = row
            part[:, 1:] = ref.read()
            yield part.tobytes()


def _write_version(
    root: Path,
    prev: Previous | None,
    documents: RecordSpool,
    groups: SpooledGroups,
    shas: Sequence[str],
    rows: Embedded,
    settings: dict[str, Any],
) -> tuple[str, str]:
    """Build the version in a temp folder, then publish it; returns (name, manifest hash).

    The vectors are streamed from their scratch files into vectors.npy; an exact FAISS index is
    written from that file, HNSW and IVF are built from it a batch at a time (their one copy of
    the vectors in memory, let go before BM25 is built)."""
    dim = int(settings["identity"]["dim"])
    tmp = new_tmp_folder(root)
    try:
        write_durable(tmp / DOCUMENTS, documents.lines())
        _write_lines(tmp / CHUNKS, (group_json(g, s) for g, s in zip(groups, shas, strict=True)))
        write_durable(tmp / VECTORS, rows_npy(rows.vectors, dim, np.float32))
        write_durable(tmp / UNIT_SPANS, _unit_spans_npy(rows.spans))
        write_durable(tmp / UNITS, rows_npy(rows.units, dim, UNIT_DTYPE))
        params = _write_faiss(tmp, settings["kind"])
        bm25 = build_bm25(groups)
        save_bm25(bm25, tmp / BM25_DIR)
        seq = int(prev.manifest.get("sequence", 0)) + 1 if prev else 1
        name = f"v{seq:06d}-{secrets.token_hex(3)}"
        manifest = {
            "format": FORMAT_VERSION,
            "version": name,
            "sequence": seq,
            "previous": prev.name if prev else None,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "model": settings["identity"],
            "context": CONTEXT_RULE,
            "units": settings["units"],
            "chunker": settings["chunker"],
            "dense": {
                "kind": settings["kind"],
                "metric": "inner_product",
                "params": params,
                **settings["requested"],
            },
            "lexical": _lexical_info(bm25),
            "counts": {
                "documents": len(documents),
                "chunks": len(groups),
                "occurrences": groups.occurrences,
                "units": rows.units.total(),
            },
            "corpus_hash": sha256_text(canonical(documents.hash_pairs())),
            "files": _digests(tmp),
        }
        data = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
        write_durable(tmp / MANIFEST, data)
        write_durable(tmp / MANIFEST_SHA, (sha256_text(data.decode("utf-8")) + "\n").encode())
        publish(root, tmp, name, prev.name if prev else None)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return name, sha256_text(data.decode("utf-8"))


def _write_faiss(tmp: Path, kind: str) -> dict[str, Any]:
    """dense.faiss from the version's vectors.npy; returns the index's parameters. An exact
    index is written straight from the file; HNSW and IVF are built in memory (what they
    hold is what a query process holds to serve them), then written without a second copy."""
    vectors = NpyRows(tmp / VECTORS)
    try:
        if kind == "flat":
            write_durable(tmp / DENSE, lambda out: write_flat_rows(vectors, out))
            return {}
        index, params = build_faiss_rows(vectors, kind)
    finally:
        vectors.close()
    write_durable(tmp / DENSE, lambda out: write_faiss(index, out))
    return params


def _write_lines(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """JSON lines, encoded and written one by one (no copy of the whole file in memory)."""
    lines = ((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8") for r in rows)
    write_durable(path, lines)


def _digests(folder: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        sha, size = file_digest(path)
        out[path.relative_to(folder).as_posix()] = {"sha256": sha, "size": size}
    return out


def _lexical_info(bm25: bm25s.BM25 | None) -> dict[str, Any]:
    info: dict[str, Any] = {"library": "bm25s", "version": bm25s.__version__}
    info["stopwords"] = STOPWORDS
    if bm25 is not None:
        info.update(
            method=bm25.method, idf_method=bm25.idf_method, k1=bm25.k1, b=bm25.b, delta=bm25.delta
        )
    return info


def _identity(embedder: Embedder) -> dict[str, Any]:
    return {
        "name": embedder.name,
        "backend": embedder.backend,
        "dim": int(embedder.dim),
        "normalised": True,
        "max_tokens": int(embedder.max_tokens),
    }


def _same_model(recorded: dict[str, Any], identity: dict[str, Any]) -> bool:
    return all(recorded.get(k) == identity[k] for k in ("name", "backend", "dim", "max_tokens"))


def _plain(settings: dict[str, Any]) -> Any:
    """Settings as they read back from JSON (tuples become lists)."""
    try:
        return json.loads(canonical(settings))
    except (TypeError, ValueError) as exc:
        raise IndexInputError(f"chunker_settings are not JSON: {settings!r}") from exc


class ClinqaIndex:
    """A loaded, verified index version: its documents, chunks, vectors and three retrievers."""

    def __init__(
        self, data: VersionData, embedder: Embedder, *, candidates: int = 50, rrf_k: int = 60
    ) -> None:
        self.path = data.path
        self.version = data.name
        self.fallback: str | None = None  # why an earlier version is served, when it is
        self.manifest = data.manifest
        self.manifest_hash = data.manifest_hash
        self.embedder = embedder
        self.groups = data.groups
        self.chunks: list[Chunk] = [g.chunk for g in data.groups]
        self._docs = {d["doc_id"]: document_from_json(d) for d in data.documents}
        self._rows = {g.chunk_id: i for i, g in enumerate(data.groups)}
        self.units: UnitTable | None = None
        self.unit_mode = unit_mode(self.manifest)  # how the unit vectors were made
        if data.unit_spans is not None and data.unit_vectors is not None:
            try:
                self.units = UnitTable(data.unit_spans, data.unit_vectors, len(data.groups))
            except ValueError as exc:
                raise IndexCorrupt(f"{data.path / UNIT_SPANS}: {exc}") from exc
        dense = self.manifest["dense"]
        self.dense = DenseRetriever(
            data.groups,
            data.vectors,
            embedder,
            _read_faiss(data),
            kind=dense["kind"],
            params=dense.get("params"),
        )
        self.vectors = self.dense.vectors  # the FAISS index's own copy when it keeps one
        try:
            self.lexical = LexicalRetriever.load(data.path / BM25_DIR, data.groups)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorrupt(f"{data.path / BM25_DIR}: cannot load ({exc})") from exc
        self.hybrid = HybridRetriever(self.dense, self.lexical, candidates=candidates, rrf_k=rrf_k)

    @classmethod
    def load(
        cls,
        index_dir: str | Path,
        embedder: Embedder | None = None,
        *,
        verify: bool = True,
        candidates: int = 50,
        rrf_k: int = 60,
        fallback: bool = False,
    ) -> ClinqaIndex:
        """Read the live version of `index_dir`; refuse a corrupt index or a different model.

        With `fallback`, a live version that fails verification is reported in `self.fallback`
        and the newest earlier version that verifies is served instead (a serving app keeps
        answering from the last good index); without it, or when none verifies, the error is
        raised. A model mismatch is never bypassed."""
        root = Path(index_dir)
        live, folder = current_version(root)
        try:
            return cls._load_version(root, None, embedder, verify, candidates, rrf_k)
        except IndexCorrupt as exc:
            if not fallback:
                raise
            for name in previous_versions(root):
                try:
                    index = cls._load_version(root, name, embedder, verify, candidates, rrf_k)
                except IndexCorrupt:
                    continue
                index.fallback = (
                    f"the live index version {live} failed verification ({exc}); "
                    f"serving the previous version {name}"
                )
                return index
            raise

    @classmethod
    def _load_version(
        cls,
        root: Path,
        name: str | None,
        embedder: Embedder | None,
        verify: bool,
        candidates: int,
        rrf_k: int,
    ) -> ClinqaIndex:
        folder = current_version(root)[1] if name is None else root / VERSIONS / name
        model = read_manifest(folder)[0].get("model", {})
        if embedder is None:
            embedder = _embedder_for(model, folder / MANIFEST)
        _check_model(model, embedder, folder / MANIFEST)
        data = read_version(root, verify=verify, name=name)
        return cls(data, embedder, candidates=candidates, rrf_k=rrf_k)

    def document(self, doc_id: str) -> Document:
        """The stored document (its `text` is what citation offsets point into)."""
        try:
            return self._docs[doc_id]
        except KeyError:
            raise KeyError(f"document {doc_id!r} is not in index {self.path}") from None

    def documents(self) -> list[Document]:
        return list(self._docs.values())

    def chunk(self, chunk_id: str) -> Chunk:
        """The stored chunk (its first occurrence's locator)."""
        return self.chunks[self._row(chunk_id)]

    def occurrences(self, chunk_id: str) -> tuple[Chunk, ...]:
        """Every place the chunk's text stands."""
        return self.groups[self._row(chunk_id)].occurrences

    def vector(self, chunk_id: str) -> np.ndarray:
        return self.vectors[self._row(chunk_id)]

    def unit_vectors(self, chunk_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        """((k, 2) unit offsets in the chunk's text, (k, dim) vectors) stored at ingest, or None
        (an index written before unit vectors were stored)."""
        if self.units is None:
            return None
        row = self._row(chunk_id)
        try:
            return self.units.for_row(row)
        except IndexCorrupt:  # the file changed under us: QA pools the vectors itself
            return None

    def search(self, query: str, k: int = 10, mode: str = "hybrid") -> list[Passage]:
        """Shortcut to one retriever: "hybrid", "dense" or "lexical"."""
        retrievers: dict[str, Retriever] = {
            "hybrid": self.hybrid,
            "dense": self.dense,
            "lexical": self.lexical,
        }
        return retrievers[mode].search(query, k)

    def _row(self, chunk_id: str) -> int:
        try:
            return self._rows[chunk_id]
        except KeyError:
            raise KeyError(f"chunk {chunk_id!r} is not in index {self.path}") from None


def _embedder_for(model: dict[str, Any], manifest: Path) -> Embedder:
    from index.mpnet import MPNET_NAME

    if model.get("name") == MINILM_NAME:
        spec = "minilm-int8" if model.get("backend") == "onnx-int8" else "minilm"
        return load_embedder(spec)
    if model.get("name") == MPNET_NAME:
        return load_embedder("mpnet")
    raise IndexMismatch(
        f"{manifest}: the index was built with model {model.get('name')!r}; "
        "pass an embedder for that model"
    )


def _check_model(model: dict[str, Any], embedder: Embedder, manifest: Path) -> None:
    for field, found in (("name", embedder.name), ("dim", embedder.dim)):
        if model.get(field) != found:
            raise IndexMismatch(
                f"{manifest}: field model.{field} expected {model.get(field)!r} (the index was "
                f"built with it), found {found!r} (the embedder given); rebuild the index with "
                "this model or load it with the model it was built with"
            )


def _read_faiss(data: VersionData) -> Any:
    path = data.path / DENSE
    try:
        index = faiss.deserialize_index(np.frombuffer(path.read_bytes(), dtype=np.uint8))
    except (RuntimeError, OSError) as exc:
        raise IndexCorrupt(f"{path}: cannot read the FAISS index ({exc})") from exc
    n, dim = data.vectors.shape
    if index.ntotal != n or index.d != dim:
        found = f"{index.ntotal}x{index.d}"
        raise IndexCorrupt(f"{path}: expected {n} vectors of dim {dim}, found {found}")
    return index
