"""Intent, synonyms and term coverage: the pure helpers the answer composer relies on."""

from __future__ import annotations

import pytest

from qa.engine import clean_question
from qa.errors import QueryError
from qa.intent import detect_intent, section_matches
from qa.synonyms import SynonymTable, expand_query
from qa.terms import content_terms, coverage


@pytest.mark.parametrize(
    "question, intent",
    [
        ("How much Proleukin do I give for metastatic RCC?", "dose"),
        ("What is the recommended dosing of IL-2?", "dose"),
        ("Which side effects does aldesleukin cause?", "adverse"),
        ("What drugs interact with interleukin-2?", "interaction"),
        ("Who should not receive aldesleukin?", "contraindication"),
        ("What does the boxed warning for IL-2 say?", "warning"),
        ("What should be monitored while a patient receives IL-2?", "monitoring"),
        ("How do I reconstitute Proleukin?", "administration"),
        ("What is aldesleukin?", "definition"),
    ],
)
def test_intent(question: str, intent: str) -> None:
    assert detect_intent(question).name == intent


def test_section_families() -> None:
    dose = detect_intent("dose?")
    assert section_matches(dose, "Indications and dosages")
    assert section_matches(dose, "Dosage and administration")
    assert not section_matches(dose, "Adverse reactions")


def test_synonym_groups_merge_and_expand() -> None:
    table = SynonymTable.build(
        [["aldesleukin", "interleukin-2", "IL-2"], ["interleukin-2", "Proleukin"]]
    )
    assert set(table.others("Proleukin")) == {"aldesleukin", "interleukin-2", "il-2"}
    expanded = expand_query("Proleukin dose?", table)
    assert expanded.startswith("Proleukin dose? (") and "aldesleukin" in expanded
    # names are matched as whole words only
    assert table.mentioned("fil-2x") == []


def test_coverage_weights_rare_terms() -> None:
    terms = content_terms("What is the half-life of aldesleukin?")
    weights = {"half-life": 5.0, "aldesleukin": 5.0}
    assert coverage(terms, "aldesleukin is a cytokine", weights) == pytest.approx(0.5)
    assert coverage(terms, "the half-life of aldesleukin", weights) == pytest.approx(1.0)


def test_clean_question_refuses_empty_and_overlong() -> None:
    assert clean_question("dose\x00 of\u0007 IL-2 \ud800?", 100) == "dose of IL-2 ?"
    with pytest.raises(QueryError, match="empty"):
        clean_question(" \x00 ", 100)
    with pytest.raises(QueryError, match="limit is 10"):
        clean_question("x" * 11, 10)


def _mentioned_by_regex(table: SynonymTable, text: str) -> list[tuple[str, tuple[str, ...]]]:
    """The reference: one word-bounded regex per name, longest names first (the old code)."""
    import re

    low, found, taken = text.lower(), [], []
    for name in sorted(table.by_name, key=len, reverse=True):
        for m in re.finditer(r"(?<![a-z0-9])" + re.escape(name) + r"(?![a-z0-9])", low):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append((name, table.others(name)))
            break
    return found


def test_synonym_lookup_matches_the_regex_reference_on_seeded_texts() -> None:
    import random

    from qa.synonyms import ALL_GROUPS

    table = SynonymTable.build(
        [
            *ALL_GROUPS,
            ["aldesleukin", "IL-2", "interleukin-2", "Proleukin"],
            ["IL-2 receptor", "CD25"],
        ]
    )
    rng = random.Random(20261125)
    names = list(table.by_name)
    filler = ["dose", "the", "of", "pil-2", "xiv", "renal", "kidney", "cell", "(", ")", ",", "-"]
    checked = 0
    for _ in range(500):
        words = [rng.choice(names) if rng.random() < 0.4 else rng.choice(filler) for _ in range(12)]
        text = " ".join(words).upper() if rng.random() < 0.2 else " ".join(words)
        expected = _mentioned_by_regex(table, text)
        assert table.mentioned(text) == expected, text
        checked += bool(expected)
    assert checked > 400  # positive control: most texts do name something
