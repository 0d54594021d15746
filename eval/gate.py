"""Thresholds on a run's metrics (`clinqa eval --min M=V --max M=V`)."""

from __future__ import annotations

from collections.abc import Mapping

from eval.metrics import is_metric_name


class UnknownMetricError(ValueError):
    """A gate names a metric that does not exist."""


def _check_name(name: str, metrics: Mapping[str, float | int | None]) -> None:
    if name not in metrics and not is_metric_name(name):
        known = ", ".join(metrics) or "none"
        raise UnknownMetricError(f"unknown metric {name!r} (known: {known})")


def gate(
    metrics: Mapping[str, float | int | None],
    mins: Mapping[str, float],
    maxs: Mapping[str, float],
) -> list[str]:
    """Failure messages, one per gate not met; a gated metric that is None fails.

    >>> gate({"hit@5": 0.5, "false_abstain": 0.1}, {"hit@5": 0.6}, {"false_abstain": 0.2})
    ['hit@5 = 0.5 is below the minimum 0.6']
    """
    for name in (*mins, *maxs):
        _check_name(name, metrics)
    failures: list[str] = []
    for bounds, word, worse in ((mins, "minimum", "below"), (maxs, "maximum", "above")):
        for name, limit in bounds.items():
            value = metrics.get(name)
            if value is None:
                failures.append(f"{name} is null (nothing to score), gated at {word} {limit:g}")
            elif (value < limit) if word == "minimum" else (value > limit):
                failures.append(f"{name} = {value:.4g} is {worse} the {word} {limit:g}")
    return failures


def parse_bound(text: str) -> tuple[str, float]:
    """Split a command-line gate "METRIC=VALUE"; ValueError names the bad text.

    >>> parse_bound("hit@5=0.8")
    ('hit@5', 0.8)
    """
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"gate {text!r} is not METRIC=VALUE")
    try:
        return name.strip(), float(value)
    except ValueError as exc:
        raise ValueError(f"gate {text!r}: {value!r} is not a number") from exc
