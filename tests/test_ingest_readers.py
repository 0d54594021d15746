"""Each reader on a small real file; bad files become ReadFailures while the rest still come in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingest.chunker import chunk_document
from ingest.errors import ReadFailure
from ingest.readers import iter_documents
from ingest.types import Document

DATA = Path(__file__).resolve().parent / "data" / "ingest"


def _split(items: list[Document | ReadFailure]) -> tuple[list[Document], list[ReadFailure]]:
    docs = [x for x in items if isinstance(x, Document)]
    fails = [x for x in items if isinstance(x, ReadFailure)]
    return docs, fails


def _read(*paths: str | Path) -> tuple[list[Document], list[ReadFailure]]:
    return _split(list(iter_documents(list(paths))))


def _shared_records(name: str) -> list[dict[str, object]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines if x.strip()]


def make_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF (Helvetica text, one string a page), written by hand."""
    objects: list[bytes] = []
    n = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    font_obj = 3 + 2 * n
    for i, text in enumerate(pages):
        safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({safe}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font_obj} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


PDF_PAGES = [
    "Aspirin 81 mg daily lowers cardiovascular risk.",
    "Stop aspirin 7 days before elective surgery.",
    "Keep out of reach of children.",
]


# --- JSON Lines ------------------------------------------------------------------------------


def test_spl_sections() -> None:
    docs, fails = _read(DATA / "spl_sections.jsonl")
    assert not fails
    records = _shared_records("spl_sections.jsonl")
    assert [d.doc_id for d in docs] == [r["doc_id"] for r in records]
    humira = docs[0]
    assert humira.source_type == "monograph"
    assert humira.title == "Humira — Boxed warning"
    assert humira.sections[0].name == "Boxed warning"
    assert humira.subject == "Humira" and "Adalimumab" in humira.aliases
    assert humira.date == "2013-09-30"
    assert humira.text == records[0]["text"]
    lipitor = docs[1]
    assert lipitor.title == "Lipitor — Contraindications"
    assert lipitor.aliases == ("atorvastatin calcium", "atorvastatin")
    assert docs[2].sections[0].name == "Purpose"
    chunk = chunk_document(humira)[0]
    assert chunk.section == "Boxed warning" and chunk.date == "2013-09-30"


def test_mixed_structured_records() -> None:
    docs, fails = _read(DATA / "mixed.jsonl")
    assert not fails
    records = _shared_records("mixed.jsonl")
    by_id = {d.doc_id: d for d in docs}
    assert len(docs) == len(records) == 5
    excerpt = by_id["openfda_excerpt:metformin:indications_and_usage"]
    assert (excerpt.source_type, excerpt.subject) == ("monograph", "metformin")
    assert excerpt.sections[0].name == "Indications and usage"
    nci = [d for d in docs if d.doc_id.startswith("nci_")]
    assert all(d.source_type == "definition" for d in nci)
    first_nci = next(r for r in records if str(r["doc_id"]).startswith("nci_"))
    nci_doc = by_id[str(first_nci["doc_id"])]
    assert nci_doc.title == first_nci["term"]
    assert list(nci_doc.aliases) == first_nci["aliases"]
    pub_rec = next(r for r in records if "pmid" in r)
    pub = by_id[f"pubmed:{pub_rec['pmid']}"]
    assert pub.source_type == "journal" and pub.date == pub_rec["year"]
    assert pub.text == pub_rec["text"]
    sections = pub_rec["sections"]
    assert isinstance(sections, list)
    assert [s.name.upper() for s in pub.sections] == [p["label"] for p in sections]
    assert [pub.text[s.start : s.end] for s in pub.sections] == [p["text"] for p in sections]


def test_covid_article_text_is_verbatim() -> None:
    docs, fails = _read(DATA / "covid_article.jsonl")
    assert not fails and len(docs) == 1
    record = _shared_records("covid_article.jsonl")[0]
    doc = docs[0]
    assert doc.doc_id == record["doc_id"] == f"covidqa:{record['document_id']}"
    assert doc.text == record["text"] and doc.title == record["title"]
    assert doc.url == record["url"] and doc.source_type == "journal"
    for c in chunk_document(doc):
        assert doc.text[c.start : c.end] == c.text and c.url == record["url"]


