"""No telemetry: questions may carry patient details, and clinqa sends nothing anywhere.

onnxruntime >= 1.29 runs Microsoft 1DS telemetry on Linux: on the first inference session it
writes a device id and an event queue (process path, OS, CPU, session events) under
~/.cache/Microsoft/DeveloperTools/.onnxruntime and uploads them when it can. The positive control
shows that a bare onnxruntime session in a clean environment does so here; clinqa's int8 embedder,
the path every query and ingest takes, must leave no trace of it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, home: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "HF_HUB_OFFLINE": "1"}  # no opt-out set
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _traces(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if "Microsoft" in str(p))


def test_int8_embedder_leaves_no_onnxruntime_telemetry(tmp_path: Path) -> None:
    bare, ours = tmp_path / "bare", tmp_path / "ours"
    bare.mkdir()
    ours.mkdir()
    _run(
        "import onnxruntime as ort\n"
        "from index.embedder_onnx import _packaged_onnx\n"
        "ort.InferenceSession(str(_packaged_onnx()), providers=['CPUExecutionProvider'])\n",
        bare,
    )
    assert _traces(bare), "positive control: a bare onnxruntime session wrote no telemetry files"
    _run(
        "from index.embedder import load_embedder\n"
        "v = load_embedder('minilm-int8', threads=1).embed(['aldesleukin dose'])\n"
        "assert v.shape[0] == 1\n",
        ours,
    )
    assert _traces(ours) == []
