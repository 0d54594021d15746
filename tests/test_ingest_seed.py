"""The seed dictionary page: its three kinds of document, the monograph sections, the chunks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.chunker import chunk_document, minilm_token_counter
from ingest.errors import ReadFailure
from ingest.readers import iter_documents
from ingest.types import Chunk, Document

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "seed" / "000_d4abd2d28b5a34b3.txt"
STEM = "seed:000_d4abd2d28b5a34b3"
DOSE = (
    "Adults older than age 18: 600,000 international units/kg I.V. given over 15 minutes q 8 hours "
    "for a maximum of 14 doses, followed by 9 days of rest."
)


@pytest.fixture(scope="session")
def token_counter() -> Callable[[str], int]:
    return minilm_token_counter()


@pytest.fixture(scope="module")
def docs() -> list[Document]:
    items = list(iter_documents([SEED]))
    assert not [x for x in items if isinstance(x, ReadFailure)]
    return [x for x in items if isinstance(x, Document)]


@pytest.fixture(scope="module")
def chunks(docs: list[Document], token_counter: Callable[[str], int]) -> list[Chunk]:
    return [c for d in docs for c in chunk_document(d, count_tokens=token_counter)]


def _page() -> str:
    return SEED.read_text(encoding="utf-8")


def test_document_counts_match_the_page(docs: list[Document]) -> None:
    page = _page()
    tail = page.split("References in periodicals archive ?", 1)[1]
    periodical_lines = [x for x in tail.splitlines() if x.strip()]
    counts = Counter(d.source_type for d in docs)
    assert counts == {"monograph": 1, "definition": 8, "periodical": len(periodical_lines)}
    assert len(periodical_lines) == 12


def test_ids_titles_and_subject_come_from_the_page(docs: list[Document]) -> None:
    ids = [d.doc_id for d in docs]
    assert ids[0] == f"{STEM}:monograph"
    assert ids[1:9] == [f"{STEM}:definition:{n:02d}" for n in range(1, 9)]
    assert ids[9:] == [f"{STEM}:periodical:{n:02d}" for n in range(1, 13)]
    mono = docs[0]
    assert mono.title == "aldesleukin (interleukin-2, IL-2)"
    assert docs[3].title == "interleukin-2 — definition 3"
    assert docs[12].title == "interleukin-2 — periodical excerpt 4"
    for d in docs:
        assert d.subject == "aldesleukin"
        assert set(d.aliases) == {"interleukin-2", "IL-2", "Proleukin"}


def test_every_document_is_a_verbatim_slice_of_the_page(docs: list[Document]) -> None:
    page = _page()
    for d in docs:
        at = d.meta["page_offset"]
        assert page[at : at + len(d.text)] == d.text
        assert d.text == d.text.strip()


def test_heading_line_belongs_to_the_definition_after_it(docs: list[Document]) -> None:
    defs = [d for d in docs if d.source_type == "definition"]
    assert all(d.text != "interleukin-2 (IL-2)" for d in defs)
    third = defs[2]
    assert third.text.startswith("interleukin-2 (IL-2)\n\na protein with various")
    assert third.meta["term"] == "interleukin-2 (IL-2)"
    assert defs[7].text.startswith("n a hormone produced by T helper")
    periodicals = [d for d in docs if d.source_type == "periodical"]
    assert periodicals[0].text.startswith("For HIV-infected people")
    assert periodicals[-1].text.endswith("another stumble in the medical literature.")
    assert not any("References in periodicals" in d.text for d in docs)


def test_monograph_sections_are_ordered_and_cover_the_text(docs: list[Document]) -> None:
    mono = docs[0]
    names = [s.name for s in mono.sections]
    assert names == [
        "Drug class",
        "Boxed warning",
        "Mechanism of action",
        "How supplied",
        "Indications and dosages",
        "Off-label uses",
        "Contraindications",
        "Precautions",
        "Administration",
        "Adverse reactions",
        "Interactions",
        "Patient monitoring",
        "Patient teaching",
    ]
    assert mono.sections[0].start == 0 and mono.sections[-1].end == len(mono.text)
    for a, b in zip(mono.sections, mono.sections[1:], strict=False):
        assert a.end <= b.start and not mono.text[a.end : b.start].strip()
    assert mono.text.endswith("related to the drugs and tests mentioned above.")


@pytest.mark.parametrize(
    "sentence, section",
    [
        ("Pharmacologic class: Interleukin-2 (IL-2), human recombinant (cytokine)", "Drug class"),
        ("Pregnancy risk category C", "Drug class"),
        ("Drug is linked to capillary leak syndrome", "Boxed warning"),
        ("Activates cellular immunity and inhibits tumor growth", "Mechanism of action"),
        ("Injection: 22 million international units/vial", "How supplied"),
        (
            "Repeat for another 14 doses, for a maximum of 28 doses per course.",
            "Indications and dosages",
        ),
        ("• Kaposi's sarcoma", "Off-label uses"),
        ("• Hypersensitivity to drug", "Contraindications"),
        ("• Organ allograft", "Contraindications"),
        ("Use cautiously in:", "Precautions"),
        ("• children.", "Precautions"),
        ("• Make sure patient's thallium stress test", "Administration"),
        ("Don't give if patient is drowsy or severely lethargic", "Administration"),
        ("• Don't use in-line filter.", "Administration"),
        ("CV: bradycardia, sinus tachycardia", "Adverse reactions"),
        ("Other: weight gain or loss, fever, chills", "Adverse reactions"),
        ("Drug-drug.Aminoglycosides, asparaginase", "Interactions"),
        ("Glucocorticoids: reduced antitumor effects", "Interactions"),
        ("Drug-diagnostic tests.Alkaline phosphatase", "Interactions"),
        ("• Evaluate chest X-rays.", "Patient monitoring"),
        ("Tell patient that drug lowers resistance to infections.", "Patient teaching"),
        ("• Provide dietary counseling.", "Patient teaching"),
    ],
)
def test_section_assignment(chunks: list[Chunk], sentence: str, section: str) -> None:
    holders = [c for c in chunks if sentence in c.text]
    assert len(holders) == 1, f"{sentence!r} in {len(holders)} chunks"
    assert holders[0].section == section
    assert holders[0].doc_id == f"{STEM}:monograph"


def test_dose_sentence_is_whole_in_one_chunk(chunks: list[Chunk]) -> None:
    holders = [c for c in chunks if DOSE in c.text]
    assert len(holders) == 1
    assert holders[0].section == "Indications and dosages"
    assert holders[0].subject == "aldesleukin"


def test_chunks_are_verbatim_and_bounded(
    docs: list[Document], chunks: list[Chunk], token_counter: Callable[[str], int]
) -> None:
    by_id = {d.doc_id: d for d in docs}
    for c in chunks:
        assert by_id[c.doc_id].text[c.start : c.end] == c.text
        assert len(c.text) <= 900 and token_counter(c.text) <= 230
        assert c.page is None
    non_mono = [c for c in chunks if c.source_type != "monograph"]
    assert non_mono and all(c.section is None for c in non_mono)
    assert {c.doc_id for c in chunks} == set(by_id)


def test_identical_definitions_share_a_chunk_id(docs: list[Document], chunks: list[Chunk]) -> None:
    text = (
        "A cytokine derived from T-helper lymphocytes that causes proliferation of T lymphocytes "
        "and activated B lymphocytes."
    )
    same = [c for c in chunks if c.text == text]
    assert [c.doc_id for c in same] == [f"{STEM}:definition:05", f"{STEM}:definition:07"]
    assert same[0].chunk_id == same[1].chunk_id
    longer = next(c for c in chunks if c.doc_id == f"{STEM}:definition:01")
    assert longer.text.startswith(text[:-1]) and longer.chunk_id != same[0].chunk_id
    assert len({c.chunk_id for c in chunks}) == len(chunks) - 1


ANOTHER_MONOGRAPH = """Related to zoloft: Zoloft

