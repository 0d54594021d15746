"""eval.metrics, eval.number_support, eval.bootstrap, eval.normalise: values worked out by hand."""

from __future__ import annotations

import random

import pytest

from eval.bootstrap import bootstrap_ci, paired_bootstrap_ci
from eval.metrics import (
    citation_exact,
    citation_hits_evidence,
    citation_in_passage,
    exact_match,
    facts_found,
    first_rank,
    mean_or_none,
    metric_names,
    percentile,
    reciprocal_rank,
    summarise,
    token_f1,
)
from eval.normalise import is_in, normalise, strip_markers
from eval.number_support import numbers_in, unsupported_numbers


def test_normalise_folds_case_quotes_dashes_and_space() -> None:
    assert (
        normalise("Kaposi\u2019s  Sarcoma\n\u2013 \u201cIL-2\u201d") == 'kaposi\'s sarcoma - "il-2"'
    )
    assert normalise("\ufb01ne\u00a0print") == "fine print"  # NFKC ligature and no-break space
    assert is_in("14 DOSES", "for a maximum of 14\n  doses")
    assert not is_in("", "anything")
    assert not is_in("28 doses", "14 doses")


def test_strip_markers() -> None:
    assert strip_markers("Give 5 mg [1], then [2, 3] and [4-6].") == "Give 5 mg , then  and ."
    assert strip_markers("[x] and [1a] stay") == "[x] and [1a] stay"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("600,000 international units/kg q 8 hours [1]", ["600,000", "8"]),
        ("1.2 ml of 5% dextrose", ["1.2", "5"]),
        ("give for 2-4 days or 2 \u2013 4 weeks", ["2-4", "2-4"]),
        ("IL-2, CD4 cells, H1N1 and COVID-19", []),
        ("chromosome 4q26-q27", ["4"]),
        ("a maximum of 28 doses [12]", ["28"]),
        ("1,000,000.50 units", ["1,000,000.50"]),
    ],
)
def test_numbers_in(text: str, expected: list[str]) -> None:
    assert numbers_in(text) == expected


def test_unsupported_numbers() -> None:
    quotes = ["Adults: 600000 international units/kg I.V. over 15 minutes for 14 doses"]
    assert unsupported_numbers("600,000 units/kg over 15 minutes [1]", quotes) == []
    assert unsupported_numbers("600,000 units/kg for 28 doses [1]", quotes) == ["28"]
    assert unsupported_numbers("6,000,000 units", quotes) == ["6,000,000"]
    assert unsupported_numbers("1.50 ml", ["1.5 ml"]) == []
    assert unsupported_numbers("2-4 days", ["between 2 and 4 days"]) == []  # both ends stand
    assert unsupported_numbers("2-5 days", ["between 2 and 4 days"]) == ["2-5"]
    assert unsupported_numbers("see [2]", []) == []  # a citation marker is not a number
    assert unsupported_numbers("IL-2 works", ["IL-2"]) == []


def test_token_f1_and_exact_match_by_hand() -> None:
    # pred tokens: capillary leak syndrome (article dropped); ref: capillary leak -> P 2/3, R 1
    assert token_f1("The capillary leak syndrome", "capillary leak") == pytest.approx(0.8)
    # pred: rest for 9 days then 28 doses (7 tokens), ref: 9 days -> P 2/7, R 1 -> 4/9
    assert token_f1("Rest for 9 days, then 28 doses.", "9 days") == pytest.approx(4 / 9)
    assert token_f1("nausea", "vomiting") == 0.0
    assert token_f1("", "yes") == 0.0
    assert exact_match("The Proleukin!", "proleukin")
    assert not exact_match("Proleukin vial", "proleukin")


def test_ranks() -> None:
    assert first_rank([False, True, True]) == 2
    assert first_rank([False, False]) is None
    assert reciprocal_rank(4) == 0.25
    assert reciprocal_rank(11) == 0.0
    assert reciprocal_rank(None) == 0.0


def test_facts_found_alternatives() -> None:
    answer = "Give 600,000 IU/kg every 8 hours"
    items = [
        ("600,000 international units/kg", "600,000 IU/kg"),
        ("14 doses",),
        ("Q 8 HOURS", "every 8 hours"),
    ]
    assert facts_found(answer, items) == [True, False, True]


