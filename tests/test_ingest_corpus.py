"""Whole-corpus smoke: corpus/ reads with no failures and the documented counts per source."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ingest.chunker import chunk_document
from ingest.errors import ReadFailure
from ingest.readers import iter_documents
from ingest.types import Document

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _lines(path: Path) -> int:
    return sum(1 for x in path.read_text(encoding="utf-8").splitlines() if x.strip())


def test_corpus_reads_cleanly_with_expected_counts() -> None:
    items = list(iter_documents([CORPUS]))
    fails = [x for x in items if isinstance(x, ReadFailure)]
    assert fails == []
    docs = [x for x in items if isinstance(x, Document)]
    by_source = Counter(Path(d.path or "").parent.name for d in docs)
    assert by_source == {
        "seed": 21,
        "fda_spl_labels": _lines(CORPUS / "fda_spl_labels" / "sections.jsonl"),
        "openfda_label_excerpts": _lines(CORPUS / "openfda_label_excerpts" / "sections.jsonl"),
        "nci_dictionaries": _lines(CORPUS / "nci_dictionaries" / "definitions.jsonl"),
        "pubmedqa": _lines(CORPUS / "pubmedqa" / "corpus.jsonl"),
        "covid_qa": _lines(CORPUS / "covid_qa" / "corpus.jsonl"),
    }
    assert dict(by_source) == {
        "seed": 21,
        "fda_spl_labels": 98,
        "openfda_label_excerpts": 115,
        "nci_dictionaries": 377,
        "pubmedqa": 1000,
        "covid_qa": 98,
    }
    types = Counter(d.source_type for d in docs)
    assert types == {
        "monograph": 1 + 98 + 115,
        "definition": 8 + 377,
        "periodical": 12,
        "journal": 1000 + 98,
    }
    assert len({d.doc_id for d in docs}) == len(docs)


def test_corpus_chunks_are_verbatim_and_capped() -> None:
    docs = [x for x in iter_documents([CORPUS]) if isinstance(x, Document)]
    total = 0
    for d in docs:
        for c in chunk_document(d, max_tokens=None):
            assert d.text[c.start : c.end] == c.text and len(c.text) <= 900
            total += 1
    assert total > len(docs)


def test_covid_gold_offsets_index_the_stored_text() -> None:
    docs = {x.doc_id: x for x in iter_documents([CORPUS / "covid_qa"]) if isinstance(x, Document)}
    record = json.loads((CORPUS / "covid_qa" / "corpus.jsonl").read_text("utf-8").splitlines()[0])
    assert docs[record["doc_id"]].text == record["text"]


def test_readme_lists_every_folder() -> None:
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    folders = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
    assert folders == sorted(
        [
            "seed",
            "fda_spl_labels",
            "openfda_label_excerpts",
            "nci_dictionaries",
            "pubmedqa",
            "covid_qa",
        ]
    )
    for name in folders:
        assert f"`{name}/`" in readme
        assert (CORPUS / name / "SOURCES.md").is_file()
