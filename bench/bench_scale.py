"""Query latency at 10k / 100k / 1M chunks, scaled up from a real index's chunks and vectors.

Chunk i of the scaled index is real chunk `i mod B` (B = the base index's chunks) under a new
chunk id; its vector is the real vector plus seeded Gaussian noise (sigma 0.01 per dimension),
renormalised (copy 0 is exact); its BM25 text is the real text (token ids repeated); its answer
units' vectors are the real chunk's. The dense index is the kind the product builds at that size
(`index.dense.resolve_kind("auto", n)`: exact below 50k, HNSW below 500k, IVF-Flat beyond, with
`index.dense.build_faiss`), with recall@10 against exact search on the question vectors.
`QA.ask` runs the real answer pipeline over the scaled retrievers.
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
from index.dense import DenseRetriever, build_faiss, resolve_kind
from index.embedder import Embedder, normalise_rows
from index.groups import ChunkGroup
from index.hybrid import HybridRetriever
from index.lexical import STOPWORDS, LexicalRetriever
from index.store import ClinqaIndex
from ingest.types import Chunk, Document

SIGMA = 0.01
ANN_MIN_CHUNKS = 50_000  # the product's default (qa.settings.Settings.ann_min_chunks)


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

    def vector(self, chunk_id: str) -> np.ndarray:
        return self.base.vector(chunk_id.split("~")[0])

    def unit_vectors(self, chunk_id: str) -> tuple[np.ndarray, np.ndarray] | None:
        return self.base.unit_vectors(chunk_id.split("~")[0])

    @property
    def unit_mode(self) -> str:
        return self.base.unit_mode


def latencies(fn: Any, queries: Sequence[str], embedder: Any = None) -> list[float]:
    """Milliseconds of `fn(q)` for each query (after one warm-up call); the embedder forgets
    the question vectors it remembers before each call, so every call embeds its question."""
    recent = getattr(embedder, "recent", None)
    forget = recent.clear if recent is not None else (lambda: None)
    fn(queries[0])
    out = []
    for q in queries:
        forget()
        t0 = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def scale_point(
    base: ClinqaIndex, qa: Any, n: int, queries: Sequence[str], recall_queries: Sequence[str],
    *, seed: int = 11,
) -> dict[str, Any]:  # fmt: skip
    """Build one scaled index of `n` chunks, time retrieval and QA.ask, report its memory."""
    gc.collect()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    vectors = noisy_copies(base.vectors, n, SIGMA, seed)
    groups = scaled_groups(base.groups, n)
    t1 = time.perf_counter()
    kind = resolve_kind("auto", n, ANN_MIN_CHUNKS)
    index, params = build_faiss(vectors, kind)
    t2 = time.perf_counter()
    bm25 = scaled_bm25([embed_text(g.chunk) for g in base.groups], n)
    t3 = time.perf_counter()
    dense = DenseRetriever(groups, vectors, base.embedder, index, kind=kind, params=params)
    recall = _recall(vectors, dense, base.embedder, recall_queries) if kind != "flat" else {}
    del vectors  # flat and HNSW serve from the FAISS index's own copy, IVF keeps one
    lexical = LexicalRetriever(groups, bm25)
    hybrid = HybridRetriever(dense, lexical, candidates=50, rrf_k=60)
    gc.collect()
    rss1 = rss_bytes()
    view = ScaledIndex(dense, lexical, hybrid, base.embedder, base)
    qa.index = view
    emb = base.embedder
    retrieval = latencies(lambda q: hybrid.search(q, 10), queries, emb)
    dense_ms = latencies(lambda q: dense.search(q, 10), queries, emb)
    lexical_ms = latencies(lambda q: lexical.search(q, 10), queries, emb)
    answer = latencies(qa.ask, queries, emb)
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
        "memory": _memory(n, dense, index, bm25, base, rss1 - rss0),
        **recall,
    }  # fmt: skip
    return result


def _recall(
    vectors: np.ndarray, dense: DenseRetriever, embedder: Embedder, questions: Sequence[str]
) -> dict[str, Any]:
    """recall@10 of the approximate index against exact search over the same vectors, and the
    approximate search's own time, one question at a time."""
    q = embedder.embed(list(questions))
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    t0 = time.perf_counter()
    _, exact = flat.search(q, 10)
    flat_ms = (time.perf_counter() - t0) * 1000 / len(q)
    del flat
    t0 = time.perf_counter()
    approx = np.array([[r for r, _ in dense._faiss_search(v, 10, None)] for v in q])
    ann_ms = (time.perf_counter() - t0) * 1000 / len(q)
    return {
        "recall_at_10_vs_exact": round(recall_at_k(approx, exact), 4),
        "recall_queries": len(q),
        "exact_flat_ms_per_query_batched": round(flat_ms, 2),
        "ann_ms_per_query": round(ann_ms, 2),
    }


def _memory(
    n: int, dense: DenseRetriever, index: Any, bm25: bm25s.BM25, base: ClinqaIndex,
    rss_delta: int,
) -> dict[str, Any]:  # fmt: skip
    held = getattr(dense.vectors, "owner", None) is not None  # a view of FAISS's own copy
    faiss_bytes = int(faiss.serialize_index(index).nbytes)
    bm25_bytes = sum(int(a.nbytes) for a in (bm25.scores["data"], bm25.scores["indices"],
                                            bm25.scores["indptr"]))  # fmt: skip
    folder = base.path
    store = (folder / "chunks.jsonl").stat().st_size / max(1, len(base.groups))
    units = (folder / "units.npy").stat().st_size / max(1, len(base.groups))
    per = {
        "vectors": 0.0 if held else dense.vectors.nbytes / n,
        "faiss": faiss_bytes / n,
        "bm25": bm25_bytes / n,
        "chunk_store_on_disk": store,
        "unit_vectors_on_disk": units,
    }
    return {
        "bytes_per_chunk": {k: round(v, 1) for k, v in per.items()},
        "bytes_per_chunk_in_memory": round(per["vectors"] + per["faiss"] + per["bm25"], 1),
        "rss_delta_bytes_per_chunk": round(rss_delta / n, 1),
        "rss_delta_mb": round(rss_delta / 2**20, 1),
    }
