"""Reciprocal-rank fusion of several ranked lists of ids."""

from __future__ import annotations

from collections.abc import Sequence


def rrf(
    rankings: Sequence[Sequence[str]],
    k: int = 60,
    weights: Sequence[float] | None = None,
) -> list[tuple[str, float]]:
    """Fuse rankings: score(id) = sum of weight / (k + rank), rank from 1; best first.

    >>> [(i, round(s, 4)) for i, s in rrf([["a", "b"], ["b", "c"]], k=1)]
    [('b', 0.8333), ('a', 0.5), ('c', 0.3333)]

    Ties keep the order of the best rank an id reached, then of the first list naming it.
    """
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    if k < 0:
        raise ValueError(f"rrf k must be >= 0, got {k}")
    scores: dict[str, float] = {}
    best: dict[str, tuple[int, int]] = {}
    for list_no, (ranking, weight) in enumerate(zip(rankings, weights, strict=True)):
        seen: set[str] = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            best[item] = min(best.get(item, (rank, list_no)), (rank, list_no))
    return sorted(scores.items(), key=lambda kv: (-kv[1], best[kv[0]]))
