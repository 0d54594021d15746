"""`DenseRetriever`: inner product over L2-normalised vectors in FAISS (exact or approximate)."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from typing import Any

import faiss
import numpy as np

from index.embedder import Embedder
from index.groups import ChunkGroup, admitted_rows
from index.npy_rows import ArrayRows, RowSource
from index.types import Filters, Passage

DENSE_KINDS = ("auto", "flat", "hnsw", "ivf")
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128
IVF_MIN_CHUNKS = 500_000
IVF_TRAIN_MAX = 100_000
IVF_NITER = 10
ADD_BATCH = 2048  # rows added to FAISS at a time by a build (3 MiB of float32 at dim 384)
_faiss: Any = faiss  # the stubs lack the SearchParameters* classes


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` highest scores, best first; ties go to the lower position.

    >>> top_k(np.array([0.1, 0.9, 0.5, 0.9]), 3).tolist()
    [1, 3, 2]
    """
    if k <= 0 or scores.size == 0:
        return np.zeros(0, dtype=np.int64)
    if k < scores.size:  # only what ties with or beats the k-th best is sorted
        kth = np.partition(scores, scores.size - k)[scores.size - k]
        rows = np.flatnonzero(scores >= kth)
        return rows[np.lexsort((rows, -scores[rows]))][:k]
    return np.lexsort((np.arange(scores.size), -scores))[:k]


def resolve_kind(kind: str, n: int, ann_min_chunks: int) -> str:
    """The dense index kind to build: "auto" is exact below `ann_min_chunks`, HNSW up to
    IVF_MIN_CHUNKS, IVF-Flat beyond: every version rebuilds its FAISS index, and IVF trains on
    a 100k sample where HNSW inserts every vector (build times and recall in bench/RESULTS.md).

    >>> [resolve_kind("auto", n, 50_000) for n in (10, 60_000, 2_000_000)]
    ['flat', 'hnsw', 'ivf']
    """
    if kind not in DENSE_KINDS:
        raise ValueError(f"dense index kind must be one of {DENSE_KINDS}, got {kind!r}")
    if kind == "auto":
        if n < ann_min_chunks:
            return "flat"
        return "hnsw" if n < max(ann_min_chunks, IVF_MIN_CHUNKS) else "ivf"
    return kind


def build_faiss(vectors: np.ndarray, kind: str) -> tuple[Any, dict[str, Any]]:
    """A FAISS inner-product index over `vectors` of the given kind, with its parameters."""
    return build_faiss_rows(ArrayRows(vectors), kind)


