"""Attack tests of the question path: hostile questions against `QA.ask` (150 CI, 2,000 extended).

Empty, whitespace-only, 1 MB, lone surrogates, NUL and other control characters, mixed with real
clinical words. Every call returns an `Answer` or raises `QueryError`; an over-long question is
refused before any retrieval work, fast, with a message naming the limit.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import pytest
from fixtures_index import corpus, embedder  # noqa: F401  (session fixture)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.store import ClinqaIndex, update_index
from qa.engine import QA
from qa.errors import QueryError
from qa.settings import Settings
from qa.types import Answer

WORDS = ["metformin", "dose", "warfarin", "INR", "IL-2", "mg", "contraindicated", "what", "is"]
NASTY = [
    "\x00",
    "\ud800",
    "\udfff",
    "\x1b[2J",
    "\u202e",
    "\ufeff",
    "\r\n",
    "\t",
    "\x7f",
    "%s",
    "{}",
]


@pytest.fixture(scope="module")
def qa(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> QA:  # noqa: F811
    folder = tmp_path_factory.mktemp("qa_attack") / "index"
    update_index(folder, corpus(), embedder, chunker_settings={"name": "fixture"})
    return QA(ClinqaIndex.load(folder, embedder), Settings())


def _mixed(parts: list[str]) -> str:
    return " ".join(parts)


QUESTIONS = st.one_of(
    st.just(""),
    st.text(alphabet=" \t\n\r\x00\x0b\x0c\x1f\x7f\u200b\u00a0", max_size=40),
    st.text(alphabet=st.characters(blacklist_categories=()), max_size=300),
    st.lists(st.sampled_from(WORDS + NASTY), min_size=1, max_size=30).map(_mixed),
    st.sampled_from([2_001, 50_000, 1_000_000]).map(lambda n: ("dose\ud800 " * n)[:n]),
)


def _hostile(qa: QA, n: int) -> None:
    # positive control: a real question is answered with citations
    good = qa.ask("What is the initial adult dose of lisinopril for hypertension?")
    assert not good.abstained and good.citations, good
    outcomes: collections.Counter[str] = collections.Counter()
    limit = qa.settings.max_query_chars

    @settings(
        max_examples=n,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(QUESTIONS)
    def ask(question: str) -> None:
        t0 = time.perf_counter()
        try:
            answer = qa.ask(question)
        except QueryError as exc:
            outcomes["QueryError"] += 1
            if len(question) > limit:
                assert f"the limit is {limit:,}" in str(exc)
                assert time.perf_counter() - t0 < 0.05, "over-long question not refused fast"
            return
        assert len(question) <= limit, "an over-long question was answered"
        assert isinstance(answer, Answer)
        for c in answer.citations:  # citations stay checkable whatever the question
            assert qa.index.document(c.doc_id).text[c.start : c.end] == c.quote
        outcomes["abstained" if answer.abstained else "answered"] += 1

    ask()
    total = sum(outcomes.values())
    print(f"\n{total} hostile questions: {dict(outcomes)}")
    assert total >= n and outcomes["QueryError"] and outcomes["abstained"]


def test_hostile_questions_ci(qa: QA) -> None:
    _hostile(qa, 150)


@pytest.mark.extended
def test_hostile_questions_extended(qa: QA) -> None:
    _hostile(qa, 2_000)
