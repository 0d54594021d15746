"""Which checks one answer passes against its gold case (the `checks` object of a report case)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eval.gold import GoldCase
from eval.metrics import (
    MRR_CUTOFF,
    best_over,
    citation_exact,
    citation_hits_evidence,
    citation_in_passage,
    contains_any,
    exact_match,
    facts_found,
    first_rank,
    hit_at,
    passage_doc_ids,
    passage_has_evidence,
    reciprocal_rank,
    retrieval_ks,
    token_f1,
)
from eval.normalise import strip_markers
from eval.number_support import unsupported_numbers

StoredText = Callable[[str], "str | None"]


def _list_of_dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def score_case(
    case: GoldCase, answer_json: Mapping[str, Any], stored_text: StoredText, *, k: int = 10
) -> dict[str, Any]:
    """Per-metric values for one case (None where the metric does not score this case)."""
    passages = _list_of_dicts(answer_json.get("passages"))
    citations = _list_of_dicts(answer_json.get("citations"))
    abstained = bool(answer_json.get("abstained"))
    text = "" if abstained else strip_markers(str(answer_json.get("answer") or ""))
    ks = retrieval_ks(k)
    checks: dict[str, Any] = {"answerable": case.answerable, "abstained": abstained}

    with_evidence = case.answerable and bool(case.evidence)
    ev_rank = (
        first_rank(passage_has_evidence(str(p.get("text", "")), case.evidence) for p in passages)
        if with_evidence
        else None
    )
    checks["evidence_rank"] = ev_rank
    for j in ks:
        checks[f"hit@{j}"] = hit_at(ev_rank, j) if with_evidence else None
    checks[f"mrr@{MRR_CUTOFF}"] = reciprocal_rank(ev_rank) if with_evidence else None

    gold_docs = set(case.gold_doc_ids)
    doc_rank = (
        first_rank(bool(passage_doc_ids(p) & gold_docs) for p in passages) if gold_docs else None
    )
    checks["doc_rank"] = doc_rank
    for j in ks:
        checks[f"doc_hit@{j}"] = hit_at(doc_rank, j) if gold_docs else None

    found = facts_found(text, case.must_include) if case.answerable else []
    checks["facts_found"] = found
    checks["fact_recall"] = sum(found) / len(found) if found else None
    checks["fact_all"] = all(found) if found else None
    has_answers = case.answerable and bool(case.answers)
    checks["answer_contains"] = contains_any(text, case.answers) if has_answers else None
    checks["token_f1"] = best_over(text, case.answers, token_f1) if has_answers else None
    checks["exact_match"] = (
        bool(best_over(text, case.answers, exact_match)) if has_answers else None
    )
    checks["abstain_recall"] = abstained if not case.answerable else None
    checks["false_abstain"] = abstained if case.answerable else None
    answered_with_facts = not abstained and bool(case.must_include)
    checks["precision_when_answering"] = (
        all(facts_found(text, case.must_include)) if answered_with_facts else None
    )

    checks["citation_exact"] = [
        citation_exact(c, stored_text(str(c.get("doc_id", "")))) for c in citations
    ]
    checks["citation_in_passage"] = [citation_in_passage(c, passages) for c in citations]
    checks["citation_hit"] = (
        citation_hits_evidence(citations, passages, case.evidence)
        if with_evidence and not abstained
        else None
    )
    quotes = [str(c.get("quote") or "") for c in citations]
    checks["numbers_unsupported"] = unsupported_numbers(text, quotes)
    return checks
