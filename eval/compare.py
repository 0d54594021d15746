"""Score several systems on one gold set and compare each with clinqa (paired bootstrap).

`run_compare` returns one JSON-serialisable dict (write it with `eval.report.write_report`):
`{"run", "k", "gold", "systems": {name: {"metrics", "intervals", "mean_passage_chars",
"mean_answer_chars", "build_ms", "cases"}}, "paired": {other: {metric: {...}}}}`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eval.bootstrap import bootstrap_ci
from eval.gold import GoldCase
from eval.metrics import LOWER_IS_BETTER, case_values, metric_names
from eval.normalise import strip_markers
from eval.report import compare, format_value
from eval.runner import run_eval
from qa.types import Answer

REFERENCE = "clinqa"
PAIRED_METRICS = ("hit@5", "mrr@10", "fact_all")


def mean_or_none(values: Sequence[float]) -> float | None:
    """Mean, None for no values.

    >>> mean_or_none([1.0, 2.0]), mean_or_none([])
    (1.5, None)
    """
    return sum(values) / len(values) if values else None


def mean_passage_chars(cases: Sequence[Mapping[str, Any]], k: int) -> float | None:
    """Mean length in characters of the top-k passages listed over all cases.

    >>> mean_passage_chars([{"passages": [{"text": "ab"}, {"text": "abcd"}]}], 10)
    3.0
    """
    return mean_or_none([float(len(p.get("text") or "")) for c in cases for p in c["passages"][:k]])


def mean_answer_chars(cases: Sequence[Mapping[str, Any]]) -> float | None:
    """Mean answer length in characters (citation markers removed) over answered cases.

    >>> mean_answer_chars([{"answer": "Yes. [1]", "abstained": False}, {"abstained": True}])
    4.0
    """
    texts = [strip_markers(str(c.get("answer") or "")).strip() for c in cases]
    return mean_or_none(
        [float(len(t)) for c, t in zip(cases, texts, strict=True) if not c.get("abstained")]
    )


def intervals(
    checks: Sequence[Mapping[str, Any]], names: Sequence[str], seed: int = 0
) -> dict[str, list[float] | None]:
    """95% percentile-bootstrap interval of each mean metric (None when it has no case values).

    >>> intervals([{"hit@5": True}, {"hit@5": True}], ["hit@5", "latency_ms_p50"])
    {'hit@5': [1.0, 1.0], 'latency_ms_p50': None}
    """
    out: dict[str, list[float] | None] = {}
    for name in names:
        ci = bootstrap_ci(case_values(checks, name), seed=seed)
        out[name] = [ci[0], ci[1]] if ci else None
    return out


def excludes_zero(ci: Sequence[float] | None) -> bool:
    """True when a difference's interval lies wholly above or below zero.

    >>> excludes_zero((0.1, 0.3)), excludes_zero((-0.1, 0.2)), excludes_zero(None)
    (True, False, False)
    """
    return ci is not None and (ci[0] > 0 or ci[1] < 0)


def expected_json(case: GoldCase) -> dict[str, Any]:
    """What a gold case expects (kept in the report for the worst-misses table)."""
    return {
        "id": case.id,
        "question": case.question,
        "answerable": case.answerable,
        "must_include": [list(item) for item in case.must_include],
        "evidence": list(case.evidence),
        "gold_doc_ids": list(case.gold_doc_ids),
        "source": case.source,
        "section": case.section,
    }


def run_compare(
    cases: Sequence[GoldCase],
    systems: Mapping[str, Callable[[str], Answer]],
    *,
    k: int,
    stored_text: Callable[[str], str | None],
    seed: int = 0,
    run: Mapping[str, Any] | None = None,
    build_ms: Mapping[str, float] | None = None,
    source_type_of: Callable[[str], str | None] | None = None,
) -> dict[str, Any]:
    """Score every system on `cases`; metrics, intervals, lengths and paired diffs vs clinqa.

    `source_type_of(doc_id)` (optional) labels each case with its first gold document's source
    type (key "source_type") so plots can break results down by it.
    """
    names = metric_names(k)
    out_systems: dict[str, Any] = {}
    for name, answer_fn in systems.items():
        result = run_eval(cases, answer_fn, k=k, stored_text=stored_text)
        if source_type_of is not None:
            _label_source_types(result.cases, cases, source_type_of)
        checks = [c["checks"] for c in result.cases]
        out_systems[name] = {
            "metrics": result.metrics,
            "intervals": intervals(checks, names, seed=seed),
            "mean_passage_chars": mean_passage_chars(result.cases, k),
            "mean_answer_chars": mean_answer_chars(result.cases),
            "build_ms": (build_ms or {}).get(name),
            "cases": result.cases,
        }
    paired: dict[str, Any] = {}
    if REFERENCE in out_systems:
        ref_cases = out_systems[REFERENCE]["cases"]
        for other, data in out_systems.items():
            if other == REFERENCE:
                continue
            paired[other] = {}
            for metric in PAIRED_METRICS:
                diff = compare(ref_cases, data["cases"], metric, seed=seed)
                ci = diff["ci95"]
                diff["ci95"] = list(ci) if ci else None
                diff["excludes_zero"] = excludes_zero(ci)
                paired[other][metric] = diff
    info: dict[str, Any] = {"k": k, "n_cases": len(cases), "seed": seed, "systems": list(systems)}
    info.update(run or {})
    return {
        "run": info,
        "k": k,
        "gold": [expected_json(c) for c in cases],
        "systems": out_systems,
        "paired": paired,
    }


def _label_source_types(
    scored: list[dict[str, Any]],
    cases: Sequence[GoldCase],
    source_type_of: Callable[[str], str | None],
) -> None:
    for row, case in zip(scored, cases, strict=True):
        kinds = [source_type_of(d) for d in case.gold_doc_ids]
        row["source_type"] = next((t for t in kinds if t), None)


# ---- Markdown --------------------------------------------------------------------------------


def cell(name: str, value: Any, ci: Sequence[float] | None) -> str:
    """A table cell: the value and, when there is one, its 95% interval.

    >>> cell("hit@5", 0.5, [0.25, 0.75]), cell("hit@5", None, None)
    ('0.500 [0.250, 0.750]', 'null')
    """
    if value is None or not ci:
        return format_value(name, value)
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def _row(header: Sequence[str]) -> str:
    return "| " + " | ".join(header) + " |"


def metrics_table(result: Mapping[str, Any], names: Sequence[str] | None = None) -> list[str]:
    """Markdown lines: one row per system, one column per metric (value [95% CI])."""
    k = int(result.get("k", 10))
    names = list(names or metric_names(k))
    header = ["system", *(f"{n} (lower)" if n in LOWER_IS_BETTER else n for n in names)]
    header += ["passage chars", "answer chars", "build s"]
    lines = [_row(header), "|" + "---|" * len(header)]
    for system, data in result["systems"].items():
        metrics, cis = data["metrics"], data.get("intervals") or {}
        row = [f"`{system}`", *(cell(n, metrics.get(n), cis.get(n)) for n in names)]
        row += [_num(data.get("mean_passage_chars")), _num(data.get("mean_answer_chars"))]
        build = data.get("build_ms")
        row.append("-" if build is None else f"{build / 1000:.1f}")
        lines.append(_row(row))
    return lines


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def paired_table(result: Mapping[str, Any]) -> list[str]:
    """Markdown lines: clinqa minus each system, per paired metric, with the 95% interval."""
    paired = result.get("paired") or {}
    if not paired:
        return []
    header = ["clinqa minus", *(f"{m} diff [95% CI]" for m in PAIRED_METRICS)]
    lines = [_row(header), "|" + "---|" * len(header)]
    for other, diffs in paired.items():
        row = [f"`{other}`"]
        for metric in PAIRED_METRICS:
            d = diffs.get(metric) or {}
            if d.get("diff") is None or not d.get("ci95"):
                row.append("null")
                continue
            lo, hi = d["ci95"]
            mark = " *" if d.get("excludes_zero") else ""
            row.append(f"{d['diff']:+.3f} [{lo:+.3f}, {hi:+.3f}]{mark} (n={d['n']})")
        lines.append(_row(row))
    return lines


def _snippet(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def miss_severity(checks: Mapping[str, Any]) -> int:
    """How badly a case failed: one point per failed check (0: not a miss).

    >>> miss_severity({"hit@10": False, "fact_all": False, "doc_hit@10": True})
    2
    """
    bad = [
        checks.get("hit@10") is False,
        checks.get("doc_hit@10") is False,
        checks.get("fact_all") is False,
        checks.get("abstain_recall") is False,
        checks.get("false_abstain") is True,
    ]
    return sum(bad)


def worst_misses(
    result: Mapping[str, Any], system: str = REFERENCE, limit: int = 10
) -> list[dict[str, Any]]:
    """The `limit` worst cases of `system`: question, top-3 retrieved, what was expected."""
    data = result["systems"].get(system)
    if data is None:
        return []
    expected = {g["id"]: g for g in result.get("gold") or []}
    scored = [(miss_severity(c["checks"]), c) for c in data["cases"]]
    ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], str(s[1]["id"])))
    out = []
    for severity, case in ranked[:limit]:
        gold = expected.get(case["id"], {})
        out.append(
            {
                "id": case["id"],
                "question": case.get("question", ""),
                "severity": severity,
                "answer": case.get("answer", ""),
                "retrieved": [
                    {"doc_id": p.get("doc_id"), "snippet": _snippet(str(p.get("text", "")))}
                    for p in case.get("passages", [])[:3]
                ],
                "expected": gold,
            }
        )
    return out


def misses_table(result: Mapping[str, Any], system: str = REFERENCE, limit: int = 10) -> list[str]:
    """Markdown lines of `worst_misses`."""
    misses = worst_misses(result, system, limit)
    if not misses:
        return []
    lines = [_row(["case", "question", "retrieved (top 3)", "expected"]), "|---|---|---|---|"]
    for m in misses:
        got = "<br>".join(f"`{r['doc_id']}`: {r['snippet']}" for r in m["retrieved"]) or "-"
        gold = m["expected"]
        want: list[str] = []
        if not gold.get("answerable", True):
            want.append("abstain")
        if gold.get("gold_doc_ids"):
            want.append("docs " + ", ".join(f"`{d}`" for d in gold["gold_doc_ids"][:3]))
        if gold.get("evidence"):
            want.append("evidence: " + _snippet(gold["evidence"][0]))
        if gold.get("must_include"):
            want.append("facts: " + "; ".join(" / ".join(i) for i in gold["must_include"]))
        lines.append(_row([f"`{m['id']}`", _snippet(m["question"]), got, "<br>".join(want) or "-"]))
    return lines


def compare_markdown(result: Mapping[str, Any], title: str | None = None) -> str:
    """The Markdown of one compare run: stamp, the systems table, paired diffs, worst misses."""
    run = result.get("run") or {}
    name = title or str(run.get("gold") or "gold set")
    out = [f"## {name}", ""]
    for key in ("commit", "index_manifest_hash", "model", "started_utc", "n_cases", "k"):
        if run.get(key) is not None:
            out.append(f"- {key}: `{run[key]}`")
    out += ["", *metrics_table(result), ""]
    out.append(
        "Cells: value [95% percentile-bootstrap interval over cases]; `null`: no case scored."
    )
    paired = paired_table(result)
    if paired:
        out += ["", "### clinqa vs each system (paired bootstrap; * = interval excludes 0)", ""]
        out += paired
    misses = misses_table(result)
    if misses:
        out += ["", "### Worst misses (clinqa)", "", *misses]
    return "\n".join(out) + "\n"
