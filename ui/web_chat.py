"""From qa results to what the web app shows: citation views, search rows, the answer's subject."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from index.types import Passage
from qa.types import Answer, Citation
from ui.web_html import CitationView, ResultRow, best_sentence, window


def citation_context(
    c: Citation, passages: Sequence[Passage], text_of: Callable[[str], str | None]
) -> tuple[str, int]:
    """The passage to show around a citation, and where it starts in the document's text.

    The listed passage holding the quote when there is one; otherwise a window of the stored
    document; the quote alone as a last resort.
    """
    for p in passages:
        ch = p.chunk
        if ch.doc_id == c.doc_id and ch.start <= c.start and c.end <= ch.end:
            if ch.text[c.start - ch.start : c.end - ch.start] == c.quote:
                return ch.text, ch.start
    doc = text_of(c.doc_id)
    if doc is not None and doc[c.start : c.end] == c.quote:
        a, b = window(len(doc), c.start, c.end)
        return doc[a:b], a
    return c.quote, c.start


def citation_views(answer: Answer, text_of: Callable[[str], str | None]) -> list[CitationView]:
    """One view per citation of `answer`, in citation order."""
    views = []
    for c in answer.citations:
        context, start = citation_context(c, answer.passages, text_of)
        views.append(
            CitationView(
                n=c.n,
                doc_id=c.doc_id,
                title=c.title,
                source_type=c.source_type,
                section=c.section,
                page=c.page,
                date=c.date,
                url=c.url,
                quote=c.quote,
                start=c.start,
                end=c.end,
                context=context,
                context_start=start,
            )
        )
    return views


def answer_subject(answer: Answer) -> str | None:
    """What an answer is about: the subject (or title) of the first cited chunk; None if none."""
    if answer.abstained or not answer.citations:
        return None
    first = answer.citations[0]
    for p in answer.passages:
        if p.chunk.chunk_id == first.chunk_id or (
            p.chunk.doc_id == first.doc_id and p.chunk.start <= first.start < p.chunk.end
        ):
            return p.chunk.subject or p.chunk.title or None
    return first.title or None


def search_rows(passages: Sequence[Passage], query: str) -> list[ResultRow]:
    """Result rows with the sentence sharing most words with the query marked."""
    rows = []
    for p in passages:
        c = p.chunk
        a, b = best_sentence(c.text, query)
        rows.append(
            ResultRow(
                rank=p.rank,
                score=float(p.score),
                doc_id=c.doc_id,
                title=c.title,
                source_type=c.source_type,
                section=c.section,
                page=c.page,
                start=c.start,
                end=c.end,
                text=c.text,
                sentence_start=a,
                sentence_end=b,
            )
        )
    return rows
