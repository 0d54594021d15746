"""Uploaded documents beside the curated sources: a dose an upload states is never shown alone.

In a web session with uploads, three answers exist for one question: the session's own (main
index + uploads), the uploads' alone and the curated index's alone. `reconcile` picks what is
shown. When the uploads state figures (numbers, with their units) the curated answer does not, the
two are shown together, each under its provenance, and the answer is flagged
`conflicting_sources`; when only uploads answer, the answer is flagged `uploaded_source_only`.
Every part keeps its own verbatim citations (renumbered), so dose fidelity still holds.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace

from qa.numbers import quantities
from qa.types import Answer

CONFLICT = "conflicting_sources"
UPLOAD_ONLY = "uploaded_source_only"
HIDDEN_CHARS = "hidden_characters_removed"
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def figures(answer: Answer) -> set[tuple[str, str]]:
    """The (value, unit) pairs an answer states ("" for a number written without a unit).

    >>> text = "Give 600,000 international units/kg [1] q 8 hours, age 18 [1]."
    >>> sorted(figures(Answer("q", text, False, (), ())))
    [('18', ''), ('600000', 'international unit'), ('8', 'hour')]
    """
    if answer.abstained:
        return set()
    return {(q.value, q.unit or "") for q in quantities(answer.answer)}


def unmatched(part: Answer, curated: Answer) -> set[tuple[str, str]]:
    """Figures of `part` the curated answer does not state: same number, and the same unit when
    `part` gives one (a unit swap is a conflict; a bare number matches any unit).

    >>> cur = Answer("q", "600,000 international units/kg [1]", False, (), ())
    >>> sorted(unmatched(Answer("q", "6,000,000 [1]; 600,000 [1]", False, (), ()), cur))
    [('6000000', '')]
    >>> sorted(unmatched(Answer("q", "600,000 mg [1]", False, (), ()), cur))
    [('600000', 'mg')]
    """
    known = figures(curated)
    values = {v for v, _ in known}
    return {(v, u) for v, u in figures(part) if (v, u) not in known and (u or v not in values)}


def renumber(text: str, offset: int) -> str:
    """Shift every citation marker in `text` by `offset`.

    >>> renumber("5 mg [1] daily [1, 2].", 3)
    '5 mg [4] daily [4, 5].'
    """

    def shift(m: re.Match[str]) -> str:
        return "[" + ", ".join(str(int(n) + offset) for n in re.split(r"\s*,\s*", m.group(1))) + "]"

    return _MARKER.sub(shift, text)


def cites_any(answer: Answer, doc_ids: Collection[str]) -> bool:
    return any(c.doc_id in doc_ids for c in answer.citations)


def side_by_side(curated: Answer, uploaded: Answer) -> Answer:
    """One answer holding the curated answer first and the upload's after it, both labelled,
    citations renumbered so they stay distinct, flagged `conflicting_sources`."""
    k = len(curated.citations)
    moved = tuple(replace(c, n=c.n + k) for c in uploaded.citations)
    text = (
        "Conflicting sources: your uploaded document states figures the curated sources do not. "
        "Check before use.\n\n"
        f"Curated sources: {curated.answer}\n\n"
        f"Your upload: {renumber(uploaded.answer, k)}"
    )
    seen = {p.chunk.chunk_id for p in curated.passages}
    extra = tuple(p for p in uploaded.passages if p.chunk.chunk_id not in seen)
    passages = curated.passages + extra
    reason = "the uploaded document disagrees with the curated sources"
    return replace(
        curated,
        answer=text,
        citations=curated.citations + moved,
        passages=passages,
        reason="; ".join(r for r in (curated.reason, reason) if r),
        confidence=min(curated.confidence, uploaded.confidence),
        flags=_merge_flags(curated.flags, uploaded.flags, (CONFLICT,)),
    )


def reconcile(
    session: Answer, uploaded: Answer, curated: Answer, upload_ids: Collection[str]
) -> Answer:
    """What a session with uploads shows for one question (see the module docstring).

    `session` answers from main index + uploads, `uploaded` from the uploads alone, `curated`
    from the main index alone; `upload_ids` are the session's uploaded document ids.
    """
    if not curated.abstained:
        # the uploads' own answer first; the session's when the uploads alone did not answer
        for part in (uploaded, session):
            if not part.abstained and cites_any(part, upload_ids) and unmatched(part, curated):
                return side_by_side(curated, part)
    if not session.abstained and curated.abstained and cites_any(session, upload_ids):
        return replace(session, flags=_merge_flags(session.flags, (UPLOAD_ONLY,)))
    return session


def flag_hidden(answer: Answer, flagged_docs: Collection[str]) -> Answer:
    """Flag an answer citing a document whose hidden (tag, bidi, zero-width) characters were
    removed at ingest."""
    if any(c.doc_id in flagged_docs for c in answer.citations):
        return replace(answer, flags=_merge_flags(answer.flags, (HIDDEN_CHARS,)))
    return answer


def _merge_flags(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f for g in groups for f in g))