sertraline hydrochloride (Zoloft)


Pharmacologic class: Selective serotonin reuptake inhibitor

Pregnancy risk category C


Inhibits neuronal uptake of serotonin in the CNS


Tablets: 25 mg, 50 mg, 100 mg

Indications and dosages

Depression

Adults: 50 mg P.O. daily.


• Concurrent use of MAO inhibitors
• Hypersensitivity to drug


Use cautiously in:
• hepatic impairment


• Give with food.

Adverse reactions

CNS: insomnia


Drug-drug.MAO inhibitors: serotonin syndrome

Drug-food.Grapefruit juice: increased levels

Patient teaching

Tell patient to take the dose in the morning.


A drug used to treat depression.
"""


def test_rules_recover_headings_of_another_monograph(tmp_path: Path) -> None:
    path = tmp_path / "sertraline.txt"
    path.write_text(ANOTHER_MONOGRAPH, encoding="utf-8")
    items = list(iter_documents([path]))
    docs = [x for x in items if isinstance(x, Document)]
    assert len(docs) == len(items) == 2
    mono, definition = docs
    assert (mono.subject, set(mono.aliases)) == ("sertraline hydrochloride", {"Zoloft"})
    where = {}
    for s in mono.sections:
        where[s.name] = mono.text[s.start : s.end]
    assert "Inhibits neuronal uptake" in where["Mechanism of action"]
    assert where["How supplied"].startswith("Tablets: 25 mg")
    assert where["Contraindications"].startswith("• Concurrent use of MAO inhibitors")
    assert where["Precautions"].startswith("Use cautiously in:")
    assert where["Administration"] == "• Give with food."
    assert "Drug-food.Grapefruit" in where["Interactions"]
    assert definition.text == "A drug used to treat depression."
    assert definition.doc_id == "seed:sertraline:definition:01"
