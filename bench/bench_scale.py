"""Query latency at 10k / 100k / 1M chunks, scaled up from a real index's chunks and vectors.

Chunk i of the scaled index is real chunk `i mod B` (B = the base index's chunks) under a new
chunk id; its vector is the real vector plus seeded Gaussian noise (sigma 0.01 per dimension),
renormalised (copy 0 is exact); its BM25 text is the real text (token ids repeated). Dense search
is exact (flat) up to 100k and IVF (nlist = 4 sqrt N, nprobe 16) at 1M, with recall@10 against
exact on the question vectors. `QA.ask` runs the real answer pipeline over the scaled retrievers.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import bm25s
import faiss
import numpy as np
from timing import percentile, rss_bytes

from index.context import embed_text
from index.dense import DenseRetriever
from index.embedder import Embedder, normalise_rows
from index.groups import ChunkGroup
from index.hybrid import HybridRetriever
from index.lexical import STOPWORDS, LexicalRetriever
from index.store import ClinqaIndex
from ingest.types import Chunk, Document

SIGMA = 0.01
NPROBE = 16
IVF_TRAIN_MAX = 100_000
IVF_NITER = 10


def noisy_copies(base: np.ndarray, n: int, sigma: float, seed: int) -> np.ndarray:
    """`n` rows cycling over `base`; every copy after the first gets noise and is renormalised.

    >>> noisy_copies(np.eye(2, dtype=np.float32), 3, 0.0, 0).tolist()
    [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    """
    b = base.shape[0]
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    rng = np.random.default_rng(seed)
    for copy in range(math.ceil(n / b)):
        lo, hi = copy * b, min(n, (copy + 1) * b)
        block = base[: hi - lo]
        if copy:
            block = normalise_rows(block + rng.normal(0.0, sigma, block.shape).astype(np.float32))
        out[lo:hi] = block
    return out


def recall_at_k(approx: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each exact top-k row found in the approximate top-k row.

    >>> recall_at_k(np.array([[1, 2], [3, 4]]), np.array([[2, 1], [3, 5]]))
    0.75
    """
    k = exact.shape[1]
    return float(np.mean([len(set(a) & set(e)) / k for a, e in zip(approx, exact, strict=True)]))


def scaled_groups(base: Sequence[ChunkGroup], n: int) -> list[ChunkGroup]:
    """`n` groups cycling over `base`, copy c's chunk ids suffixed "~c" (same doc ids, offsets)."""
    out = []
    for i in range(n):
        copy, g = divmod(i, len(base))
        group = base[g]
        if copy:
            group = ChunkGroup(tuple(_renamed(c, copy) for c in group.occurrences))
        out.append(group)
    return out


def _renamed(c: Chunk, copy: int) -> Chunk:
    return replace(c, chunk_id=f"{c.chunk_id}~{copy}")


def scaled_bm25(base_texts: Sequence[str], n: int) -> bm25s.BM25:
    """bm25s over `n` texts cycling over `base_texts` (tokenised once, ids repeated)."""
    tok = bm25s.tokenize(list(base_texts), stopwords=STOPWORDS, show_progress=False)
    ids = [tok.ids[i % len(base_texts)] for i in range(n)]
    bm25 = bm25s.BM25()
    bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=tok.vocab), show_progress=False)
    return bm25


