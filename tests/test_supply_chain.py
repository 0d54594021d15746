"""Dependency floors past known advisories: the installed versions, the lower bounds that
pyproject.toml declares and the pins in requirements.lock must all be at or above them.

Floors (each at or past the first release fixing the advisories named; the list was written
without access to an advisory database: this machine reaches neither OSV nor PyPI's JSON API, so
`pip-audit` cannot run here and the floors should be re-checked where it can):
- gradio 5.31.0: path traversal and file-access advisories of the 4.x/5.x line
  (CVE-2024-47164/47165/47166/47167/47168, CVE-2025-48889 and related).
- pypdf 6.1.3: denial of service through crafted streams and endless loops
  (CVE-2025-55197 and the 6.0/6.1 stream-length and inflate advisories).
- transformers 4.53.0: ReDoS and deserialisation advisories up to 4.52
  (CVE-2024-11392/11393/11394, CVE-2025-1194, CVE-2025-2099 and related).
- torch 2.8.0: torch.load RCE with weights_only=True (CVE-2025-32434, fixed in 2.6.0) and
  CVE-2025-3730 (fixed in 2.8.0).
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
FLOORS = {
    "gradio": Version("5.31.0"),
    "pypdf": Version("6.1.3"),
    "transformers": Version("4.53.0"),
    "torch": Version("2.8.0"),
}


def below_floor(name: str, found: str) -> bool:
    return Version(found) < FLOORS[name]


def test_the_check_itself_flags_an_old_version() -> None:
    assert below_floor("pypdf", "5.9.0")  # positive control: a vulnerable version is caught
    assert below_floor("torch", "2.5.1")
    assert not below_floor("gradio", "6.0.0")


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_installed_version_is_past_its_advisories(name: str) -> None:
    assert not below_floor(name, version(name)), f"{name} {version(name)} < {FLOORS[name]}"


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_locked_version_is_past_its_advisories(name: str) -> None:
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    m = re.search(rf"^{re.escape(name)}==(\S+)", lock, re.MULTILINE | re.IGNORECASE)
    assert m, f"requirements.lock pins no {name}"
    assert not below_floor(name, m.group(1)), f"requirements.lock: {name}=={m.group(1)}"


def test_declared_lower_bounds_are_past_the_advisories() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    declared = {r.name.lower(): r for r in reqs}
    for name, floor in FLOORS.items():
        req = declared.get(name)
        if req is None:
            continue  # not a direct dependency (pulled in by one); the lock and install decide
        lows = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
        assert lows and max(lows) >= floor, f"pyproject.toml: {req} allows below {floor}"
