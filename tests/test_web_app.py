"""The web app against a small real index: gradio server on 127.0.0.1, Debian chromium, client.

Browser tests are marked `browser`; the gradio_client and in-process tests share the fixtures.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fixtures_web import *  # noqa: F403  (session fixtures: index, app, browser, page)
from fixtures_web import (
    ATTACK_IMG,
    ATTACK_SCRIPT,
    PDF_FACT,
    PDF_QUESTION,
    Page,
    RunningApp,
    minimal_pdf,
)

from index.types import Filters
from qa.types import ABSTAIN_TEXT

ANSWERED = "What is the dose of aldesleukin for metastatic renal cell carcinoma?"
OUT_OF_CORPUS = "What is the recommended dose of zanubrutinib for Waldenstrom macroglobulinemia?"
FOLLOW_UP = "and its adverse reactions?"


def _ask(p: Page, question: str) -> None:
    """Ask in the chat and wait until the assistant's reply for it is shown."""
    page = p.page
    before = page.locator("#clinqa-chat .message-row, #clinqa-chat [data-testid='bot']").count()
    page.fill("#clinqa-question textarea", question)
    page.click("#clinqa-ask")
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length > n",
        arg=["#clinqa-chat .message-row, #clinqa-chat [data-testid='bot']", before + 1],
    )
    page.wait_for_function("() => document.querySelector('#clinqa-question textarea').value === ''")


def _tab(p: Page, name: str) -> None:
    p.page.get_by_role("tab", name=name).click()


# -- preconditions on the real QA (so the browser tests below can fail for the right reason) -----


def test_fixture_questions_behave_as_the_tests_assume(web_qa: Any) -> None:
    answered = web_qa.ask(ANSWERED)
    assert not answered.abstained and answered.citations
    assert web_qa.ask(OUT_OF_CORPUS).abstained
    subject = answered.citations[0].doc_id
    # without the previous subject the follow-up is answered from other drugs' labels
    alone = web_qa.ask(FOLLOW_UP)
    assert {c.doc_id for c in alone.citations} != {subject}


# -- browser --------------------------------------------------------------------------------------


@pytest.mark.browser
def test_ask_shows_citation_and_opening_it_highlights_the_quote(
    app_page: Page, web_qa: Any, web_app: RunningApp
) -> None:
    expected = web_qa.ask(ANSWERED)
    _ask(app_page, ANSWERED)
    page = app_page.page
    chat = page.locator("#clinqa-chat").inner_text()
    assert "[1]" in chat
    assert expected.citations[0].title in chat
    first = page.locator("#clinqa-citations details.clinqa-cite").first
    assert first.get_attribute("data-doc-id") == expected.citations[0].doc_id
    mark = first.locator("mark")
    assert not mark.is_visible()  # closed until opened
    first.locator("summary").click()
    mark.wait_for(state="visible")
    assert mark.text_content() == expected.citations[0].quote
    cites = page.locator("#clinqa-citations details.clinqa-cite")
    assert cites.count() == len(expected.citations)
    for i, c in enumerate(expected.citations):
        assert cites.nth(i).locator("mark").text_content() == c.quote
    # the marker [n] in the answer opens citation n too
    last = expected.citations[-1]
    last_panel = page.locator(f"#clinqa-cite-{last.n}")
    if last.n != 1:
        assert last_panel.get_attribute("open") is None
    page.locator(f'#clinqa-chat a[href="#clinqa-cite-{last.n}"]').first.click()
    last_panel.locator("mark").wait_for(state="visible")
    assert last_panel.locator("mark").text_content() == last.quote
    assert len(page.context.pages) == 1  # no new tab opened
    assert page.locator("#clinqa-disclaimer").is_visible()
    assert "does not replace clinical judgement" in page.locator("#clinqa-disclaimer").inner_text()
    assert app_page.dialogs == []
    # nothing leaves the machine: no analytics, fonts or CDNs
    outside = [u for u in app_page.requests if not u.startswith(web_app.url)]
    assert app_page.requests and not outside, outside[:5]


@pytest.mark.browser
def test_out_of_corpus_question_shows_the_abstention(app_page: Page) -> None:
    _ask(app_page, OUT_OF_CORPUS)
    bot = app_page.page.locator("#clinqa-chat").inner_text()
    assert ABSTAIN_TEXT in bot
    assert app_page.page.locator("#clinqa-citations details").count() == 0


