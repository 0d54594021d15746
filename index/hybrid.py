"""`HybridRetriever`: dense and lexical candidates fused with reciprocal-rank fusion."""

from __future__ import annotations

from index.fusion import rrf
from index.types import Filters, Passage, Retriever


class HybridRetriever:
    """Fuses the top `candidates` of each retriever; score = fused RRF score."""

    name = "hybrid"

    def __init__(
        self,
        dense: Retriever,
        lexical: Retriever,
        *,
        candidates: int = 50,
        rrf_k: int = 60,
        weights: tuple[float, float] = (1.0, 1.0),
    ) -> None:
        self.dense = dense
        self.lexical = lexical
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.weights = weights

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Passage]:
        """Top-k of the fused dense and lexical rankings (both already filtered)."""
        if k <= 0:
            return []
        n = max(self.candidates, k)
        lists = [self.dense.search(query, n, filters), self.lexical.search(query, n, filters)]
        by_id: dict[str, Passage] = {}
        for ranked in lists:
            for p in ranked:
                by_id.setdefault(p.chunk.chunk_id, p)
        fused = rrf([[p.chunk.chunk_id for p in r] for r in lists], self.rrf_k, self.weights)
        return [
            Passage(by_id[cid].chunk, score, rank, self.name, by_id[cid].also)
            for rank, (cid, score) in enumerate(fused[:k], start=1)
        ]
