"""eval.gold, eval.scoring, eval.runner, eval.gate, eval.report on hand-built answers.

Every expected metric below is worked out by hand in the comments, not by the code under test.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from eval.gate import UnknownMetricError, gate, parse_bound
from eval.gold import GoldCase, GoldFileError, load_gold
from eval.report import compare, format_table, markdown_report, write_report
from eval.runner import EvalError, run_eval, run_stamp
from eval.scoring import score_case
from index.types import Passage
from ingest.types import Chunk
from qa.types import Answer, Citation

DOCS = {
    "d1": "Give 600,000 international units/kg for a maximum of 14 doses.",
    "d2": "Unrelated text about something else.",
    "d3": "Rest for 9 days.",
}


def passage(doc_id: str, rank: int) -> Passage:
    text = DOCS[doc_id]
    chunk = Chunk(
        f"c-{doc_id}", doc_id, doc_id.upper(), "monograph", None, None, 0, len(text), text
    )
    return Passage(chunk, score=1.0 / rank, rank=rank, retriever="test")


def cite(n: int, doc_id: str, quote: str, shift: int = 0) -> Citation:
    start = DOCS[doc_id].index(quote) + shift
    return Citation(
        n, doc_id, doc_id.upper(), "monograph", None, None, quote, start, start + len(quote)
    )


CASES = [
    GoldCase(
        id="A",
        question="dose?",
        must_include=(("600,000 international units/kg", "600,000 IU/kg"), ("14 doses",)),
        evidence=("14 doses",),
        answers=("600,000 IU/kg",),
        gold_doc_ids=("d1",),
        section="dosage",
    ),
    GoldCase(id="B", question="absent?", answerable=False, section="near miss"),
    GoldCase(
        id="C",
        question="rest?",
        must_include=(("9 days",),),
        evidence=("rest",),
        answers=("9 days",),
        section="dosage",
    ),
    GoldCase(id="D", question="missed?", must_include=(("y",),), evidence=("x",)),
]
ANSWERS = {
    # A: evidence and gold doc at rank 2; one of two facts; citation exact.
    "dose?": Answer(
        "dose?",
        "Give 600,000 international units/kg [1].",
        False,
        (cite(1, "d1", "600,000 international units/kg"),),
        (passage("d2", 1), passage("d1", 2)),
    ),
    # B: unanswerable, abstains.
    "absent?": Answer("absent?", "", True, (), (passage("d2", 1),)),
    # C: evidence at rank 1; citation offsets off by one; "28" is in no quote.
    "rest?": Answer(
        "rest?",
        "Rest for 9 days, then 28 doses [1].",
        False,
        (cite(1, "d3", "Rest for 9 days", shift=1),),
        (passage("d3", 1),),
    ),
    # D: answerable, abstains, lists no passages.
    "missed?": Answer("missed?", "", True, (), ()),
}


def ticking_clock() -> Iterator[float]:
    # two calls per case: latencies 10, 20, 30, 40 ms
    for i, ms in enumerate((10, 20, 30, 40)):
        yield float(i)
        yield i + ms / 1000.0


@pytest.fixture
def result():  # type: ignore[no-untyped-def]
    clock = ticking_clock()
    return run_eval(
        CASES,
        lambda q: ANSWERS[q],
        stored_text=DOCS.get,
        clock=lambda: next(clock),
        run={"model": "hand-built"},
    )


def test_metrics_by_hand(result) -> None:  # type: ignore[no-untyped-def]
    m = result.metrics
    # answerable with evidence: A (rank 2), C (rank 1), D (none)
    assert m["hit@1"] == pytest.approx(1 / 3)
    assert m["hit@5"] == pytest.approx(2 / 3)
    assert m["hit@10"] == pytest.approx(2 / 3)
    assert m["mrr@10"] == pytest.approx((0.5 + 1 + 0) / 3)
    # only A has gold_doc_ids; its doc is at rank 2
    assert m["doc_hit@1"] == 0.0
    assert m["doc_hit@5"] == 1.0
    # facts: A 1/2, C 1/1, D 0/1 (abstained)
    assert m["fact_recall"] == pytest.approx(0.5)
    assert m["fact_all"] == pytest.approx(1 / 3)
    # answers: A does not contain "600,000 IU/kg"; C contains "9 days"
    assert m["answer_contains"] == pytest.approx(0.5)
    # A: "give 600000 international unitskg" vs "600000 iukg" -> P 1/4, R 1/2, F1 1/3
    # C: 7 tokens vs "9 days" -> F1 4/9
    assert m["token_f1"] == pytest.approx((1 / 3 + 4 / 9) / 2)
    assert m["exact_match"] == 0.0
    assert m["abstain_recall"] == 1.0
    assert m["false_abstain"] == pytest.approx(1 / 3)
    # answered with must_include: A (not all), C (all)
    assert m["precision_when_answering"] == pytest.approx(0.5)
    # citations: A exact, C shifted; both inside a listed passage of their document
    assert m["citation_exact"] == pytest.approx(0.5)
    assert m["citation_in_passage"] == 1.0
    # answered answerable with evidence: A (its passage holds "14 doses"), C (quote holds "rest")
    assert m["citation_hit"] == 1.0
    assert m["numbers_unsupported"] == 1  # the "28" of C
    assert m["latency_ms_p50"] == pytest.approx(25.0)
    assert m["latency_ms_p95"] == pytest.approx(38.5)


def test_report_cases_are_answer_json_plus_id_and_checks(result) -> None:  # type: ignore[no-untyped-def]
    cases = result.cases
    assert [c["id"] for c in cases] == ["A", "B", "C", "D"]
    for case, gold in zip(cases, CASES, strict=True):
        expected = ANSWERS[gold.question].to_json()
        assert {k: case[k] for k in expected} == expected
    a = cases[0]["checks"]
    assert a["evidence_rank"] == 2 and a["doc_rank"] == 2
    assert a["facts_found"] == [True, False]
    assert cases[2]["checks"]["numbers_unsupported"] == ["28"]
    assert cases[2]["checks"]["citation_exact"] == [False]
    assert cases[1]["checks"]["abstain_recall"] is True
    assert cases[0]["section"] == "dosage"
    assert result.run["model"] == "hand-built" and result.run["n_cases"] == 4
    json.dumps(result.to_json(), allow_nan=False)  # the report is plain JSON


def test_hit_at_the_run_k() -> None:
    checks = score_case(CASES[0], ANSWERS["dose?"].to_json(), DOCS.get, k=2)
    assert checks["hit@2"] is True and checks["hit@1"] is False
    assert checks["doc_hit@2"] is True


def test_score_case_survives_a_malformed_answer() -> None:
    checks = score_case(CASES[0], {"answer": None, "passages": "nope", "citations": [1]}, DOCS.get)
    assert checks["hit@1"] is False and checks["fact_recall"] == 0.0
    assert checks["citation_exact"] == []


def test_answer_fn_failure_names_the_case() -> None:
    def broken(question: str) -> Answer:
        raise RuntimeError("index gone")

    with pytest.raises(EvalError, match="'A'.*index gone"):
        run_eval(CASES[:1], broken, stored_text=DOCS.get)


def test_gate() -> None:
    metrics = {"hit@5": 0.7, "false_abstain": 0.2, "citation_exact": None, "numbers_unsupported": 0}
    assert gate(metrics, {"hit@5": 0.7}, {"false_abstain": 0.2, "numbers_unsupported": 0}) == []
    failures = gate(metrics, {"hit@5": 0.8, "citation_exact": 0.5}, {"false_abstain": 0.1})
    assert len(failures) == 3
    assert any("hit@5" in f and "below" in f for f in failures)
    assert any("citation_exact" in f and "null" in f for f in failures)
    assert any("false_abstain" in f and "above" in f for f in failures)
    assert gate(metrics, {"doc_hit@20": 0.1}, {}) != []  # known name, not computed: None fails
    with pytest.raises(UnknownMetricError, match="recall_at_5"):
        gate(metrics, {"recall_at_5": 0.5}, {})
    assert parse_bound("hit@5=0.8") == ("hit@5", 0.8)
    with pytest.raises(ValueError, match="abc"):
        parse_bound("hit@5=abc")


def write_lines(path: Path, lines: list[str]) -> None:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


BAD_FILE = [
    json.dumps({"id": "ok1", "question": "dose?", "evidence": ["14 doses"]}),
    '{"id": "broken", "question": ',
    json.dumps({"id": "noq", "question": ""}),
    json.dumps({"id": "mi", "question": "q", "must_include": [3]}),
    json.dumps({"id": "ok1", "question": "again?"}),
    "",
    json.dumps({"id": "ok2", "question": "absent?", "answerable": False, "extra_key": 1}),
    json.dumps(["not", "an", "object"]),
    json.dumps({"id": "ans", "question": "q", "answerable": "yes"}),
]


@pytest.mark.parametrize("name", ["gold.jsonl", "gold.jsonl.gz"])
def test_malformed_lines_are_reported_and_the_rest_scored(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_lines(path, BAD_FILE)
    cases, errors = load_gold(path)
    assert [c.id for c in cases] == ["ok1", "ok2"]
    assert cases[1].answerable is False and cases[1].extra == {"extra_key": 1}
    assert [e.line for e in errors] == [2, 3, 4, 5, 8, 9]
    assert "invalid JSON" in errors[0].reason
    assert "question" in errors[1].reason
    assert "must_include" in errors[2].reason
    assert "duplicate id 'ok1'" in errors[3].reason and "line 1" in errors[3].reason
    assert "answerable" in errors[5].reason
    assert str(errors[0]).startswith(f"{path}:2:")
    result = run_eval(cases, lambda q: ANSWERS[q], stored_text=DOCS.get, gold_errors=errors)
    assert [c["id"] for c in result.cases] == ["ok1", "ok2"]
    assert result.metrics["hit@5"] == 1.0 and result.metrics["abstain_recall"] == 1.0
    assert [e["line"] for e in result.run["gold_errors"]] == [2, 3, 4, 5, 8, 9]


def test_unreadable_gold_file(tmp_path: Path) -> None:
    with pytest.raises(GoldFileError, match="missing.jsonl"):
        load_gold(tmp_path / "missing.jsonl")
    fake = tmp_path / "fake.jsonl.gz"
    fake.write_text("not gzip", encoding="utf-8")
    with pytest.raises(GoldFileError, match="fake.jsonl.gz"):
        load_gold(fake)


def test_write_report_is_atomic_json(tmp_path: Path, result) -> None:  # type: ignore[no-untyped-def]
    out = write_report(result, tmp_path / "sub" / "report.json")
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(result.to_json()))
    assert [p.name for p in out.parent.iterdir()] == ["report.json"]  # no temp file left


def test_table_and_markdown(result) -> None:  # type: ignore[no-untyped-def]
    table = format_table(result.metrics)
    lines = table.splitlines()
    assert len(lines) == len(result.metrics) + 1
    assert any(line.startswith("hit@1 ") and line.endswith("0.3333") for line in lines)
    assert any(line.startswith("false_abstain (lower)") for line in lines)
    assert format_table({"x": None}).splitlines()[1].endswith("null")
    md = markdown_report(result)
    assert "| mrr@10 | 0.5000 |" in md
    assert "## By section" in md and "| dosage | 2 |" in md
    assert "`D` 'missed?': abstained on an answerable question" in md
    assert "unsupported numbers: 28" in md


def test_compare_is_paired_by_id(result) -> None:  # type: ignore[no-untyped-def]
    same = compare(result.cases, result.cases, "fact_all")
    assert same["n"] == 3 and same["diff"] == 0.0 and same["ci95"] == (0.0, 0.0)


def test_run_stamp() -> None:
    stamp = run_stamp("abc123", "minilm")
    assert stamp["index_manifest_hash"] == "abc123" and stamp["model"] == "minilm"
    assert stamp["packages"]["numpy"] == metadata.version("numpy")
    assert stamp["commit"] is None or len(stamp["commit"]) == 40
