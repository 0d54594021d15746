"""Durable file writes and file hashes for the index folder (write, fsync, os.replace)."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of `data`.

    >>> sha256_bytes(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    """Hex sha256 of the UTF-8 bytes of `text`.

    >>> sha256_text("abc")[:12]
    'ba7816bf8f01'
    """
    return sha256_bytes(text.encode("utf-8"))


def file_digest(path: Path) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of the file at `path`, read in blocks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


Writer = Callable[[Callable[[bytes], int]], object]  # fills a file through its write function


def write_durable(path: Path, data: bytes | Iterable[bytes | memoryview] | Writer) -> None:
    """Write `data` (bytes, an iterable of byte strings written as they come, or a function that
    is handed the file's `write`) to `path` and fsync it (for files inside a folder not yet
    published)."""
    with open(path, "wb") as f:
        if isinstance(data, bytes | bytearray | memoryview):
            f.write(data)
        elif callable(data):
            data(f.write)
        else:
            for part in data:
                f.write(part)
        f.flush()
        os.fsync(f.fileno())


def fsync_path(path: Path) -> None:
    """fsync a file or a folder so its contents or entries reach the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """fsync every file and folder under `folder`, then `folder` itself."""
    for root, dirs, files in os.walk(folder):
        for name in files:
            fsync_path(Path(root) / name)
        for name in dirs:
            fsync_path(Path(root) / name)
    fsync_path(folder)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` all at once: temp file in the same folder, fsync, os.replace."""
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        write_durable(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_path(path.parent)
