"""FORMAT.md's metrics as pure functions: per-case checks, then their aggregation.

Per case, `eval.scoring.score_case` records one value per metric (None when the metric does not
score that case); `summarise` turns a run's checks into the metrics table. A metric with nothing
to score is None, never 0 or 1.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from eval.normalise import is_in, normalise

STANDARD_KS = (1, 5, 10)
MRR_CUTOFF = 10
# (lower): smaller is better.
LOWER_IS_BETTER = frozenset(
    {"false_abstain", "numbers_unsupported", "latency_ms_p50", "latency_ms_p95"}
)
_CASE_MEANS = (
    "fact_recall",
    "fact_all",
    "answer_contains",
    "token_f1",
    "exact_match",
    "abstain_recall",
    "false_abstain",
    "precision_when_answering",
)
_CITATION_SHARES = ("citation_exact", "citation_in_passage")


def retrieval_ks(k: int = 10) -> tuple[int, ...]:
    """The cut-offs reported for hit@k and doc_hit@k: 1, 5, 10 and the run's k.

    >>> retrieval_ks(10), retrieval_ks(20)
    ((1, 5, 10), (1, 5, 10, 20))
    """
    return tuple(sorted({*STANDARD_KS, k}))


def metric_names(k: int = 10) -> tuple[str, ...]:
    """Every metric name, in FORMAT.md's order.

    >>> metric_names()[:4]
    ('hit@1', 'hit@5', 'hit@10', 'mrr@10')
    """
    ks = retrieval_ks(k)
    return (
        *(f"hit@{j}" for j in ks),
        f"mrr@{MRR_CUTOFF}",
        *(f"doc_hit@{j}" for j in ks),
        *_CASE_MEANS[:5],
        "abstain_recall",
        "false_abstain",
        "precision_when_answering",
        "citation_exact",
        "citation_in_passage",
        "citation_hit",
        "numbers_unsupported",
        "latency_ms_p50",
        "latency_ms_p95",
    )


def is_metric_name(name: str) -> bool:
    """True for a known metric name (any hit@k / doc_hit@k with k >= 1).

    >>> is_metric_name("doc_hit@3"), is_metric_name("hit@0"), is_metric_name("recall")
    (True, False, False)
    """
    m = re.fullmatch(r"(?:doc_)?hit@(\d+)", name)
    if m:
        return int(m.group(1)) >= 1
    return name in metric_names()


# ---- retrieval -------------------------------------------------------------------------------


def first_rank(matches: Iterable[bool]) -> int | None:
    """1-based position of the first True, None when there is none.

    >>> first_rank([False, False, True, True]), first_rank([])
    (3, None)
    """
    for rank, hit in enumerate(matches, start=1):
        if hit:
            return rank
    return None


def passage_has_evidence(passage_text: str, evidence: Sequence[str]) -> bool:
    """True when the passage contains one of the evidence quotes (normalised).

    >>> passage_has_evidence("...for a maximum of 14\\ndoses.", ["maximum of 14 doses"])
    True
    """
    return any(is_in(quote, passage_text) for quote in evidence)


def hit_at(rank: int | None, k: int) -> bool:
    """True when a first match exists at rank <= k.

    >>> hit_at(3, 5), hit_at(3, 1), hit_at(None, 10)
    (True, False, False)
    """
    return rank is not None and rank <= k


def reciprocal_rank(rank: int | None, cutoff: int = MRR_CUTOFF) -> float:
    """1/rank within the cut-off, else 0.

    >>> reciprocal_rank(4), reciprocal_rank(11), reciprocal_rank(None)
    (0.25, 0.0, 0.0)
    """
    return 1.0 / rank if rank is not None and rank <= cutoff else 0.0


# ---- answer text -----------------------------------------------------------------------------


def facts_found(answer_text: str, must_include: Sequence[Sequence[str]]) -> list[bool]:
    """For each item (a tuple of alternatives), whether one alternative is in the answer.

    >>> facts_found("Give 600,000 IU/kg q 8 hours", [("600,000 international units/kg", "600,000 IU/kg"), ("14 doses",)])
    [True, False]
    """  # noqa: E501
    return [any(is_in(alt, answer_text) for alt in item) for item in must_include]


def contains_any(answer_text: str, answers: Sequence[str]) -> bool:
    """True when the answer text contains one of the reference answers.

    >>> contains_any("Yes [1], it does.", ["yes"]), contains_any("", ["yes"])
    (True, False)
    """
    return any(is_in(a, answer_text) for a in answers)


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def squad_normalise(text: str) -> str:
    """SQuAD's answer normalisation (after FORMAT.md's folding): no punctuation, no articles.

    >>> squad_normalise("The  \u201cCapillary-leak\u201d syndrome!")
    'capillaryleak syndrome'
    """
    text = normalise(text).translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 between two texts (both empty -> 1.0, one empty -> 0.0).

    >>> token_f1("the capillary leak syndrome", "capillary leak"), token_f1("", "")
    (0.8, 1.0)
    """
    pred, ref = squad_normalise(prediction).split(), squad_normalise(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, reference: str) -> bool:
    """SQuAD exact match after normalisation.

    >>> exact_match("The Proleukin.", "proleukin"), exact_match("IL-2", "IL 2")
    (True, False)
    """
    return squad_normalise(prediction) == squad_normalise(reference)


