"""Plain text (.txt) and Markdown (.md) files: one document each; Markdown headings are sections."""

from __future__ import annotations

import re

from ingest.types import DOCUMENT, Document, Span

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
_FENCE = re.compile(r"^ {0,3}(```|~~~)", re.M)
_TITLE_CHARS = 120


def text_document(doc_id: str, text: str, stem: str, meta: dict[str, object]) -> Document:
    """A plain-text document; its title is the first line when short, else the file stem.

    >>> text_document("file:a.txt", "\\nDose notes\\nGive 5 mg.", "a", {}).title
    'Dose notes'
    """
    first = next((x.strip() for x in text.splitlines() if x.strip()), "")
    title = first if 0 < len(first) <= _TITLE_CHARS else stem
    return Document(doc_id=doc_id, title=title, source_type=DOCUMENT, text=text, meta=meta)


def markdown_document(doc_id: str, text: str, stem: str, meta: dict[str, object]) -> Document:
    """A Markdown document: each heading opens a section running to the next heading.

    >>> d = markdown_document("file:a.md", "# Aspirin\\nIntro.\\n## Dose\\n81 mg daily.", "a", {})
    >>> d.title, [(s.name, d.text[s.start:s.end]) for s in d.sections]
    ('Aspirin', [('Aspirin', '# Aspirin\\nIntro.'), ('Dose', '## Dose\\n81 mg daily.')])
    """
    heads = markdown_headings(text)
    sections = []
    for i, (pos, name) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        stretch = text[pos:end].rstrip()
        sections.append(Span(name, pos, pos + len(stretch)))
    h1 = next((name for pos, name in heads if text[pos:].lstrip().startswith("# ")), None)
    base = text_document(doc_id, text, stem, meta)
    title = h1 if h1 and len(h1) <= _TITLE_CHARS else base.title
    return Document(
        doc_id=doc_id,
        title=title,
        source_type=DOCUMENT,
        text=text,
        sections=tuple(sections),
        meta=meta,
    )


def markdown_headings(text: str) -> list[tuple[int, str]]:
    """(offset of the heading line, heading text) for ATX headings outside fenced code.

    >>> markdown_headings("# A\\n```\\n# not\\n```\\n## B #")
    [(0, 'A'), (18, 'B')]
    """
    fences = [m.start() for m in _FENCE.finditer(text)]
    out = []
    for m in _ATX.finditer(text):
        inside = sum(1 for f in fences if f < m.start()) % 2 == 1
        if not inside:
            out.append((m.start(), m.group(2).strip()))
    return out