@pytest.mark.browser
def test_follow_up_uses_the_previous_subject(app_page: Page, web_qa: Any) -> None:
    first = web_qa.ask(ANSWERED)
    subject_doc = first.citations[0].doc_id
    _ask(app_page, ANSWERED)
    _ask(app_page, FOLLOW_UP)
    docs = app_page.page.locator("#clinqa-citations details.clinqa-cite").evaluate_all(
        "els => els.map(e => e.dataset.docId)"
    )
    assert docs, "the follow-up got no citations"
    # Alone the follow-up names no drug (see the precondition test); in context it stays on
    # the previous answer's subject.
    assert set(docs) == {subject_doc}


@pytest.mark.browser
def test_search_with_source_type_filter(app_page: Page, web_qa: Any) -> None:
    page = app_page.page
    _tab(app_page, "Literature search")
    page.fill("#clinqa-query textarea", "dose")
    page.click("#clinqa-type input")
    page.get_by_role("option", name="definition", exact=True).click()
    page.click("#clinqa-search")
    page.wait_for_selector("#clinqa-results .clinqa-count")
    count_text = page.locator("#clinqa-results .clinqa-count").inner_text()
    types = page.locator("#clinqa-results tr.clinqa-row").evaluate_all(
        "els => els.map(e => e.dataset.sourceType)"
    )
    expected = web_qa.search("dose", k=10, filters=Filters(source_types=("definition",)))
    assert len(types) == len(expected) > 0
    assert set(types) == {"definition"}
    assert count_text.startswith(f"{len(expected)} result")
    marks = page.locator("#clinqa-results tr.clinqa-row mark")
    assert marks.count() == len(expected)
    # a filter that matches nothing shows "0 results", not stale rows
    page.fill("#clinqa-doc textarea", "no-such-drug-xyz")
    page.click("#clinqa-search")
    page.wait_for_function(
        "() => document.querySelector('#clinqa-results .clinqa-count')"
        "?.innerText.startsWith('0 results')"
    )
    assert page.locator("#clinqa-results tr.clinqa-row").count() == 0


@pytest.mark.browser
def test_search_exports_csv_and_json(app_page: Page, tmp_path: Path) -> None:
    page = app_page.page
    _tab(app_page, "Literature search")
    page.fill("#clinqa-query textarea", "warfarin bleeding")
    page.click("#clinqa-search")
    page.wait_for_selector("#clinqa-results tr.clinqa-row")
    rows = page.locator("#clinqa-results tr.clinqa-row").evaluate_all(
        "els => els.map(e => e.dataset.docId)"
    )
    with page.expect_download() as info:
        page.click("#clinqa-json")
    target = tmp_path / "results.json"
    info.value.save_as(target)
    import json

    data = json.loads(target.read_text(encoding="utf-8"))
    assert [r["doc_id"] for r in data["results"]] == rows
    with page.expect_download() as info:
        page.click("#clinqa-csv")
    csv_target = tmp_path / "results.csv"
    info.value.save_as(csv_target)
    assert csv_target.read_text(encoding="utf-8").splitlines()[0].startswith("rank,score,doc_id")


@pytest.mark.browser
def test_markup_in_documents_renders_as_literal_text(app_page: Page) -> None:
    page = app_page.page
    _tab(app_page, "Literature search")
    page.fill("#clinqa-query textarea", "quexitol storage")
    page.click("#clinqa-search")
    page.wait_for_selector("#clinqa-results tr.clinqa-row")
    text = page.locator("#clinqa-results").inner_text()
    assert ATTACK_SCRIPT in text or ATTACK_IMG in text
    assert page.locator("#clinqa-results script").count() == 0
    assert page.locator("#clinqa-results img").count() == 0
    _tab(app_page, "Ask")
    _ask(app_page, "How must quexitol tablets be stored?")
    page.locator("#clinqa-citations details summary").first.click()
    panel = page.locator("#clinqa-citations").inner_text()
    assert ATTACK_SCRIPT in panel or ATTACK_IMG in panel
    assert page.locator("#clinqa-citations img, #clinqa-citations script").count() == 0
    assert page.locator("#clinqa-chat img[src='x']").count() == 0
    page.wait_for_timeout(500)
    assert app_page.dialogs == []


