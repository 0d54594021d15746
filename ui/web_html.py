"""Pure HTML builders for the web app: every piece of source text is escaped before it is shown.

Source documents may contain markup (`<script>`, `<img onerror=...>`); here it becomes inert text.
The only tags in the output are the ones these functions write themselves.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+[\"')\]]*|\n|$)")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>$])")
# gr.HTML renders through a template engine: keep `${...}` and `{{...}}` in source text inert.
_TEMPLATE_CHARS = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;"})
_STOP = frozenset(
    "the and for with what which when does are was were has have had how who why its this that "
    "from into about than then there their them they not can may should would could of in on to "
    "is it as at by an or be".split()
)
PASSAGE_WINDOW = 300  # characters of context either side of a quote found outside any passage


def esc(text: object) -> str:
    """Escape any value for HTML text or a quoted attribute.

    >>> esc('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    out = html.escape("" if text is None else str(text), quote=True)
    return out.translate(_TEMPLATE_CHARS)


def esc_markdown(text: str) -> str:
    """Escape text for a Markdown renderer: HTML-escaped, then Markdown punctuation backslashed.

    >>> esc_markdown("<b>*x*</b> [1]")
    '&lt;b&gt;\\\\*x\\\\*&lt;/b&gt; \\\\[1\\\\]'
    """
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def highlight(text: str, start: int, end: int) -> str:
    """`text` escaped, with `text[start:end]` wrapped in <mark> (offsets clipped to the text).

    >>> highlight("a <b> c", 2, 5)
    'a <mark>&lt;b&gt;</mark> c'
    """
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    if start == end:
        return esc(text)
    return f"{esc(text[:start])}<mark>{esc(text[start:end])}</mark>{esc(text[end:])}"


def safe_url(url: str | None) -> str | None:
    """The URL when it is plain http(s), else None (no javascript: or data: links).

    >>> safe_url("javascript:alert(1)") is None, safe_url("https://x.org/a")
    (True, 'https://x.org/a')
    """
    if not url:
        return None
    text = url.strip()
    if re.match(r"^https?://[^\s\"'<>]+$", text, flags=re.IGNORECASE):
        return text
    return None


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences (or lines) of `text`, blank ones left out.

    >>> sentence_spans("One. Two!")
    [(0, 4), (4, 9)]
    """
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]


def terms(text: str) -> set[str]:
    """Lower-case content words of a query or sentence (short and stop words left out).

    >>> sorted(terms("What is the dose of IL-2 for melanoma?"))
    ['dose', 'il', 'melanoma']
    """
    return {
        w
        for w in (m.group().lower() for m in _WORD.finditer(text))
        if w not in _STOP and (len(w) >= 2)
    }


def best_sentence(text: str, query: str) -> tuple[int, int]:
    """Span of the sentence sharing most query terms with `query` (the first one on a tie).

    >>> best_sentence("Aspirin is old. Warfarin thins blood.", "warfarin blood")
    (16, 37)
    """
    spans = sentence_spans(text)
    if not spans:
        return (0, 0)
    wanted = terms(query)
    best, best_score = spans[0], -1
    for a, b in spans:
        score = len(wanted & terms(text[a:b]))
        if score > best_score:
            best, best_score = (a, b), score
    a, b = best
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return (a, b)


def window(length: int, start: int, end: int, size: int = PASSAGE_WINDOW) -> tuple[int, int]:
    """`[start, end)` widened by `size` characters each side, clipped to `[0, length)`.

    >>> window(1000, 500, 510, 100)
    (400, 610)
    """
    return (max(0, start - size), min(length, end + size))


@dataclass(frozen=True)
class CitationView:
    """What the citation panel shows for one citation: its locator and the passage around it."""

    n: int
    doc_id: str
    title: str
    source_type: str
    section: str | None
    page: int | None
    date: str | None
    url: str | None
    quote: str
    start: int  # offsets of the quote in the document's stored text
    end: int
    context: str  # the passage shown: the document's text in [context_start, ...)
    context_start: int


def cite_label(v: CitationView) -> str:
    """One line naming a citation's source: title, type, section, page, date (escaped).

    >>> cite_label(CitationView(1, "d", "<T>", "monograph", "Dose", 3, None, None, "q", 0, 1,
    ...                         "q", 0))
    '[1] &lt;T&gt; · monograph · Dose · p. 3'
    """
    parts = [v.title, v.source_type, v.section, f"p. {v.page}" if v.page else None, v.date]
    return f"[{v.n}] " + " · ".join(esc(p) for p in parts if p)


def citation_html(v: CitationView, open_: bool = False) -> str:
    """A <details> block: the label, then the passage with the quote highlighted."""
    a = v.start - v.context_start
    body = highlight(v.context, a, a + len(v.quote))
    url = safe_url(v.url)
    link = (
        f' · <a href="{esc(url)}" target="_blank" rel="noopener noreferrer">source</a>'
        if url
        else ""
    )
    return (
        f'<details class="clinqa-cite" id="clinqa-cite-{v.n}" data-n="{v.n}" '
        f'data-doc-id="{esc(v.doc_id)}" data-source-type="{esc(v.source_type)}"'
        f"{' open' if open_ else ''}>"
        f'<summary class="clinqa-cite-label">{cite_label(v)}</summary>'
        f'<div class="clinqa-cite-meta">{esc(v.doc_id)}, characters {v.start}–{v.end}{link}</div>'
        f'<div class="clinqa-passage">{body}</div></details>'
    )


def citations_html(views: Sequence[CitationView]) -> str:
    """The citation panel for one answer (an explanatory line when there is nothing to cite)."""
    if not views:
        return '<div class="clinqa-cites clinqa-empty">No citations.</div>'
    items = "".join(citation_html(v) for v in views)
    return (
        '<div class="clinqa-cites"><div class="clinqa-hint">Open a citation to see the quoted '
        f"text in its passage.</div>{items}</div>"
    )


@dataclass(frozen=True)
class ResultRow:
    """One search result as shown and exported."""

    rank: int
    score: float
    doc_id: str
    title: str
    source_type: str
    section: str | None
    page: int | None
    start: int
    end: int
    text: str
    sentence_start: int  # the highlighted sentence, as offsets into `text`
    sentence_end: int


def snippet_html(row: ResultRow, size: int = 240) -> str:
    """The matching sentence in <mark>, with up to `size` characters of context either side."""
    a, b = window(len(row.text), row.sentence_start, row.sentence_end, size)
    head = "… " if a > 0 else ""
    tail = " …" if b < len(row.text) else ""
    body = highlight(row.text[a:b], row.sentence_start - a, row.sentence_end - a)
    return f"{head}{body}{tail}"


def results_html(rows: Sequence[ResultRow]) -> str:
    """The ranked results as an HTML table (a count line first; "0 results" when empty)."""
    count = f'<div class="clinqa-count">{len(rows)} result{"" if len(rows) == 1 else "s"}</div>'
    if not rows:
        return f'<div class="clinqa-results">{count}</div>'
    body = "".join(
        f'<tr class="clinqa-row" data-source-type="{esc(r.source_type)}" '
        f'data-doc-id="{esc(r.doc_id)}"><td>{r.rank}</td><td>{r.score:.3f}</td>'
        f'<td class="clinqa-source"><b>{esc(r.title)}</b><br>'
        f'<span class="clinqa-type">{esc(r.source_type)}</span>'
        f"{' · ' + esc(r.section) if r.section else ''}"
        f"{f' · p. {r.page}' if r.page else ''}<br><code>{esc(r.doc_id)}</code></td>"
        f'<td class="clinqa-snippet">{snippet_html(r)}</td></tr>'
        for r in rows
    )
    return (
        f'<div class="clinqa-results">{count}<table class="clinqa-table"><thead><tr><th>#</th>'
        "<th>score</th><th>source</th><th>snippet</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def answer_markdown(answer: str, abstained: bool, abstain_text: str, reason: str = "") -> str:
    """The chat message for an answer: escaped text, or the abstention text with its reason.

    >>> answer_markdown("", True, "Not in the sources.", "no match")
    '**Not in the sources\\\\.**\\n\\n_(no match)_'
    """
    if abstained or not answer.strip():
        why = f"\n\n_({esc_markdown(reason)})_" if reason else ""
        return f"**{esc_markdown(abstain_text)}**{why}"
    return esc_markdown(answer)


def link_markers(markdown: str, numbers: Sequence[int]) -> str:
    """Turn escaped citation markers `\\[n\\]` into links to the citation panel's entry n.

    >>> link_markers("Dose 5 mg. \\\\[1\\\\] \\\\[9\\\\]", [1])
    'Dose 5 mg. [\\\\[1\\\\]](#clinqa-cite-1) \\\\[9\\\\]'
    """
    wanted = {str(n) for n in numbers}

    def link(m: re.Match[str]) -> str:
        n = m.group(1)
        return f"[\\[{n}\\]](#clinqa-cite-{n})" if n in wanted else m.group(0)

    return re.sub(r"\\\[(\d+)\\\]", link, markdown)


# Clicking a citation marker in the chat opens that citation and scrolls to it.
OPEN_CITATION_JS = """
() => {
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest ? ev.target.closest('a[href^="#clinqa-cite-"]') : null;
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    const el = document.getElementById(a.getAttribute("href").slice(1));
    if (el) { el.open = true; el.scrollIntoView({block: "center"}); }
  }, true);
}
"""

CSS = """
.clinqa-passage { white-space: pre-wrap; font-family: inherit; padding: .5em;
  border-left: 3px solid #999; margin: .3em 0 .8em 0; }
.clinqa-passage mark, .clinqa-snippet mark { background: #ffe26a; color: #000; }
.clinqa-cite summary { cursor: pointer; font-weight: 600; }
.clinqa-cite-meta { font-size: .85em; opacity: .8; }
.clinqa-table td { vertical-align: top; padding: .3em .5em; }
.clinqa-snippet { white-space: pre-wrap; }
.clinqa-disclaimer { font-weight: 600; }
"""
