"""Reports of a run: a plain-text table for the CLI, the JSON report file, a Markdown summary."""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.bootstrap import bootstrap_ci, paired_bootstrap_ci
from eval.gate import gate
from eval.metrics import LOWER_IS_BETTER, case_values, summarise
from eval.runner import EvalResult

__all__ = [
    "breakdown",
    "compare",
    "format_table",
    "format_value",
    "gate",
    "markdown_report",
    "write_report",
]

BREAKDOWN_METRICS = (
    "hit@5",
    "doc_hit@5",
    "fact_all",
    "token_f1",
    "abstain_recall",
    "false_abstain",
    "citation_exact",
)


def format_value(name: str, value: float | int | None) -> str:
    """How a metric value is shown: null, a count, milliseconds or a 4-decimal share.

    >>> format_value("hit@1", 0.5), format_value("latency_ms_p50", 12.345), format_value("x", None)
    ('0.5000', '12.3', 'null')
    """
    if value is None:
        return "null"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if name.startswith("latency_ms"):
        return f"{value:.1f}"
    return f"{value:.4f}"


def format_table(metrics: Mapping[str, float | int | None]) -> str:
    """A plain-text two-column table of the metrics, "(lower)" marking lower-is-better ones.

    >>> print(format_table({"hit@1": 0.5, "false_abstain": None}))
    metric                  value
    hit@1                  0.5000
    false_abstain (lower)    null
    """
    labels = {n: f"{n} (lower)" if n in LOWER_IS_BETTER else n for n in metrics}
    width = max([len("metric"), *(len(v) for v in labels.values())]) + 2
    values = {n: format_value(n, v) for n, v in metrics.items()}
    vwidth = max([len("value"), *(len(v) for v in values.values())])
    lines = [f"{'metric':<{width}}{'value':>{vwidth}}"]
    lines += [f"{labels[n]:<{width}}{values[n]:>{vwidth}}" for n in metrics]
    return "\n".join(lines)


def _as_json(result: EvalResult | Mapping[str, Any]) -> dict[str, Any]:
    return result.to_json() if isinstance(result, EvalResult) else dict(result)


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text atomically (temp file in the same folder, fsync, replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_report(result: EvalResult | Mapping[str, Any], path: str | Path) -> Path:
    """Write the report JSON atomically (see `write_text`)."""
    data = json.dumps(_as_json(result), ensure_ascii=False, indent=1, allow_nan=False)
    return write_text(path, data + "\n")


def breakdown(
    cases: Sequence[Mapping[str, Any]], key: str = "section", k: int = 10
) -> dict[str, dict[str, float | int | None]]:
    """Metrics per value of a case key ("section", "source"); cases without it go under "-".

    >>> breakdown([{"section": "a", "checks": {"fact_all": True}}])["a"]["fact_all"]
    1.0
    """
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for case in cases:
        groups[str(case.get(key) or "-")].append(case.get("checks") or {})
    return {name: summarise(checks, k=k) for name, checks in sorted(groups.items())}


def compare(
    a_cases: Sequence[Mapping[str, Any]],
    b_cases: Sequence[Mapping[str, Any]],
    name: str,
    seed: int = 0,
) -> dict[str, Any]:
    """Paired difference A - B of a mean metric over the cases both runs share (by id)."""
    b_by_id = {c["id"]: c.get("checks") or {} for c in b_cases}
    shared = [(c.get("checks") or {}, b_by_id[c["id"]]) for c in a_cases if c["id"] in b_by_id]
    xa = [None if ca.get(name) is None else float(ca[name]) for ca, _ in shared]
    xb = [None if cb.get(name) is None else float(cb[name]) for _, cb in shared]
    pairs = [(x, y) for x, y in zip(xa, xb, strict=True) if x is not None and y is not None]
    diff = sum(x - y for x, y in pairs) / len(pairs) if pairs else None
    return {
        "metric": name,
        "n": len(pairs),
        "diff": diff,
        "ci95": paired_bootstrap_ci(xa, xb, seed=seed),
    }


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _scored(checks: Sequence[Mapping[str, Any]], name: str, values: Sequence[float]) -> str:
    if name in ("citation_exact", "citation_in_passage"):
        return f"{sum(len(c.get(name) or ()) for c in checks)} citations"
    if name == "numbers_unsupported" or name.startswith("latency"):
        return f"{len(checks)} cases"
    return f"{len(values)} cases"


def _failed(case: Mapping[str, Any]) -> str | None:
    checks = case.get("checks") or {}
    if checks.get("abstain_recall") is False:
        return "answered an unanswerable question"
    if checks.get("false_abstain") is True:
        return "abstained on an answerable question"
    if checks.get("fact_all") is False:
        return "missing facts"
    if checks.get("numbers_unsupported"):
        return "unsupported numbers: " + ", ".join(checks["numbers_unsupported"])
    if not all(checks.get("citation_exact") or [True]):
        return "citation not at its offsets"
    return None


def markdown_report(result: EvalResult | Mapping[str, Any], max_failures: int = 30) -> str:
    """A Markdown summary: run stamp, metrics with 95% bootstrap intervals, breakdowns, failures."""
    data = _as_json(result)
    metrics: Mapping[str, Any] = data.get("metrics") or {}
    cases: list[Mapping[str, Any]] = data.get("cases") or []
    run: Mapping[str, Any] = data.get("run") or {}
    k = int(run.get("k", 10))
    checks = [c.get("checks") or {} for c in cases]
    out = ["# clinqa evaluation", ""]
    stamp = {n: run.get(n) for n in ("gold", "commit", "index_manifest_hash", "model", "k")}
    out += [f"- {n}: `{v}`" for n, v in stamp.items() if v is not None]
    n_ans = sum(bool(c.get("answerable")) for c in checks)
    out += [f"- cases: {len(cases)} ({n_ans} answerable, {len(cases) - n_ans} unanswerable)"]
    if run.get("gold_errors"):
        out.append(f"- malformed gold lines skipped: {len(run['gold_errors'])}")
    out += ["", "## Metrics", ""]
    rows = []
    for name, value in metrics.items():
        values = case_values(checks, name)
        ci = bootstrap_ci(values)
        interval = f"{ci[0]:.3f} - {ci[1]:.3f}" if ci else ""
        label = f"{name} (lower)" if name in LOWER_IS_BETTER else name
        rows.append([label, format_value(name, value), interval, _scored(checks, name, values)])
    out += _md_table(["metric", "value", "95% CI (bootstrap)", "scored"], rows)
    for key in ("source", "section"):
        groups = breakdown(cases, key, k=k)
        if len(groups) < 2:
            continue
        out += ["", f"## By {key}", ""]
        brows = [
            [name, str(sum(1 for c in cases if str(c.get(key) or "-") == name))]
            + [format_value(m, g.get(m)) for m in BREAKDOWN_METRICS]
            for name, g in groups.items()
        ]
        out += _md_table([key, "n", *BREAKDOWN_METRICS], brows)
    failures = [(c.get("id"), c.get("question"), why) for c in cases if (why := _failed(c))]
    if failures:
        out += ["", f"## Failed cases ({len(failures)}; first {min(len(failures), max_failures)})"]
        out += [""] + [f"- `{i}` {q!r}: {why}" for i, q, why in failures[:max_failures]]
    return "\n".join(out) + "\n"
