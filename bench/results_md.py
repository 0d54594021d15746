"""Render bench/RESULTS.md from the JSON files in bench/results/ (pure: dicts in, text out)."""

from __future__ import annotations

from typing import Any


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table.

    >>> print(table(["a", "b"], [[1, 2]]))
    | a | b |
    |---|---|
    | 1 | 2 |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render(machine: dict[str, Any], results: dict[str, Any]) -> str:
    parts = [
        "# clinqa benchmarks",
        "",
        f"Written by `{machine['command']}` on {machine['date']}. Machine: {machine['nproc']} "
        f"cores ({machine['cpu']}), {machine['ram_gb']} GiB RAM, Python {machine['python']}, "
        f"torch {machine['torch']}, onnxruntime {machine['onnxruntime']}, faiss "
        f"{machine['faiss']}, bm25s {machine['bm25s']}. Each figure is the median of the runs "
        "listed in bench/results/*.json; the sections ran one after another; a section's load "
        "average shows whether other work shared the machine. "
        f"{_loads(machine.get('load', {}))} Compare rows with each other (same machine, same "
        "conditions) rather than with other machines.",
        "",
    ]
    if "embedder" in results:
        parts += _embedder(results["embedder"])
    if "ingest" in results:
        parts += _ingest(results["ingest"], results.get("langchain"))
    if "memory" in results:
        parts += _memory(results["memory"])
    if "scale" in results:
        parts += _scale(results["scale"])
    if "cold" in results:
        parts += _cold(results["cold"])
    if "langchain" in results:
        parts += _langchain(results["langchain"])
    return "\n".join(parts) + "\n"


def _loads(load: dict[str, Any]) -> str:
    """The 1-minute load average at each section's start and end, when recorded.

    >>> _loads({"scale": [0.5, 2.1], "cold": None})
    '1-minute load average at the start / end of each section: scale 0.5 / 2.1.'
    """
    parts = [f"{name} {v[0]} / {v[1]}" for name, v in load.items() if v]
    if not parts:
        return ""
    return "1-minute load average at the start / end of each section: " + ", ".join(parts) + "."


def _embedder(r: dict[str, Any]) -> list[str]:
    rows = [[x["backend"], x["threads"], x["chunks_per_s"], f"{x['chars_per_s']:,.0f}",
             x["median_s"], x["runs_s"]] for x in r["rows"]]  # fmt: skip
    return [
        "## Embedder ceiling",
        "",
        f"{r['chunks']} real chunks (their contextual text, {r['chars']:,} characters) drawn "
        f"with seed {r['seed']} from the chunks of seed + openFDA excerpts + NCI definitions + "
        f"the first 150 PubMed abstracts; `embed(texts, batch_size=64)`, which the int8 embedder "
        f"runs as length-sorted batches of 4; median of {r['runs']} runs after a warm-up batch. "
        "`minilm` = sentence-transformers fp32, `minilm-int8` = the int8 ONNX file via "
        "onnxruntime (weights stored as int8, dequantised once at load).",
        "",
        table(["backend", "threads", "chunks/s", "chars/s", "median s", "runs s"], rows),
        "",
        *_speedups(r["rows"]),
    ]


def _speedups(rows: list[dict[str, Any]]) -> list[str]:
    """One line comparing int8 with fp32 at each thread count."""
    by = {(x["backend"], x["threads"]): x["chunks_per_s"] for x in rows}
    parts = [
        f"{t} thread(s): int8 / fp32 = {by[('minilm-int8', t)] / by[('minilm', t)]:.2f}"
        for t in sorted({x["threads"] for x in rows})
        if ("minilm-int8", t) in by and ("minilm", t) in by and by[("minilm", t)]
    ]
    return [f"Speed of int8 relative to fp32: {'; '.join(parts)}.", ""] if parts else []


