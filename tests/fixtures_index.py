"""Test data and fixtures for index/ tests: real clinical text, the packaged MiniLM (loaded once).

Import explicitly: `from fixtures_index import ...` (tests/ is on sys.path under pytest).
The texts are copied from the shared data sets named below, so tests never read /work/shared.
"""

from __future__ import annotations

import functools
import hashlib
import re

import pytest

from index.embedder_onnx import OnnxMiniLMEmbedder
from index.embedder_st import SentenceTransformerEmbedder
from ingest.types import DEFINITION, JOURNAL, MONOGRAPH, Chunk, Document, Span

# openFDA label excerpts (public domain; copied from the shared openfda_label_excerpts set).
LABEL_SECTIONS = [
    (
        "openfda_excerpt:metformin:indications_and_usage",
        "metformin",
        "Indications and Usage",
        "Metformin hydrochloride tablets are indicated as an adjunct to diet and exercise to "
        "improve glycemic control in adults and pediatric patients 10 years of age and older "
        "with type 2 diabetes mellitus. Metformin hydrochloride tablets are biguanide indicated "
        "as an adjunct to diet and exercise to improve glycemic control in adults and pediatric "
        "patients 10 years of age and older with type 2 diabetes mellitus.",
    ),
    (
        "openfda_excerpt:metformin:dosage_and_administration",
        "metformin",
        "Dosage and Administration",
        "Adult Dosage for metformin hydrochloride tablets: Starting dose: 500 mg orally twice a "
        "day or 850 mg once a day, with meals Increase the dose in increments of 500 mg weekly "
        "or 850 mg every 2 weeks, up to a maximum dose of 2550 mg per day, given in divided "
        "doses Doses above 2000 mg may be better tolerated given 3 times a day with meals "
        "Pediatric Dosage for metformin hydrochloride tablets: Starting dose: 500 mg orally "
        "twice a day, with meals Increase dosage in increments of 500 mg weekly up to a maximum "
        "of 2000 mg per day, given in divided doses twice daily Renal Impairment: Prior to "
        "initiation, assess renal function with estimated glomerular f",
    ),
    (
        "openfda_excerpt:metformin:contraindications",
        "metformin",
        "Contraindications",
        "Metformin hydrochloride tablets are contraindicated in patients with: Severe renal "
        "impairment (eGFR below 30 mL/min/1.73 m 2 ) [ see Warnings and Precautions ]. "
        "Hypersensitivity to metformin. Acute or chronic metabolic acidosis, including diabetic "
        "ketoacidosis, with or without coma. Severe renal impairment (eGFR below 30 mL/min/1.73 "
        "m 2 ) ( 4 , 5.1 ) Hypersensitivity to metformin Acute or chronic metabolic acidosis, "
        "including diabetic ketoacidosis, with or without coma.",
    ),
    (
        "openfda_excerpt:lisinopril:indications_and_usage",
        "lisinopril",
        "Indications and Usage",
        "Lisinopril tablet USP is an angiotensin converting enzyme (ACE) inhibitor indicated "
        "for: Treatment of hypertension in adults and pediatric patients 6 years of age and "
        "older Adjunct therapy for heart failure Treatment of Acute Myocardial Infarction 1.1 "
        "Hypertension Lisinopril tablet USP is indicated for the treatment of hypertension in "
        "adult patients and pediatric patients 6 years of age and older to lower blood "
        "pressure. Lowering blood pressure lowers the risk of fatal and non-fatal "
        "cardiovascular events, primarily strokes and myocardial infarctions.",
    ),
    (
        "openfda_excerpt:lisinopril:dosage_and_administration",
        "lisinopril",
        "Dosage and Administration",
        "Hypertension: Initial adult dose is 10 mg once daily. Titrate up to 40 mg daily based "
        "on blood pressure response. Initiate patients on diuretics at 5 mg once daily "
        "Pediatric patients with glomerular filtration rate > 30 mL/min/1.73m 2 : Initial dose "
        "in patients 6 years of age and older is 0.07 mg per kg (up to 5 mg total) once daily "
        "Heart Failure: Initiate with 5 mg once daily. Increase dose as tolerated to 40 mg "
        "daily Acute Myocardial Infarction (MI): Give 5 mg within 24 hours of MI.",
    ),
    (
        "openfda_excerpt:lisinopril:contraindications",
        "lisinopril",
        "Contraindications",
        "Angioedema or a history of hereditary or idiopathic angioedema Hypersensitivity "
        "Co-administration of aliskiren with lisinopril in patients with diabetes ( 4 , 7.4 ) "
        "Lisinopril is contraindicated in combination with a neprilysin inhibitor (e.g., "
        "sacubitril). Do not administer Lisinopril tablet USP within 36 hours of switching to "
        "or from sacubitril/valsartan, a neprilysin inhibitor .",
    ),
    (
        "openfda_excerpt:warfarin:indications_and_usage",
        "warfarin",
        "Indications and Usage",
        "Warfarin sodium tablets are indicated for: Prophylaxis and treatment of venous "
        "thrombosis and its extension, pulmonary embolism (PE). Prophylaxis and treatment of "
        "thromboembolic complications associated with atrial fibrillation (AF) and/or cardiac "
        "valve replacement. Reduction in the risk of death, recurrent myocardial infarction "
        "(MI), and thromboembolic events such as stroke or systemic embolization after "
        "myocardial infarction. Limitations of Use Warfarin sodium tablets have no direct "
        "effect on an established thrombus, nor does it reverse ischemic tissue damage.",
    ),
    (
        "openfda_excerpt:warfarin:dosage_and_administration",
        "warfarin",
        "Dosage and Administration",
        "Individualize dosing regimen for each patient, and adjust based on INR response. (2.1, "
        "2.2) Knowledge of genotype can inform initial dose selection. Monitoring: Obtain daily "
        "INR determinations upon initiation until stable in the therapeutic range. Obtain "
        "subsequent INR determinations every 1 to 4 weeks. Review conversion instructions from "
        "other anticoagulants. 2.1 Individualized Dosing The dosage and administration of "
        "warfarin sodium tablets must be individualized for each patient according to the "
        "patient’s International Normalized Ratio (INR) response to the drug. Adjust the dose "
        "based on the patient’s INR and the condition being treated.",
    ),
    (
        "openfda_excerpt:warfarin:contraindications",
        "warfarin",
        "Contraindications",
        "Warfarin sodium is contraindicated in: Pregnancy Warfarin sodium is contraindicated in "
        "women who are pregnant except in pregnant women with mechanical heart valves, who are "
        "at high risk of thromboembolism . Warfarin sodium can cause fetal harm when "
        "administered to a pregnant woman. Warfarin sodium exposure during pregnancy causes a "
        "recognized pattern of major congenital malformations (warfarin embryopathy and "
        "fetotoxicity), fatal fetal hemorrhage, and an increased risk of spontaneous abortion "
        "and fetal mortality.",
    ),
    (
        "openfda_excerpt:amoxicillin:indications_and_usage",
        "amoxicillin",
        "Indications and Usage",
        "Adults and Pediatric Patients Upper Respiratory Tract Infections of the Ear, Nose, and "
        "Throat: Amoxicillin tablets are indicated in the treatment of infections due to "
        "susceptible (ONLY β-lactamase-negative) isolates of Streptococcus species. (α- and "
        "β-hemolytic isolates only), Streptococcus pneumoniae , Staphylococcus spp., or "
        "Haemophilus influenzae . Infections of the Genitourinary Tract: Amoxicillin tablets "
        "are indicated in the treatment of infections due to susceptible (ONLY "
        "β-lactamase–negative) isolates of Escherichia coli, Proteus mirabilis , or "
        "Enterococcus faecalis .",
    ),
    (
        "openfda_excerpt:amoxicillin:dosage_and_administration",
        "amoxicillin",
        "Dosage and Administration",
        "In Adults, 750 to 1750 mg/day in divided doses every 8 to 12 hours. In Pediatric "
        "Patients over 3 Months of Age, 20 to 45 mg/kg/day in divided doses every 8 to 12 "
        "hours. Refer to full prescribing information for specific dosing regimens. ( 2.2 , 2.3 "
        ") The upper dose for neonates and infants aged 3 months or younger is 30 mg/kg/day "
        "divided every 12 hours. Dosing for H. pylori Infection (in Adults): Triple therapy: 1 "
        "gram amoxicillin, 500 mg clarithromycin, and 30 mg lansoprazole, all given twice daily "
        "(every 12 hours) for 14 days. Dual therapy: 1 gram amoxicillin and 30 mg lansoprazole, "
        "each given three times daily (every 8 hours) for 14 days.",
    ),
    (
        "openfda_excerpt:amoxicillin:contraindications",
        "amoxicillin",
        "Contraindications",
        "Amoxicillin tablets are contraindicated in patients who have experienced a serious "
        "hypersensitivity reaction (e.g., anaphylaxis or Stevens-Johnson syndrome) to "
        "amoxicillin tablets or to other β-lactam antibacterial drugs (e.g., penicillins and "
        "cephalosporins). History of a serious hypersensitivity reaction (e.g., anaphylaxis or "
        "Stevens-Johnson syndrome) to amoxicillin tablets or to other beta-lactams (e.g., "
        "penicillins or cephalosporins).",
    ),
]
# PubMed abstracts (copied from the shared pubmedqa set).
ABSTRACTS = [
    (
        "pubmed:18670651",
        "Serum cytokines and post-ERCP pancreatitis",
        [
            (
                "BACKGROUND",
                "Acute pancreatitis is the major complication of endoscopic retrograde "
                "cholangiopancreatography (ERCP) procedure and there are some reports showing "
                "cytokine changes in ERCP-induced pancreatits.GOALS: To investigate the "
                "association between early changes (within 24 hours) in the serum interleukin "
                "(IL)-2, IL-4, tumor necrosis factor (TNF)alpha, and IL-6 levels and the "
                "development of post-ERCP pancreatitis.STUDY: Forty five consecutive patients "
                "who underwent therapeutic ERCP and 10 patients with acut",
            ),
            (
                "RESULTS",
                "Seven of the 45 patients (15.5%) developed post-ERCP pancreatitis. The levels "
                "of IL-4 at 24 hours after ERCP were significantly lower in the patients with "
                "post-ERCP pancreatitis than in those without pancreatitis, while TNFalpha "
                "levels at 12 hours after ERCP were higher in the complicated group than those "
                "of the uncomplicated group.",
            ),
        ],
    ),
    (
        "pubmed:20684175",
        "Vitamin D supplementation and regulatory T cells",
        [
            (
                "BACKGROUND",
                "Epidemiological data show significant associations of vitamin D deficiency and "
                "autoimmune diseases. Vitamin D may prevent autoimmunity by stimulating "
                "naturally occurring regulatory T cells.",
            ),
            (
                "OBJECTIVES",
                "To elucidate whether vitamin D supplementation increases Tregs frequency "
                "(%Tregs) within circulating CD4+ T cells.",
            ),
        ],
    ),
]
# NCI Drug Dictionary definitions (copied from the shared nci_dictionaries set).
DEFINITIONS = [
    (
        "nci_drug:801361",
        "A2A receptor antagonist EOS100850",
        "An orally bioavailable immune checkpoint inhibitor and antagonist of the adenosine A2A "
        "receptor (A2AR; ADORA2A), with potential immunomodulating and antineoplastic "
        "activities. Upon administration, A2AR antagonist EOS100850 selectively binds to and "
        "inhibits A2AR expressed on T-lymphocytes. This prevents tumor-released adenosine from "
        "interacting with the A2A receptors, thereby blocking the adenosine/A2AR-mediated "
        "inhibition of T-lymphocytes.",
    ),
    (
        "nci_drug:299488",
        "abagovomab",
        "A murine IgG1 monoclonal anti-idiotype antibody, containing a variable antigen-binding "
        "region that functionally mimics the three-dimensional structure of a specific epitope "
        "on the ovarian cancer tumor-associated antigen CA-125, with potential antineoplastic "
        "activity.",
    ),
]

