"""Gold cases (../shared/eval/FORMAT.md): the `GoldCase` record and the reader of gold files.

`load_gold` reads `.jsonl` or `.jsonl.gz`; a malformed line becomes a `GoldError` naming the file,
the line number and the reason, and the other lines still load. Blank lines are skipped.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class GoldFileError(Exception):
    """The gold file as a whole cannot be read (missing, not gzip, ...)."""


@dataclass(frozen=True)
class GoldCase:
    """One gold question. `must_include` items are tuples of alternatives (any one suffices)."""

    id: str
    question: str
    answerable: bool = True
    must_include: tuple[tuple[str, ...], ...] = ()
    evidence: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    gold_doc_ids: tuple[str, ...] = ()
    source: str | None = None
    section: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class GoldError:
    """A line that could not be loaded."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "reason": self.reason}


_KNOWN = {
    "id",
    "question",
    "answerable",
    "must_include",
    "evidence",
    "answers",
    "gold_doc_ids",
    "source",
    "section",
}


def _strings(obj: dict[str, Any], name: str) -> tuple[str, ...]:
    value = obj.get(name, [])
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"field {name!r} must be a list of strings, got {value!r}")
    return tuple(value)


def _must_include(obj: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    value = obj.get("must_include", [])
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"field 'must_include' must be a list, got {value!r}")
    items: list[tuple[str, ...]] = []
    for item in value:
        if isinstance(item, str) and item.strip():
            items.append((item,))
        elif (
            isinstance(item, list)
            and item
            and all(isinstance(alt, str) and alt.strip() for alt in item)
        ):
            items.append(tuple(item))
        else:
            raise ValueError(
                "field 'must_include' items must be non-empty strings or non-empty lists of "
                f"non-empty strings, got {item!r}"
            )
    return tuple(items)


def _optional_str(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"field {name!r} must be a string, got {value!r}")
    return value


def case_from_json(obj: Any) -> GoldCase:
    """Build a `GoldCase` from one parsed line; ValueError names the offending field.

    >>> case = {"id": "a", "question": "q?", "must_include": ["x", ["y", "z"]]}
    >>> case_from_json(case).must_include
    (('x',), ('y', 'z'))
    """
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    for name in ("id", "question"):
        value = obj.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"field {name!r} must be a non-empty string, got {value!r}")
    answerable = obj.get("answerable", True)
    if not isinstance(answerable, bool):
        raise ValueError(f"field 'answerable' must be true or false, got {answerable!r}")
    return GoldCase(
        id=obj["id"],
        question=obj["question"],
        answerable=answerable,
        must_include=_must_include(obj),
        evidence=_strings(obj, "evidence"),
        answers=_strings(obj, "answers"),
        gold_doc_ids=_strings(obj, "gold_doc_ids"),
        source=_optional_str(obj, "source"),
        section=_optional_str(obj, "section"),
        extra={k: v for k, v in obj.items() if k not in _KNOWN},
    )


def _raw_lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        yield from fh


def load_gold(path: str | Path) -> tuple[list[GoldCase], list[GoldError]]:
    """Read a gold file (.jsonl or .jsonl.gz): the cases that load, and one error per bad line."""
    path = Path(path)
    cases: list[GoldCase] = []
    errors: list[GoldError] = []
    seen: dict[str, int] = {}
    try:
        for lineno, raw in enumerate(_raw_lines(path), start=1):
            try:
                text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                errors.append(GoldError(str(path), lineno, f"not UTF-8: {exc}"))
                continue
            if not text.strip():
                continue
            try:
                case = case_from_json(json.loads(text))
            except json.JSONDecodeError as exc:
                errors.append(GoldError(str(path), lineno, f"invalid JSON: {exc.msg}"))
                continue
            except ValueError as exc:
                errors.append(GoldError(str(path), lineno, str(exc)))
                continue
            if case.id in seen:
                reason = f"duplicate id {case.id!r} (first on line {seen[case.id]})"
                errors.append(GoldError(str(path), lineno, reason))
                continue
            seen[case.id] = lineno
            cases.append(case)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise GoldFileError(f"cannot read gold file {path}: {exc}") from exc
    return cases, errors
