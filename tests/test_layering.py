"""Data flows one way: ingest -> index -> qa -> eval -> ui; and no pickle anywhere."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["ingest", "index", "qa", "eval", "ui"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _package_files(pkg: str) -> list[Path]:
    return sorted((ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("pkg", ORDER)
def test_imports_flow_left_to_right(pkg: str) -> None:
    allowed_ours = set(ORDER[: ORDER.index(pkg) + 1])
    files = _package_files(pkg)
    assert files, f"package {pkg} has no modules"
    bad = []
    for f in files:
        for mod in _imports(f) & set(ORDER):
            if mod not in allowed_ours:
                bad.append(f"{f.relative_to(ROOT)} imports {mod}")
    flow = "ingest -> index -> qa -> eval -> ui"
    assert not bad, f"imports against the flow {flow}:\n" + "\n".join(bad)


def test_layering_check_detects_a_violation(tmp_path: Path) -> None:
    # positive control: the checker sees an import of a later package
    f = tmp_path / "m.py"
    f.write_text("from qa.engine import QA\nimport ui.cli\n", encoding="utf-8")
    assert {"qa", "ui"} <= _imports(f)


PICKLE = re.compile(
    r"^\s*(import|from)\s+(pickle|cPickle|dill|joblib|cloudpickle)\b|allow_pickle\s*=\s*True"
    r"|torch\.load\(|trust_remote_code\s*=\s*True",
    re.MULTILINE,
)


def test_no_pickle_or_remote_code_in_the_product() -> None:
    hits = []
    for pkg in ORDER:
        for f in _package_files(pkg):
            for m in PICKLE.finditer(f.read_text(encoding="utf-8")):
                hits.append(f"{f.relative_to(ROOT)}: {m.group(0).strip()}")
    assert not hits, "\n".join(hits)
    assert PICKLE.search("import pickle\n")  # positive control
