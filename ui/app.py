"""The clinqa web app (gradio): Ask, Literature search, Sources, Evaluation, and an `ask` API.

Safe defaults: bound to settings.host (127.0.0.1), no share link, analytics off, a bounded queue
and concurrency limit, an upload size limit and extension allow-list, every piece of source text
escaped before display, the index, corpus, uploads and `.env` blocked from gradio's file route,
and questions not logged unless `settings.log_questions` is on.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # must be set before gradio is imported

import html  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import weakref  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import gradio as gr  # noqa: E402

from index.types import Filters  # noqa: E402
from qa.errors import QueryError  # noqa: E402
from qa.types import ABSTAIN_TEXT, Answer  # noqa: E402
from ui.config import PROJECT_ROOT  # noqa: E402
from ui.web_chat import answer_subject, citation_views, search_rows  # noqa: E402
from ui.web_export import export_results  # noqa: E402
from ui.web_filters import ALL_TYPES, resolve_filters, source_type_counts  # noqa: E402
from ui.web_html import (  # noqa: E402
    CSS,
    OPEN_CITATION_JS,
    answer_markdown,
    citations_html,
    esc,
    link_markers,
    results_html,
)
from ui.web_report import NO_REPORT, Report, load_report, report_folders  # noqa: E402
from ui.web_session import SessionQA, Sessions, add_documents  # noqa: E402
from ui.web_upload import ALLOWED_SUFFIXES, parse_uploads, refusal, store_upload  # noqa: E402

if TYPE_CHECKING:
    from ingest.types import Document
    from qa.engine import QA
    from qa.settings import Settings

log = logging.getLogger("clinqa.web")

DISCLAIMER = "clinqa quotes its sources; it does not replace clinical judgement."
MAX_LISTED_DOCUMENTS = 300
SEARCH_K_MAX = 50
PROGRESS = gr.Progress()  # gradio injects a tracker where a handler declares one


class WebState:
    """What the running app holds: the main QA, per-session uploads, its temp folders."""

    def __init__(self, qa: QA, settings: Settings, reload: Callable[[], QA] | None = None) -> None:
        self.qa = qa
        self.settings = settings
        self.reload = reload or (lambda: _reload(settings, qa.index.embedder))
        self.lock = threading.Lock()  # guards `qa`: held only to read or swap it
        self.write_lock = threading.Lock()  # one writer of the main index at a time
        # Exports and report plots: returned to gradio, which copies them into its cache.
        self.serve_dir = Path(tempfile.mkdtemp(prefix="clinqa-web-"))
        # Uploaded files: never returned to gradio and blocked from its file route.
        self.uploads_root = Path(tempfile.mkdtemp(prefix="clinqa-uploads-"))
        self.sessions = Sessions(self.uploads_root)

    def qa_for(self, request: gr.Request | None) -> QA | SessionQA:
        """The session's QA (main index + its uploads), else the main one."""
        session = getattr(request, "session_hash", None) if request is not None else None
        if session:
            found = self.sessions.get(session)
            if found is not None and found.qa is not None:
                return found.qa
        return self.main_qa()

    def main_qa(self) -> QA:
        """The QA over the main index as it is now (a shared upload may swap it)."""
        with self.lock:
            return self.qa

    def refresh(self) -> QA:
        """Load the newest committed index and make it the one new questions get; questions
        already running finish on the version they started with."""
        fresh = self.reload()
        with self.lock:
            self.qa = fresh
        return fresh

    def close(self) -> None:
        """Delete every session's uploads and the app's temp folders."""
        self.sessions.close_all()
        shutil.rmtree(self.serve_dir, ignore_errors=True)
        shutil.rmtree(self.uploads_root, ignore_errors=True)

    def blocked_paths(self) -> list[str]:
        s = self.settings
        return [
            str(Path(p).resolve())
            for p in (s.index_dir, s.corpus_dir, PROJECT_ROOT / ".env", self.uploads_root)
        ]


