"""Percentile-bootstrap confidence intervals, for one system and for the paired difference of two.

Values that are None (a case the metric does not score) are left out; for the paired version a
case counts only when both systems have a value for it. Nothing left to resample -> None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Stat = Callable[[np.ndarray], float]


def mean(values: np.ndarray) -> float:
    """Arithmetic mean.

    >>> mean(np.array([1.0, 0.0, 1.0, 1.0]))
    0.75
    """
    return float(np.mean(values))


def _interval(stats: np.ndarray, alpha: float) -> tuple[float, float]:
    lo, hi = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def bootstrap_ci(
    values: Sequence[float | None],
    stat: Stat = mean,
    n: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float] | None:
    """(lo, hi) of `stat` over `n` resamples of `values` with replacement.

    >>> bootstrap_ci([1.0, 1.0, 1.0])
    (1.0, 1.0)
    """
    data = np.array([float(v) for v in values if v is not None], dtype=float)
    if data.size == 0:
        return None
    rng = np.random.default_rng(seed)
    stats = np.empty(n, dtype=float)
    for i in range(n):
        stats[i] = stat(data[rng.integers(0, data.size, size=data.size)])
    return _interval(stats, alpha)


def paired_bootstrap_ci(
    a: Sequence[float | None],
    b: Sequence[float | None],
    stat: Stat = mean,
    n: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float] | None:
    """(lo, hi) of stat(a) - stat(b), resampling the same cases for both systems.

    >>> paired_bootstrap_ci([1.0, 1.0, None], [0.0, 0.0, 1.0])
    (1.0, 1.0)
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} != {len(b)}")
    pairs = [
        (float(x), float(y)) for x, y in zip(a, b, strict=True) if x is not None and y is not None
    ]
    if not pairs:
        return None
    xa = np.array([p[0] for p in pairs], dtype=float)
    xb = np.array([p[1] for p in pairs], dtype=float)
    rng = np.random.default_rng(seed)
    stats = np.empty(n, dtype=float)
    for i in range(n):
        row = rng.integers(0, len(pairs), size=len(pairs))
        stats[i] = stat(xa[row]) - stat(xb[row])
    return _interval(stats, alpha)
