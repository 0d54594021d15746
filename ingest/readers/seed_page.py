"""The online-dictionary page format of the seed: one page, three kinds of source.

    Also found in: Dictionary, Thesaurus, ...          <- page header
    Related to interleukin-2: Proleukin                <- the looked-up term and related names
    aldesleukin (interleukin-2, IL-2)                  <- monograph title: subject (aliases)
    Pharmacologic class: ...                           <- drug-handbook monograph ...
    A cytokine derived from ...                        <- dictionary definitions, one a paragraph
    interleukin-2 (IL-2)                               <- (a term line heads the paragraph after it)
    References in periodicals archive ?                <- then one periodical excerpt a line

Each document's text is the verbatim slice of the page, so citation offsets quote the page.
"""

from __future__ import annotations

import re

from ingest.monograph import heading_of, is_monograph_start, lines_of, section_monograph
from ingest.types import DEFINITION, MONOGRAPH, PERIODICAL, Document, Span

_ALSO_FOUND = re.compile(r"^Also found in:", re.M)
_RELATED = re.compile(r"^Related to ([^:\n]+):[ \t]*(.*)$", re.M)
_PERIODICALS = re.compile(r"^References in periodicals archive\b.*$", re.M)
_TITLE = re.compile(r"^(?P<name>[^()\n]+?)\s*\((?P<aliases>[^()\n]+)\)\s*$")
_TERMINAL = re.compile(r"[.!?:;]$")


def looks_like_seed_page(text: str) -> bool:
    """True for the dictionary-page format (judged by content, not by file name).

    >>> looks_like_seed_page("Also found in: Dictionary.\\nRelated to x: y\\n")
    True
    """
    head = text[:4000]
    markers = (
        bool(_ALSO_FOUND.search(head)),
        bool(_RELATED.search(head)),
        bool(_PERIODICALS.search(text)),
        any(is_monograph_start(x.text) for x in lines_of(head)),
    )
    return sum(markers) >= 2


def parse_seed_page(text: str, stem: str, path: str | None = None) -> list[Document]:
    """The page's monograph, definitions and periodical excerpts, in page order.

    >>> page = "Related to il-9: X9\\n\\nzz (il-9)\\nPatient teaching\\nTell.\\n\\n\\nA cell.\\n"
    >>> [(d.doc_id, d.source_type, d.text) for d in parse_seed_page(page, "p")][1:]
    [('seed:p:definition:01', 'definition', 'A cell.')]
    """
    body_start, term, related = _header(text)
    refs = _PERIODICALS.search(text, body_start)
    body_end = refs.start() if refs else len(text)
    lines = lines_of(text, body_start, body_end)

    subject, aliases = term, list(related)
    docs: list[Document] = []
    defs_start = body_start
    mono_at = next(
        (i for i, x in enumerate(lines) if is_monograph_start(x.text) or heading_of(x.text)),
        None,
    )
    if mono_at is not None:
        title_idx = mono_at - 1 if mono_at > 0 else mono_at
        title_line = lines[title_idx]
        title = title_line.text if title_idx < mono_at else (term or stem)
        name, title_aliases = _split_title(title)
        subject = name or subject
        aliases = [*title_aliases, *([term] if term else []), *related]
        spans, mono_end = section_monograph(text, title_line.start, body_end)
        base = title_line.start
        docs.append(
            Document(
                doc_id=f"seed:{stem}:monograph",
                title=title,
                source_type=MONOGRAPH,
                text=text[base:mono_end],
                sections=tuple(Span(s.name, s.start - base, s.end - base) for s in spans),
                meta={"page_offset": base},
            )
        )
        defs_start = mono_end
    label = term or subject or stem
    docs.extend(_definitions(text, defs_start, body_end, stem, label))
    if refs is not None:
        docs.extend(_periodicals(text, refs.end(), stem, label))
    aliases_t = _dedupe(aliases, exclude=subject)
    return [
        Document(
            doc_id=d.doc_id,
            title=d.title,
            source_type=d.source_type,
            text=d.text,
            sections=d.sections,
            subject=subject,
            aliases=aliases_t,
            path=path,
            meta={**d.meta, "page": stem},
        )
        for d in docs
    ]


def _header(text: str) -> tuple[int, str | None, list[str]]:
    """Where the page body starts, the looked-up term and the names related to it."""
    pos = 0
    term: str | None = None
    related: list[str] = []
    for line in lines_of(text, 0, min(len(text), 4000)):
        if _ALSO_FOUND.match(line.text):
            pos = line.end
            continue
        m = _RELATED.match(line.text)
        if m:
            term = m.group(1).strip()
            related = [x.strip() for x in m.group(2).split(",") if x.strip()]
            pos = line.end
            continue
        break
    return pos, term, related


def _split_title(title: str) -> tuple[str | None, list[str]]:
    """'aldesleukin (interleukin-2, IL-2)' -> ('aldesleukin', ['interleukin-2', 'IL-2'])."""
    m = _TITLE.match(title)
    if not m:
        return title.strip() or None, []
    names = [x.strip() for x in m.group("aliases").split(",") if x.strip()]
    return m.group("name").strip(), names


def _definitions(text: str, start: int, end: int, stem: str, label: str) -> list[Document]:
    """One document per paragraph; a short unpunctuated line heads the paragraph after it."""
    paragraphs: list[list[tuple[int, int, str]]] = []
    for line in lines_of(text, start, end):
        if line.gap or not paragraphs:
            paragraphs.append([])
        paragraphs[-1].append((line.start, line.end, line.text))
    docs: list[Document] = []
    pending: tuple[int, str] | None = None  # (start, term) of a heading line
    for para in paragraphs:
        a, b = para[0][0], para[-1][1]
        first = para[0][2]
        if len(para) == 1 and len(first) <= 60 and not _TERMINAL.search(first):
            pending = (a, first)
            continue
        n = len(docs) + 1
        meta: dict[str, object] = {}
        if pending is not None:
            a, meta["term"] = pending[0], pending[1]
            pending = None
        docs.append(
            Document(
                doc_id=f"seed:{stem}:definition:{n:02d}",
                title=f"{label} — definition {n}",
                source_type=DEFINITION,
                text=text[a:b],
                meta={**meta, "page_offset": a},
            )
        )
    return docs


def _periodicals(text: str, start: int, stem: str, label: str) -> list[Document]:
    docs: list[Document] = []
    for line in lines_of(text, start):
        n = len(docs) + 1
        docs.append(
            Document(
                doc_id=f"seed:{stem}:periodical:{n:02d}",
                title=f"{label} — periodical excerpt {n}",
                source_type=PERIODICAL,
                text=line.text,
                meta={"page_offset": line.start},
            )
        )
    return docs


def _dedupe(names: list[str], exclude: str | None) -> tuple[str, ...]:
    """Names in first-seen order, case-insensitively unique, without `exclude`.

    >>> _dedupe(["IL-2", "il-2", "x", "Y"], exclude="x")
    ('IL-2', 'Y')
    """
    seen = {exclude.lower()} if exclude else set()
    out = []
    for n in names:
        if n and n.lower() not in seen:
            seen.add(n.lower())
            out.append(n)
    return tuple(out)
