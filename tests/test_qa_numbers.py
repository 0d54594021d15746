"""Dose fidelity: the checker accepts the verbatim dose and rejects every altered one."""

from __future__ import annotations

import pytest

from qa.numbers import quantities, unsupported_quantities

DOSE = (
    "Adults older than age 18: 600,000 international units/kg I.V. given over 15 minutes q 8 hours "
    "for a maximum of 14 doses, followed by 9 days of rest."
)


def test_positive_control_verbatim_dose_is_supported() -> None:
    assert unsupported_quantities(f"{DOSE} [1]", [DOSE]) == []


@pytest.mark.parametrize(
    "answer, bad",
    [
        ("6,000,000 international units/kg I.V. [1]", "6,000,000"),  # tenfold
        ("60,000 international units/kg [1]", "60,000"),
        ("600,000 international units/kg q 6 hours [1]", "6"),  # interval changed
        ("a maximum of 41 doses [1]", "41"),
    ],
)
def test_altered_numbers_are_rejected(answer: str, bad: str) -> None:
    assert [q.text for q in unsupported_quantities(answer, [DOSE])] == [bad]


def test_unit_swap_mg_for_mcg_is_rejected() -> None:
    quote = "The usual dose is 50 mcg once daily."
    assert unsupported_quantities("50 mcg once daily [1]", [quote]) == []
    assert [q.text for q in unsupported_quantities("50 mg once daily [1]", [quote])] == ["50"]


def test_units_are_normalised_for_comparison_only() -> None:
    quote = "Give 25 µg per dose."
    assert unsupported_quantities("Give 25 mcg per dose.", [quote]) == []
    assert unsupported_quantities("Give 25 μg per dose.", [quote]) == []


def test_number_from_a_passage_that_is_not_cited_is_rejected() -> None:
    cited = "Metformin starting dose: 500 mg orally twice a day."
    uncited = "Maximum dose of 2550 mg per day."
    answer = "Start at 500 mg orally twice a day, up to 2550 mg per day. [1]"
    assert [q.text for q in unsupported_quantities(answer, [cited])] == ["2550"]
    assert unsupported_quantities(answer, [cited, uncited]) == []


def test_citation_markers_are_not_numbers() -> None:
    assert quantities("No numbers here [1] [2, 3].") == []
    assert [q.value for q in quantities("1.50 mg and 600,000 units")] == ["1.5", "600000"]