def best_over(prediction: str, references: Sequence[str], fn: Callable[[str, str], Any]) -> float:
    """The best score of `fn(prediction, reference)` over the references (as a float).

    >>> best_over("capillary leak", ["edema", "capillary leak"], token_f1)
    1.0
    """
    return max(float(fn(prediction, ref)) for ref in references)


# ---- citations -------------------------------------------------------------------------------


def _passage_docs(passage: Mapping[str, Any]) -> set[str]:
    docs = {str(passage.get("doc_id", ""))}
    for occ in passage.get("also") or ():
        if isinstance(occ, Mapping) and occ.get("doc_id"):
            docs.add(str(occ["doc_id"]))
    return docs


def passage_doc_ids(passage: Mapping[str, Any]) -> set[str]:
    """The documents a listed passage comes from (its own and any collapsed duplicates).

    >>> sorted(passage_doc_ids({"doc_id": "a", "also": [{"doc_id": "b", "start": 0, "end": 1}]}))
    ['a', 'b']
    """
    return _passage_docs(passage)


def citation_exact(citation: Mapping[str, Any], stored_text: str | None) -> bool:
    """True when the quote stands verbatim at [start, end) of the cited document's stored text.

    >>> citation_exact({"quote": "leak", "start": 9, "end": 13}, "capillary leak")
    False
    >>> citation_exact({"quote": "leak", "start": 10, "end": 14}, "capillary leak")
    True
    """
    quote, start, end = citation.get("quote"), citation.get("start"), citation.get("end")
    if stored_text is None or not isinstance(quote, str) or not quote:
        return False
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start <= end:
        return False
    return stored_text[start:end] == quote


def citation_in_passage(citation: Mapping[str, Any], passages: Sequence[Mapping[str, Any]]) -> bool:
    """True when the quote lies verbatim inside a listed passage from the same document.

    >>> citation_in_passage({"doc_id": "d", "quote": "14 doses"}, [{"doc_id": "d", "text": "max 14 doses"}])
    True
    """  # noqa: E501
    quote, doc = citation.get("quote"), citation.get("doc_id")
    if not isinstance(quote, str) or not quote:
        return False
    return any(doc in _passage_docs(p) and quote in str(p.get("text", "")) for p in passages)


def citation_hits_evidence(
    citations: Sequence[Mapping[str, Any]],
    passages: Sequence[Mapping[str, Any]],
    evidence: Sequence[str],
) -> bool:
    """True when a cited quote, or a listed passage holding that quote, contains an evidence quote.

    >>> citation_hits_evidence([{"doc_id": "d", "quote": "14 doses"}], [{"doc_id": "d", "text": "max 14 doses, then rest"}], ["then rest"])
    True
    """  # noqa: E501
    for c in citations:
        quote = str(c.get("quote") or "")
        if passage_has_evidence(quote, evidence):
            return True
        for p in passages:
            text = str(p.get("text", ""))
            if quote and c.get("doc_id") in _passage_docs(p) and is_in(quote, text):
                if passage_has_evidence(text, evidence):
                    return True
    return False


# ---- aggregation -----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method); None for no values.

    >>> percentile([10, 20, 30, 40], 50), percentile([10, 20, 30, 40], 95), percentile([], 50)
    (25.0, 38.5, None)
    """
    if not values:
        return None
    data = sorted(float(v) for v in values)
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def mean_or_none(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the values that are not None (bools count 1/0); None when there are none.

    >>> mean_or_none([True, False, None, 1.0]), mean_or_none([None])
    (0.6666666666666666, None)
    """
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def case_values(checks: Sequence[Mapping[str, Any]], name: str) -> list[float]:
    """The per-case numbers behind a mean metric (for bootstrap intervals); [] for the others.

    >>> case_values([{"fact_all": True}, {"fact_all": None}, {"fact_all": False}], "fact_all")
    [1.0, 0.0]
    """
    if name in _CITATION_SHARES or name.startswith("latency") or name == "numbers_unsupported":
        return []
    return [float(c[name]) for c in checks if c.get(name) is not None]


def summarise(checks: Sequence[Mapping[str, Any]], k: int = 10) -> dict[str, float | int | None]:
    """The metrics table of a run from its per-case checks.

    >>> summarise([{"hit@1": True, "abstain_recall": None, "citation_exact": [True, False]}])["citation_exact"]
    0.5
    """  # noqa: E501
    out: dict[str, float | int | None] = {}
    for name in metric_names(k):
        if name in _CITATION_SHARES:
            flat = [v for c in checks for v in (c.get(name) or ())]
            out[name] = mean_or_none(flat)
        elif name == "numbers_unsupported":
            out[name] = sum(len(c.get(name) or ()) for c in checks) if checks else None
        elif name.startswith("latency_ms_p"):
            lat = [float(c["latency_ms"]) for c in checks if c.get("latency_ms") is not None]
            out[name] = percentile(lat, float(name.removeprefix("latency_ms_p")))
        else:
            out[name] = mean_or_none(c.get(name) for c in checks)
    return out
