"""pip-audit over requirements.lock against a committed allowlist of advisories that do not apply.

CI tier: tests/data/pip_audit_allowlist.json is well formed (every entry has an advisory id, a
package pinned in requirements.lock and the reason it does not apply; no duplicate ids, no
unknown keys), and `audit_problems` - the verdict the extended test gives - is checked on canned
pip-audit outputs: a clean report, a finding, and each service unreachable.
Extended tier: `pip-audit -r requirements.lock --no-deps --disable-pip` once per vulnerability
service (PyPI's JSON API, OSV) with `--ignore-vuln` for each allowlisted id. It fails on any
other finding, on a package left unaudited, and - naming the service - when the service cannot
be reached: pip-audit itself reports PyPI's 404s as "not found on PyPI" skips and exits 0, which
would pass silently. Needs the `extended` extra (README "Tests").
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
ALLOWLIST = ROOT / "tests" / "data" / "pip_audit_allowlist.json"
SERVICES = {
    "pypi": "PyPI's JSON API (https://pypi.org/pypi/NAME/VERSION/json)",
    "osv": "OSV (https://api.osv.dev/v1/query)",
}
ENTRY_KEYS = {"id", "package", "reason"}
ADVISORY_ID = re.compile(r"^(GHSA(-[23456789cfghjmpqrvwx]{4}){3}|PYSEC-\d{4}-\d+|CVE-\d{4}-\d{4,}|"
                         r"[A-Z][A-Z0-9]*-[A-Za-z0-9._-]+)$")  # fmt: skip
UNREACHABLE = ("ConnectionError", "NameResolutionError", "Could not connect", "Max retries")


def locked_packages() -> set[str]:
    text = LOCK.read_text(encoding="utf-8")
    return {canonicalize_name(m) for m in re.findall(r"^([A-Za-z0-9._-]+)==", text, re.M)}


def allowlist_problems(data: object, pinned: set[str]) -> list[str]:
    """What is wrong with an allowlist document (empty when it is well formed)."""
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        return ["the allowlist must be an object with an 'entries' list"]
    problems: list[str] = []
    seen: set[str] = set()
    for i, entry in enumerate(data["entries"]):
        if not isinstance(entry, dict):
            problems.append(f"entry {i} is not an object")
            continue
        if missing := sorted(k for k in ENTRY_KEYS if not str(entry.get(k) or "").strip()):
            problems.append(f"entry {i} lacks {missing}")
        if unknown := sorted(set(entry) - ENTRY_KEYS):
            problems.append(f"entry {i} has unknown keys {unknown}")
        vuln, package = str(entry.get("id") or ""), str(entry.get("package") or "")
        if vuln and not ADVISORY_ID.match(vuln):
            problems.append(f"entry {i}: {vuln!r} is not an advisory id")
        if vuln in seen:
            problems.append(f"entry {i}: {vuln} is listed twice")
        seen.add(vuln)
        if package and canonicalize_name(package) not in pinned:
            problems.append(f"entry {i}: {package} is not pinned in requirements.lock (stale?)")
        if len(str(entry.get("reason") or "").split()) < 5:
            problems.append(f"entry {i}: the reason must say why {vuln} does not apply")
    return problems


def audit_problems(service: str, returncode: int, stdout: str, stderr: str) -> list[str]:
    """The extended test's verdict on one pip-audit run (JSON on stdout); empty when clean."""
    where = SERVICES[service]
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        last = (stderr.strip().splitlines() or ["(no output)"])[-1][:400]
        if any(s in stderr for s in UNREACHABLE):
            return [f"vulnerability service unreachable: {where}; pip-audit said: {last}"]
        return [f"pip-audit -s {service} gave no report (exit {returncode}): {last}"]
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    if deps and len(skipped) == len(deps):
        return [
            f"vulnerability service unreachable: {where} gave no data for any of the "
            f"{len(deps)} locked packages (pip-audit: {skipped[0]['skip_reason']!r}), so "
            "nothing was audited"
        ]
    problems = [f"not audited: {d['name']}: {d['skip_reason']}" for d in skipped]
    for dep in deps:
        for vuln in dep.get("vulns", []):
            problems.append(
                f"{dep['name']} {dep.get('version')}: {vuln['id']} (aliases "
                f"{vuln.get('aliases', [])}, fixed in {vuln.get('fix_versions', [])}): upgrade, "
                f"or allowlist it in {ALLOWLIST.name} with the reason it does not apply"
            )
    if not deps:
        problems.append("pip-audit audited no package")
    if returncode != 0 and not problems:
        problems.append(f"pip-audit exited {returncode}: {stderr.strip()[-400:]}")
    return problems