def test_generic_record_and_a_bad_line_keep_the_rest(tmp_path: Path) -> None:
    good = {
        "id": "note:1",
        "title": "Note",
        "text": "Give 5 mg.",
        "source_type": "document",
        "section": "Dosing",
        "url": "https://example.org/n1",
        "date": "2024-01-02",
        "meta": {"k": 1},
    }
    lines = [
        json.dumps(good),
        '{"id": "note:2", "title": "Broken", "text": ',
        json.dumps({"id": "note:3", "title": "No text"}),
        "[1, 2]",
        json.dumps({**good, "id": "note:4", "text": "Another note."}),
        json.dumps({**good, "text": "Same id again."}),
    ]
    path = tmp_path / "notes.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs, fails = _read(path)
    assert [d.doc_id for d in docs] == ["note:1", "note:4"]
    first = docs[0]
    assert first.sections[0].name == "Dosing" and first.url == good["url"]
    assert first.date == "2024-01-02" and first.meta["k"] == 1
    assert [(f.line, f.path) for f in fails] == [(n, str(path)) for n in (2, 3, 4, 6)]
    assert "invalid JSON" in fails[0].reason and fails[0].error_class == "JSONDecodeError"
    assert "missing field 'text'" in fails[1].reason
    assert "expected a JSON object" in fails[2].reason
    assert "duplicate doc_id 'note:1' (first on line 1)" in fails[3].reason


# --- text, Markdown, PDF ---------------------------------------------------------------------


def test_markdown_headings_become_sections(tmp_path: Path) -> None:
    docs, fails = _read(DATA / "dosing_notes.md")
    assert not fails and len(docs) == 1
    doc = docs[0]
    assert doc.doc_id == "file:dosing_notes.md" and doc.title == "Warfarin notes"
    assert [s.name for s in doc.sections] == ["Warfarin notes", "Dosing", "Monitoring"]
    chunks = chunk_document(doc, max_chars=120)
    dose = next(c for c in chunks if "target INR" in c.text)
    assert dose.section == "Dosing"
    check = next(c for c in chunks if "every 1 to 2 days" in c.text)
    assert check.section == "Monitoring"
    assert len(doc.meta["content_sha256"]) == 64


def test_text_file_ids_are_relative_to_the_root(tmp_path: Path) -> None:
    (tmp_path / "ward").mkdir()
    shutil.copy(DATA / "handover.txt", tmp_path / "ward" / "handover.txt")
    docs, fails = _read(tmp_path)
    assert not fails
    assert [d.doc_id for d in docs] == ["file:ward/handover.txt"]
    assert docs[0].title == "Ward handover" and docs[0].source_type == "document"
    assert docs[0].text == (DATA / "handover.txt").read_text(encoding="utf-8")
    renamed, _ = _read(DATA / "handover.txt")
    assert renamed[0].doc_id == "file:handover.txt"
    assert renamed[0].meta["content_sha256"] == docs[0].meta["content_sha256"]


def test_pdf_pages_come_through(tmp_path: Path) -> None:
    path = tmp_path / "leaflet.pdf"
    path.write_bytes(make_pdf(PDF_PAGES))
    docs, fails = _read(path)
    assert not fails and len(docs) == 1
    doc = docs[0]
    assert doc.doc_id == "file:leaflet.pdf"
    assert [p.name for p in doc.pages] == ["1", "2", "3"]
    for span, expected in zip(doc.pages, PDF_PAGES, strict=True):
        assert doc.text[span.start : span.end] == expected
    chunks = chunk_document(doc)
    assert [c.page for c in chunks] == [1, 2, 3]
    assert "before elective surgery" in chunks[1].text