# Nursing drug handbook monograph (copied from the shared seed page, aldesleukin).
ALDESLEUKIN_SECTIONS = [
    (
        "Pharmacologic class",
        "Pharmacologic class: Interleukin-2 (IL-2), human recombinant (cytokine)\n\n"
        "Therapeutic class: Antineoplastic (miscellaneous)",
    ),
    (
        "FDA Box Warning",
        "Give only to patients with normal cardiac and pulmonary function, as shown by thallium "
        "stress testing and pulmonary function testing. Drug is linked to capillary leak "
        "syndrome, which causes hypotension and reduced organ perfusion (possibly severe and "
        "resulting in death).",
    ),
    (
        "Indications and dosages",
        "Adults older than age 18: 600,000 international units/kg I.V. given over 15 minutes q "
        "8 hours for a maximum of 14 doses, followed by 9 days of rest. Repeat for another 14 "
        "doses, for a maximum of 28 doses per course.",
    ),
    (
        "Administration",
        "Reconstitute drug according to label directions with 1.2 ml of sterile water for "
        "injection by injecting diluent against side of vial (to prevent excessive foaming). "
        "Further dilute reconstituted dose with 50 ml of 5% dextrose injection. Administer I.V. "
        "infusion over 15 minutes. Don't use in-line filter.",
    ),
    (
        "Adverse reactions",
        "CNS: dizziness, mental status changes, syncope, sensory or motor dysfunction, headache, "
        "fatigue, rigors, weakness, malaise, poor memory, depression, sleep disturbances, "
        "hallucinations. CV: bradycardia, sinus tachycardia, arrhythmias, myocardial ischemia, "
        "cardiac arrest, capillary leak syndrome and severe hypotension.",
    ),
]
DOSE_TEXT = ALDESLEUKIN_SECTIONS[2][1]


