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

    stamp = run_stamp(index.manifest_hash, index.embedder.name)
    stamp.update({"gold": str(args.gold), "settings": s.to_dict(), "index_dir": s.index_dir})
    result = run_eval(
        cases, qa.ask, k=args.k, stored_text=stored_text, run=stamp, gold_errors=errors
    )
    out: dict[str, Any] = result.to_json()
    if args.compare:
        from eval.compare import compare_systems

        out["compare"] = compare_systems(qa, cases, k=args.k, stored_text=stored_text)
    print(format_table(result.metrics))
    if args.out:
        path = write_report(out, args.out)
        md = Path(path).with_suffix(".md")
        md.write_text(markdown_report(result), encoding="utf-8")
        print(f"report: {path} and {md}")
    try:
        failures = gate(result.metrics, mins, maxs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for f in failures:
        print(f"GATE FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0
