"""The shipped gold sets: well-formed, verbatim evidence, facts inside evidence, clean splits.

Evidence is checked against the project's own corpus copies (corpus/, eval/medquad_corpus/),
never against ../shared.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from eval.gold import GoldCase, load_gold
from eval.normalise import is_in

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "eval" / "gold"
CORPUS = ROOT / "corpus"
SEED_PAGE = CORPUS / "seed" / "000_d4abd2d28b5a34b3.txt"
SEED = "seed:000_d4abd2d28b5a34b3"
SEED_DOCS = {
    f"{SEED}:monograph",
    *(f"{SEED}:definition:{n:02d}" for n in range(1, 9)),
    *(f"{SEED}:periodical:{n:02d}" for n in range(1, 13)),
}
SEED_SECTIONS = {
    "drug class",
    "boxed warning",
    "mechanism",
    "how supplied",
    "indications and dosages",
    "off-label uses",
    "contraindications",
    "precautions",
    "administration",
    "interactions: drug-drug",
    "interactions: drug-diagnostic",
    "monitoring",
    "patient teaching",
    "definition",
    "periodical",
    *(
        f"adverse reactions: {s}"
        for s in (
            "CNS",
            "CV",
            "EENT",
            "GI",
            "GU",
            "hematologic",
            "hepatic",
            "metabolic",
            "musculoskeletal",
            "respiratory",
            "skin",
            "other",
        )
    ),  # fmt: skip
}
# Drugs the seed set asks about as absent from every corpus (checked against corpus/ below).
ABSENT_DRUGS = (
    "daclizumab", "basiliximab", "semaglutide", "tirzepatide", "empagliflozin", "ticagrelor",
    "daptomycin", "piperacillin", "tocilizumab", "venetoclax", "osimertinib", "naloxone",
    "tenecteplase",
)  # fmt: skip


def gold_files() -> list[Path]:
    return sorted([*GOLD.glob("*.jsonl"), *GOLD.glob("*.jsonl.gz")])


@cache
def load(name: str) -> list[GoldCase]:
    cases, errors = load_gold(GOLD / name)
    assert not errors, [str(e) for e in errors]
    return cases


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


@cache
def corpus_texts(folder: str) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in sorted((CORPUS / folder).glob("*.jsonl")):
        for rec in read_jsonl(path):
            texts[rec["doc_id"]] = rec["text"]
    assert texts, f"no documents under {CORPUS / folder}"
    return texts


def test_gold_files_present() -> None:
    names = {p.name for p in gold_files()}
    for stem in ("seed", "pubmedqa", "covidqa"):
        assert {f"{stem}.dev.jsonl", f"{stem}.test.jsonl"} <= names
    for stem in ("pubmedqa", "covidqa"):
        assert {f"{stem}.holdout.dev.jsonl", f"{stem}.holdout.test.jsonl"} <= names
    assert {"medquad.dev.jsonl.gz", "medquad.test.jsonl.gz", "medquad.sample.test.jsonl"} <= names
    assert (GOLD / "PROVENANCE.md").is_file() and (GOLD / "holdout_doc_ids.txt").is_file()


@pytest.mark.parametrize("path", gold_files(), ids=lambda p: p.name)
def test_every_gold_file_loads_and_facts_lie_in_evidence(path: Path) -> None:
    cases = load(path.name)
    assert cases
    for case in cases:
        if not case.answerable and not case.extra.get("holdout"):
            assert not case.must_include and not case.evidence, case.id
        for item in case.must_include:
            assert any(is_in(alt, ev) for alt in item for ev in case.evidence), (case.id, item)


def test_seed_set_size_sections_and_split() -> None:
    every = load("seed.all.jsonl")
    dev, test = load("seed.dev.jsonl"), load("seed.test.jsonl")
    assert sorted(c.id for c in dev + test) == sorted(c.id for c in every)
    assert not {c.id for c in dev} & {c.id for c in test}
    answerable = [c for c in every if c.answerable]
    assert len(answerable) >= 80 and len(every) - len(answerable) >= 20
    assert sum(c.answerable for c in test) >= 40 and sum(not c.answerable for c in test) >= 10
    assert SEED_SECTIONS <= {c.section for c in answerable}
    questions = [c.question.lower() for c in every]
    assert len(set(questions)) == len(questions)
    for name in ("il-2", "interleukin-2", "aldesleukin", "proleukin"):
        assert sum(name in q for q in questions) >= 10, name
    for case in every:
        assert case.source == "seed" and case.section
        if case.answerable:
            assert 1 <= len(case.must_include) <= 3 and case.evidence, case.id
            assert case.gold_doc_ids and set(case.gold_doc_ids) <= SEED_DOCS, case.id
        else:
            assert not case.gold_doc_ids
            assert case.section in {"absent drug", "near miss"}


@pytest.mark.parametrize("name", ["seed.all.jsonl", "seed.fresh.jsonl"])
def test_seed_evidence_is_verbatim_in_the_seed_page(name: str) -> None:
    page = SEED_PAGE.read_text(encoding="utf-8")
    for case in load(name):
        for ev in case.evidence:
            assert ev in page, (case.id, ev)
        assert not any(ev.lower() in case.question.lower() for ev in case.evidence if len(ev) > 40)


def test_absent_drugs_are_absent_from_the_corpus() -> None:
    questions = " ".join(c.question.lower() for c in load("seed.all.jsonl") if not c.answerable)
    texts = [p.read_text(encoding="utf-8", errors="replace").lower() for p in CORPUS.rglob("*.*")]
    texts = [t for t in texts if t]
    assert len(texts) >= 6
    for drug in ABSENT_DRUGS:
        assert drug in questions, drug
        assert not any(drug in t for t in texts), f"{drug} is in the corpus"


@pytest.mark.parametrize(
    ("stem", "folder"), [("pubmedqa", "pubmedqa"), ("covidqa", "covid_qa")], ids=str
)
def test_evidence_is_verbatim_in_the_gold_document(stem: str, folder: str) -> None:
    texts = corpus_texts(folder)
    for part in ("dev", "test", "holdout.dev", "holdout.test"):
        for case in load(f"{stem}.{part}.jsonl"):
            assert case.evidence and len(case.gold_doc_ids) == 1, case.id
            text = texts[case.gold_doc_ids[0]]
            for ev in case.evidence:
                assert ev in text, (case.id, ev[:80])


@pytest.mark.parametrize(("stem", "total"), [("pubmedqa", 700), ("covidqa", 965)])
def test_splits_and_leave_gold_out(stem: str, total: int) -> None:
    parts = {p: load(f"{stem}.{p}.jsonl") for p in ("dev", "test", "holdout.dev", "holdout.test")}
    ids = [c.id for cases in parts.values() for c in cases]
    assert len(ids) == len(set(ids)) == total
    docs = {p: {d for c in cases for d in c.gold_doc_ids} for p, cases in parts.items()}
    dev_side, test_side = docs["dev"] | docs["holdout.dev"], docs["test"] | docs["holdout.test"]
    assert not dev_side & test_side  # no document (COVID-QA: article) on both sides
    listed = set((GOLD / "holdout_doc_ids.txt").read_text(encoding="utf-8").split())
    held = docs["holdout.dev"] | docs["holdout.test"]
    assert held <= listed
    assert not (docs["dev"] | docs["test"]) & listed  # answerable cases keep their documents
    for side in ("dev", "test"):
        share = len(docs[f"holdout.{side}"]) / len(docs[side] | docs[f"holdout.{side}"])
        assert 0.1 <= share <= 0.2, (side, share)
        for case in parts[f"holdout.{side}"]:
            assert case.answerable is False and case.extra.get("holdout") is True
        assert all(c.answerable for c in parts[side])


def test_pubmedqa_follows_the_official_split() -> None:
    for part in ("dev", "test"):
        for case in load(f"pubmedqa.{part}.jsonl") + load(f"pubmedqa.holdout.{part}.jsonl"):
            assert case.source == "pubmedqa"
    # the official PubMedQA test list has 500 PMIDs, 344 of them among the 700 shipped
    n_test = len(load("pubmedqa.test.jsonl")) + len(load("pubmedqa.holdout.test.jsonl"))
    assert n_test == 344


def test_medquad_split_by_focus_and_sample() -> None:
    dev, test = load("medquad.dev.jsonl.gz"), load("medquad.test.jsonl.gz")
    assert len(dev) + len(test) == 11_478
    assert 0.4 < len(test) / (len(dev) + len(test)) < 0.6
    focus = {
        p: {str(c.extra.get("focus", "")).lower() for c in cs}
        for p, cs in (("d", dev), ("t", test))
    }
    assert not focus["d"] & focus["t"]
    sample = load("medquad.sample.test.jsonl")
    assert len(sample) == 500 and {c.id for c in sample} <= {c.id for c in test}
    corpus_path = ROOT / "eval" / "medquad_corpus" / "corpus.jsonl.gz"
    assert (corpus_path.parent / "SOURCES.md").is_file()
    texts = {r["doc_id"]: r["text"] for r in read_jsonl(corpus_path)}
    assert len(texts) == 16_359
    for case in sample:
        assert all(ev in texts[case.gold_doc_ids[0]] for ev in case.evidence), case.id
