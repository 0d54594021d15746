"""clinqa benchmarks: embedder ceiling, ingest, LangChain, latency at scale, cold start.

    HF_HUB_OFFLINE=1 nice -n 10 .venv/bin/python bench/run.py [--quick] [--only SECTION ...]

Each section writes bench/results/<section>.json (medians of >= 3 runs); bench/RESULTS.md is
re-rendered from every JSON there. Sections: embedder, ingest, memory, langchain, cold, scale.
Work files (the sample corpus, sample indexes, a LangChain store) go to var/bench/. The default
index var/index-int8 is only read. `--quick` shrinks sizes to check the script in a few minutes and
writes to bench/results/quick/ (RESULTS.md is left alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from bench_cold import cold_start  # noqa: E402
from bench_embed import embedder_ceiling, pick  # noqa: E402
from bench_ingest import ingest_bench, memory_bench  # noqa: E402
from bench_langchain import langchain_bench  # noqa: E402
from corpus_sample import FOLDERS, gold_questions, sample_documents, write_sample  # noqa: E402
from results_md import render  # noqa: E402

SECTIONS = ("embedder", "ingest", "memory", "langchain", "cold", "scale")
WORK = ROOT / "var" / "bench"
RESULTS = BENCH / "results"
DEFAULT_INDEX = ROOT / "var" / "index-int8"
COLD_QUESTION = "What is the starting dose of metformin?"
MEDQUAD_SAMPLE = 2000
MEMORY_SIZES = (1000, 2000, 4000, 8000)  # MedQuAD passages per build in the memory section


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temp file beside `path`, fsync it, then replace `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def machine(command: str) -> dict[str, Any]:
    import bm25s
    import faiss
    import onnxruntime
    import torch

    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
         if ln.startswith("model name")), platform.processor(),
    )  # fmt: skip
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "command": command, "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(), "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__, "faiss": faiss.__version__,
        "bm25s": bm25s.__version__,
    }  # fmt: skip


QUICK = {"on": False}  # --quick: a 10-abstract sample, fewer queries, smaller scales


def sample_folder(wide: bool = False) -> Path:
    """The fixed corpus sample (built once into var/bench/); `wide` = the embedder's."""
    folders: tuple[str, ...] = FOLDERS[:2]
    name, n = "sample-ingest", 50
    if wide:
        name, folders, n = "sample", FOLDERS, 150
    if QUICK["on"]:
        name, folders, n = "sample-quick", FOLDERS[:2], 10
    folder = WORK / name
    if not (folder / "pubmedqa" / "corpus.jsonl").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        write_sample(ROOT / "corpus", folder, folders, n)
    return folder


def sample_index(spec: str) -> Path:
    """A sample index built with `spec` (built once into var/bench/)."""
    folder = WORK / f"index-{spec}-{sample_folder().name}"
    if not (folder / "CURRENT").is_file():
        from index.embedder import load_embedder
        from index.pipeline import ingest_paths

        log(f"building {folder}")
        ingest_paths(folder, [sample_folder()], load_embedder(spec, threads=2))
    return folder


def run_embedder(quick: bool, runs: int) -> dict[str, Any]:
    from index.context import embed_text
    from index.embedder_onnx import OnnxMiniLMEmbedder
    from ingest.chunker import chunk_document

    counter = OnnxMiniLMEmbedder(threads=1)
    texts = [
        embed_text(c)
        for d in sample_documents(sample_folder(wide=True))
        for c in chunk_document(d, count_tokens=counter.count_tokens)
    ]
    chosen = pick(texts, 100 if quick else 500, seed=7)
    rows = embedder_ceiling(chosen, runs, threads=(1, 2))
    chars = sum(len(t) for t in chosen)
    return {"chunks": len(chosen), "chars": chars, "seed": 7, "runs": runs, "rows": rows}


def medquad_sample(n: int = MEDQUAD_SAMPLE) -> Path:
    """A seeded sample of `n` MedQuAD passages (built once into var/bench/)."""
    import gzip
    import random

    folder = WORK / f"medquad-{n}"
    path = folder / "passages.jsonl"
    if not path.is_file():
        with gzip.open(ROOT / "eval" / "medquad_corpus" / "corpus.jsonl.gz", "rt") as f:
            lines = [line for line in f if line.strip()]
        chosen = sorted(random.Random(3).sample(range(len(lines)), min(n, len(lines))))
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(path, "".join(lines[i] for i in chosen))
    return folder


def run_ingest(quick: bool, runs: int) -> list[dict[str, Any]]:
    corpora = {"sample": sample_folder()}
    systems: dict[str, Sequence[str]] = {
        "sample": ("clinqa-int8", "clinqa-fp32", "langchain"),
        "default corpus": ("clinqa-int8", "langchain"),
        "MedQuAD sample": ("clinqa-int8", "langchain"),
    }
    if not quick:
        corpora["default corpus"] = ROOT / "corpus"
        corpora["MedQuAD sample"] = medquad_sample()
    return ingest_bench(corpora, systems, runs)


def run_memory(quick: bool, runs: int) -> dict[str, Any]:
    sizes = (100, 200) if quick else MEMORY_SIZES
    rows = memory_bench({n: medquad_sample(n) for n in sizes}, runs)
    return {"seed": 3, "rows": rows}


