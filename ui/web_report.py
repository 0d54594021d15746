"""Find the latest evaluation report (Markdown + PNG plots) for the Evaluation tab."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

NO_REPORT = (
    "No evaluation report yet. Run `clinqa eval GOLD.jsonl --out eval/reports/latest/report.json`."
)


@dataclass(frozen=True)
class Report:
    """The report's folder, its Markdown text and its plots (copied where gradio may serve them)."""

    folder: Path
    markdown: str
    plots: tuple[Path, ...]


def report_folders(project_root: Path, extra: Sequence[Path] = ()) -> list[Path]:
    """Folders that may hold the latest report, in the order they are tried; the committed
    seed test-part report (written by scripts/eval_all.sh) is the fallback.

    >>> [p.as_posix() for p in report_folders(Path("/p"))]
    ['/p/eval/reports/latest', '/p/var/eval/latest', '/p/eval/reports/seed.test']
    """
    return [
        *extra,
        project_root / "eval" / "reports" / "latest",
        project_root / "var" / "eval" / "latest",
        project_root / "eval" / "reports" / "seed.test",
    ]


def load_report(folders: Sequence[Path], serve_dir: Path) -> Report | None:
    """The first folder holding a Markdown report, with its PNGs copied into `serve_dir`.

    Plots are copied so the app never has to serve a project folder.
    """
    for folder in folders:
        mds = sorted(folder.glob("*.md")) if folder.is_dir() else []
        if not mds:
            continue
        text = "\n\n".join(p.read_text(encoding="utf-8", errors="replace") for p in mds)
        out = Path(tempfile.mkdtemp(dir=serve_dir, prefix="report-"))
        plots = []
        for png in sorted(folder.glob("*.png")):
            target = out / png.name
            shutil.copyfile(png, target)
            plots.append(target)
        return Report(folder, text, tuple(plots))
    return None
