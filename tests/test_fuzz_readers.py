"""The reader fuzzer: its regression corpus (CI tier) and a fuzzing run (extended tier).

CI tier: every file in tests/data/fuzz_regressions/ goes through `fuzz_readers.check_input`, the
function the fuzzer calls, and must keep the readers' contract; controls show that the harness
reads a good seed PDF into a document with its text and flags a reader that breaks the contract.
Extended tier: tests/fuzz_readers.py runs under atheris for CLINQA_FUZZ_SECONDS (default 600) in
a subprocess; each crash, timeout or out-of-memory input it writes is copied into the regression
corpus and the test fails naming it. Needs the `extended` extra (README "Tests").
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_attack import seed_token
from fuzz_readers import (
    REGRESSIONS,
    ReaderContractError,
    check_input,
    check_items,
    read_as,
)

from ingest.errors import ReadFailure
from ingest.types import Document, Span

HARNESS = Path(__file__).with_name("fuzz_readers.py")


def regression_inputs() -> list[Path]:
    return sorted(p for p in REGRESSIONS.iterdir() if p.is_file() and p.name != "README.md")


def test_regression_corpus_holds_the_seeds_and_the_crashers() -> None:
    names = [p.name for p in regression_inputs()]
    assert "seed-plain.pdf" in names and "seed-dictionary-page.txt" in names, names
    assert any(n.startswith(("crash-", "bug-")) for n in names), names


@pytest.mark.parametrize("path", regression_inputs(), ids=lambda p: p.name)
def test_regression_input_keeps_the_reader_contract(path: Path) -> None:
    check_input(path.read_bytes())


def test_harness_reads_a_good_seed_pdf_into_its_text() -> None:
    items = read_as((REGRESSIONS / "seed-plain.pdf").read_bytes(), "input.pdf")
    assert len(items) == 1 and isinstance(items[0], Document), items
    assert seed_token(0) in items[0].text and "Metformin hydrochloride" in items[0].text
    assert [p.name for p in items[0].pages] == ["1", "2"]
    page = (REGRESSIONS / "seed-dictionary-page.txt").read_bytes()
    kinds = {d.source_type for d in read_as(page, "input.txt") if isinstance(d, Document)}
    assert kinds == {"monograph", "definition", "periodical"}, kinds


def test_harness_flags_an_exception_escaping_a_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    check_input(b"Dose: 5 mg daily.\n")  # control: the unbroken reader passes

    def broken(*args: object) -> Document:
        raise KeyError("planted")

    monkeypatch.setattr("ingest.readers.text_document", broken)
    with pytest.raises(ReaderContractError, match="input.txt: KeyError escaped read_file"):
        check_input(b"Dose: 5 mg daily.\n")


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([], "answered nothing"),
        ("text", "not a list"),
        ([ReadFailure("a.txt", "", "ReadError")], "incomplete failure"),
        ([Document("d", "T", "document", "ab\ud800")], "is not Unicode"),
        ([Document("d", "T", "document", "ab", pages=(Span("1", 0, 3),))], "outside the text"),
        (["text"], "unexpected item str"),
    ],
    ids=["empty", "not-a-list", "no-reason", "surrogate", "span", "not-an-item"],
)
def test_harness_flags_answers_that_break_the_contract(items: object, message: str) -> None:
    check_items([Document("d", "T", "document", "ab")], "a.txt")  # control: a good answer
    with pytest.raises(ReaderContractError, match=message):
        check_items(items, "a.txt")


def fuzz_stats(log: str) -> dict[str, int]:
    """Executions, coverage (cov, ft) and corpus size from a libFuzzer log."""
    stats = {"execs": 0, "cov": 0, "ft": 0, "corpus": 0}
    if m := re.search(r"stat::number_of_executed_units: (\d+)", log):
        stats["execs"] = int(m.group(1))
    lines = re.findall(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)", log, re.MULTILINE)
    if lines:
        stats["cov"], stats["ft"], stats["corpus"] = map(int, lines[-1][1:])
        stats["execs"] = stats["execs"] or int(lines[-1][0])
    return stats


@pytest.mark.extended
def test_fuzz_the_readers(tmp_path: Path) -> None:
    if importlib.util.find_spec("atheris") is None:
        pytest.fail("atheris is missing: install the extended extra (CLINQA_EXTENDED=1 "
                    "bash scripts/install.sh)")  # fmt: skip
    seconds = int(os.environ.get("CLINQA_FUZZ_SECONDS", "600"))
    env = {**os.environ, "CLINQA_FUZZ_DIR": str(tmp_path)}
    cmd = [sys.executable, str(HARNESS), f"-max_total_time={seconds}"]
    done = subprocess.run(
        cmd, cwd=HARNESS.parents[1], env=env, capture_output=True, text=True,
        timeout=seconds + 900,
    )  # fmt: skip
    log = done.stdout + done.stderr
    (tmp_path / "fuzz.log").write_text(log, encoding="utf-8")
    found = sorted((tmp_path / "artifacts").glob("*"))
    for path in found:
        shutil.copy(path, REGRESSIONS / path.name)
    stats = fuzz_stats(log)
    print(f"\nfuzz {seconds} s: {stats} exit {done.returncode}; log {tmp_path / 'fuzz.log'}")
    assert not found and done.returncode == 0, (
        f"the fuzzer found {[p.name for p in found]} (exit {done.returncode}), copied to "
        f"{REGRESSIONS}; fix the reader, keep the file\n{log[-6000:]}"
    )
    assert stats["execs"] > 100 and stats["cov"] > 0, f"the fuzzer did not run: {stats}\n{log}"
