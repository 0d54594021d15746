"""No question text from a gold set appears in the code or the tests (issue 5): thresholds and
rules must not be tuned to the wording of the questions they are scored on."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ("ingest", "index", "qa", "eval", "ui", "bench", "scripts", "tests")


def _gold_questions() -> set[str]:
    out: set[str] = set()
    for path in sorted((ROOT / "eval" / "gold").iterdir()):
        if path.name.endswith(".jsonl"):
            lines = path.read_text(encoding="utf-8").splitlines()
        elif path.name.endswith(".jsonl.gz"):
            lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
        else:
            continue
        out.update(json.loads(line)["question"] for line in lines if line.strip())
    return {q for q in out if len(q) >= 20}


def _code_files() -> list[Path]:
    files: list[Path] = []
    for folder in CODE:
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".sh", ".toml")]
    return files


def test_no_gold_question_is_written_into_the_code() -> None:
    questions = _gold_questions()
    assert len(questions) > 1000  # positive control: the gold sets were read
    files = _code_files()
    assert any(p.name == "engine.py" for p in files)
    texts = {p.relative_to(ROOT).as_posix(): p.read_text("utf-8", errors="ignore") for p in files}
    found = [(name, q) for name, text in texts.items() for q in questions if q in text]
    assert not found, found[:5]
