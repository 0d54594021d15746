"""qa.conflicts: an upload's figures are never shown without the curated answer beside them."""

from __future__ import annotations

import doctest

import qa.conflicts as conflicts
from qa.conflicts import CONFLICT, HIDDEN_CHARS, UPLOAD_ONLY, flag_hidden, reconcile, renumber
from qa.numbers import unsupported_quantities
from qa.types import Answer, Citation

UPLOAD = frozenset({"file:upload.txt"})


def _cite(n: int, doc_id: str, quote: str) -> Citation:
    return Citation(n, doc_id, doc_id, "text", None, None, quote, 0, len(quote))


def _answer(text: str, *cites: Citation) -> Answer:
    return Answer("q", text, False, tuple(cites), ())


ABSTAINED = Answer("q", "", True, (), (), reason="not found")
CURATED = _answer(
    "Give 600,000 international units/kg every 8 hours [1].",
    _cite(1, "seed:aldesleukin", "600,000 international units/kg every 8 hours"),
)
AGREEING = _answer(
    "Give 600,000 international units/kg [1].",
    _cite(1, "file:upload.txt", "600,000 international units/kg"),
)
TENFOLD = _answer(
    "Give 6,000,000 international units/kg [1].",
    _cite(1, "file:upload.txt", "6,000,000 international units/kg"),
)


def test_docstring_examples() -> None:
    result = doctest.testmod(conflicts, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and result.failed == 0


def test_a_conflicting_upload_is_shown_after_the_curated_answer_and_flagged() -> None:
    # positive control: with no upload in play the session's own answer is shown as it is
    assert reconcile(CURATED, ABSTAINED, CURATED, UPLOAD) is CURATED
    shown = reconcile(TENFOLD, TENFOLD, CURATED, UPLOAD)
    assert CONFLICT in shown.flags
    assert shown.answer.index("Curated sources:") < shown.answer.index("Your upload:")
    assert [c.doc_id for c in shown.citations] == ["seed:aldesleukin", "file:upload.txt"]
    assert [c.n for c in shown.citations] == [1, 2]
    assert "6,000,000 international units/kg [2]" in shown.answer
    quotes = [c.quote for c in shown.citations]
    assert unsupported_quantities(shown.answer, quotes) == []


def test_a_conflict_the_session_answer_shows_alone_is_still_put_beside_the_curated() -> None:
    shown = reconcile(TENFOLD, ABSTAINED, CURATED, UPLOAD)  # uploads-only view abstained
    assert CONFLICT in shown.flags and shown.citations[0].doc_id == "seed:aldesleukin"


def test_an_agreeing_upload_is_not_a_conflict() -> None:
    shown = reconcile(AGREEING, AGREEING, CURATED, UPLOAD)
    assert shown is AGREEING and CONFLICT not in shown.flags


def test_an_answer_only_an_upload_gives_is_marked() -> None:
    shown = reconcile(TENFOLD, TENFOLD, ABSTAINED, UPLOAD)
    assert UPLOAD_ONLY in shown.flags and CONFLICT not in shown.flags


def test_hidden_character_flag_follows_the_cited_document() -> None:
    assert HIDDEN_CHARS in flag_hidden(TENFOLD, UPLOAD).flags
    assert flag_hidden(CURATED, UPLOAD).flags == ()


def test_renumber_shifts_lists_of_markers() -> None:
    assert renumber("a [1, 2] b [3]", 2) == "a [3, 4] b [5]"
