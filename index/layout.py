"""The index folder: `CURRENT` names the live folder under `versions/`; each has a manifest.

<dir>/CURRENT                    text: the live version's name (replaced with os.replace)
<dir>/versions/<name>/manifest.json, documents.jsonl, chunks.jsonl, vectors.npy,
                      unit_spans.npy, units.npy (answer-unit vectors, see index/units.py),
                      dense.faiss, bm25/, manifest.sha256 (the manifest's own hash)
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexCorrupt, IndexMissing
from index.files import atomic_write, file_digest, fsync_path, fsync_tree, sha256_bytes
from index.groups import ChunkGroup
from index.npy_rows import NpyRows
from index.records import group_from_json

FORMAT_VERSION = 1
CURRENT = "CURRENT"
VERSIONS = "versions"
MANIFEST = "manifest.json"
MANIFEST_SHA = "manifest.sha256"  # hex sha256 of manifest.json (absent in older indexes)
DOCUMENTS = "documents.jsonl"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.npy"
UNIT_SPANS = "unit_spans.npy"  # absent in versions written before unit vectors were stored
UNITS = "units.npy"
DENSE = "dense.faiss"
BM25_DIR = "bm25"
TMP_PREFIX = ".tmp-"
LOCK = ".lock"


@dataclass(frozen=True)
class VersionData:
    """A version folder read back: records as parsed JSON, vectors as an array."""

    name: str
    path: Path
    manifest: dict[str, Any]
    manifest_hash: str
    documents: list[dict[str, Any]]
    groups: list[ChunkGroup]
    embed_shas: list[str]
    vectors: np.ndarray
    unit_spans: np.ndarray | None = None
    unit_vectors: NpyRows | None = None  # read on demand, not held in memory


def current_version(index_dir: Path) -> tuple[str, Path]:
    """(name, folder) of the live version; `IndexMissing` names what is missing."""
    current = index_dir / CURRENT
    if not current.is_file():
        raise IndexMissing(f"no index at {index_dir} (missing {current})")
    name = current.read_text(encoding="utf-8").strip()
    folder = index_dir / VERSIONS / name
    if not name or "/" in name or not (folder / MANIFEST).is_file():
        raise IndexMissing(f"{current} names version {name!r} but {folder / MANIFEST} is missing")
    return name, folder


def read_manifest(folder: Path) -> tuple[dict[str, Any], str]:
    """(manifest, sha256 of manifest.json's bytes)."""
    path = folder / MANIFEST
    data = path.read_bytes()
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise IndexCorrupt(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise IndexCorrupt(f"{path}: field 'format' expected {FORMAT_VERSION}, found {found!r}")
    return manifest, sha256_bytes(data)


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists exists with its recorded size and sha256."""
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise IndexCorrupt(f"{folder / MANIFEST}: field 'files' is missing or empty")
    for rel, want in sorted(files.items()):
        path = folder / rel
        if not path.is_file():
            raise IndexCorrupt(f"{path}: listed in the manifest but missing")
        sha, size = file_digest(path)
        if size != want["size"]:
            raise IndexCorrupt(f"{path}: size expected {want['size']}, found {size}")
        if sha != want["sha256"]:
            raise IndexCorrupt(f"{path}: sha256 expected {want['sha256']}, found {sha}")


def verify_manifest_hash(folder: Path, manifest_hash: str) -> None:
    """manifest.json matches the hash written beside it (when the index has one)."""
    path = folder / MANIFEST_SHA
    if not path.is_file():
        return
    recorded = path.read_text(encoding="ascii", errors="replace").strip()
    if recorded != manifest_hash:
        raise IndexCorrupt(
            f"{folder / MANIFEST}: sha256 expected {recorded!r} (from {MANIFEST_SHA}), "
            f"found {manifest_hash!r}"
        )


def previous_versions(index_dir: Path) -> list[str]:
    """Complete versions other than the live one, newest manifest first (a failed verification
    of the live version falls back to these)."""
    live = current_version(index_dir)[0]
    folders = [
        f
        for f in (index_dir / VERSIONS).iterdir()
        if f.is_dir() and f.name != live and (f / MANIFEST).is_file()
    ]
    folders.sort(key=lambda f: (f / MANIFEST).stat().st_mtime_ns, reverse=True)
    return [f.name for f in folders]


def read_version(index_dir: Path, *, verify: bool = True, name: str | None = None) -> VersionData:
    """Read the live version of `index_dir` (or version `name`), checking hashes and counts
    when `verify`."""
    if name is None:
        name, folder = current_version(index_dir)
    else:
        folder = index_dir / VERSIONS / name
        if "/" in name or not (folder / MANIFEST).is_file():
            raise IndexMissing(f"{index_dir} has no complete version {name!r}")
    manifest, manifest_hash = read_manifest(folder)
    if verify:
        verify_manifest_hash(folder, manifest_hash)
        verify_files(folder, manifest)
    documents = list(read_jsonl(folder / DOCUMENTS))
    texts = {d["doc_id"]: d["text"] for d in documents}
    groups: list[ChunkGroup] = []
    shas: list[str] = []
    for line_no, record in enumerate(read_jsonl(folder / CHUNKS), start=1):
        try:
            group, sha = group_from_json(record, texts)
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexCorrupt(f"{folder / CHUNKS} line {line_no}: {exc!r}") from exc
        groups.append(group)
        shas.append(sha)
    vectors = load_npy(folder / VECTORS)
    check_counts(folder, manifest, len(documents), len(groups), vectors)
    unit_spans = unit_vectors = None
    if UNIT_SPANS in manifest.get("files", {}):
        unit_spans, unit_vectors = load_npy(folder / UNIT_SPANS), NpyRows(folder / UNITS)
        check_units(folder, manifest, unit_spans, unit_vectors)
    return VersionData(
        name, folder, manifest, manifest_hash, documents, groups, shas, vectors,
        unit_spans, unit_vectors,
    )  # fmt: skip


def load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise IndexCorrupt(f"{path}: {exc}") from exc


def check_units(
    folder: Path, manifest: dict[str, Any], spans: np.ndarray, vectors: NpyRows
) -> None:
    """unit_spans.npy and units.npy against the manifest's unit count and the model's dim."""
    dim = manifest.get("model", {}).get("dim")
    n = manifest.get("counts", {}).get("units", len(spans))
    checks = [
        (f"{UNIT_SPANS} shape", (n, 3), tuple(spans.shape)),
        (f"{UNIT_SPANS} dtype", "int32", str(spans.dtype)),
        (f"{UNITS} shape", (n, dim), tuple(vectors.shape)),
        (f"{UNITS} dtype", "float16", str(vectors.dtype)),
    ]
    for field, want, found in checks:
        if want != found:
            raise IndexCorrupt(f"{folder}: {field} expected {want}, found {found}")


def check_counts(
    folder: Path,
    manifest: dict[str, Any],
    n_docs: int,
    n_chunks: int,
    vectors: np.ndarray | NpyRows,
) -> None:
    """The manifest's document and chunk counts, and vectors.npy's shape and dtype."""
    counts = manifest.get("counts", {})
    dim = manifest.get("model", {}).get("dim")
    checks = [
        ("counts.documents", counts.get("documents"), n_docs),
        ("counts.chunks", counts.get("chunks"), n_chunks),
        ("vectors.npy shape", (n_chunks, dim), tuple(vectors.shape)),
        ("vectors.npy dtype", "float32", str(vectors.dtype)),
    ]
    for field, want, found in checks:
        if want != found:
            raise IndexCorrupt(f"{folder}: {field} expected {want}, found {found}")


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise IndexCorrupt(f"{path} line {line_no}: not valid JSON ({exc})") from exc


def npy_bytes(array: np.ndarray) -> bytes:
    """`array` in .npy format, without pickle."""
    return b"".join(npy_parts(array))


def npy_header(shape: tuple[int, ...], dtype: np.dtype[Any] | type) -> bytes:
    """The .npy header of a C-ordered array of `shape` and `dtype` (np.save's, version 1.0).

    >>> len(npy_header((2, 3), np.float16)) % 64
    0
    """
    dt = np.dtype(dtype)
    if dt.hasobject:
        raise ValueError("object arrays are not written (they would need pickle)")
    head = io.BytesIO()
    descr = np.lib.format.dtype_to_descr(dt)
    np.lib.format.write_array_header_1_0(
        head, {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
    )
    return head.getvalue()


def npy_parts(array: np.ndarray) -> Iterator[bytes | memoryview]:
    """`array` in .npy format as its header and a view of its data (no copy of the data).

    >>> a = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> np.load(io.BytesIO(npy_bytes(a))).tolist()
    [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    """
    data = np.ascontiguousarray(array)
    yield npy_header(data.shape, data.dtype)
    if data.size:
        yield data.data.cast("B")


def new_tmp_folder(index_dir: Path) -> Path:
    """An empty `versions/.tmp-<random>` folder to build a version in."""
    versions = index_dir / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    tmp = versions / f"{TMP_PREFIX}{secrets.token_hex(6)}"
    tmp.mkdir()
    return tmp


def publish(index_dir: Path, tmp: Path, name: str, keep: str | None) -> Path:
    """Rename `tmp` to `versions/<name>`, point CURRENT at it, prune all but it and `keep`.

    A failure at any step leaves CURRENT naming the old, complete version.
    """
    versions = index_dir / VERSIONS
    final = versions / name
    fsync_tree(tmp)
    os.replace(tmp, final)
    try:
        fsync_path(versions)
        atomic_write(index_dir / CURRENT, (name + "\n").encode("utf-8"))
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise
    prune(index_dir, {name, keep} - {None})
    return final


def prune(index_dir: Path, keep: set[str | None]) -> None:
    """Delete version folders (and leftover temp folders) other than those in `keep`."""
    versions = index_dir / VERSIONS
    for child in sorted(versions.iterdir()):
        if child.is_dir() and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index folder (an advisory lock the OS drops if we die)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