_STATES: weakref.WeakKeyDictionary[gr.Blocks, WebState] = weakref.WeakKeyDictionary()


def app_state(demo: gr.Blocks) -> WebState:
    """The `WebState` of an app made by `build_app`."""
    return _STATES[demo]


def _text_of(qa: QA | SessionQA) -> Callable[[str], str | None]:
    def text_of(doc_id: str) -> str | None:
        try:
            return str(qa.index.document(doc_id).text)
        except KeyError:  # an unknown id: show the quote alone
            return None

    return text_of


def _sources_html(documents: list[Document], uploads: list[Document]) -> str:
    counts = "".join(f"<li><b>{esc(t)}</b>: {n}</li>" for t, n in source_type_counts(documents))
    rows = "".join(
        f'<tr data-source-type="{esc(d.source_type)}"><td><code>{esc(d.doc_id)}</code></td>'
        f"<td>{esc(d.title)}</td><td>{esc(d.source_type)}</td><td>{esc(d.subject or '')}</td>"
        f"<td>{esc(d.date or '')}</td></tr>"
        for d in documents[:MAX_LISTED_DOCUMENTS]
    )
    more = len(documents) - MAX_LISTED_DOCUMENTS
    more_line = f"<p>… and {more} more.</p>" if more > 0 else ""
    mine = (
        "<p><b>Your uploads (this session):</b> "
        + ", ".join(f"<code>{esc(d.doc_id)}</code> {esc(d.title)}" for d in uploads)
        + "</p>"
        if uploads
        else ""
    )
    return (
        f'<div class="clinqa-sources"><p>{len(documents)} documents indexed.</p>'
        f'<ul class="clinqa-counts">{counts}</ul>{mine}'
        '<table class="clinqa-table"><thead><tr><th>doc id</th><th>title</th><th>source type</th>'
        f"<th>subject</th><th>date</th></tr></thead><tbody>{rows}</tbody></table>{more_line}</div>"
    )


def _source_types(documents: list[Document]) -> list[str]:
    return [ALL_TYPES, *sorted({d.source_type for d in documents})]