def test_citation_checks() -> None:
    stored = "Give 600,000 international units/kg for a maximum of 14 doses."
    good = {"doc_id": "d1", "quote": "14 doses", "start": 53, "end": 61}
    assert stored[53:61] == "14 doses"
    assert citation_exact(good, stored)
    assert not citation_exact({**good, "start": 52, "end": 60}, stored)
    assert not citation_exact(good, None)
    assert not citation_exact({**good, "start": None}, stored)
    passages = [{"doc_id": "d2", "text": stored}, {"doc_id": "d3", "text": "x", "also": []}]
    assert not citation_in_passage(good, passages)  # same text, other document
    passages.append({"doc_id": "d9", "text": stored, "also": [{"doc_id": "d1"}]})
    assert citation_in_passage(good, passages)  # a collapsed duplicate of d1
    assert citation_hits_evidence([good], passages, ["maximum of 14 DOSES"])
    assert not citation_hits_evidence([good], passages, ["28 doses"])


def test_percentile_by_hand() -> None:
    assert percentile([40, 10, 30, 20], 50) == 25.0
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert percentile([7], 95) == 7.0
    assert percentile([], 50) is None


def test_mean_or_none() -> None:
    assert mean_or_none([True, False, None, True]) == pytest.approx(2 / 3)
    assert mean_or_none([None, None]) is None


def test_summarise_is_none_when_nothing_qualifies() -> None:
    unanswerable_only = [
        {
            "answerable": False,
            "abstained": True,
            "hit@1": None,
            "fact_all": None,
            "abstain_recall": True,
            "false_abstain": None,
            "citation_exact": [],
            "citation_in_passage": [],
            "numbers_unsupported": [],
            "latency_ms": 5.0,
        }
    ]
    m = summarise(unanswerable_only)
    assert set(m) == set(metric_names())
    for name in ("hit@1", "hit@10", "mrr@10", "doc_hit@5", "fact_recall", "fact_all", "token_f1"):
        assert m[name] is None, name
    for name in ("false_abstain", "precision_when_answering", "citation_exact", "citation_hit"):
        assert m[name] is None, name
    assert m["abstain_recall"] == 1.0
    assert m["numbers_unsupported"] == 0
    assert m["latency_ms_p50"] == 5.0
    empty = summarise([])
    assert all(v is None for v in empty.values())


def test_metric_names_follow_format_md() -> None:
    names = metric_names()
    for name in (
        "hit@1", "hit@5", "hit@10", "mrr@10", "doc_hit@1", "doc_hit@5", "doc_hit@10",
        "fact_recall", "fact_all", "answer_contains", "token_f1", "exact_match",
        "abstain_recall", "false_abstain", "precision_when_answering", "citation_exact",
        "citation_in_passage", "citation_hit", "numbers_unsupported", "latency_ms_p50",
        "latency_ms_p95",
    ):  # fmt: skip
        assert name in names
    assert "hit@20" in metric_names(20) and "hit@20" not in names


def test_bootstrap_is_deterministic_and_sane() -> None:
    rng = random.Random(7)
    values = [float(rng.random() < 0.7) for _ in range(200)]
    first = bootstrap_ci(values, seed=3)
    assert first == bootstrap_ci(values, seed=3)
    assert first != bootstrap_ci(values, seed=4)
    assert first is not None
    lo, hi = first
    mean = sum(values) / len(values)
    assert lo < mean < hi
    assert 0.0 <= lo and hi <= 1.0
    assert bootstrap_ci([0.5, 0.5, None]) == (0.5, 0.5)
    assert bootstrap_ci([None]) is None
    # Two values 0 and 1: a resample's mean is 0 with probability 1/4, so the 2.5% and 97.5%
    # quantiles are 0 and 1.
    assert bootstrap_ci([0.0, 1.0]) == (0.0, 1.0)


def test_paired_bootstrap() -> None:
    rng = random.Random(11)
    a = [float(rng.random() < 0.8) for _ in range(150)]
    assert paired_bootstrap_ci(a, a) == (0.0, 0.0)
    better = [1.0] * 150
    ci = paired_bootstrap_ci(better, a, seed=1)
    assert ci is not None and ci[0] > 0.0
    assert ci == paired_bootstrap_ci(better, a, seed=1)
    assert paired_bootstrap_ci([1.0, None], [None, 0.0]) is None
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap_ci([1.0], [1.0, 0.0])
