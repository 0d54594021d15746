"""Write search results as CSV and JSON files (atomically) for the download buttons."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ui.web_html import ResultRow

KEEP_EXPORTS = 200  # export folders kept on disk (older ones are deleted)
CSV_FIELDS = (
    "rank",
    "score",
    "doc_id",
    "title",
    "source_type",
    "section",
    "page",
    "start",
    "end",
    "sentence",
    "text",
)


def row_record(row: ResultRow) -> dict[str, Any]:
    """The exported fields of one result; `sentence` is the highlighted sentence.

    >>> row = ResultRow(1, 0.5, "d", "T", "journal", None, None, 0, 3, "abc", 0, 2)
    >>> row_record(row)["sentence"]
    'ab'
    """
    data = asdict(row)
    data["sentence"] = row.text[row.sentence_start : row.sentence_end]
    data["score"] = round(float(row.score), 6)
    return {k: data[k] for k in CSV_FIELDS}


def results_csv(rows: Sequence[ResultRow]) -> str:
    """The results as CSV text with a header line."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(CSV_FIELDS), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(row_record(r))
    return buf.getvalue()


def results_json(query: str, filters: dict[str, Any], rows: Sequence[ResultRow]) -> str:
    """The results as one JSON object: the query, the filters, the count and the rows."""
    return json.dumps(
        {
            "query": query,
            "filters": filters,
            "count": len(rows),
            "results": [row_record(r) for r in rows],
        },
        ensure_ascii=False,
        indent=2,
    )


def write_atomic(path: Path, text: str) -> Path:
    """Write `text` to `path` through a temp file in the same folder, fsync, os.replace."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def prune_exports(folder: Path, keep: int) -> int:
    """Delete all but the `keep` newest `export-*` sub-folders of `folder`; return how many."""
    old = sorted(folder.glob("export-*"), key=lambda p: p.stat().st_mtime, reverse=True)[keep:]
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
    return len(old)


def export_results(
    folder: Path, query: str, filters: dict[str, Any], rows: Sequence[ResultRow]
) -> tuple[Path, Path]:
    """Write `clinqa-results.csv` and `.json` into a fresh sub-folder of `folder`."""
    prune_exports(folder, KEEP_EXPORTS - 1)
    out = Path(tempfile.mkdtemp(dir=folder, prefix="export-"))
    csv_path = write_atomic(out / "clinqa-results.csv", results_csv(rows))
    json_path = write_atomic(out / "clinqa-results.json", results_json(query, filters, rows))
    return csv_path, json_path