def _ingest(rows: list[dict[str, Any]], lc: dict[str, Any] | None) -> list[str]:
    body = [[x["corpus"], x["system"], x["documents"], x["chunks"], f"{x['corpus_chars']:,}",
             x["ingest_s"], f"{x['ingest_chars_per_s']:,.0f}", x["ingest_chunks_per_s"],
             x.get("ceiling_chunks_per_s", "-"), x.get("ingest_over_ceiling", "-"),
             x.get("wall_vs_langchain", "-"), x.get("reingest_s", "-"), x["peak_rss_mb"],
             x["ingest_runs_s"]]
            for x in rows]  # fmt: skip
    return [
        "## Ingest throughput",
        "",
        "Each run is a fresh process (`bench/ingest_child.py`), median of "
        f"{rows[0]['runs']} runs, 2 threads. clinqa: `index.pipeline.ingest_paths` into a fresh "
        "folder through the sandboxed reader, as `clinqa build` does (read, section, chunk with "
        "the token counter, embed chunks and pool their answer units in the same pass, write "
        "FAISS + bm25s + unit vectors + manifest). *ceiling* = the same embedder embedding the "
        "same chunks' contextual texts alone, in the same process; *ratio* = ceiling time / "
        "ingest time (1.0 = ingest costs nothing beyond embedding). *vs LangChain* = clinqa's "
        "ingest wall time / vanilla LangChain's on the same corpus (the issue's goal: <= 0.667). "
        "*re-ingest* = the same paths again (nothing changed: no embedding, no new version). "
        "*peak RSS* = the process's maximum resident memory (rusage). LangChain: the corpus as "
        "clinqa reads it, RecursiveCharacterTextSplitter(1000, 200), the same fp32 MiniLM as an "
        "`Embeddings`, `FAISS.from_documents`; no BM25, no offsets, no manifest. Corpora: "
        "*sample* = seed + openFDA label excerpts + the first 50 PubMed abstracts; *default "
        "corpus* = all of corpus/; *MedQuAD sample* = 2,000 passages drawn with seed 3 from "
        "eval/medquad_corpus.",
        "",
        table(
            [
                "corpus",
                "system",
                "docs",
                "chunks",
                "corpus chars",
                "ingest s",
                "chars/s",
                "chunks/s",
                "ceiling chunks/s",
                "ratio",
                "vs LangChain",
                "re-ingest s",
                "peak RSS MB",
                "runs s",
            ],
            body,
        ),  # fmt: skip
        "",
    ]


MEMORY_HEADER = [
    "passages", "chunks", "ingest s", "loaded MB", "peak MB", "build MB", "KiB/chunk",
    "peak runs MB",
]  # fmt: skip


def _memory(r: dict[str, Any]) -> list[str]:
    rows, prev = [], None
    for x in r["rows"]:
        slope = "-"
        if prev is not None and x["chunks"] > prev["chunks"]:
            per = (x["build_mb"] - prev["build_mb"]) * 2**20 / (x["chunks"] - prev["chunks"])
            slope = f"{per / 1024:.1f}"
        rows.append([f"{x['passages']:,}", f"{x['chunks']:,}", x["ingest_s"], x["loaded_rss_mb"],
                     x["peak_rss_mb"], x["build_mb"], slope, x["peak_runs_mb"]])  # fmt: skip
        prev = x
    return [
        "## Ingest memory as the corpus grows",
        "",
        "`clinqa build`'s work alone (`index.pipeline.ingest_paths` through the sandboxed reader, "
        "int8 MiniLM, 2 threads) in a fresh process per run, on seeded samples (seed "
        f"{r['seed']}) of MedQuAD passages of growing size; median of {r['rows'][0]['runs']} "
        "runs. *loaded* = peak RSS once the embedder is loaded and warm; *peak* = the process's "
        "peak RSS (rusage); *build* = peak - loaded; *KiB/chunk* = growth of *build* per added "
        "chunk from the row above. The sandboxed reader hands a file's documents over one at a "
        "time; document records (with their texts), chunks, chunk vectors, answer-unit vectors "
        "and spans go to scratch files as they come, and what a build keeps per chunk is a few "
        "arrays (its id, document, offsets, and where its rows lie: about 100 bytes); an exact "
        "FAISS index is written straight from vectors.npy and bm25s's matrix (8 bytes a "
        "document-token pair, the one part of the index held) is filled from two passes over "
        "the texts. The peak is the embedder's working set during embedding, not the index. "
        "(HNSW and IVF, from 50,000 chunks, are built in memory: what a query process holds to "
        "serve them.) Memory is the figure here: *ingest s* is for orientation only (throughput "
        "is the ingest table's, and this section may share the machine; see its load average "
        "above).",
        "",
        table(MEMORY_HEADER, rows),
        "",
    ]


