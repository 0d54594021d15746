"""Vanilla LangChain RAG on the same sample: split 1000/200, same MiniLM, FAISS.from_documents."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import Embeddings
from timing import median, percentile, rate

from index.embedder import Embedder, load_embedder
from ingest.types import Document


class ClinqaEmbeddings(Embeddings):
    """A clinqa embedder as a LangChain `Embeddings` (the same MiniLM weights)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(texts, batch_size=64).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed([text])[0].tolist()


def build_store(docs: Sequence[Document], emb: Embeddings) -> tuple[Any, int]:
    """Split, embed and index like a LangChain tutorial; returns (store, number of chunks)."""
    from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    lc_docs = [LCDocument(page_content=d.text, metadata={"doc_id": d.doc_id}) for d in docs]
    pieces = splitter.split_documents(lc_docs)
    return FAISS.from_documents(pieces, emb), len(pieces)


def langchain_bench(
    docs: Sequence[Document], questions: Sequence[str], runs: int, threads: int, out_dir: Path
) -> dict[str, Any]:
    """Median build time (chars/s) and similarity_search p50/p95; saves a no-pickle copy."""
    emb = ClinqaEmbeddings(load_embedder("minilm", threads=threads))
    emb.embed_query("warm up the runtime")
    chars = sum(len(d.text) for d in docs)
    secs, store, n = [], None, 0
    for _ in range(runs):
        t0 = time.perf_counter()
        store, n = build_store(docs, emb)
        secs.append(time.perf_counter() - t0)
    assert store is not None
    lat = []
    for q in questions:
        t0 = time.perf_counter()
        store.similarity_search(q, k=10)
        lat.append((time.perf_counter() - t0) * 1000)
    _save_plain(store, out_dir)
    build = median(secs)
    return {
        "splitter": "RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)",
        "embeddings": "all-MiniLM-L6-v2 fp32 (sentence-transformers), wrapped as Embeddings",
        "store": "langchain_community FAISS.from_documents (IndexFlatL2)",
        "threads": threads, "runs": runs, "documents": len(docs), "chunks": n,
        "corpus_chars": chars, "build_s": round(build, 2),
        "build_runs_s": [round(s, 2) for s in secs],
        "chars_per_s": round(rate(chars, build), 0), "chunks_per_s": round(rate(n, build), 1),
        "queries": len(lat), "search_ms_p50": round(percentile(lat, 50), 2),
        "search_ms_p95": round(percentile(lat, 95), 2),
    }  # fmt: skip


def _save_plain(store: Any, out_dir: Path) -> None:
    """Vectors as .npy and texts as JSON (LangChain's own save_local pickles its docstore)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    index = store.index
    vectors = index.reconstruct_n(0, index.ntotal)
    np.save(out_dir / "vectors.npy", np.asarray(vectors, dtype=np.float32), allow_pickle=False)
    ids = [store.index_to_docstore_id[i] for i in range(index.ntotal)]
    texts = [store.docstore.search(i).page_content for i in ids]
    (out_dir / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
