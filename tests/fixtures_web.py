"""Fixtures of the web tests: a small real index, the real app on loopback, Debian's chromium.

Import explicitly: `from tests.fixtures_web import *  # noqa: F403`.
"""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pdf_bytes import assemble_pdf

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "seed" / "000_d4abd2d28b5a34b3.txt"
OPENFDA = ROOT / "corpus" / "openfda_label_excerpts" / "sections.jsonl"
OPENFDA_DRUGS = ("warfarin", "metformin")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]

# A document whose text carries markup that must render as literal text, and a unique fact.
ATTACK_SCRIPT = '<script>alert("clinqa-xss")</script>'
ATTACK_IMG = "<img src=x onerror=alert(2)>"
ATTACK_MD = f"""# Quexitol handling notes

Quexitol is a fictional test compound used only by the clinqa web tests.

Quexitol tablets must be stored below 25 degrees Celsius {ATTACK_SCRIPT} away from light.

The quexitol reference card shows {ATTACK_IMG} the storage rules for pharmacists.
"""

# A PDF upload with a fact no other document states.
PDF_FACT = "Zorvanib is given at 35 mg by mouth once daily for glimmer syndrome."
PDF_QUESTION = "Which drug is given for glimmer syndrome?"


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF (Helvetica text) written by hand, with a correct xref table."""

    def pdf_str(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    shows = " ".join(f"({pdf_str(line)}) '" for line in lines)
    stream = f"BT /F1 11 Tf 72 760 Td 16 TL {shows} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
        b"/Resources << /Font << /F1 4 0 R >> >> >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    return assemble_pdf(objects)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def web_embedder() -> Any:
    from index.embedder import load_embedder

    return load_embedder("minilm", threads=2)


@pytest.fixture(scope="session")
def web_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed page, a few openFDA excerpts and the markup document, in a tmp folder."""
    corpus = tmp_path_factory.mktemp("web_corpus")
    (corpus / "seed").mkdir()
    shutil.copyfile(SEED, corpus / "seed" / SEED.name)
    (corpus / "openfda_label_excerpts").mkdir()
    kept = [
        line
        for line in OPENFDA.read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line)["drug"] in OPENFDA_DRUGS
    ]
    assert kept, f"no {OPENFDA_DRUGS} records in {OPENFDA}"
    (corpus / "openfda_label_excerpts" / OPENFDA.name).write_text(
        "\n".join(kept) + "\n", encoding="utf-8"
    )
    (corpus / "notes").mkdir()
    (corpus / "notes" / "quexitol.md").write_text(ATTACK_MD, encoding="utf-8")
    return corpus


@pytest.fixture(scope="session")
def web_settings(web_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from qa.settings import Settings

    index_dir = tmp_path_factory.mktemp("web_index") / "index"
    return Settings(index_dir=str(index_dir), corpus_dir=str(web_corpus), port=free_port())


@pytest.fixture(scope="session")
def web_qa(web_settings: Any, web_embedder: Any) -> Any:
    """A QA over a real index built from `web_corpus` with the packaged MiniLM."""
    from index.pipeline import ingest_paths
    from index.store import ClinqaIndex
    from qa.engine import QA

    s = web_settings
    summary = ingest_paths(
        s.index_dir,
        [s.corpus_dir],
        web_embedder,
        max_chars=s.chunk_max_chars,
        max_tokens=s.chunk_max_tokens,
    )
    assert not summary.failures, summary.failures
    index = ClinqaIndex.load(s.index_dir, web_embedder)
    return QA(index, s)


@dataclass(frozen=True)
class RunningApp:
    url: str
    qa: Any
    demo: Any
    settings: Any


@pytest.fixture(scope="session")
def web_app(web_qa: Any, web_settings: Any) -> Iterator[RunningApp]:
    """The real app, launched on 127.0.0.1 in a background thread."""
    from ui.app import app_state, build_app, launch_kwargs

    demo = build_app(web_qa, web_settings)
    kwargs = launch_kwargs(demo, web_settings)
    demo.launch(prevent_thread_lock=True, **kwargs)
    try:
        yield RunningApp(f"http://127.0.0.1:{web_settings.port}/", web_qa, demo, web_settings)
    finally:
        demo.close()
        app_state(demo).close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"Debian chromium is missing at {CHROMIUM}"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Page:
    """A browser page on the app, counting every JavaScript dialog that tries to open."""

    page: Any
    dialogs: list[str]
    requests: list[str]  # every URL the page requested


@pytest.fixture()
def app_page(browser: Any, web_app: RunningApp) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.set_default_timeout(60_000)
    page.goto(web_app.url)
    page.wait_for_selector("#clinqa-question textarea")
    try:
        yield Page(page, dialogs, requests)
    finally:
        context.close()
