"""Ingest errors: two exception classes, and `ReadFailure`, the record of a file that was skipped.

A reader never stops the walk for one bad file: it yields a `ReadFailure` naming the file (and the
line, for JSON Lines) with a readable reason, and carries on with the next one.
"""

from __future__ import annotations

from dataclasses import dataclass


class IngestError(Exception):
    """Base class of every error raised by `ingest`."""


class ReadError(IngestError):
    """A source file (or one record of it) could not be turned into documents."""

    def __init__(self, reason: str, *, line: int | None = None) -> None:
        super().__init__(reason if line is None else f"line {line}: {reason}")
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class ReadFailure:
    """One file (or one JSONL line) that was skipped, and why.

    >>> str(ReadFailure("a.jsonl", "invalid JSON", "JSONDecodeError", 3))
    'a.jsonl:3: invalid JSON (JSONDecodeError)'
    """

    path: str
    reason: str
    error_class: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.reason} ({self.error_class})"