def test_broken_files_fail_alone(tmp_path: Path) -> None:
    (tmp_path / "a_truncated.pdf").write_bytes(make_pdf(PDF_PAGES)[:60])
    (tmp_path / "b_latin1.txt").write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    (tmp_path / "c_empty.txt").write_bytes(b"")
    (tmp_path / "d_binary.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "e_image.png").write_bytes(b"\x89PNG\r\n")
    (tmp_path / "f_fake.pdf").write_text("just text", encoding="utf-8")
    shutil.copy(DATA / "handover.txt", tmp_path / "g_good.txt")
    (tmp_path / "SOURCES.md").write_text("# not a document\n", encoding="utf-8")
    (tmp_path / "labels.meta.jsonl").write_text('{"set_id": "x"}\n', encoding="utf-8")
    docs, fails = _read(tmp_path, tmp_path / "missing.txt")
    assert [d.doc_id for d in docs] == ["file:g_good.txt"]
    reasons = {Path(f.path).name: f.reason for f in fails}
    assert set(reasons) == {
        "a_truncated.pdf",
        "b_latin1.txt",
        "c_empty.txt",
        "d_binary.txt",
        "e_image.png",
        "f_fake.pdf",
        "missing.txt",
    }
    assert reasons["a_truncated.pdf"].startswith("broken PDF")
    assert reasons["b_latin1.txt"].startswith("invalid UTF-8 at byte 3")
    assert reasons["c_empty.txt"] == "file is empty"
    assert "binary content" in reasons["d_binary.txt"]
    assert reasons["e_image.png"] == "unsupported file type '.png'"
    assert "not a PDF" in reasons["f_fake.pdf"]
    assert reasons["missing.txt"] == "no such file or directory"
    latin = next(f for f in fails if f.path.endswith("b_latin1.txt"))
    assert latin.line == 1 and latin.error_class == "UnicodeDecodeError"


def test_file_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 200, encoding="utf-8")
    docs, fails = _split(list(iter_documents([path], max_file_bytes=100)))
    assert not docs and "over the limit of 100" in fails[0].reason


def test_chunk_limit_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.readers as readers

    path = tmp_path / "long.txt"
    path.write_text("A sentence that fills the page. " * 200, encoding="utf-8")
    assert _read(path)[0]
    monkeypatch.setattr(readers, "MAX_CHUNKS_PER_FILE", 3)
    docs, fails = _read(path)
    assert not docs and "MAX_CHUNKS_PER_FILE=3" in fails[0].reason


def test_hidden_characters_are_stripped(tmp_path: Path) -> None:
    hidden = "\u200b\u202e\U000e0041\ufeff\u2066"
    (tmp_path / "h.txt").write_text(f"Give 5{hidden} mg daily.\n", encoding="utf-8")
    record = {"id": "h:1", "title": "H", "text": "IL\u200d-2 dose\u2060."}
    (tmp_path / "h.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    docs, fails = _read(tmp_path)
    assert not fails
    by_id = {d.doc_id: d for d in docs}
    assert by_id["file:h.txt"].text == "Give 5 mg daily.\n"
    assert by_id["file:h.txt"].meta["stripped_hidden_chars"] == 5
    assert by_id["h:1"].text == "IL-2 dose."
    assert by_id["h:1"].meta["stripped_hidden_chars"] == 2
    clean, _ = _read(DATA / "handover.txt")
    assert "stripped_hidden_chars" not in clean[0].meta


def test_seed_format_is_detected_by_content(tmp_path: Path) -> None:
    seed = Path(__file__).resolve().parents[1] / "corpus" / "seed" / "000_d4abd2d28b5a34b3.txt"
    renamed = tmp_path / "page.md"
    renamed.write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    docs, fails = _read(renamed)
    assert not fails
    assert docs[0].doc_id == "seed:page:monograph" and len(docs) == 21


def test_walk_is_sorted_and_deterministic(tmp_path: Path) -> None:
    for name in ("b.txt", "a.txt", "c.md"):
        (tmp_path / name).write_text(f"Note {name}.\n", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("secret\n", encoding="utf-8")
    first = [d.doc_id for d in _read(tmp_path)[0]]
    assert first == ["file:a.txt", "file:b.txt", "file:c.md"]
    assert [d.doc_id for d in _read(tmp_path)[0]] == first


def test_encrypted_pdf_without_password_is_refused(tmp_path: Path) -> None:
    import io

    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(make_pdf(PDF_PAGES)))
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt("secret", algorithm="RC4-128")
    locked = io.BytesIO()
    writer.write(locked)
    (tmp_path / "locked.pdf").write_bytes(locked.getvalue())
    writer.encrypt("", owner_password="owner", algorithm="RC4-128")
    opened = io.BytesIO()
    writer.write(opened)
    (tmp_path / "open.pdf").write_bytes(opened.getvalue())
    docs, fails = _read(tmp_path)
    assert [f.reason for f in fails] == ["encrypted PDF that needs a password"]
    assert [d.doc_id for d in docs] == ["file:open.pdf"]
    assert [p.name for p in docs[0].pages] == ["1", "2", "3"]