def run_langchain(quick: bool, runs: int) -> dict[str, Any]:
    docs = sample_documents(sample_folder())
    questions = gold_questions(ROOT / "eval" / "gold", 20 if quick else 100)
    store = WORK / f"langchain-store-{sample_folder().name}"
    return langchain_bench(docs, questions, runs, threads=2, out_dir=store)


def run_cold(quick: bool, runs: int) -> dict[str, Any]:
    clinqa = str(ROOT / ".venv" / "bin" / "clinqa")
    int8 = DEFAULT_INDEX if (DEFAULT_INDEX / "CURRENT").is_file() else sample_index("minilm-int8")
    fp32 = sample_index("minilm")
    store = WORK / f"langchain-store-{sample_folder().name}"
    if not (store / "vectors.npy").is_file():
        run_langchain(quick, runs)
    cases = [
        ("clinqa ask --model minilm", fp32, [clinqa, "ask", COLD_QUESTION, "--index", str(fp32),
                                             "--model", "minilm"]),
        ("clinqa ask --model minilm-int8", int8, [clinqa, "ask", COLD_QUESTION, "--index",
                                                  str(int8), "--model", "minilm-int8"]),
        ("LangChain vanilla (load store, similarity_search)", store,
         [sys.executable, str(BENCH / "lc_child.py"), str(store), COLD_QUESTION]),
    ]  # fmt: skip
    rows = []
    for label, index, argv in cases:
        log(f"cold start: {label}")
        row = cold_start(label, argv, runs)
        row["index"] = f"{_rel(index)} ({_chunks(index)} chunks)"
        rows.append(row)
    return {"runs": runs, "question": COLD_QUESTION, "rows": rows}


def run_scale(quick: bool, runs: int) -> dict[str, Any]:
    from bench_scale import ANN_MIN_CHUNKS, SIGMA, scale_point

    from index.embedder_onnx import OnnxMiniLMEmbedder
    from index.store import ClinqaIndex
    from qa.engine import QA
    from qa.settings import Settings

    base_dir = DEFAULT_INDEX if (DEFAULT_INDEX / "CURRENT").is_file() else None
    base_dir = base_dir or sample_index("minilm-int8")
    base = ClinqaIndex.load(base_dir, OnnxMiniLMEmbedder(threads=1))
    qa = QA(base, Settings(model="minilm-int8"))
    questions = gold_questions(ROOT / "eval" / "gold", 200)
    queries = questions[: 20 if quick else 100]
    recall_q = questions[: 50 if quick else 200]
    sizes = [10_000, 60_000] if quick else [10_000, 100_000, 1_000_000]
    points = []
    for n in sizes:
        log(f"scale: {n:,} chunks")
        points.append(scale_point(base, qa, n, queries, recall_q))
        log(f"scale: {n:,} done: {json.dumps(points[-1])[:300]}")
    return {
        "base_index": _rel(base_dir), "base_chunks": len(base.groups),
        "base_model": f"{base.manifest['model']['name']} ({base.manifest['model']['backend']})",
        "sigma": SIGMA, "ann_min_chunks": ANN_MIN_CHUNKS,
        "queries": len(queries), "recall_queries": len(recall_q), "points": points,
        "note": "QA's term statistics come from the base index (the same ratios as the "
        "scaled one, since every text is repeated alike).",
    }  # fmt: skip


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _chunks(folder: Path) -> str:
    if (folder / "vectors.npy").is_file():
        import numpy as np

        return f"{np.load(folder / 'vectors.npy', mmap_mode='r').shape[0]:,}"
    version = (folder / "CURRENT").read_text(encoding="utf-8").strip()
    manifest = json.loads((folder / "versions" / version / "manifest.json").read_text())
    return f"{manifest['counts']['chunks']:,}"


RUNNERS = {
    "embedder": run_embedder,
    "ingest": run_ingest,
    "memory": run_memory,
    "langchain": run_langchain,
    "cold": run_cold,
    "scale": run_scale,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run these sections")
    parser.add_argument("--runs", type=int, default=3, help="runs per median (>= 3)")
    args = parser.parse_args(argv)
    if args.runs < 3:
        parser.error("--runs must be at least 3 (figures are medians of several runs)")
    command = ".venv/bin/python bench/run.py" + (" --quick" if args.quick else "")
    WORK.mkdir(parents=True, exist_ok=True)
    QUICK["on"] = args.quick
    for section in args.only or SECTIONS:
        log(f"section {section}")
        t0 = time.perf_counter()
        load0 = os.getloadavg()[0]
        data = RUNNERS[section](args.quick, args.runs)
        out = {"section": section, "quick": args.quick, "seconds": round(time.perf_counter() - t0),
               "machine": machine(command), "load_1m": [round(load0, 2),
               round(os.getloadavg()[0], 2)], "result": data}  # fmt: skip
        folder = RESULTS / "quick" if args.quick else RESULTS  # a check never replaces figures
        write_atomic(folder / f"{section}.json", json.dumps(out, indent=2, ensure_ascii=False))
        log(f"section {section} done in {out['seconds']} s")
        if not args.quick:
            write_results_md()
    return 0


def write_results_md() -> None:
    results, meta = {}, None
    for section in SECTIONS:
        path = RESULTS / f"{section}.json"
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            results[section] = data["result"]
            meta = meta or dict(data["machine"])
            meta.setdefault("load", {})[section] = data.get("load_1m")
    if meta is not None:
        write_atomic(BENCH / "RESULTS.md", render(meta, results))


if __name__ == "__main__":
    sys.exit(main())
