"""Text helpers: FORMAT.md normalisation, hidden characters, sentence/list-item units; doctests."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import random

import pytest

import ingest
from ingest.text import normalise, split_units, strip_hidden


def units(text: str) -> list[str]:
    return [text[a:b] for a, b in split_units(text)]


def test_normalise_matches_format_rule() -> None:
    assert normalise("  \u201cDon\u2019t\u201d  use\n\tin\u2013line\u2014FILTER ") == (
        '"don\'t" use in-line-filter'
    )
    assert normalise("\uff11\uff14 doses") == "14 doses"  # NFKC folds full-width digits
    assert normalise("") == ""


def test_strip_hidden_counts_every_kind() -> None:
    text = "a\U000e0001b\u202ac\u2069d\u200be\u2060f\ufeffg"
    assert strip_hidden(text) == ("abcdefg", 6)
    assert strip_hidden("plain \u00e9") == ("plain \u00e9", 0)


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Adults older than age 18: 600,000 international units/kg I.V. given over 15 minutes "
            "q 8 hours for a maximum of 14 doses, followed by 9 days of rest. Repeat for another "
            "14 doses.",
            [
                "Adults older than age 18: 600,000 international units/kg I.V. given over 15 "
                "minutes q 8 hours for a maximum of 14 doses, followed by 9 days of rest.",
                "Repeat for another 14 doses.",
            ],
        ),
        ("Give 0.5 mg now. Then 1.5 mg.", ["Give 0.5 mg now.", "Then 1.5 mg."]),
        (
            "Use e.g. saline. Avoid i.e. dextrose here.",
            ["Use e.g. saline.", "Avoid i.e. dextrose here."],
        ),
        ("Compare drug vs. Placebo in trials.", ["Compare drug vs. Placebo in trials."]),
        ("See Fig. 2 and Dr. Smith. Then stop.", ["See Fig. 2 and Dr. Smith.", "Then stop."]),
        ("Smith et al. Reported it. Next.", ["Smith et al. Reported it.", "Next."]),
        ("Given q.d. Before meals.", ["Given q.d. Before meals."]),
        ("By J. Smith and K. L. Jones. Done.", ["By J. Smith and K. L. Jones.", "Done."]),
        ("It is hepatitis B. Patients recover.", ["It is hepatitis B.", "Patients recover."]),
        (
            "Patent No. 5 applies. No. It does not.",
            ["Patent No. 5 applies.", "No.", "It does not."],
        ),
        (
            "A gene on chromosome 4q26-q27 that encodes IL-2.",
            ["A gene on chromosome 4q26-q27 that encodes IL-2."],
        ),
        ('He said "Stop." Then left.', ['He said "Stop."', "Then left."]),
        ("Why? Because. 3 doses remain!", ["Why?", "Because.", "3 doses remain!"]),
        (
            "Drug-drug.Aminoglycosides, methotrexate: increased toxicity",
            ["Drug-drug.", "Aminoglycosides, methotrexate: increased toxicity"],
        ),
        (
            "CV: bradycardia, myocardial infarction EENT: reversible vision changes",
            ["CV: bradycardia, myocardial infarction EENT: reversible vision changes"],
        ),
        (
            "Use cautiously in:\n• anemia\n• children.\n1. First step\n2) Second step\n- dash item",
            [
                "Use cautiously in:",
                "• anemia",
                "• children.",
                "1. First step",
                "2) Second step",
                "- dash item",
            ],
        ),
        (
            "Reported infections include: • Active TB. Patients with TB. • Fungal infections.",
            [
                "Reported infections include:",
                "• Active TB.",
                "Patients with TB.",
                "• Fungal infections.",
            ],
        ),
        ("Off-label uses\n\nColorectal cancer", ["Off-label uses", "Colorectal cancer"]),
        (
            "a wrapped line that goes on\nand on to the end.",
            ["a wrapped line that goes on\nand on to the end."],
        ),
    ],
)
def test_split_units_cases(text: str, expected: list[str]) -> None:
    assert units(text) == expected


def test_split_units_respects_the_range_and_trims() -> None:
    text = "Skip me. Keep one.  Keep two.   Skip too."
    a = text.index("Keep one")
    b = text.index("Skip too")
    spans = split_units(text, a, b)
    assert [text[x:y] for x, y in spans] == ["Keep one.", "Keep two."]
    assert split_units(text, 5, 5) == [] and split_units("   \n ") == []


def test_split_units_covers_all_non_whitespace() -> None:
    rng = random.Random(1234)
    alphabet = "ab .!?\n•-1Ie.gA \t"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        spans = split_units(text)
        covered = [False] * len(text)
        for a, b in spans:
            assert text[a:b] == text[a:b].strip() and a < b
            for i in range(a, b):
                covered[i] = True
        assert all(covered[i] or text[i].isspace() for i in range(len(text)))
        assert all(x[1] <= y[0] for x, y in zip(spans, spans[1:], strict=False))


def _modules() -> list[str]:
    names = ["ingest"]
    names += [m.name for m in pkgutil.walk_packages(ingest.__path__, "ingest.")]
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
