"""eval.baselines, eval.compare, eval.plots, eval.results_md on a tiny real index.

The index holds 14 real records copied at test time from the project's corpus/ (openFDA label
excerpts, NCI definitions, PubMed abstracts), embedded with the packaged MiniLM; the gold cases are
hand-written from those records' text.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from fixtures_index import embedder  # noqa: F401  (session fixture: the packaged MiniLM)

from eval.baselines import (
    LANGCHAIN_CHUNK_SIZE,
    SYSTEM_NAMES,
    LangChainRAG,
    build_systems,
    extractive_answer,
    first_units,
)
from eval.compare import compare_markdown, run_compare, worst_misses
from eval.gold import GoldCase
from eval.metrics import metric_names
from eval.plots import hit_curve, write_plots
from eval.results_md import (
    build_eval_index,
    results_markdown,
    unpack_jsonl_gz,
    without_answers,
    write_compare_outputs,
)
from index.pipeline import ingest_paths
from index.store import ClinqaIndex
from index.types import Passage
from ingest.types import Chunk
from qa.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
K = 10
LABEL_IDS = [
    f"openfda_excerpt:{drug}:{section}"
    for drug in ("metformin", "lisinopril")
    for section in ("indications_and_usage", "dosage_and_administration", "contraindications")
]
DEFINITION_IDS = ["nci_drug:792737", "nci_drug:801361", "nci_drug:770208", "nci_drug:299488"]
PUBMED_IDS = ["pubmed:1571683", "pubmed:2224269", "pubmed:7482275", "pubmed:7497757"]
SOURCES = {
    "openfda_label_excerpts/sections.jsonl": LABEL_IDS,
    "nci_dictionaries/definitions.jsonl": DEFINITION_IDS,
    "pubmedqa/corpus.jsonl": PUBMED_IDS,
}
CASES = [
    GoldCase(
        id="metformin-max",
        question="What is the maximum daily dose of metformin for adults?",
        must_include=(("2550 mg",),),
        evidence=("up to a maximum dose of 2550 mg per day",),
        gold_doc_ids=("openfda_excerpt:metformin:dosage_and_administration",),
        section="dosage",
    ),
    GoldCase(
        id="lisinopril-start",
        question="What is the initial adult dose of lisinopril for hypertension?",
        must_include=(("10 mg",),),
        evidence=("Initial adult dose is 10 mg once daily",),
        gold_doc_ids=("openfda_excerpt:lisinopril:dosage_and_administration",),
        section="dosage",
    ),
    GoldCase(
        id="metformin-contra",
        question="In which patients is metformin contraindicated?",
        must_include=(("renal impairment",), ("metabolic acidosis",)),
        evidence=("Severe renal impairment",),
        gold_doc_ids=("openfda_excerpt:metformin:contraindications",),
        section="contraindications",
    ),
    GoldCase(
        id="a101",
        question="What is A-101 topical solution?",
        must_include=(("hydrogen peroxide",),),
        evidence=("high-concentration of hydrogen peroxide",),
        answers=("a high-concentration of hydrogen peroxide",),
        gold_doc_ids=("nci_drug:792737",),
        section="definition",
    ),
    GoldCase(
        id="vaccine-storage",
        question="How well are vaccines stored in general practice refrigerators?",
        evidence=("To assess quality of storage of vaccines in the community.",),
        gold_doc_ids=("pubmed:1571683",),
        section="journal",
    ),
    GoldCase(
        id="absent",
        question="What is the starting dose of tirzepatide?",
        answerable=False,
        section="absent drug",
    ),
]


def _records() -> list[dict[str, Any]]:
    out = []
    for rel, ids in SOURCES.items():
        wanted = set(ids)
        with (ROOT / "corpus" / rel).open(encoding="utf-8") as fh:
            out += [r for line in fh if (r := json.loads(line))["doc_id"] in wanted]
    assert len(out) == sum(len(v) for v in SOURCES.values())
    return out


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    by_source: dict[str, list[str]] = {}
    for rec in _records():
        by_source.setdefault(rec["doc_id"].split(":")[0], []).append(json.dumps(rec))
    for name, lines in by_source.items():
        (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, embedder: Any) -> Path:  # noqa: F811
    folder = tmp_path_factory.mktemp("index") / "idx"
    summary = ingest_paths(folder, [corpus_dir], embedder)
    assert not summary.failures and summary.report is not None
    return folder


@pytest.fixture(scope="module")
def index(index_dir: Path, embedder: Any) -> ClinqaIndex:  # noqa: F811
    return ClinqaIndex.load(index_dir, embedder)


@pytest.fixture(scope="module")
def result(index: ClinqaIndex) -> dict[str, Any]:
    systems = build_systems(index, Settings(), k=K)

    def stored_text(doc_id: str) -> str | None:
        try:
            return index.document(doc_id).text
        except KeyError:
            return None

    def source_type_of(doc_id: str) -> str | None:
        return index.document(doc_id).source_type

    return run_compare(
        CASES,
        systems.systems,
        k=K,
        stored_text=stored_text,
        seed=0,
        build_ms=systems.build_ms,
        source_type_of=source_type_of,
    )


# ---- pure helpers ----------------------------------------------------------------------------


def test_first_units_keeps_at_most_four_units_and_800_chars() -> None:
    text = "A one. B two. C three. D four. E five."
    assert text[slice(*first_units(text))] == "A one. B two. C three. D four."
    long = "Word " * 300 + "end."
    a, b = first_units(long)
    assert b - a <= 800 and long[a:b] == long[a:b].strip() and a == 0


def test_extractive_answer_cites_the_top_passage_verbatim_at_its_offsets() -> None:
    stored = "Header.\n\nGive 5 mg daily. Then 10 mg. Stop at 20 mg. Check labs. Rest."
    start = stored.index("Give")
    chunk = Chunk("c1", "d1", "T", "monograph", "Dose", None, start, len(stored), stored[start:])
    other = Chunk("c2", "d2", "U", "monograph", None, None, 0, 7, "Header.")
    answer = extractive_answer("q", [Passage(chunk, 1.0, 1, "x"), Passage(other, 0.5, 2, "x")])
    assert not answer.abstained
    assert answer.answer == "Give 5 mg daily. Then 10 mg. Stop at 20 mg. Check labs. [1]"
    (cit,) = answer.citations
    assert (
        stored[cit.start : cit.end]
        == cit.quote
        == "Give 5 mg daily. Then 10 mg. Stop at 20 mg. Check labs."
    )
    assert len(answer.passages) == 2


def test_hit_curve_counts_ranks_by_hand() -> None:
    checks = [
        {"hit@1": False, "evidence_rank": 3},
        {"hit@1": True, "evidence_rank": 1},
        {"hit@1": False, "evidence_rank": None},
        {"hit@1": None, "evidence_rank": None},  # not scored: left out
    ]
    assert hit_curve(checks, [1, 2, 3, 10]) == [1 / 3, 1 / 3, 2 / 3, 2 / 3]


def test_without_answers_and_unpack(tmp_path: Path) -> None:
    assert without_answers(CASES)[3].answers == () and CASES[3].answers
    src = tmp_path / "c.jsonl.gz"
    lines = [json.dumps({"doc_id": f"x:{i}", "text": f"t {i}"}) for i in range(5)]
    with gzip.open(src, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    parts = unpack_jsonl_gz(src, tmp_path / "out", lines_per_file=2)
    assert [p.name for p in parts] == ["part-0000.jsonl", "part-0001.jsonl", "part-0002.jsonl"]
    assert "".join(p.read_text() for p in parts).splitlines() == lines


# ---- the LangChain baseline ------------------------------------------------------------------


def test_langchain_passages_are_verbatim_at_their_start_offsets(index: ClinqaIndex) -> None:
    rag = LangChainRAG(index.documents(), index.embedder)
    assert rag.build_ms > 0
    docs = {d.doc_id: d.text for d in index.documents()}
    # 1399-char and 1335-char label sections must be split in two with the overlap.
    assert len(rag.splits) > len(docs)
    for split in rag.splits:
        assert len(split.text) <= LANGCHAIN_CHUNK_SIZE
        assert docs[split.doc_id][split.start : split.start + len(split.text)] == split.text
    passages = rag.search("maximum dose of metformin per day", k=10)
    assert len(passages) == 10 and [p.rank for p in passages] == list(range(1, 11))
    for p in passages:
        c = p.chunk
        assert docs[c.doc_id][c.start : c.end] == c.text
    assert passages[0].doc_id.startswith("openfda_excerpt:metformin")


# ---- run_compare -----------------------------------------------------------------------------


def test_compare_scores_every_system_with_every_metric(result: dict[str, Any]) -> None:
    assert list(result["systems"]) == list(SYSTEM_NAMES)
    for name, data in result["systems"].items():
        assert set(data["metrics"]) == set(metric_names(K)), name
        assert len(data["cases"]) == len(CASES)
        for metric in ("hit@5", "fact_all"):
            lo, hi = data["intervals"][metric]
            assert 0.0 <= lo <= data["metrics"][metric] <= hi <= 1.0, (name, metric)
        assert data["mean_passage_chars"] > 0 and data["mean_answer_chars"] > 0
        assert data["build_ms"] is not None
    json.dumps(result, allow_nan=False)  # JSON-serialisable


def test_retrieval_baselines_never_abstain_and_cite_exactly(result: dict[str, Any]) -> None:
    for name in ("bm25", "dense", "hybrid", "langchain"):
        metrics = result["systems"][name]["metrics"]
        assert metrics["false_abstain"] == 0.0 and metrics["abstain_recall"] == 0.0, name
        assert metrics["citation_exact"] == 1.0 and metrics["citation_in_passage"] == 1.0, name
    # The unanswerable case is the only one scored by abstain_recall.
    absent = [c for c in result["systems"]["dense"]["cases"] if c["id"] == "absent"][0]
    assert absent["checks"]["abstain_recall"] is False


def test_paired_differences_against_clinqa(result: dict[str, Any]) -> None:
    assert set(result["paired"]) == {"bm25", "dense", "hybrid", "langchain"}
    for other, diffs in result["paired"].items():
        assert set(diffs) == {"hit@5", "mrr@10", "fact_all"}
        for metric, d in diffs.items():
            assert d["n"] > 0 and d["ci95"] is not None, (other, metric)
            lo, hi = d["ci95"]
            assert lo <= d["diff"] <= hi
            assert d["excludes_zero"] == (lo > 0 or hi < 0)


def test_source_types_are_labelled_from_gold_documents(result: dict[str, Any]) -> None:
    kinds = {c["id"]: c.get("source_type") for c in result["systems"]["bm25"]["cases"]}
    assert kinds["metformin-max"] == "monograph"
    assert kinds["a101"] == "definition"
    assert kinds["vaccine-storage"] == "journal"
    assert kinds["absent"] is None


def test_markdown_and_plots(result: dict[str, Any], tmp_path: Path) -> None:
    md = compare_markdown(result, title="tiny")
    for name in SYSTEM_NAMES:
        assert sum(1 for line in md.splitlines() if line.startswith(f"| `{name}` |")) == 2 - (
            name == "clinqa"
        )  # the metrics row, plus a paired row for each non-clinqa system
    misses = worst_misses(result, "bm25")
    assert misses and all(len(m["retrieved"]) <= 3 for m in misses)
    assert any(m["id"] == "absent" for m in misses)
    pngs = write_plots(result, tmp_path / "plots")
    names = {p.name for p in pngs}
    assert {"hit_at_k.png", "latency.png", "by_source_type.png", "by_section.png"} <= names
    for p in pngs:
        data = p.read_bytes()
        assert data[:8] == PNG_SIGNATURE and len(data) > 1000, p


def test_write_outputs_and_results_md(result: dict[str, Any], tmp_path: Path) -> None:
    paths = write_compare_outputs(result, tmp_path / "reports" / "tiny")
    assert {p.name for p in paths} >= {"compare.json", "compare.md", "hit_at_k.png"}
    back = json.loads((tmp_path / "reports" / "tiny" / "compare.json").read_text())
    assert back["systems"]["clinqa"]["metrics"] == result["systems"]["clinqa"]["metrics"]
    md = results_markdown(
        {"tiny": back}, corpus={"documents": 16, "chunks": 40}, model="m", date="2025-01-01"
    )
    assert "## tiny" in md and "16 documents, 40 chunks" in md and "2025-01-01" in md
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert len(rows) == len(SYSTEM_NAMES) + len(SYSTEM_NAMES) - 1


def test_eval_index_drops_holdout_docs_without_embedding(
    index_dir: Path,
    corpus_dir: Path,
    embedder: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    target = tmp_path / "eval_index"
    holdout = ["pubmed:1571683", "nci_drug:792737"]
    summary = build_eval_index(
        target, corpus_dir, embedder, exclude_doc_ids=holdout, base_index=index_dir
    )
    report = summary.report
    assert report is not None
    assert sorted(report.removed) == sorted(holdout)
    assert report.chunks_embedded == 0
    base = {d.doc_id for d in ClinqaIndex.load(index_dir, embedder).documents()}
    ids = {d.doc_id for d in ClinqaIndex.load(target, embedder).documents()}
    assert len(base) == 14 and ids == base - set(holdout)


def test_abstention_curve_from_the_clinqa_run_lands_in_results_md(
    result: dict[str, Any], tmp_path: Path
) -> None:
    from eval.abstention import abstention_curve, curve_markdown
    from eval.plots import plot_abstention
    from eval.results_md import write_results_md

    cases = result["systems"]["clinqa"]["cases"]
    assert any(not c["checks"]["answerable"] for c in cases)  # the tiny set has both kinds
    points = abstention_curve(cases, [0.0, 0.3, 2.0])
    assert points[-1].answered == 0  # nothing clears a threshold above every confidence
    assert points[-1].abstain_recall == 1.0 and points[-1].false_abstain == 1.0
    recalls = [p.abstain_recall or 0.0 for p in points]
    assert recalls == sorted(recalls)  # a higher threshold never abstains less
    folder = tmp_path / "reports" / "tiny"
    write_compare_outputs(result, folder)
    table = curve_markdown(points, 0.3)
    assert any("0.30 (in use)" in row for row in table)
    (folder / "abstention.md").write_text("\n".join(table) + "\n", encoding="utf-8")
    png = plot_abstention(points, 0.3, folder / "abstention.png")
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    md = write_results_md(tmp_path / "reports", tmp_path / "RESULTS.md", {}, "m").read_text()
    assert "0.30 (in use)" in md


def test_embedders_table_has_a_row_per_model_and_system(tmp_path: Path) -> None:
    from eval.results_md import embedders_markdown

    for model, hit, secs in (("minilm-int8", 0.95, 100), ("minilm", 0.94, 250)):
        (tmp_path / model / "seed.test").mkdir(parents=True)
        build = {"model": f"m ({model})", "spec": model, "seconds": secs, "chunks": 1000}
        (tmp_path / model / "build.json").write_text(json.dumps(build))
        systems = {s: {"metrics": {"hit@5": hit - d, "latency_ms_p50": 12.5}}
                   for s, d in (("clinqa", 0.0), ("dense", 0.2))}  # fmt: skip
        report = {"systems": systems, "run": {}}
        (tmp_path / model / "seed.test" / "compare.json").write_text(json.dumps(report))
    md = embedders_markdown(tmp_path)
    assert "| minilm-int8 | 100 | 1000 | 10.0 |" in md and "| minilm | 250 | 1000 | 4.0 |" in md
    assert "### seed.test" in md
    assert "| minilm-int8 | clinqa | 0.950 |" in md and "| minilm | dense | 0.740 |" in md