def build_ivf(vectors: np.ndarray, seed: int) -> tuple[Any, dict[str, Any]]:
    """IVF-Flat (inner product), trained on a seeded sample of at most IVF_TRAIN_MAX rows."""
    n, d = vectors.shape
    nlist = int(4 * math.sqrt(n))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = IVF_NITER
    index.cp.max_points_per_centroid = max(1, IVF_TRAIN_MAX // nlist)
    rows = np.sort(np.random.default_rng(seed).choice(n, min(n, IVF_TRAIN_MAX), replace=False))
    index.train(vectors[rows])
    index.add(vectors)
    return index, {"nlist": nlist, "nprobe": NPROBE, "train_rows": len(rows), "niter": IVF_NITER}


@dataclass
class ScaledIndex:
    """What `QA.ask` reads from an index, over the scaled retrievers."""

    dense: DenseRetriever
    lexical: LexicalRetriever
    hybrid: HybridRetriever
    embedder: Embedder
    base: ClinqaIndex

    def document(self, doc_id: str) -> Document:
        return self.base.document(doc_id)


def latencies(fn: Any, queries: Sequence[str]) -> list[float]:
    """Milliseconds of `fn(q)` for each query (after one warm-up call)."""
    fn(queries[0])
    out = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def scale_point(
    base: ClinqaIndex, qa: Any, n: int, queries: Sequence[str], recall_queries: Sequence[str],
    *, approximate: bool, seed: int = 11,
) -> dict[str, Any]:  # fmt: skip
    """Build one scaled index of `n` chunks, time retrieval and QA.ask, report its memory."""
    gc.collect()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    vectors = noisy_copies(base.vectors, n, SIGMA, seed)
    groups = scaled_groups(base.groups, n)
    t1 = time.perf_counter()
    if approximate:
        index, params = build_ivf(vectors, seed)
        kind = "ivf"
    else:
        index, params, kind = faiss.IndexFlatIP(vectors.shape[1]), {}, "flat"
        index.add(vectors)
    t2 = time.perf_counter()
    bm25 = scaled_bm25([embed_text(g.chunk) for g in base.groups], n)
    t3 = time.perf_counter()
    dense = DenseRetriever(groups, vectors, base.embedder, index, kind=kind, params=params)
    lexical = LexicalRetriever(groups, bm25)
    hybrid = HybridRetriever(dense, lexical, candidates=50, rrf_k=60)
    gc.collect()
    rss1 = rss_bytes()
    view = ScaledIndex(dense, lexical, hybrid, base.embedder, base)
    qa.index = view
    retrieval = latencies(lambda q: hybrid.search(q, 10), queries)
    dense_ms = latencies(lambda q: dense.search(q, 10), queries)
    lexical_ms = latencies(lambda q: lexical.search(q, 10), queries)
    answer = latencies(qa.ask, queries)
    qa.index = base
    result: dict[str, Any] = {
        "chunks": n, "dense_kind": kind, "dense_params": params,
        "build_s": {"vectors_and_chunks": round(t1 - t0, 1), "faiss": round(t2 - t1, 1),
                    "bm25": round(t3 - t2, 1)},
        "queries": len(queries),
        "retrieval_ms_p50": round(percentile(retrieval, 50), 1),
        "retrieval_ms_p95": round(percentile(retrieval, 95), 1),
        "dense_ms_p50": round(percentile(dense_ms, 50), 1),
        "lexical_ms_p50": round(percentile(lexical_ms, 50), 1),
        "answer_ms_p50": round(percentile(answer, 50), 1),
        "answer_ms_p95": round(percentile(answer, 95), 1),
        "memory": _memory(n, vectors, index, kind, params, bm25, base, rss1 - rss0),
    }  # fmt: skip
    if approximate:
        result.update(_recall(vectors, index, base.embedder, recall_queries))
    return result


def _recall(vectors: np.ndarray, ivf: Any, embedder: Embedder, questions: Sequence[str]) -> dict:
    q = embedder.embed(list(questions))
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    t0 = time.perf_counter()
    _, exact = flat.search(q, 10)
    flat_ms = (time.perf_counter() - t0) * 1000 / len(q)
    ivf.nprobe = NPROBE
    t0 = time.perf_counter()
    _, approx = ivf.search(q, 10)
    ivf_ms = (time.perf_counter() - t0) * 1000 / len(q)
    return {
        "recall_at_10_vs_exact": round(recall_at_k(approx, exact), 4),
        "recall_queries": len(q),
        "exact_flat_ms_per_query_batched": round(flat_ms, 2),
        "ivf_ms_per_query_batched": round(ivf_ms, 2),
    }


def _memory(
    n: int, vectors: np.ndarray, index: Any, kind: str, params: dict[str, Any],
    bm25: bm25s.BM25, base: ClinqaIndex, rss_delta: int,
) -> dict[str, Any]:  # fmt: skip
    d = vectors.shape[1]
    faiss_bytes = n * d * 4 if kind == "flat" else n * (d * 4 + 8) + params["nlist"] * d * 4
    bm25_bytes = sum(int(a.nbytes) for a in (bm25.scores["data"], bm25.scores["indices"],
                                            bm25.scores["indptr"]))  # fmt: skip
    store = (base.path / "chunks.jsonl").stat().st_size / max(1, len(base.groups))
    per = {
        "vectors": vectors.nbytes / n,
        "faiss": faiss_bytes / n,
        "bm25": bm25_bytes / n,
        "chunk_store_on_disk": store,
    }
    return {
        "bytes_per_chunk": {k: round(v, 1) for k, v in per.items()},
        "bytes_per_chunk_total": round(sum(per.values()), 1),
        "rss_delta_bytes_per_chunk": round(rss_delta / n, 1),
        "rss_delta_mb": round(rss_delta / 2**20, 1),
    }
