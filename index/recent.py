"""`RecentVectors`: the vectors of the last few texts an embedder was asked for, by text.

A question is embedded once for retrieval and asked for again by the scorer; a web session asks
each question of two views over the same texts. Remembering the last texts saves the repeats.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

RECENT_BATCH = 4  # embedders remember calls with this many texts or fewer (questions)


class RecentVectors:
    """A thread-safe, least-recently-added memo of text -> vector, at most `size` texts."""

    def __init__(self, dim: int, size: int = 256) -> None:
        self.dim, self.size = dim, size
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], compute: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """Vectors of `texts`: remembered ones as they were, the rest from one `compute` call.

        >>> calls = []
        >>> memo = RecentVectors(dim=1, size=2)
        >>> f = lambda ts: calls.append(ts) or np.array([[float(len(t))] for t in ts])
        >>> memo.embed(["ab", "abc"], f).tolist(), memo.embed(["abc", "a"], f).tolist(), calls
        ([[2.0], [3.0]], [[3.0], [1.0]], [['ab', 'abc'], ['a']])
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            known = {t: v for t in texts if (v := self._memo.get(t)) is not None}
        todo = list(dict.fromkeys(t for t in texts if t not in known))
        if todo:
            fresh = np.asarray(compute(todo), dtype=np.float32)
            with self._lock:
                for t, v in zip(todo, fresh, strict=True):
                    v.setflags(write=False)
                    known[t] = self._memo[t] = v
                while len(self._memo) > self.size:
                    self._memo.popitem(last=False)
        return np.stack([known[t] for t in texts]).astype(np.float32, copy=True)

    def clear(self) -> None:
        with self._lock:
            self._memo.clear()
