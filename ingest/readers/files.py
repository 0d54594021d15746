"""Opening source files: size limit, strict UTF-8, binary detection, hidden-character stripping.

The only module of `ingest` that touches the file system, besides the walker that lists files.
"""

from __future__ import annotations

from pathlib import Path

from ingest.errors import ReadError
from ingest.text import strip_hidden

_BINARY_PROBE = 8192
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f", "\v"}


def load_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; ReadError when it is missing, unreadable, empty or over `max_bytes`."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ReadError(f"cannot stat file: {exc.strerror or exc}") from exc
    if size > max_bytes:
        raise ReadError(f"file is {size:,} bytes, over the limit of {max_bytes:,}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"cannot read file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise ReadError("file is empty")
    return data


def decode_text(data: bytes) -> tuple[str, int]:
    """Strict UTF-8 text with newlines as "\\n" and hidden characters removed, and their count.

    >>> decode_text("\\ufeffa\\r\\nb\\u200b".encode())
    ('a\\nb', 1)
    """
    if b"\x00" in data[:_BINARY_PROBE]:
        raise ReadError("binary content (NUL bytes) in a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReadError(
            f"invalid UTF-8 at byte {exc.start} ({data[exc.start : exc.start + 4]!r})", line=line
        ) from exc
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    probe = text[:_BINARY_PROBE]
    controls = sum(1 for c in probe if ord(c) < 32 and c not in _ALLOWED_CONTROLS)
    if probe and controls > max(8, len(probe) // 100):
        raise ReadError(f"binary content ({controls} control characters) in a text file")
    cleaned, stripped = strip_hidden(text)
    if not cleaned.strip():
        raise ReadError("file has no text")
    return cleaned, stripped
