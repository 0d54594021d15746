"""Embedder ceiling: chunks/s and characters/s of fp32 and int8 MiniLM on fixed real chunks."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from timing import median, rate

from index.embedder import Embedder, load_embedder

BACKENDS = ("minilm", "minilm-int8")


def pick(texts: Sequence[str], n: int, seed: int = 7) -> list[str]:
    """`n` texts chosen without replacement by a seeded generator, in their original order.

    >>> pick(["a", "b", "c"], 3)
    ['a', 'b', 'c']
    """
    if n >= len(texts):
        return list(texts)
    rows = np.sort(np.random.default_rng(seed).choice(len(texts), size=n, replace=False))
    return [texts[i] for i in rows]


def time_embed(embedder: Embedder, texts: Sequence[str], batch_size: int = 64) -> float:
    """Seconds to embed `texts` once."""
    t0 = time.perf_counter()
    embedder.embed(texts, batch_size=batch_size)
    return time.perf_counter() - t0


def embedder_ceiling(
    texts: Sequence[str], runs: int, threads: Sequence[int]
) -> list[dict[str, Any]]:
    """Median chunks/s and chars/s per (backend, threads), after one warm-up batch each."""
    chars = sum(len(t) for t in texts)
    out = []
    for spec in BACKENDS:
        for t in threads:
            emb = load_embedder(spec, threads=t)
            emb.embed(texts[:64])  # load the runtime and warm up
            secs = [time_embed(emb, texts) for _ in range(runs)]
            out.append({
                "backend": spec, "threads": t, "chunks": len(texts), "chars": chars,
                "runs_s": [round(s, 3) for s in secs], "median_s": round(median(secs), 3),
                "chunks_per_s": round(rate(len(texts), median(secs)), 1),
                "chars_per_s": round(rate(chars, median(secs)), 0),
            })  # fmt: skip
            del emb
    return out