def build_faiss_rows(
    source: RowSource, kind: str, batch_rows: int = ADD_BATCH
) -> tuple[Any, dict[str, Any]]:
    """`build_faiss` over rows read `batch_rows` at a time (a build's vectors.npy), so that the
    FAISS index is the only copy of the vectors in memory."""
    n, dim = source.shape
    if kind == "flat":
        index: Any = faiss.IndexFlatIP(dim)
        params: dict[str, Any] = {}
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        params = {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION, "efSearch": HNSW_EF_SEARCH}
    elif kind == "ivf":
        nlist = max(1, min(int(4 * math.sqrt(max(n, 1))), n // 39 or 1))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = IVF_NITER
        index.cp.max_points_per_centroid = max(39, IVF_TRAIN_MAX // nlist + 1)
        train = min(n, max(IVF_TRAIN_MAX, 39 * nlist))  # FAISS wants >= 39 points a centroid
        if n:  # k-means on a seeded sample: the same vectors give the same index
            sample = np.sort(np.random.default_rng(0).permutation(n)[:train])
            index.train(_sampled(source, sample, batch_rows))
        nprobe = min(nlist, max(8, min(32, nlist // 64)))
        params = {"nlist": nlist, "nprobe": nprobe, "train_rows": train}
    else:
        raise ValueError(f"dense index kind must be flat, hnsw or ivf, got {kind!r}")
    for lo in range(0, n, max(1, batch_rows)):
        index.add(np.ascontiguousarray(source.rows(lo, min(n, lo + batch_rows)), np.float32))
    return index, params


def write_faiss(index: Any, write: Callable[[bytes], int]) -> None:
    """Serialise `index` through `write` a block at a time (no copy of the whole file)."""
    faiss.write_index(index, _faiss.PyCallbackIOWriter(write))


_FLAT_IP_HEADER = struct.Struct("<4siqqq?iQ")  # fourcc, d, ntotal, 2 dummies, trained, metric, size


def write_flat_rows(
    source: RowSource, write: Callable[[bytes], int], batch_rows: int = ADD_BATCH
) -> None:
    """The file `faiss.write_index` gives for an `IndexFlatIP` over `source`'s rows, written
    from the rows a batch at a time: an exact index is its header and the float32 rows, so a
    build holds no copy of them (a test checks the bytes against FAISS's own)."""
    n, dim = source.shape
    dummy = 1 << 20  # what write_index_header writes in its two retired fields
    metric = int(faiss.METRIC_INNER_PRODUCT)
    write(_FLAT_IP_HEADER.pack(b"IxFI", dim, n, dummy, dummy, True, metric, n * dim))
    for lo in range(0, n, max(1, batch_rows)):
        rows = np.ascontiguousarray(source.rows(lo, min(n, lo + batch_rows)), np.float32)
        write(rows.tobytes())


def _sampled(source: RowSource, rows: np.ndarray, batch_rows: int) -> np.ndarray:
    """source's rows at the sorted positions `rows`, read a batch at a time."""
    n, dim = source.shape
    out = np.zeros((len(rows), dim), dtype=np.float32)
    done = 0
    for lo in range(0, n, max(1, batch_rows)):
        hi = min(n, lo + batch_rows)
        take = rows[done : done + int(np.searchsorted(rows[done:], hi))]
        if len(take):
            out[done : done + len(take)] = source.rows(lo, hi)[take - lo]
            done += len(take)
    return out


class _Held(np.ndarray):
    """An array over memory a FAISS index owns; it keeps the index alive."""

    owner: Any = None


def flat_vectors(index: Any) -> np.ndarray | None:
    """A zero-copy, read-only view of the vectors a flat or HNSW-flat FAISS index holds (None for
    kinds that keep no flat copy, such as IVF): the index's copy serves both FAISS and the
    filtered and relevance scoring, instead of a second one beside it.
    """
    flat = faiss.downcast_index(index.storage) if hasattr(index, "storage") else index
    if not isinstance(flat, faiss.IndexFlat) or flat.ntotal == 0:
        return None
    n, d = int(flat.ntotal), int(flat.d)
    view = faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d).view(_Held)
    view.owner = index
    view.setflags(write=False)
    return view


class DenseRetriever:
    """Rows of `vectors` are `groups`; the query is embedded with `embedder`."""

    name = "dense"

    def __init__(
        self,
        groups: Sequence[ChunkGroup],
        vectors: np.ndarray,
        embedder: Embedder,
        index: Any = None,
        *,
        kind: str = "flat",
        params: dict[str, Any] | None = None,
        subset_max: int = 2048,
    ) -> None:
        if len(groups) != vectors.shape[0]:
            raise ValueError(f"{len(groups)} chunks but {vectors.shape[0]} vectors")
        self.groups = list(groups)
        self.embedder = embedder
        if index is None:
            index, params = build_faiss(np.ascontiguousarray(vectors, dtype=np.float32), kind)
        held = flat_vectors(index)
        if held is not None and held.shape != vectors.shape:
            raise ValueError(f"FAISS index holds {held.shape} vectors, expected {vectors.shape}")
        self.vectors = held if held is not None else np.ascontiguousarray(vectors, np.float32)
        self.index = index
        self.kind = kind
        self.params = dict(params or {})
        self.subset_max = subset_max

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Passage]:
        """Top-k by cosine; filters restrict the candidates before ranking."""
        rows = admitted_rows(self.groups, filters)
        if not query.strip() or k <= 0 or not self.groups or rows == []:
            return []
        qv = self.embedder.embed([query])[0]
        if rows is not None and len(rows) <= self.subset_max:
            subset = np.asarray(rows, dtype=np.int64)
            scores = self.vectors[subset] @ qv
            best = top_k(scores, k)
            hits = list(zip(subset[best].tolist(), scores[best].tolist(), strict=True))
        else:
            hits = self._faiss_search(qv, min(k, len(self.groups)), rows)
        return [
            self.groups[row].passage(score, rank, self.name, filters)
            for rank, (row, score) in enumerate(hits, start=1)
        ]

    def _faiss_search(
        self, qv: np.ndarray, k: int, rows: list[int] | None
    ) -> list[tuple[int, float]]:
        sel = None if rows is None else faiss.IDSelectorBatch(np.asarray(rows, dtype=np.int64))
        if self.kind == "hnsw":
            ef = max(int(self.params.get("efSearch", HNSW_EF_SEARCH)), k)
            params: Any = _faiss.SearchParametersHNSW(sel=sel, efSearch=ef)
        elif self.kind == "ivf":
            params = _faiss.SearchParametersIVF(sel=sel, nprobe=int(self.params.get("nprobe", 8)))
        else:
            params = _faiss.SearchParameters(sel=sel) if sel is not None else None
        scores, ids = self.index.search(qv[None, :].astype(np.float32), k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