@pytest.mark.browser
def test_upload_pdf_then_answer_from_it_and_cleanup(
    app_page: Page, web_app: RunningApp, tmp_path: Path
) -> None:
    from ui.app import app_state

    page = app_page.page
    before = web_app.qa.ask(PDF_QUESTION)
    assert before.abstained or "35 mg" not in before.answer
    pdf = tmp_path / "zorvanib-note.pdf"
    pdf.write_bytes(
        minimal_pdf(["Zorvanib prescribing note", PDF_FACT, "Take zorvanib with water."])
    )
    _tab(app_page, "Sources")
    page.locator("#clinqa-upload input[type=file]").set_input_files(str(pdf))
    page.wait_for_selector("#clinqa-upload :text('zorvanib-note.pdf')")
    page.click("#clinqa-add")
    page.wait_for_selector("#clinqa-upload-status .clinqa-uploaded")
    assert "1 document(s)" in page.locator("#clinqa-upload-status").inner_text()
    state = app_state(web_app.demo)
    folders = list(state.uploads_root.glob("session-*"))
    assert len(folders) == 1 and any(f.suffix == ".pdf" for f in folders[0].iterdir())
    _tab(app_page, "Ask")
    _ask(app_page, PDF_QUESTION)
    chat = page.locator("#clinqa-chat").inner_text()
    assert "35 mg" in chat
    page.locator("#clinqa-citations details summary").first.click()
    quote = page.locator("#clinqa-citations details mark").first.text_content() or ""
    assert "35 mg" in quote
    # the upload stays in this session: the main index and other sessions do not see it
    assert web_app.qa.ask(PDF_QUESTION).answer == before.answer
    # leaving the page ends the session and deletes its files
    page.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and folders[0].exists():
        time.sleep(0.5)
    assert not folders[0].exists()


@pytest.mark.browser
def test_upload_of_a_refused_type_says_why(app_page: Page, tmp_path: Path) -> None:
    page = app_page.page
    bad = tmp_path / "tool.txt.exe"
    bad.write_bytes(b"MZ not a document")
    _tab(app_page, "Sources")
    page.locator("#clinqa-upload input[type=file]").set_input_files(str(bad))
    page.click("#clinqa-add")
    page.wait_for_timeout(1500)
    status = page.locator("#clinqa-upload-status").inner_text()
    toasts = page.locator(".toast-body, [data-testid='toast-body']").all_inner_texts()
    shown = status + " ".join(toasts)
    assert re.search(r"only \.pdf, \.txt, \.md, \.jsonl|Invalid file type|Choose a file", shown)
    assert "Added to" not in status


# -- API and server ------------------------------------------------------------------------------


def test_gradio_client_ask_endpoint_returns_the_cli_json(web_app: RunningApp) -> None:
    from gradio_client import Client

    client = Client(web_app.url, verbose=False, download_files=False)
    got = client.predict(ANSWERED, api_name="/ask")
    expected = web_app.qa.ask(ANSWERED).to_json()
    assert set(got) == set(expected)
    for key in ("question", "answer", "abstained", "citations"):
        assert got[key] == expected[key], key
    assert [p["doc_id"] for p in got["passages"]] == [p["doc_id"] for p in expected["passages"]]
    for c in got["citations"]:
        assert set(c) >= {
            "n",
            "doc_id",
            "title",
            "source_type",
            "section",
            "page",
            "quote",
            "start",
            "end",
        }
        text = web_app.qa.index.document(c["doc_id"]).text
        assert text[c["start"] : c["end"]] == c["quote"]
    refused = client.predict(OUT_OF_CORPUS, api_name="/ask")
    assert refused["abstained"] is True and refused["abstain_text"] == ABSTAIN_TEXT


def test_gradio_client_ask_reports_an_unusable_question(web_app: RunningApp) -> None:
    from gradio_client import Client

    client = Client(web_app.url, verbose=False, download_files=False)
    with pytest.raises(Exception, match="empty"):
        client.predict("   ", api_name="/ask")


def test_index_corpus_and_uploads_are_not_served(web_app: RunningApp) -> None:
    from ui.app import app_state

    index_files = [p for p in Path(web_app.settings.index_dir).rglob("*") if p.is_file()]
    corpus_files = [p for p in Path(web_app.settings.corpus_dir).rglob("*") if p.is_file()]
    secret = app_state(web_app.demo).uploads_root / "probe.txt"
    secret.write_text("private", encoding="utf-8")
    for path in [index_files[0], corpus_files[0], secret]:
        url = f"{web_app.url}gradio_api/file={path}"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url, timeout=10)
        assert err.value.code in (403, 404), (path, err.value.code)
    secret.unlink()


