"""Pure helpers for benchmark figures: medians, percentiles, rates, the process's RSS."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    """The median of `values`.

    >>> median([3.0, 1.0, 2.0])
    2.0
    """
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100) by linear interpolation between closest ranks.

    >>> percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50), percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95)
    (3.0, 4.8)
    """
    if not values:
        raise ValueError("percentile of no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo), 9)


def rate(amount: float, seconds: float) -> float:
    """Amount per second.

    >>> rate(500, 2.0)
    250.0
    """
    return float(amount) / seconds if seconds > 0 else float("inf")


def rss_bytes() -> int:
    """Resident set size of this process now (Linux /proc/self/statm)."""
    import os

    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")
