"""documents.jsonl of a new version, without holding the new documents' texts in memory.

Every document a build adds or replaces arrives with its full text. Its documents.jsonl line is
encoded once and written to an anonymous scratch file as it arrives (`RecordSpool.add`); a
document kept from the previous version is copied from that version's file (`keep` is given how
to read its line). The version's documents.jsonl is then streamed in doc_id order from both.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def record_line(record: dict[str, Any]) -> bytes:
    """One documents.jsonl line.

    >>> record_line({"doc_id": "a", "text": "é"})
    b'{"doc_id": "a", "text": "\\xc3\\xa9"}\\n'
    """
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


class RecordSpool:
    """doc_id -> documents.jsonl line: added records spooled to a scratch file, kept ones read
    back from where they are.

    >>> s = RecordSpool()
    >>> s.add({"doc_id": "b", "text_sha": "2"})
    >>> s.keep("a", "1", lambda: record_line({"doc_id": "a", "text_sha": "1"}))
    >>> s.add({"doc_id": "b", "text_sha": "3"})  # a later copy of the same doc_id wins
    >>> len(s), s.hash_pairs(), b"".join(s.lines()).count(b"\\n")
    (2, [['a', '1'], ['b', '3']], 2)
    >>> s.close()
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self._file = tempfile.TemporaryFile(dir=folder)  # unlinked at once
        self._end = 0
        self._spooled: dict[str, tuple[int, int, str]] = {}  # offset, length, text_sha
        self._kept: dict[str, tuple[str, Callable[[], bytes]]] = {}  # text_sha, line

    def add(self, record: dict[str, Any]) -> None:
        line = record_line(record)
        self._file.write(line)
        doc_id = str(record["doc_id"])
        self._kept.pop(doc_id, None)
        self._spooled[doc_id] = (self._end, len(line), str(record["text_sha"]))
        self._end += len(line)

    def keep(self, doc_id: str, text_sha: str, line: Callable[[], bytes]) -> None:
        """Keep `doc_id` (its text's sha256) with the line `line()` reads."""
        self._spooled.pop(doc_id, None)
        self._kept[doc_id] = (text_sha, line)

    def __len__(self) -> int:
        return len(self._spooled) + len(self._kept)

    def doc_ids(self) -> list[str]:
        return sorted(self._spooled.keys() | self._kept.keys())

    def hash_pairs(self) -> list[list[str]]:
        """[doc_id, text_sha] per document, sorted (what the manifest's corpus_hash is over)."""
        return [[d, self._text_sha(d)] for d in self.doc_ids()]

    def lines(self) -> Iterator[bytes]:
        """documents.jsonl, a line at a time in doc_id order."""
        self._file.flush()
        for doc_id in self.doc_ids():
            kept = self._kept.get(doc_id)
            if kept is not None:
                yield kept[1]()
                continue
            offset, length, _ = self._spooled[doc_id]
            line = os.pread(self._file.fileno(), length, offset)
            if len(line) != length:
                raise OSError(f"record spool: the line of {doc_id} is cut off")
            yield line

    def close(self) -> None:
        self._file.close()

    def _text_sha(self, doc_id: str) -> str:
        kept = self._kept.get(doc_id)
        return kept[0] if kept is not None else self._spooled[doc_id][2]