# ---- CI tier ----


def test_allowlist_is_well_formed() -> None:
    data = json.loads(ALLOWLIST.read_text(encoding="utf-8"))
    assert data.get("about"), "the allowlist says what it is"
    assert allowlist_problems(data, locked_packages()) == []


def test_allowlist_check_catches_bad_entries() -> None:
    pinned = locked_packages()
    assert {"pypdf", "torch", "gradio"} <= pinned, sorted(pinned)[:10]  # the lock was parsed
    good = {"id": "GHSA-4xqq-m2hx-25v8", "package": "pypdf", "reason": "we never call it at all"}
    assert allowlist_problems({"entries": [good]}, pinned) == []  # control
    bad = [
        {"id": "PYSEC-2024-1", "package": "pypdf"},
        {**good, "id": "PYSEC-2024-2", "reason": "n/a"},
        {**good, "id": "not an id"},
        {**good, "id": "PYSEC-2024-4", "package": "left-pad"},
        {**good, "id": "PYSEC-2024-5", "reson": "typo"},
        good,
        good,
    ]
    problems = allowlist_problems({"entries": bad}, pinned)
    expected = {0: "lacks ['reason']", 1: "must say why", 2: "is not an advisory id",
                3: "not pinned", 4: "unknown keys ['reson']", 6: "listed twice"}  # fmt: skip
    for i, needle in expected.items():
        assert any(p.startswith(f"entry {i}") and needle in p for p in problems), (i, problems)
    assert not [p for p in problems if p.startswith("entry 5")], problems  # the first `good`
    assert allowlist_problems([good], pinned) == [
        "the allowlist must be an object with an 'entries' list"
    ]


def test_audit_verdict_on_canned_reports() -> None:
    clean = {"dependencies": [{"name": "pypdf", "version": "7.1.1", "vulns": []}], "fixes": []}
    assert audit_problems("pypi", 0, json.dumps(clean), "No known vulnerabilities found") == []
    vuln = {"id": "PYSEC-2099-1", "fix_versions": ["7.2"], "aliases": ["CVE-2099-1"]}
    found = {"dependencies": [{"name": "pypdf", "version": "7.1.1", "vulns": [vuln]}]}
    [problem] = audit_problems("osv", 1, json.dumps(found), "")
    assert "pypdf 7.1.1: PYSEC-2099-1" in problem and "allowlist" in problem
    skip = "Dependency not found on PyPI and could not be audited: pypdf (7.1.1)"
    all_skipped = {"dependencies": [{"name": "pypdf", "skip_reason": skip}], "fixes": []}
    [problem] = audit_problems("pypi", 0, json.dumps(all_skipped), "No known vulnerabilities")
    assert problem.startswith("vulnerability service unreachable: PyPI's JSON API"), problem
    some_skipped = {"dependencies": [*clean["dependencies"], {"name": "x", "skip_reason": skip}]}
    assert audit_problems("pypi", 0, json.dumps(some_skipped), "") == [f"not audited: x: {skip}"]
    trace = "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev')"
    [problem] = audit_problems("osv", 1, "", f"Traceback ...\n{trace}\n")
    assert problem.startswith("vulnerability service unreachable: OSV (https://api.osv.dev")


# ---- extended tier ----