def build_app(qa: QA, settings: Settings, reload: Callable[[], QA] | None = None) -> gr.Blocks:
    """The gradio app over `qa` (queue configured; call `.launch(**launch_kwargs(...))`)."""
    state = WebState(qa, settings, reload)

    def note_question(kind: str, text: str) -> None:
        if settings.log_questions:
            log.info("%s: %s", kind, text)

    # -- Ask ---------------------------------------------------------------------------------
    def chat_turn(
        message: str, history: list[dict[str, Any]] | None, subject: str | None, request: gr.Request
    ) -> tuple[list[dict[str, Any]], str, str, str | None]:
        history = list(history or [])
        if not (message or "").strip():
            return history, "", gr.skip(), subject
        note_question("ask", message)
        view = state.qa_for(request)
        history.append({"role": "user", "content": answer_markdown(message, False, "")})
        try:
            ans = view.ask(message, subject_hint=subject)
        except QueryError as exc:
            history.append(
                {
                    "role": "assistant",
                    "content": f"**Cannot use this question:** "
                    f"{answer_markdown(str(exc), False, '')}",
                }
            )
            return history, message, citations_html([]), subject
        uploaded = view.upload_ids if isinstance(view, SessionQA) else frozenset()
        history.append({"role": "assistant", "content": _answer_message(ans, uploaded)})
        panel = citations_html(citation_views(ans, _text_of(view)))
        return history, "", panel, answer_subject(ans) or subject

    def new_conversation() -> tuple[list[dict[str, Any]], str, str, None]:
        return [], "", "", None

    # -- Search ------------------------------------------------------------------------------
    def search(
        query: str, source_type: str, doc_field: str, k: float, request: gr.Request
    ) -> tuple[str, Any, Any]:
        hidden = gr.DownloadButton(visible=False)
        if not (query or "").strip():
            return '<div class="clinqa-results">Type a query.</div>', hidden, hidden
        note_question("search", query)
        view = state.qa_for(request)
        resolved = resolve_filters(source_type, doc_field or "", view.index.documents())
        note = ""
        if resolved.matches_nothing:
            hits = []
            note = f'<div class="clinqa-note">{esc(resolved.note)}</div>'
        else:
            filters: Filters | None = None if resolved.filters.empty else resolved.filters
            try:
                hits = view.search(query, k=int(k), filters=filters)
            except QueryError as exc:
                return f'<div class="clinqa-error">{esc(exc)}</div>', hidden, hidden
        rows = search_rows(hits, query)
        f = resolved.filters
        csv_path, json_path = export_results(
            state.serve_dir,
            query,
            {
                "source_types": list(f.source_types),
                "doc_ids": list(f.doc_ids),
                "doc_prefixes": list(f.doc_prefixes),
                "doc_field": doc_field or "",
            },
            rows,
        )
        return (
            note + results_html(rows),
            gr.DownloadButton(value=str(csv_path), visible=True),
            gr.DownloadButton(value=str(json_path), visible=True),
        )

    # -- Sources -----------------------------------------------------------------------------
    def upload(
        files: list[str] | None, request: gr.Request, progress: gr.Progress = PROGRESS
    ) -> tuple[str, Any, Any, Any]:
        paths = [Path(f) for f in (files or []) if Path(f).is_file()]
        cleared = gr.File(value=None)
        if not paths:
            return "<p>Choose a file first.</p>", gr.skip(), gr.skip(), cleared
        refused = [
            r for p in paths if (r := refusal(p.name, p.stat().st_size, settings.max_upload_mb))
        ]
        if refused:
            _discard(paths)
            items = "".join(f"<li>{esc(r)}</li>" for r in refused)
            return (
                f'<div class="clinqa-refused"><b>Upload refused.</b><ul>{items}</ul></div>',
                gr.skip(),
                gr.skip(),
                cleared,
            )
        session = request.session_hash or "anonymous"
        uploads = state.sessions.open(session)
        progress(0.05, desc="saving")
        saved = [store_upload(p, uploads.folder, p.name) for p in paths]
        _discard(paths)  # gradio's cached copy: the upload now lives only in the session folder
        main = state.main_qa()
        embedder = main.index.embedder
        progress(0.2, desc="reading and chunking")
        parsed = parse_uploads(
            saved,
            max_chars=settings.chunk_max_chars,
            max_tokens=settings.chunk_max_tokens,
            count_tokens=embedder.count_tokens,
            sandboxed=settings.sandbox_reads,
            timeout_s=settings.read_timeout_s,
            memory_bytes=settings.read_memory_mb << 20,
        )
        failed = "".join(
            f"<li>{esc(Path(f.path).name)}: {esc(f.reason)}</li>" for f in parsed.failures
        )
        if not parsed.documents:
            return (
                f'<div class="clinqa-refused"><b>Nothing could be read.</b><ul>{failed}</ul></div>',
                gr.skip(),
                gr.skip(),
                cleared,
            )
        held = 0 if settings.shared_uploads else len(uploads.chunks)
        if held + len(parsed.chunks) > settings.max_session_chunks:
            for p in saved:
                p.unlink(missing_ok=True)
            return (
                '<div class="clinqa-refused"><b>Upload refused.</b> '
                f"{esc(', '.join(p.name for p in paths))}: {len(parsed.chunks):,} chunks"
                + (f" on top of the {held:,} this session holds" if held else "")
                + f" is over the limit of {settings.max_session_chunks:,} chunks per session "
                "(max_session_chunks); upload smaller files or fewer at a time.</div>",
                gr.skip(),
                gr.skip(),
                cleared,
            )
        progress(0.5, desc=f"embedding {len(parsed.chunks)} chunks")
        if settings.shared_uploads:
            _ingest_shared(state, saved)
            view = state.qa_for(None)
            mine: list[Document] = []
            where = "the shared index"
        else:
            view = add_documents(uploads, parsed.documents, parsed.chunks, main, settings, _make_qa)
            mine = uploads.documents
            where = "your session"
        progress(1.0, desc="done")
        docs = view.index.documents()
        added = "".join(
            f"<li><code>{esc(d.doc_id)}</code> {esc(d.title)}{_hidden_note(d)}</li>"
            for d in parsed.documents
        )
        status = (
            f'<div class="clinqa-uploaded"><b>Added to {where}:</b> '
            f"{len(parsed.documents)} document(s), {len(parsed.chunks)} chunk(s). "
            f"They are answerable and searchable now.<ul>{added}</ul>"
            + (f"<b>Skipped:</b><ul>{failed}</ul>" if failed else "")
            + "</div>"
        )
        return (
            status,
            _sources_html(docs, mine),
            gr.Dropdown(choices=_source_types(docs)),
            cleared,
        )

    def end_session(request: gr.Request) -> None:
        if request.session_hash:
            state.sessions.close(request.session_hash)

    # -- API ---------------------------------------------------------------------------------
    def ask_api(question: str, request: gr.Request) -> dict[str, Any]:
        """Answer one question; returns the object `clinqa ask --json` prints."""
        note_question("api", question)
        try:
            return state.qa_for(request).ask(question).to_json()
        except QueryError as exc:
            raise gr.Error(str(exc)) from exc

    def reload_report() -> tuple[str, Any]:
        text, plots = _report_parts(load_report(report_folders(PROJECT_ROOT), state.serve_dir))
        return text, gr.Gallery(value=plots, visible=bool(plots))

    documents = qa.index.documents()
    report = load_report(report_folders(PROJECT_ROOT), state.serve_dir)

    # delete_cache: gradio's own cache (exports, plots, uploads) is swept hourly of files > 1 h old
    with gr.Blocks(title="clinqa", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# clinqa\nClinical-literature answers with verbatim, checkable citations.")
        gr.HTML(f'<div class="clinqa-disclaimer" id="clinqa-disclaimer">{esc(DISCLAIMER)}</div>')
        if getattr(qa.index, "fallback", None):
            gr.HTML(
                f'<div class="clinqa-warning" id="clinqa-fallback">Index warning: '
                f"{esc(qa.index.fallback)}</div>"
            )
        subject = gr.State(None)
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                chat = gr.Chatbot(
                    label="Answers",
                    elem_id="clinqa-chat",
                    height=380,
                    feedback_options=None,
                    latex_delimiters=[],
                    group_consecutive_messages=False,
                    buttons=["copy"],
                )
                with gr.Row():
                    question = gr.Textbox(
                        label="Question",
                        elem_id="clinqa-question",
                        scale=5,
                        placeholder="e.g. What is the dose of aldesleukin for metastatic melanoma?",
                        max_length=settings.max_query_chars,
                    )
                    ask_btn = gr.Button("Ask", variant="primary", elem_id="clinqa-ask", scale=1)
                clear_btn = gr.Button("New conversation", size="sm", elem_id="clinqa-clear")
                gr.Markdown("### Citations")
                cites = gr.HTML("", elem_id="clinqa-citations", js_on_load=None)
            with gr.Tab("Literature search", id="search"):
                with gr.Row():
                    query = gr.Textbox(
                        label="Query",
                        elem_id="clinqa-query",
                        scale=4,
                        max_length=settings.max_query_chars,
                    )
                    source_type = gr.Dropdown(
                        _source_types(documents),
                        value=ALL_TYPES,
                        label="Source type",
                        elem_id="clinqa-type",
                    )
                    doc_field = gr.Textbox(
                        label="Drug or document",
                        placeholder="doc id, prefix* or drug name",
                        elem_id="clinqa-doc",
                    )
                    k = gr.Slider(
                        1, SEARCH_K_MAX, value=10, step=1, label="Results", elem_id="clinqa-k"
                    )
                search_btn = gr.Button("Search", variant="primary", elem_id="clinqa-search")
                results = gr.HTML("", elem_id="clinqa-results", js_on_load=None)
                with gr.Row():
                    csv_btn = gr.DownloadButton("Download CSV", visible=False, elem_id="clinqa-csv")
                    json_btn = gr.DownloadButton(
                        "Download JSON", visible=False, elem_id="clinqa-json"
                    )
            with gr.Tab("Sources", id="sources"):
                sources = gr.HTML(
                    _sources_html(documents, []), elem_id="clinqa-sources", js_on_load=None
                )
                gr.Markdown(
                    f"Add {', '.join(ALLOWED_SUFFIXES)} files (up to {settings.max_upload_mb} MB"
                    " each). "
                    + (
                        "They join the shared index."
                        if settings.shared_uploads
                        else "They stay in your session and are deleted when you leave."
                    )
                )
                files = gr.File(
                    label="Upload",
                    file_count="multiple",
                    file_types=list(ALLOWED_SUFFIXES),
                    elem_id="clinqa-upload",
                )
                upload_btn = gr.Button("Add to the sources", elem_id="clinqa-add")
                upload_status = gr.HTML("", elem_id="clinqa-upload-status", js_on_load=None)
            with gr.Tab("Evaluation", id="evaluation"):
                text, plots = _report_parts(report)
                report_md = gr.Markdown(text, elem_id="clinqa-report")
                gallery = gr.Gallery(plots, label="Plots", columns=2, visible=bool(plots))
                refresh_btn = gr.Button("Reload the latest report", size="sm")

        ask_inputs = [question, chat, subject]
        ask_outputs = [chat, question, cites, subject]
        private: dict[str, Any] = {"api_visibility": "private"}
        ask_btn.click(chat_turn, ask_inputs, ask_outputs, api_name="chat_click", **private)
        question.submit(chat_turn, ask_inputs, ask_outputs, api_name="chat_submit", **private)
        clear_btn.click(
            new_conversation, None, [chat, question, cites, subject], api_name="new_chat", **private
        )
        search_inputs = [query, source_type, doc_field, k]
        search_outputs = [results, csv_btn, json_btn]
        search_btn.click(search, search_inputs, search_outputs, api_name="search_click", **private)
        query.submit(search, search_inputs, search_outputs, api_name="search_submit", **private)
        upload_btn.click(
            upload,
            [files],
            [upload_status, sources, source_type, files],
            api_name="upload",
            api_visibility="undocumented",  # scripts may upload; the browser does the same
        )
        refresh_btn.click(reload_report, None, [report_md, gallery], api_name="report", **private)
        gr.api(ask_api, api_name="ask")
        demo.unload(end_session)

    demo.queue(max_size=settings.max_queue, default_concurrency_limit=settings.concurrency_limit)
    _STATES[demo] = state
    return demo


FLAG_NOTES = {
    "conflicting_sources": "⚠ Conflicting sources: an uploaded document disagrees with the "
    "curated sources. Both are shown with their citations.",
    "uploaded_source_only": "⚠ Only your uploaded document answers this; no curated source does.",
    "hidden_characters_removed": "⚠ A cited document held hidden characters (Unicode tags, bidi "
    "controls or zero-width characters); they were removed at ingest.",
}


def _answer_message(ans: Answer, uploaded: frozenset[str] = frozenset()) -> str:
    text = answer_markdown(ans.answer, ans.abstained, ABSTAIN_TEXT, ans.reason)
    if ans.abstained or not ans.citations:
        return text
    notes = "".join(f"**{esc(FLAG_NOTES[f])}**\n\n" for f in ans.flags if f in FLAG_NOTES)
    refs = "\n".join(
        answer_markdown(
            f"[{c.n}] "
            + " · ".join(
                x
                for x in (
                    c.title,
                    "your upload" if c.doc_id in uploaded else c.source_type,
                    c.section,
                    f"p. {c.page}" if c.page else None,
                )
                if x
            ),
            False,
            "",
        )
        for c in ans.citations
    )
    numbers = [c.n for c in ans.citations]
    return (
        f"{notes}{link_markers(text, numbers)}\n\n{link_markers(refs, numbers)}\n\n"
        "_Click a marker, or open a citation below, to see the quote in its passage._"
    )


def _hidden_note(doc: Document) -> str:
    n = doc.meta.get("stripped_hidden_chars")
    return f" <b>(flagged: {int(n)} hidden character(s) removed)</b>" if n else ""


def _report_parts(report: Report | None) -> tuple[str, list[str]]:
    """The Evaluation tab's Markdown and plot paths ("no report yet" when there is none)."""
    if report is None:
        return NO_REPORT, []
    head = f"Report from `{html.escape(str(report.folder))}`\n\n"
    return head + report.markdown, [str(p) for p in report.plots]


def _reload(settings: Settings, embedder: Any) -> QA:
    from index.store import ClinqaIndex
    from qa.engine import QA

    index = ClinqaIndex.load(
        settings.index_dir, embedder, candidates=settings.candidates, rrf_k=settings.rrf_k
    )
    return QA(index, settings)


def _discard(paths: list[Path]) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def _make_qa(index: Any, settings: Settings) -> QA:
    from qa.engine import QA

    return QA(index, settings)


def _ingest_shared(state: WebState, paths: list[Path]) -> None:
    """Add files to the main index on disk, then swap in a freshly loaded QA."""
    from index.pipeline import ingest_paths
    from ingest.sandbox import file_reader

    s = state.settings
    with (
        state.write_lock,  # readers keep answering from the current version meanwhile
        file_reader(
            s.sandbox_reads, timeout_s=s.read_timeout_s, memory_bytes=s.read_memory_mb << 20
        ) as read,
    ):
        index = state.main_qa().index
        embedder = index.embedder
        summary = ingest_paths(
            s.index_dir,
            paths,
            embedder,
            max_chars=s.chunk_max_chars,
            max_tokens=s.chunk_max_tokens,
            dense_kind=s.dense_index,
            ann_min_chunks=s.ann_min_chunks,
            unit_vectors=index.unit_mode,  # an upload keeps the index as it is built
            read=read,
        )
        if summary.failures:
            names = ", ".join(str(f.path) for f in summary.failures)
            log.warning("shared upload skipped: %s", names)
        state.refresh()


def launch_kwargs(demo: gr.Blocks, settings: Settings) -> dict[str, Any]:
    """The `launch` arguments of the safe defaults (host, no share, limits, blocked paths)."""
    return dict(
        server_name=settings.host,
        server_port=settings.port,
        share=False,
        max_file_size=f"{settings.max_upload_mb}mb",
        blocked_paths=app_state(demo).blocked_paths(),
        allowed_paths=[],
        show_error=False,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        footer_links=["api"],
        css=CSS,
        js=OPEN_CITATION_JS,
        quiet=True,
    )


def serve(settings: Settings) -> None:
    """Load the index, build the app and serve it until interrupted."""
    from ui.cli import open_qa

    if settings.log_questions:
        logging.basicConfig(level=logging.INFO)
    qa = open_qa(settings)
    demo = build_app(qa, settings, reload=lambda: open_qa(settings))
    print(f"clinqa: serving on http://{settings.host}:{settings.port} (Ctrl-C to stop)")
    try:
        demo.launch(**launch_kwargs(demo, settings))
    finally:
        app_state(demo).close()