def test_app_binds_loopback_with_bounded_queue(web_app: RunningApp) -> None:
    from ui.app import launch_kwargs

    kwargs = launch_kwargs(web_app.demo, web_app.settings)
    assert kwargs["server_name"] == "127.0.0.1" and kwargs["share"] is False
    assert kwargs["max_file_size"] == "25mb"
    assert web_app.demo.max_file_size == 25 * 1024 * 1024
    assert web_app.demo.analytics_enabled is False
    assert web_app.demo._queue.max_size == web_app.settings.max_queue
    assert web_app.demo._queue.default_concurrency_limit == web_app.settings.concurrency_limit
    blocked = {Path(p) for p in kwargs["blocked_paths"]}
    assert Path(web_app.settings.index_dir).resolve() in blocked
    assert Path(web_app.settings.corpus_dir).resolve() in blocked


def test_session_view_answers_from_an_upload_and_keeps_the_main_index(
    web_qa: Any, tmp_path: Path
) -> None:
    from ui.app import _make_qa
    from ui.web_session import SessionUploads, add_documents
    from ui.web_upload import parse_uploads

    pdf = tmp_path / "note.pdf"
    pdf.write_bytes(minimal_pdf([PDF_FACT]))
    s = web_qa.settings
    parsed = parse_uploads(
        [pdf],
        max_chars=s.chunk_max_chars,
        max_tokens=s.chunk_max_tokens,
        count_tokens=web_qa.index.embedder.count_tokens,
    )
    assert len(parsed.documents) == 1 and parsed.chunks and not parsed.failures
    uploads = SessionUploads(tmp_path / "session")
    view = add_documents(uploads, parsed.documents, parsed.chunks, web_qa, s, _make_qa)
    ans = view.ask(PDF_QUESTION)
    assert not ans.abstained and "35 mg" in ans.answer
    assert ans.citations[0].doc_id == parsed.documents[0].doc_id
    doc_text = parsed.documents[0].text
    c = ans.citations[0]
    assert doc_text[c.start : c.end] == c.quote
    # main-index questions still answer the same through the view
    assert view.ask(ANSWERED).citations == web_qa.ask(ANSWERED).citations
    hits = view.search("zorvanib glimmer", k=3)
    assert hits[0].doc_id == parsed.documents[0].doc_id


def test_shared_upload_goes_into_the_main_index_and_reloads(
    web_qa: Any, web_settings: Any, tmp_path: Path
) -> None:
    import shutil

    from ui.app import WebState, _ingest_shared

    index_copy = tmp_path / "index"
    shutil.copytree(web_settings.index_dir, index_copy, symlinks=True)
    settings = web_settings.replace(index_dir=str(index_copy), shared_uploads=True)
    state = WebState(web_qa, settings)
    try:
        pdf = tmp_path / "shared-note.pdf"
        pdf.write_bytes(minimal_pdf([PDF_FACT]))
        before = len(state.qa.index.documents())
        _ingest_shared(state, [pdf])
        assert state.qa is not web_qa
        assert len(state.qa.index.documents()) == before + 1
        ans = state.qa.ask(PDF_QUESTION)
        assert "35 mg" in ans.answer
        assert any("shared-note" in c.doc_id for c in ans.citations)
        # the original index folder is untouched
        assert len(web_qa.index.documents()) == before
    finally:
        state.close()


@pytest.mark.browser
def test_sources_and_evaluation_tabs(app_page: Page, web_qa: Any, tmp_path: Path) -> None:
    from ui.config import PROJECT_ROOT
    from ui.web_filters import source_type_counts
    from ui.web_report import load_report, report_folders

    page = app_page.page
    _tab(app_page, "Sources")
    docs = web_qa.index.documents()
    text = page.locator("#clinqa-sources").inner_text()
    assert f"{len(docs)} documents indexed." in text
    for source_type, n in source_type_counts(docs):
        assert f"{source_type}: {n}" in text
    _tab(app_page, "Evaluation")
    shown = page.locator("#clinqa-report").inner_text()
    report = load_report(report_folders(PROJECT_ROOT), tmp_path)
    if report is None:
        assert "No evaluation report yet" in shown
    else:
        assert "Report from" in shown and str(report.folder) in shown
