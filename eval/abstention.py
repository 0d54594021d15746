"""The abstention curve: abstain_recall against false_abstain as the threshold moves (pure).

The cases come from one run with the confidence threshold switched off, so every case that is not
refused by a rule (an absent drug, no sentence stating the asked kind of value, ...) carries an
answer and its confidence. At threshold t a case abstains when a rule refused it or its
confidence is below t; precision when answering is FORMAT.md's (answered cases with
`must_include`, share with every item found).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

THRESHOLDS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8)


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    abstain_recall: float | None
    false_abstain: float | None
    precision_when_answering: float | None
    answered: int


def _mean(values: Sequence[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def abstention_curve(
    cases: Sequence[Mapping[str, Any]], thresholds: Sequence[float] = THRESHOLDS
) -> list[CurvePoint]:
    """One point per threshold.

    >>> cases = [
    ...     {"abstained": False, "confidence": 0.9, "checks": {"answerable": True,
    ...      "precision_when_answering": True}},
    ...     {"abstained": False, "confidence": 0.4, "checks": {"answerable": False,
    ...      "precision_when_answering": None}},
    ...     {"abstained": True, "confidence": 0.0, "checks": {"answerable": False,
    ...      "precision_when_answering": None}},
    ... ]
    >>> [(p.threshold, p.abstain_recall, p.false_abstain) for p in abstention_curve(cases, [0.3, 0.5])]
    [(0.3, 0.5, 0.0), (0.5, 1.0, 0.0)]
    """  # noqa: E501
    points: list[CurvePoint] = []
    for t in thresholds:
        refused = [bool(c["abstained"]) or float(c["confidence"]) < t for c in cases]
        answerable = [bool(c["checks"]["answerable"]) for c in cases]
        pairs = list(zip(refused, answerable, strict=True))
        right = [
            c["checks"].get("precision_when_answering")
            for c, r in zip(cases, refused, strict=True)
            if not r
        ]
        points.append(
            CurvePoint(
                threshold=t,
                abstain_recall=_mean([r for r, a in pairs if not a]),
                false_abstain=_mean([r for r, a in pairs if a]),
                precision_when_answering=_mean([bool(x) for x in right if x is not None]),
                answered=sum(not r for r in refused),
            )
        )
    return points


def curve_markdown(points: Sequence[CurvePoint], in_use: float) -> list[str]:
    """A Markdown table, the threshold in use marked."""
    rows = [
        "| threshold | abstain_recall | false_abstain | precision_when_answering | answered |",
        "|---:|---:|---:|---:|---:|",
    ]
    for p in points:
        mark = " (in use)" if abs(p.threshold - in_use) < 1e-9 else ""
        cells = [p.abstain_recall, p.false_abstain, p.precision_when_answering]
        shown = " | ".join("null" if v is None else f"{v:.3f}" for v in cells)
        rows.append(f"| {p.threshold:.2f}{mark} | {shown} | {p.answered} |")
    return rows
