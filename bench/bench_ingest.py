"""Ingest throughput and peak memory, each run a fresh process (bench/ingest_child.py), next to
the embedder's own ceiling and vanilla LangChain on the same corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from timing import median, rate

BENCH = Path(__file__).resolve().parent
CHILD = BENCH / "ingest_child.py"


def child_run(system: str, corpus: Path) -> dict[str, Any]:
    """One ingest in a child process: its own figures plus wall time and peak RSS (rusage)."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        out = Path(tmp) / "result.json"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        t0 = time.perf_counter()
        argv = [sys.executable, str(CHILD), system, str(corpus), str(out)]
        proc = subprocess.Popen(argv, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"{system} on {corpus}: child exited {proc.returncode}")
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result.update(process_s=wall, peak_rss_mb=usage.ru_maxrss / 1024)
    return result


def ingest_bench(
    corpora: dict[str, Path], systems: dict[str, Sequence[str]], runs: int
) -> list[dict[str, Any]]:
    """Median figures per (corpus, system); clinqa rows carry the ceiling and the ratio to
    LangChain's wall time on the same corpus."""
    out = []
    for name, corpus in corpora.items():
        rows: dict[str, dict[str, Any]] = {}
        for system in systems[name]:
            runs_ = [child_run(system, corpus) for _ in range(runs)]
            rows[system] = _summary(name, system, runs_)
        lc = rows.get("langchain")
        for row in rows.values():
            if lc is not None and row["system"] != "langchain":
                row["wall_vs_langchain"] = round(row["ingest_s"] / lc["ingest_s"], 3)
                row["chars_per_s_vs_langchain"] = round(
                    row["ingest_chars_per_s"] / lc["ingest_chars_per_s"], 3
                )
            out.append(row)
    return out


def _summary(corpus: str, system: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    ing = median([r["ingest_s"] for r in rows])
    r0 = rows[0]
    row: dict[str, Any] = {
        "corpus": corpus, "system": system, "runs": len(rows), "threads": 2,
        "documents": r0["documents"], "chunks": r0["chunks"], "corpus_chars": r0["chars"],
        "ingest_s": round(ing, 2), "ingest_runs_s": [round(r["ingest_s"], 2) for r in rows],
        "ingest_chars_per_s": round(rate(r0["chars"], ing), 0),
        "ingest_chunks_per_s": round(rate(r0["chunks"], ing), 1),
        "peak_rss_mb": round(median([r["peak_rss_mb"] for r in rows]), 1),
        "process_s": round(median([r["process_s"] for r in rows]), 2),
    }  # fmt: skip
    if "ceiling_s" in r0:
        ceil = median([r["ceiling_s"] for r in rows])
        row.update({
            "reingest_s": round(median([r["reingest_s"] for r in rows]), 3),
            "ceiling_s": round(ceil, 2),
            "ceiling_chunks_per_s": round(rate(r0["chunks"], ceil), 1),
            "ingest_over_ceiling": round(ceil / ing, 3),
        })  # fmt: skip
    return row


def memory_bench(corpora: dict[int, Path], runs: int) -> list[dict[str, Any]]:
    """Peak RSS of a build (int8, 2 threads, fresh process) on growing corpora: the whole
    process and the part above the loaded, warm embedder; medians of `runs`."""
    out = []
    for n, corpus in corpora.items():
        rows = [child_run("build-int8", corpus) for _ in range(runs)]
        r0 = rows[0]
        out.append({
            "passages": n, "documents": r0["documents"], "chunks": r0["chunks"], "runs": runs,
            "ingest_s": round(median([r["ingest_s"] for r in rows]), 2),
            "loaded_rss_mb": round(median([r["loaded_rss_mb"] for r in rows]), 1),
            "peak_rss_mb": round(median([r["peak_rss_mb"] for r in rows]), 1),
            "peak_runs_mb": [round(r["peak_rss_mb"], 1) for r in rows],
            "build_mb": round(median([r["peak_rss_mb"] - r["loaded_rss_mb"] for r in rows]), 1),
        })  # fmt: skip
    return out
