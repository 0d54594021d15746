"""`clinqa eval GOLD`: score a gold file against the index, print the table, write the report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.engine import QA
    from qa.settings import Settings

LABEL_ANSWER_SOURCES = ("pubmedqa",)  # `answers` are yes/no/maybe labels, not answer text


def run_eval_command(
    args: argparse.Namespace, s: Settings, open_qa: Callable[[Settings], QA]
) -> int:
    from eval.gate import gate, parse_bound
    from eval.gold import GoldFileError
    from eval.report import format_table, markdown_report, write_report
    from eval.runner import load_gold, run_eval, run_stamp

    try:
        mins = dict(parse_bound(b) for b in args.min)
        maxs = dict(parse_bound(b) for b in args.max)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        cases, errors = load_gold(args.gold)
    except GoldFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for e in errors:
        print(f"{e.path}:{e.line}: skipped: {e.reason}", file=sys.stderr)
    labels = [c for c in cases if c.source in LABEL_ANSWER_SOURCES and c.answers]
    if labels:
        print(
            f"note: {len(labels)} case(s) carry yes/no/maybe labels as answers; an extractive "
            "system does not answer those, so they are left out of the answer-text metrics",
            file=sys.stderr,
        )
        cases = [replace(c, answers=()) if c in labels else c for c in cases]
    qa = open_qa(s)
    index = qa.index

    def stored_text(doc_id: str) -> str | None:
        try:
            return index.document(doc_id).text
        except KeyError:
            return None

    if args.compare:
        metrics = _compare(args, s, qa, strip_answers=bool(labels))
    else:
        stamp = run_stamp(index.manifest_hash, index.embedder.name)
        stamp.update({"gold": str(args.gold), "settings": s.to_dict(), "index_dir": s.index_dir})
        result = run_eval(
            cases, qa.ask, k=args.k, stored_text=stored_text, run=stamp, gold_errors=errors
        )
        metrics = result.metrics
        print(format_table(metrics))
        if args.out:
            from eval.results_md import write_text

            path = write_report(result, args.out)
            md = write_text(Path(path).with_suffix(".md"), markdown_report(result))
            print(f"report: {path} and {md}")
    try:
        failures = gate(metrics, mins, maxs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for f in failures:
        print(f"GATE FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0


COMPARE_COLUMNS = (
    "hit@5", "mrr@10", "doc_hit@5", "fact_all", "token_f1", "abstain_recall", "false_abstain",
    "citation_exact", "numbers_unsupported", "latency_ms_p50",
)  # fmt: skip


def _compare(args: argparse.Namespace, s: Settings, qa: QA, *, strip_answers: bool) -> Any:
    """Score every system of eval.baselines on the gold file; return clinqa's metrics."""
    from eval.baselines import build_systems
    from eval.results_md import gold_set_name, score_gold_file

    out_dir = Path(args.out).parent if args.out else Path(s.index_dir).parent / "eval"
    out_dir = out_dir / gold_set_name(args.gold)
    systems = build_systems(qa.index, s, k=args.k)
    result = score_gold_file(
        qa.index, systems, args.gold, out_dir, k=args.k, strip_answers=strip_answers
    )
    header = f"{'system':<10}" + "".join(f"{c:>16}" for c in COMPARE_COLUMNS)
    print(header)
    for name, sysres in result["systems"].items():
        m = sysres["metrics"]
        cells = "".join(f"{_fmt(m.get(c)):>16}" for c in COMPARE_COLUMNS)
        print(f"{name:<10}{cells}")
    for other, diffs in result.get("paired", {}).items():
        for metric, d in diffs.items():
            lo, hi = d.get("ci95") or (None, None)
            print(
                f"clinqa - {other:<9} {metric:<8} {_fmt(d.get('diff'))} "
                f"[{_fmt(lo)}, {_fmt(hi)}] excludes 0: {d.get('excludes_zero')}"
            )
    print(f"reports in {out_dir}")
    return result["systems"]["clinqa"]["metrics"]


def _fmt(v: Any) -> str:
    return "null" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))
