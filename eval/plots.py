"""PNG plots of a compare run (matplotlib, Agg): hit@k curves, latency, breakdowns by group.

The numbers behind each plot are pure functions of the run (`hit_curve`, `group_means`); the
`plot_*` functions only draw them and write the PNG atomically.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

CURVE_KS = tuple(range(1, 11))
BREAKDOWN_KEYS = ("source_type", "source", "section")
BREAKDOWN_METRICS = ("hit@5", "fact_all")


def hit_curve(
    checks: Sequence[Mapping[str, Any]],
    ks: Sequence[int] = CURVE_KS,
    rank_key: str = "evidence_rank",
) -> list[float | None]:
    """hit@k for each k from the per-case first-evidence ranks (cases scored for hit@1 only).

    >>> hit_curve([{"hit@1": False, "evidence_rank": 2}, {"hit@1": True, "evidence_rank": 1}], [1, 2])
    [0.5, 1.0]
    """  # noqa: E501
    metric = "hit@1" if rank_key == "evidence_rank" else "doc_hit@1"
    ranks = [c.get(rank_key) for c in checks if c.get(metric) is not None]
    if not ranks:
        return [None for _ in ks]
    return [sum(1 for r in ranks if r is not None and r <= k) / len(ranks) for k in ks]


def group_means(
    cases: Sequence[Mapping[str, Any]], key: str, metric: str
) -> dict[str, tuple[float | None, int]]:
    """Per value of case[key]: (mean of checks[metric] over cases that score it, that count).

    >>> group_means([{"section": "a", "checks": {"hit@5": True}}, {"section": "a", "checks": {"hit@5": None}}], "section", "hit@5")
    {'a': (1.0, 1)}
    """  # noqa: E501
    groups: dict[str, list[float]] = defaultdict(list)
    for case in cases:
        label = str(case.get(key) or "-")
        value = (case.get("checks") or {}).get(metric)
        groups[label]  # a group whose cases all score None still shows (as null)
        if value is not None:
            groups[label].append(float(value))
    return {g: (sum(v) / len(v) if v else None, len(v)) for g, v in sorted(groups.items())}


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write the figure as PNG atomically (temp file in the same folder, fsync, replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format="png", dpi=110, bbox_inches="tight")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    return path


def _checks(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c.get("checks") or {} for c in data.get("cases") or []]


def plot_hit_at_k(result: Mapping[str, Any], path: str | Path, title: str = "") -> Path | None:
    """hit@k (k = 1..10) per system; doc_hit@k when no system has evidence-scored cases."""
    systems = result["systems"]
    key, label = "evidence_rank", "hit@k"
    curves = {n: hit_curve(_checks(d)) for n, d in systems.items()}
    if all(v is None for c in curves.values() for v in c):
        key, label = "doc_rank", "doc_hit@k"
        curves = {n: hit_curve(_checks(d), rank_key=key) for n, d in systems.items()}
    if all(v is None for c in curves.values() for v in c):
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        ax.plot(CURVE_KS, [float("nan") if v is None else v for v in curve], marker="o", label=name)
    ax.set_xlabel("k")
    ax.set_ylabel(label)
    ax.set_xticks(CURVE_KS)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title or f"{label} by k")
    return save_png(fig, path)


def plot_latency(result: Mapping[str, Any], path: str | Path, title: str = "") -> Path | None:
    """Box plot of per-question latency (ms, log scale) per system."""
    names, data = [], []
    for name, d in result["systems"].items():
        lat = [float(c["latency_ms"]) for c in _checks(d) if c.get("latency_ms") is not None]
        if lat:
            names.append(name)
            data.append(lat)
    if not data:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.boxplot(data, tick_labels=names, showfliers=True)
    ax.set_yscale("log")
    ax.set_ylabel("latency per question (ms, log scale)")
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(title or "latency")
    return save_png(fig, path)


def plot_breakdown(
    result: Mapping[str, Any],
    key: str,
    path: str | Path,
    metrics: Sequence[str] = BREAKDOWN_METRICS,
    title: str = "",
) -> Path | None:
    """Grouped bars per value of case[key], one bar per system, one panel per metric.

    Returns None (no file) when the cases carry fewer than two values of `key`.
    """
    systems = result["systems"]
    first = next(iter(systems.values()), None)
    if first is None:
        return None
    groups = list(group_means(first.get("cases") or [], key, metrics[0]))
    if len(groups) < 2:
        return None
    fig, axes = plt.subplots(
        len(metrics),
        1,
        figsize=(max(6.0, 0.55 * len(groups) * len(systems) / 2), 3.2 * len(metrics)),
    )
    axes_list = list(axes) if len(metrics) > 1 else [axes]
    width = 0.8 / max(1, len(systems))
    for ax, metric in zip(axes_list, metrics, strict=True):
        for i, (name, d) in enumerate(systems.items()):
            means = group_means(d.get("cases") or [], key, metric)
            ys = [means.get(g, (None, 0))[0] for g in groups]
            xs = [j + (i - (len(systems) - 1) / 2) * width for j in range(len(groups))]
            ax.bar(xs, [0.0 if y is None else y for y in ys], width, label=name)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(groups, rotation=45, ha="right", fontsize=8)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3, axis="y")
    axes_list[0].legend(fontsize=8, ncol=min(5, len(systems)))
    axes_list[0].set_title(title or f"by {key}")
    return save_png(fig, path)


def write_plots(result: Mapping[str, Any], folder: str | Path, prefix: str = "") -> list[Path]:
    """Every plot of a compare run under `folder`; the paths written (skipped plots left out)."""
    folder = Path(folder)
    written = [
        plot_hit_at_k(result, folder / f"{prefix}hit_at_k.png"),
        plot_latency(result, folder / f"{prefix}latency.png"),
    ]
    written += [
        plot_breakdown(result, key, folder / f"{prefix}by_{key}.png") for key in BREAKDOWN_KEYS
    ]
    return [p for p in written if p is not None]


def plot_abstention(
    points: Sequence[Any], in_use: float, path: str | Path, title: str = ""
) -> Path:
    """abstain_recall (y) against false_abstain (x), one point per threshold, labelled."""
    xs = [p.false_abstain for p in points]
    ys = [p.abstain_recall for p in points]
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.plot(xs, ys, marker="o")
    for p in points:
        if p.false_abstain is None or p.abstain_recall is None:
            continue
        bold = abs(p.threshold - in_use) < 1e-9
        ax.annotate(
            f"{p.threshold:.2f}" + (" (in use)" if bold else ""),
            (p.false_abstain, p.abstain_recall),
            textcoords="offset points",
            xytext=(4, -10),
            fontsize=7,
            fontweight="bold" if bold else "normal",
        )
    ax.set_xlabel("false_abstain (answerable cases refused)")
    ax.set_ylabel("abstain_recall (unanswerable cases refused)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(title or "abstention as the threshold moves")
    return save_png(fig, path)
