"""One ingest in a fresh process, so its wall time and peak memory are its own.

    python bench/ingest_child.py clinqa-int8|clinqa-fp32|langchain|build-int8 CORPUS_DIR OUT.json

clinqa: `index.pipeline.ingest_paths` into a fresh folder through the sandboxed reader (what
`clinqa build` does), then the same paths again (nothing changed), then the embedder alone on
the built chunks' contextual texts (the ceiling, same embedder, same process). langchain: the
corpus as clinqa reads it, split 1000/200, the same fp32 MiniLM, `FAISS.from_documents`.
build-int8: the first ingest alone (what `clinqa build` does), with the process's peak RSS
once the embedder is loaded and warm, so the parent can tell the build's own memory from the
model's. The parent reads the peak RSS from the child's rusage.
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def clinqa(spec: str, corpus: Path) -> dict[str, object]:
    from index.context import embed_text
    from index.embedder import load_embedder
    from index.pipeline import ingest_paths
    from index.store import ClinqaIndex
    from ingest.sandbox import file_reader

    emb = load_embedder(spec, threads=2)
    emb.embed(["warm up the runtime"])
    folder = Path(tempfile.mkdtemp(prefix=f"bench-ingest-{spec}-"))
    try:
        with file_reader(True, timeout_s=60, memory_bytes=1 << 30) as read:
            t0 = time.perf_counter()
            summary = ingest_paths(folder, [corpus], emb, read=read)
            t1 = time.perf_counter()
            again = ingest_paths(folder, [corpus], emb, read=read)
            t2 = time.perf_counter()
        assert summary.report is not None and not summary.failures, summary.failures[:3]
        assert again.report is not None and not again.report.written
        ix = ClinqaIndex.load(folder, emb)
        texts = [embed_text(g.chunk) for g in ix.groups]
        t3 = time.perf_counter()
        emb.embed(texts, batch_size=64)
        ceiling = time.perf_counter() - t3
        return {
            "ingest_s": t1 - t0, "reingest_s": t2 - t1, "ceiling_s": ceiling,
            "documents": summary.documents_read, "chunks": summary.report.chunks_total,
            "chars": sum(len(d.text) for d in ix.documents()),
            "embedded_chars": sum(len(t) for t in texts),
        }  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def build_only(corpus: Path) -> dict[str, object]:
    from index.embedder import load_embedder
    from index.pipeline import ingest_paths
    from ingest.sandbox import file_reader

    emb = load_embedder("minilm-int8", threads=2)
    emb.embed(["warm up the runtime"])
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    folder = Path(tempfile.mkdtemp(prefix="bench-build-"))
    try:
        with file_reader(True, timeout_s=60, memory_bytes=1 << 30) as read:
            t0 = time.perf_counter()
            summary = ingest_paths(folder, [corpus], emb, read=read)
            seconds = time.perf_counter() - t0
        assert summary.report is not None and not summary.failures, summary.failures[:3]
        return {
            "ingest_s": seconds, "documents": summary.documents_read,
            "chunks": summary.report.chunks_total, "loaded_rss_mb": loaded,
        }  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def langchain(corpus: Path) -> dict[str, object]:
    from bench_langchain import ClinqaEmbeddings, build_store
    from corpus_sample import sample_documents

    from index.embedder import load_embedder

    emb = ClinqaEmbeddings(load_embedder("minilm", threads=2))
    emb.embed_query("warm up the runtime")
    t0 = time.perf_counter()
    docs = sample_documents(corpus)
    _, n = build_store(docs, emb)
    return {
        "ingest_s": time.perf_counter() - t0, "documents": len(docs), "chunks": n,
        "chars": sum(len(d.text) for d in docs),
    }  # fmt: skip


def main() -> None:
    system, corpus, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if system == "langchain":
        result = langchain(corpus)
    elif system == "build-int8":
        result = build_only(corpus)
    else:
        result = clinqa({"clinqa-int8": "minilm-int8", "clinqa-fp32": "minilm"}[system], corpus)
    out.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