def sha(text: str) -> str:
    """Content hash of normalised text, as a chunk id."""
    norm = re.sub(r"\s+", " ", text).strip().lower()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:32]


def make_doc(
    doc_id: str,
    title: str,
    source_type: str,
    sections: list[tuple[str, str]],
    subject: str | None = None,
    max_chars: int = 400,
) -> tuple[Document, list[Chunk]]:
    """A document whose text is its sections joined by blank lines, cut into sentence chunks."""
    text = ""
    spans: list[Span] = []
    for name, body in sections:
        if text:
            text += "\n\n"
        spans.append(Span(name, len(text), len(text) + len(body)))
        text += body
    doc = Document(doc_id, title, source_type, text, sections=tuple(spans), subject=subject)
    chunks: list[Chunk] = []
    for span in spans:
        for start, end in _pieces(text, span.start, span.end, max_chars):
            piece = text[start:end]
            chunks.append(
                Chunk(sha(piece), doc_id, title, source_type, span.name, None, start, end, piece,
                      subject=subject)
            )  # fmt: skip
    return doc, chunks


def _pieces(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Sentence-packed (start, end) pieces of text[start:end], each at most ~max_chars."""
    cuts = [start + m.end() for m in re.finditer(r"(?<=[.!?])\s+", text[start:end])]
    out: list[tuple[int, int]] = []
    a = last = start
    for b in [*cuts, end]:
        if b - a > max_chars and last > a:
            out.append((a, last))
            a = last
        last = b
    out.append((a, end))
    return [(s, s + len(text[s:e].rstrip())) for s, e in out if text[s:e].strip()]


def label_docs() -> list[tuple[Document, list[Chunk]]]:
    """Twelve FDA label sections of four drugs, one document per section."""
    return [
        make_doc(doc_id, f"{drug} label: {section}", MONOGRAPH, [(section, body)], subject=drug)
        for doc_id, drug, section, body in LABEL_SECTIONS
    ]


def aldesleukin_doc() -> tuple[Document, list[Chunk]]:
    return make_doc(
        "seed:aldesleukin",
        "aldesleukin (interleukin-2, IL-2)",
        MONOGRAPH,
        ALDESLEUKIN_SECTIONS,
        subject="aldesleukin",
    )


def other_docs() -> list[tuple[Document, list[Chunk]]]:
    """Two PubMed abstracts and two NCI definitions."""
    out = [make_doc(d, title, JOURNAL, list(secs)) for d, title, secs in ABSTRACTS]
    out += [make_doc(d, term, DEFINITION, [("Definition", body)], subject=term)
            for d, term, body in DEFINITIONS]  # fmt: skip
    return out


def corpus() -> list[tuple[Document, list[Chunk]]]:
    """Every test document with its chunks."""
    return [*label_docs(), aldesleukin_doc(), *other_docs()]


def sentences() -> list[str]:
    """The real sentences of the test corpus (about fifty)."""
    out: list[str] = []
    for doc, _ in corpus():
        out += [s.strip() for s in re.split(r"(?<=[.!?])\s+", doc.text) if len(s.strip()) > 20]
    return out


@functools.cache
def _minilm() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(threads=1)  # 2 threads crawl on a busy 2-core box


@functools.cache
def _minilm_int8() -> OnnxMiniLMEmbedder:
    return OnnxMiniLMEmbedder(threads=1)


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The packaged fp32 MiniLM, loaded once per test process."""
    return _minilm()


@pytest.fixture(scope="session")
def int8_embedder() -> OnnxMiniLMEmbedder:
    """The packaged int8 ONNX MiniLM, loaded once per test process."""
    return _minilm_int8()
