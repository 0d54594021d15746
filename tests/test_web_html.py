"""Unit tests of the web app's pure helpers: escaping, highlighting, snippets, filters, export."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.types import Document
from ui.web_export import CSV_FIELDS, export_results, prune_exports, results_csv
from ui.web_filters import ALL_TYPES, resolve_doc_field, resolve_filters, source_type_counts
from ui.web_html import (
    CitationView,
    ResultRow,
    answer_markdown,
    best_sentence,
    citation_html,
    esc_markdown,
    highlight,
    results_html,
    safe_url,
    sentence_spans,
)
from ui.web_report import load_report

ATTACK = '<script>alert("x")</script> <img src=x onerror="alert(1)"> & <b>bold</b>'


class _Tags(HTMLParser):
    """Collects the start tags and the text inside <mark> of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.marked: list[str] = []
        self.text: list[str] = []
        self._in_mark = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_mark = self._in_mark or tag == "mark"

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark":
            self._in_mark = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_mark:
            self.marked.append(data)


def _parse(fragment: str) -> _Tags:
    p = _Tags()
    p.feed(fragment)
    p.close()
    return p


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(alphabet=st.sampled_from(list("ab <>&\"'/=\n\té")), max_size=60), st.data())
def test_highlight_keeps_text_and_marks_exactly_the_span(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    out = highlight(text, start, end)
    parsed = _parse(out)
    assert set(parsed.tags) <= {"mark"}
    assert "".join(parsed.text) == text
    assert "".join(parsed.marked) == text[start:end]


def test_attack_text_renders_as_literal_text() -> None:
    out = highlight(ATTACK, 0, 8)
    parsed = _parse(out)
    assert parsed.tags == ["mark"]
    assert "".join(parsed.text) == ATTACK
    assert "<script" not in out and "<img" not in out


def test_citation_html_escapes_every_field_and_marks_the_quote() -> None:
    doc = "Intro. " + ATTACK + " The dose is 600,000 IU/kg. Tail."
    quote = "The dose is 600,000 IU/kg."
    start = doc.index(quote)
    view = CitationView(
        n=2,
        doc_id='d"<x>',
        title="<i>T</i>",
        source_type="monograph",
        section="<s>",
        page=4,
        date="2020",
        url="javascript:alert(1)",
        quote=quote,
        start=start,
        end=start + len(quote),
        context=doc,
        context_start=0,
    )
    out = citation_html(view)
    parsed = _parse(out)
    assert set(parsed.tags) == {"details", "summary", "div", "mark"}
    assert "".join(parsed.marked) == quote
    assert "javascript:" not in out
    label = "".join(parsed.text)
    assert "<i>T</i>" in label and "p. 4" in label and "2020" in label


def test_citation_offsets_relative_to_context_window() -> None:
    doc = "x" * 50 + "QUOTE" + "y" * 50
    view = CitationView(
        1, "d", "t", "journal", None, None, None, None, "QUOTE", 50, 55, doc[40:60], 40
    )
    assert _parse(citation_html(view)).marked == ["QUOTE"]


def test_safe_url_allows_only_http() -> None:
    assert safe_url("https://example.org/x?a=1") == "https://example.org/x?a=1"
    for bad in ("javascript:alert(1)", "data:text/html,x", 'https://x.org/"onmouseover=1', ""):
        assert safe_url(bad) is None


def test_esc_markdown_neutralises_markup() -> None:
    out = esc_markdown("**bold** [link](http://x) <script>")
    assert "<script>" not in out
    assert "**" not in out and "](" not in out


def test_answer_markdown_shows_abstention_text_never_empty() -> None:
    out = answer_markdown("", True, "The indexed sources do not answer this question.", "weak")
    assert "The indexed sources do not answer this question" in out.replace("\\", "")
    assert answer_markdown("   ", False, "ABSTAIN").startswith("**ABSTAIN")


def test_sentence_spans_cover_sentences() -> None:
    text = "First one. Second one? Third\nFourth"
    pieces = [text[a:b].strip() for a, b in sentence_spans(text)]
    assert pieces == ["First one.", "Second one?", "Third", "Fourth"]


def test_best_sentence_picks_most_query_overlap() -> None:
    text = (
        "Aspirin reduces fever. Warfarin interacts with aspirin and increases bleeding risk. "
        "Take with food."
    )
    a, b = best_sentence(text, "warfarin bleeding interaction")
    assert text[a:b] == "Warfarin interacts with aspirin and increases bleeding risk."


def _row(rank: int, source_type: str, text: str) -> ResultRow:
    a, b = best_sentence(text, "dose")
    return ResultRow(
        rank, 1.0 / rank, f"d{rank}", f"T{rank}", source_type, "S", None, 0, len(text), text, a, b
    )


def test_results_html_counts_and_escapes() -> None:
    rows = [_row(1, "journal", "A dose. " + ATTACK), _row(2, "monograph", "The dose is 5 mg.")]
    out = results_html(rows)
    assert "2 results" in out
    parsed = _parse(out)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert re.findall(r'data-source-type="([^"]*)"', out) == ["journal", "monograph"]
    assert "0 results" in results_html([])


DOCS = [
    Document("spl:abc:1", "Warfarin sodium label", "monograph", "t1", subject="warfarin"),
    Document(
        "spl:abc:2",
        "Warfarin sodium label",
        "monograph",
        "t2",
        subject="warfarin",
        aliases=("Coumadin",),
    ),
    Document("pubmed:1", "Aspirin trial", "journal", "t3", subject=None),
    Document("nci_drug:7", "aldesleukin", "definition", "t4", subject="aldesleukin"),
]


def test_resolve_doc_field_ids_prefixes_and_names() -> None:
    assert resolve_doc_field("pubmed:1", DOCS) == (("pubmed:1",), ())
    assert resolve_doc_field("spl:abc*", DOCS) == ((), ("spl:abc",))
    assert resolve_doc_field("coumadin", DOCS) == (("spl:abc:2",), ())
    assert resolve_doc_field("aspirin", DOCS) == (("pubmed:1",), ())


def test_resolve_filters_union_and_nothing() -> None:
    r = resolve_filters(ALL_TYPES, "aspirin, spl:abc*", DOCS)
    assert set(r.filters.doc_ids) == {"pubmed:1", "spl:abc:1", "spl:abc:2"}
    assert not r.matches_nothing
    assert resolve_filters("journal", "warfarin", DOCS).matches_nothing
    assert resolve_filters(ALL_TYPES, "zzz-unknown", DOCS).matches_nothing
    assert resolve_filters("definition", "", DOCS).filters.source_types == ("definition",)


def test_source_type_counts() -> None:
    assert source_type_counts(DOCS) == [("monograph", 2), ("definition", 1), ("journal", 1)]


def test_export_round_trip(tmp_path: Path) -> None:
    rows = [_row(1, "journal", 'A "quoted", dose; line\nbreak.'), _row(2, "monograph", "dose 5")]
    csv_path, json_path = export_results(tmp_path, "dose", {"source_types": []}, rows)
    back = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert [r["doc_id"] for r in back] == ["d1", "d2"]
    assert back[0]["text"] == rows[0].text
    assert tuple(back[0]) == CSV_FIELDS
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["count"] == 2 and data["results"][1]["source_type"] == "monograph"
    assert results_csv([]).strip() == ",".join(CSV_FIELDS)
    assert not list(csv_path.parent.glob("*.tmp"))


def test_load_report_reads_markdown_and_copies_plots(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    second.mkdir()
    (second / "report.md").write_text("# Report\nhit@5 = 0.9", encoding="utf-8")
    (second / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    serve = tmp_path / "serve"
    serve.mkdir()
    report = load_report([first, second], serve)
    assert report is not None and report.folder == second
    assert "hit@5 = 0.9" in report.markdown
    assert [p.name for p in report.plots] == ["plot.png"]
    assert report.plots[0].is_relative_to(serve)
    assert load_report([first], serve) is None


def test_html_unescape_of_escaped_attack_round_trips() -> None:
    assert html.unescape(highlight(ATTACK, 0, 0)) == ATTACK


def test_prune_exports_keeps_the_newest(tmp_path: Path) -> None:
    import os

    for i in range(5):
        d = tmp_path / f"export-{i}"
        d.mkdir()
        os.utime(d, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "other").mkdir()
    assert prune_exports(tmp_path, 2) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export-3", "export-4", "other"]


def test_upload_refusal_and_safe_names() -> None:
    from ui.web_upload import refusal, safe_name

    assert refusal("a.pdf", 10, 25) is None
    assert refusal("notes.MD", 25 * 1024 * 1024, 25) is None
    assert "over the 25 MB limit" in (refusal("big.txt", 25 * 1024 * 1024 + 1, 25) or "")
    assert "only .pdf" in (refusal("x.html", 10, 25) or "")
    assert "empty" in (refusal("x.txt", 0, 25) or "")
    assert safe_name("../../.env") == "env"
    assert "/" not in safe_name("a/b/../c<script>.jsonl")
    assert safe_name("a/b/../c<script>.jsonl").endswith(".jsonl")