@pytest.mark.extended
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_pip_audit_finds_nothing_outside_the_allowlist(service: str, tmp_path: Path) -> None:
    if importlib.util.find_spec("pip_audit") is None:
        pytest.fail("pip-audit is missing: install the extended extra (CLINQA_EXTENDED=1 "
                    "bash scripts/install.sh)")  # fmt: skip
    entries = json.loads(ALLOWLIST.read_text(encoding="utf-8"))["entries"]
    ignore = [arg for e in entries for arg in ("--ignore-vuln", e["id"])]
    cmd = [
        sys.executable, "-m", "pip_audit", "-r", str(LOCK), "--no-deps", "--disable-pip",
        "-s", service, "-f", "json", "--progress-spinner", "off", "--timeout", "30",
        "--cache-dir", str(tmp_path / "cache"), *ignore,
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    print(f"\n$ pip-audit -s {service} (exit {done.returncode}), {len(entries)} allowlisted\n"
          f"stdout: {done.stdout[-1500:]}\nstderr: {done.stderr[-1500:]}")  # fmt: skip
    problems = audit_problems(service, done.returncode, done.stdout, done.stderr)
    assert not problems, "\n".join(problems)


def latest_json_problems(
    pins: dict[str, str], fetch: Any, allowed: set[str]
) -> tuple[list[str], list[str]]:
    """Advisories from PyPI's project JSON (https://pypi.org/pypi/NAME/json), which lists the
    vulnerabilities of the latest release only: (problems, packages it cannot speak for because
    the lock pins an older release). Where pip-audit's per-version endpoint and OSV are out of
    reach, this still catches a new advisory against any package pinned at its latest release."""
    problems: list[str] = []
    behind: list[str] = []
    for name, version in sorted(pins.items()):
        data = fetch(name)
        latest = str(data.get("info", {}).get("version"))
        if latest != version:
            behind.append(f"{name} {version} (latest {latest})")
            continue
        for vuln in data.get("vulnerabilities") or []:
            ids = {vuln.get("id"), *(vuln.get("aliases") or [])} - {None}
            if not ids & allowed:
                problems.append(f"{name} {version}: {sorted(ids)} fixed in {vuln.get('fixed_in')}")
    return problems, behind


def test_latest_json_check_on_canned_answers() -> None:
    answers = {
        "a": {
            "info": {"version": "1.0"},
            "vulnerabilities": [
                {"id": "PYSEC-2099-1", "aliases": ["CVE-2099-1"], "fixed_in": ["1.1"]}
            ],
        },  # fmt: skip
        "b": {"info": {"version": "2.0"}, "vulnerabilities": []},
        "c": {"info": {"version": "3.1"}, "vulnerabilities": [{"id": "GHSA-x"}]},
    }
    pins = {"a": "1.0", "b": "2.0", "c": "3.0"}
    problems, behind = latest_json_problems(pins, answers.__getitem__, set())
    assert problems == ["a 1.0: ['CVE-2099-1', 'PYSEC-2099-1'] fixed in ['1.1']"]
    assert behind == ["c 3.0 (latest 3.1)"]
    assert latest_json_problems(pins, answers.__getitem__, {"CVE-2099-1"})[0] == []


@pytest.mark.extended
def test_pypi_latest_release_advisories_outside_the_allowlist() -> None:
    import urllib.request

    text = LOCK.read_text(encoding="utf-8")
    pins = {
        canonicalize_name(n): v for n, v in re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", text, re.M)
    }
    allowed = {e["id"] for e in json.loads(ALLOWLIST.read_text(encoding="utf-8"))["entries"]}

    def fetch(name: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=30) as r:
            return dict(json.loads(r.read()))

    problems, behind = latest_json_problems(pins, fetch, allowed)
    checked = len(pins) - len(behind)
    print(f"\nPyPI project JSON: {checked} of {len(pins)} locked packages are their latest "
          f"release and were checked; {len(behind)} pinned behind: {behind}")  # fmt: skip
    assert not problems, "\n".join(problems)
