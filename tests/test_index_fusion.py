"""Pure helpers: reciprocal-rank fusion, the contextual text, top-k, kind selection."""

from __future__ import annotations

import numpy as np
import pytest

from index.context import embed_text
from index.dense import resolve_kind, top_k
from index.fusion import rrf
from ingest.types import Chunk


def test_rrf_sums_reciprocal_ranks() -> None:
    fused = dict(rrf([["a", "b", "c"], ["c", "a"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["b"] == pytest.approx(1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert [i for i, _ in rrf([["a", "b", "c"], ["c", "a"]], k=60)] == ["a", "c", "b"]


def test_rrf_weights_and_duplicates() -> None:
    fused = dict(rrf([["a", "a", "b"], ["b"]], k=0, weights=[1.0, 3.0]))
    # a repeated id counts once; later ids keep their positions
    assert fused == {"a": pytest.approx(1.0), "b": pytest.approx(1 / 3 + 3.0)}
    with pytest.raises(ValueError, match="2 weights for 1"):
        rrf([["a"]], weights=[1.0, 2.0])


def test_rrf_ties_follow_best_rank_then_list_order() -> None:
    assert [i for i, _ in rrf([["x", "y"], ["y", "x"]])] == ["x", "y"]
    assert [i for i, _ in rrf([["p"], ["q"]])] == ["p", "q"]
    assert rrf([]) == [] and rrf([[], []]) == []


def _chunk(subject: str | None, title: str, section: str | None) -> Chunk:
    return Chunk(
        "c", "d", title, "monograph", section, None, 0, 5, "Adults: 600,000 IU/kg", subject
    )


def test_embed_text_names_subject_and_section() -> None:
    assert (
        embed_text(_chunk("aldesleukin", "IL-2", "Indications and dosages"))
        == "aldesleukin — Indications and dosages: Adults: 600,000 IU/kg"
    )
    assert embed_text(_chunk(None, "IL-2 label", None)) == "IL-2 label: Adults: 600,000 IU/kg"
    assert embed_text(_chunk(None, "", "Dosage")) == "Dosage: Adults: 600,000 IU/kg"
    assert embed_text(_chunk(None, "", None)) == "Adults: 600,000 IU/kg"


def test_top_k_orders_scores_and_breaks_ties_by_position() -> None:
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 5, size=200).astype(float)
    got = top_k(scores, 10).tolist()
    want = sorted(range(200), key=lambda i: (-scores[i], i))[:10]
    assert got == want
    assert top_k(scores, 0).size == 0 and top_k(np.array([]), 3).size == 0


def test_resolve_kind() -> None:
    assert resolve_kind("auto", 49_999, 50_000) == "flat"
    assert resolve_kind("auto", 50_000, 50_000) == "hnsw"
    assert resolve_kind("ivf", 3, 50_000) == "ivf"
    with pytest.raises(ValueError, match="'annoy'"):
        resolve_kind("annoy", 3, 50_000)


def test_top_k_equals_a_full_sort_on_seeded_scores_with_ties() -> None:
    rng = np.random.default_rng(5)
    for _ in range(500):
        n = int(rng.integers(1, 80))
        scores = rng.integers(0, 6, size=n).astype(np.float64)  # many ties, many zeros
        k = int(rng.integers(1, 90))
        reference = np.lexsort((np.arange(n), -scores))[:k]
        assert top_k(scores, k).tolist() == reference.tolist(), (scores.tolist(), k)