def _scale(r: dict[str, Any]) -> list[str]:
    rows = []
    for x in r["points"]:
        m = x["memory"]
        rows.append([f"{x['chunks']:,}", x["dense_kind"], x["retrieval_ms_p50"],
                     x["retrieval_ms_p95"], x["dense_ms_p50"], x["lexical_ms_p50"],
                     x["answer_ms_p50"], x["answer_ms_p95"],
                     x.get("recall_at_10_vs_exact", "exact"), m["bytes_per_chunk_in_memory"],
                     m["rss_delta_bytes_per_chunk"]])  # fmt: skip
    mem = [[f"{x['chunks']:,}", *x["memory"]["bytes_per_chunk"].values(),
            x["memory"]["rss_delta_mb"], " / ".join(str(v) for v in x["build_s"].values())]
           for x in r["points"]]  # fmt: skip
    keys = list(r["points"][0]["memory"]["bytes_per_chunk"]) if r["points"] else []
    return [
        "## Query latency at scale (synthetic scale-up from real embeddings)",
        "",
        f"**Synthetic:** the base is the real index `{r['base_index']}` ({r['base_chunks']:,} "
        f"chunks, {r['base_model']}). Chunk i of an N-chunk index is real chunk i mod "
        f"{r['base_chunks']:,} under a new id; its vector is the real vector plus seeded "
        f"Gaussian noise (sigma {r['sigma']} per dimension), renormalised; its BM25 text is the "
        "real text repeated. Near-duplicate texts make BM25 and the rank lists flatter than a "
        "real corpus of that size would; latency and memory are the figures to read. "
        f"{r['queries']} real gold questions, one at a time, query embedder int8 on 1 thread. "
        "*retrieval* = `HybridRetriever.search(q, 10)` (embed + FAISS + bm25s + RRF); "
        "*answer* = the full `QA.ask` (hybrid top-50, rerank, sentence selection, cited "
        "composition; the answer units' vectors are read from the base index's file). The dense "
        "index is the one the product builds at that size (`index.dense.resolve_kind`: exact "
        f"below {r['ann_min_chunks']:,} chunks, HNSW M 32 / efSearch 128 below 500,000, IVF-Flat "
        "with nlist = 4 sqrt(N), nprobe 32 and k-means on 100,000 seeded rows beyond); recall@10 "
        f"against exact search on {r['recall_queries']} question vectors, one at a time. "
        f"{r.get('note', '')}",
        "",
        table(
            [
                "chunks",
                "dense",
                "retrieval p50 ms",
                "retrieval p95 ms",
                "dense p50 ms",
                "bm25 p50 ms",
                "answer p50 ms",
                "answer p95 ms",
                "recall@10",
                "bytes/chunk",
                "RSS delta B/chunk",
            ],
            rows,
        ),  # fmt: skip
        "",
        "Memory per chunk in bytes (vectors = a float32 matrix the retriever keeps beside "
        "FAISS: none for flat and HNSW, which are scored from a view of FAISS's own copy; faiss "
        "= the serialised FAISS index; bm25 = bm25s's sparse score matrix; chunk store and unit "
        "vectors = bytes per chunk of the base index's chunks.jsonl and units.npy, on disk and "
        "read on demand). *bytes/chunk* in the first table = vectors + faiss + bm25. RSS delta "
        "= resident memory after building minus before (includes the Python Chunk objects); "
        "build s = vectors and chunk objects / FAISS (HNSW inserts; IVF trains + adds) / bm25s.",
        "",
        table(["chunks", *keys, "RSS delta MB", "build s"], mem),
        "",
    ]


def _cold(r: dict[str, Any]) -> list[str]:
    rows = [[x["label"], x["index"], x["wall_s_median"], x["peak_rss_mb_median"],
             x["wall_s_runs"]] for x in r["rows"]]  # fmt: skip
    cmds = [f"- {x['label']}: `{x['command']}`" for x in r["rows"]]
    return [
        "## Cold start",
        "",
        "Wall time from process start to the printed answer and the process's peak RSS "
        f"(`/usr/bin/time -f %M`), median of {r['runs']} fresh processes, HF_HUB_OFFLINE=1. "
        "`--model minilm` runs on the fp32 sample index built by the ingest section (no fp32 "
        "default index exists here); `--model minilm-int8` on the default int8 index (read "
        "only). LangChain: a child that loads the same MiniLM and the saved store (vectors "
        ".npy + texts JSON, since LangChain's own `save_local` pickles) into "
        "`FAISS.from_embeddings`, then runs one `similarity_search`.",
        "",
        table(["command", "index", "wall s", "peak RSS MB", "runs s"], rows),
        "",
        *cmds,
        "",
    ]


def _langchain(r: dict[str, Any]) -> list[str]:
    return [
        "## Vanilla LangChain RAG, where the figures apply",
        "",
        f"{r['splitter']}; {r['embeddings']}; {r['store']}. Built on the ingest sample: "
        f"{r['chunks']} chunks, {r['chars_per_s']:,.0f} chars/s (median of {r['runs']} builds). "
        f"`similarity_search(q, k=10)` over it, {r['queries']} questions: p50 "
        f"{r['search_ms_p50']} ms, p95 {r['search_ms_p95']} ms (dense only, no BM25, no "
        "answer composition). Its cold start is in the table above.",
        "",
    ]
