"""The CI quality gate: build the default-corpus index with the real CLI, then score every gold
test part with `clinqa eval` against the floors committed in eval/floors.json.

Slow tier (a full build of ~7,700 chunks); the fast tier deselects it with `-m "not slow"`.
The build goes to var/ci/ so a developer's second run is incremental (nothing re-embedded); CI
starts from a fresh clone, so nothing is cached there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CI = ROOT / "var" / "ci"
FLOORS = json.loads((ROOT / "eval" / "floors.json").read_text(encoding="utf-8"))
GOLD_SETS = [name for name in FLOORS if not name.startswith("_")]
MODEL = "minilm-int8"

pytestmark = pytest.mark.slow


def _clinqa(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    print(f"$ clinqa {' '.join(args)}  ({time.monotonic() - started:.0f}s, exit {done.returncode})")
    print(done.stdout[-4000:])
    print(done.stderr[-2000:], file=sys.stderr)
    return done


@pytest.fixture(scope="session")
def indexes() -> dict[str, Path]:
    default = CI / "index"
    built = _clinqa("build", "--force", "--no-progress", "--index", str(default), "--model", MODEL)
    assert built.returncode == 0, built.stderr
    from eval.results_md import build_eval_index, read_doc_ids
    from index.embedder import load_embedder

    eval_index = CI / "eval-index"
    summary = build_eval_index(
        eval_index,
        ROOT / "corpus",
        load_embedder(MODEL, threads=2),
        exclude_doc_ids=read_doc_ids(ROOT / "eval" / "gold" / "holdout_doc_ids.txt"),
        base_index=default,
    )
    assert not summary.failures
    assert summary.report is not None and summary.report.chunks_embedded <= 5  # copied, not rebuilt
    return {"default": default, "eval": eval_index}


def test_default_index_has_the_whole_corpus(indexes: dict[str, Path]) -> None:
    version = (indexes["default"] / "CURRENT").read_text().strip()
    manifest = json.loads((indexes["default"] / "versions" / version / "manifest.json").read_text())
    counts = manifest["counts"]
    assert counts["documents"] >= 1700 and counts["chunks"] >= 5000, counts


@pytest.mark.parametrize("name", GOLD_SETS)
def test_gold_set_meets_its_floors(indexes: dict[str, Path], name: str) -> None:
    spec = FLOORS[name]
    args = ["eval", f"eval/gold/{name}.jsonl", "--index", str(indexes[spec["index"]])]
    args += ["--model", MODEL, "--out", str(CI / "reports" / f"{name}.json")]
    args += [f"--min={m}={v}" for m, v in spec.get("min", {}).items()]
    args += [f"--max={m}={v}" for m, v in spec.get("max", {}).items()]
    if spec.get("compare"):
        args.append("--compare")
    done = _clinqa(*args)
    assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"
