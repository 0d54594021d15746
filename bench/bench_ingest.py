"""clinqa ingest throughput (`index.pipeline.ingest_paths`) next to the embedder's own ceiling."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_embed import time_embed
from timing import median, rate

from index.context import embed_text
from index.embedder import load_embedder
from index.pipeline import ingest_paths
from index.store import ClinqaIndex


def ingest_run(sample: Path, spec: str, threads: int, keep: Path | None = None) -> dict[str, Any]:
    """One fresh ingest, one re-ingest of the unchanged sample, one pure embed of its chunks."""
    emb = load_embedder(spec, threads=threads)
    emb.embed(["warm up the runtime"])
    folder = Path(tempfile.mkdtemp(prefix=f"bench-ingest-{spec}-"))
    try:
        t0 = time.perf_counter()
        summary = ingest_paths(folder, [sample], emb)
        t1 = time.perf_counter()
        again = ingest_paths(folder, [sample], emb)
        t2 = time.perf_counter()
        ix = ClinqaIndex.load(folder, emb)
        texts = [embed_text(g.chunk) for g in ix.groups]
        ceiling_s = time_embed(emb, texts)
        chars = sum(len(d.text) for d in ix.documents())
        report = summary.report
        assert report is not None and again.report is not None
        assert not again.report.written and again.report.chunks_embedded == 0
        if keep is not None and not keep.exists():
            shutil.copytree(folder, keep)
        return {
            "ingest_s": t1 - t0, "reingest_s": t2 - t1, "ceiling_s": ceiling_s,
            "documents": summary.documents_read, "chunks": report.chunks_total, "chars": chars,
            "embedded_chars": sum(len(t) for t in texts),
        }  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def ingest_bench(sample: Path, runs: int, threads: int, keep: dict[str, Path]) -> list[dict]:
    """Median ingest, re-ingest and ceiling figures for int8 and fp32."""
    out = []
    for spec in ("minilm-int8", "minilm"):
        rows = [ingest_run(sample, spec, threads, keep.get(spec)) for _ in range(runs)]
        ing = median([r["ingest_s"] for r in rows])
        re_ = median([r["reingest_s"] for r in rows])
        ceil = median([r["ceiling_s"] for r in rows])
        r0 = rows[0]
        out.append({
            "backend": spec, "threads": threads, "runs": runs,
            "documents": r0["documents"], "chunks": r0["chunks"], "corpus_chars": r0["chars"],
            "ingest_s": round(ing, 2), "ingest_runs_s": [round(r["ingest_s"], 2) for r in rows],
            "ingest_chars_per_s": round(rate(r0["chars"], ing), 0),
            "ingest_chunks_per_s": round(rate(r0["chunks"], ing), 1),
            "reingest_s": round(re_, 3),
            "ceiling_s": round(ceil, 2),
            "ceiling_chunks_per_s": round(rate(r0["chunks"], ceil), 1),
            "ceiling_corpus_chars_per_s": round(rate(r0["chars"], ceil), 0),
            "ingest_over_ceiling": round(ceil / ing, 3),
        })  # fmt: skip
    return out
