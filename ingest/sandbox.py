"""Read untrusted files in a child process with a time and memory limit: `read_file_sandboxed`.

The child (`python -m ingest.sandbox`) runs `ingest.readers.read_file` under
`resource.setrlimit(RLIMIT_AS, memory_bytes)` and answers each request on its stdout with one JSON
line per document, then an end line; no pickle crosses the pipe, and the parent takes the documents
one at a time (`SandboxReader.stream`), so a large bulk file is never held whole on this side. The
parent waits at most `timeout_s` for each line and kills the child when it is late. A timeout, a
MemoryError or a child that dies becomes a `ReadFailure` whose `error_class` is "Timeout",
"MemoryLimit" or "Crash" and whose reason names the limit; the next file gets a fresh child.
`iter_documents_sandboxed` walks files like `iter_documents`, reusing one child while it stays
healthy.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path, PurePath
from typing import Any

from ingest.errors import ReadFailure
from ingest.readers import MAX_FILE_BYTES, FileReader, iter_documents, read_file
from ingest.types import Document, Span

__all__ = ["SandboxReader", "file_reader", "iter_documents_sandboxed", "read_file_sandboxed"]

Item = Document | ReadFailure
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MEMORY_BYTES = 1 << 30
STARTUP_TIMEOUT_S = 60.0  # the child's own start (imports) is not charged to a file
_READY = b'{"ready":true}\n'


def item_json(item: Item) -> dict[str, Any]:
    """A document or failure as a JSON object (the child's side of the pipe).

    >>> item_json(ReadFailure("a.pdf", "broken PDF", "ReadError"))["kind"]
    'failure'
    """
    if isinstance(item, ReadFailure):
        return {"kind": "failure", **asdict(item)}
    return {"kind": "document", **asdict(item)}


def item_from_json(d: dict[str, Any]) -> Item:
    """The `Document` or `ReadFailure` that `item_json` wrote.

    >>> item_from_json({"kind": "failure", "path": "a", "reason": "r", "error_class": "E"})
    ReadFailure(path='a', reason='r', error_class='E', line=None)
    """
    fields = {k: v for k, v in d.items() if k != "kind"}
    if d.get("kind") == "failure":
        return ReadFailure(**fields)
    fields["sections"] = tuple(Span(**s) for s in fields.get("sections", ()))
    fields["pages"] = tuple(Span(**s) for s in fields.get("pages", ()))
    fields["aliases"] = tuple(fields.get("aliases", ()))
    return Document(**fields)


class SandboxReader:
    """A reusable child process that reads one file per request; restarted after a failure."""

    def __init__(
        self,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
        max_file_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        self.timeout_s = timeout_s
        self.memory_bytes = memory_bytes
        self.max_file_bytes = max_file_bytes
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending = bytearray()  # what the child sent past the last full line
        self._streaming: object | None = None  # the stream whose answer the child is sending

    def __enter__(self) -> SandboxReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, path: Path, relative: PurePath | None = None) -> list[Item]:
        """All documents of one file, or a ReadFailure (after the documents taken before the
        child failed, when it failed midway: see `stream`); never raises for a bad file."""
        return list(self.stream(path, relative))

    def stream(self, path: Path, relative: PurePath | None = None) -> Iterator[Item]:
        """The documents of one file as the child sends them, one JSON line each, so that the
        parent holds one document at a time however large the file; a ReadFailure ends them
        when the file cannot be read. The child reads the whole file before it sends the first
        line, so the time limit is on the wait for each line (time the caller spends between
        documents is not charged to the file). A child that fails after it started sending (it
        dies, or its pipe breaks) leaves the documents already taken and a ReadFailure that
        says how many. A stream left unfinished kills the child when it is closed, or when the
        next stream starts, so the rest of one file never reaches another."""
        shown = str(path)
        rel = relative if relative is not None else PurePath(Path(path).name)
        request = {"path": str(path), "relative": rel.as_posix(), "max": self.max_file_bytes}
        if self._streaming is not None:  # an earlier stream stopped midway: its lines are junk
            self.close()
        try:
            proc = self._start()
        except _ChildFailed as exc:
            self.close()
            yield ReadFailure(shown, exc.reason, exc.error_class)
            return
        token = self._streaming = object()
        sent = 0
        try:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
            proc.stdin.flush()
            while True:
                if self._streaming is not token:  # resumed after another file took the child
                    yield ReadFailure(shown, _after(_SUPERSEDED, sent), "Crash")
                    return
                answer = json.loads(self._read_line(proc, self.timeout_s))
                if not isinstance(answer, dict):
                    raise ValueError(f"the child sent {type(answer).__name__}, not an object")
                if "end" in answer:
                    if answer["end"] != sent:
                        raise ValueError(f"the child ended after {answer['end']}, sent {sent}")
                    self._streaming = None
                    return
                item = item_from_json(answer["item"])
                sent += 1
                yield item
        except _ChildFailed as exc:
            if self._streaming is token:
                self.close()
            yield ReadFailure(shown, _after(exc.reason, sent), exc.error_class)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # broken pipe, bad answer
            if self._streaming is token:
                self.close()
            reason = f"sandboxed reader failed ({type(exc).__name__}: {exc})"
            yield ReadFailure(shown, _after(reason, sent), "Crash")
        finally:
            if self._streaming is token:  # left midway, and no later stream took the child
                self.close()

    def close(self) -> None:
        """Kill the child (if any) and reap it."""
        proc, self._proc = self._proc, None
        self._pending.clear()
        self._streaming = None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self.close()
        cmd = [sys.executable, "-m", "ingest.sandbox", str(int(self.memory_bytes))]
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        ready = self._read_line(self._proc, STARTUP_TIMEOUT_S, starting=True)
        if ready != _READY:
            raise _ChildFailed(f"sandboxed reader sent {ready[:80]!r} instead of ready", "Crash")
        return self._proc

    def _read_line(
        self, proc: subprocess.Popen[bytes], timeout_s: float, *, starting: bool = False
    ) -> bytes:
        """The child's next line within `timeout_s`, else `_ChildFailed` naming the limit."""
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        searched = 0  # bytes of _pending already known to hold no newline
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                cut = self._pending.find(b"\n", searched)
                if cut >= 0:
                    line = bytes(self._pending[: cut + 1])
                    del self._pending[: cut + 1]
                    return line
                searched = len(self._pending)
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    proc.kill()
                    what = "start" if starting else "read the file"
                    raise _ChildFailed(
                        f"did not {what} within the time limit of {timeout_s:g} s (killed)",
                        "Timeout",
                    )
                block = os.read(fd, 1 << 16)  # a pipe holds 64 KiB
                if not block:
                    raise _ChildFailed(self._death(proc), "Crash")
                self._pending += block

    def _death(self, proc: subprocess.Popen[bytes]) -> str:
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
        return (
            f"sandboxed reader {how} (memory limit {self.memory_bytes:,} bytes, "
            f"time limit {self.timeout_s:g} s)"
        )


_SUPERSEDED = "the reader went on to another file before this one was read to its end"


def _after(reason: str, sent: int) -> str:
    """`reason`, saying how many of the file's documents were taken before it (when any)."""
    return f"{reason} (after {sent} of the file's documents)" if sent else reason


class _ChildFailed(Exception):
    def __init__(self, reason: str, error_class: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_class = error_class


@contextmanager
def file_reader(
    sandboxed: bool,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> Iterator[FileReader | None]:
    """The `read` to give `iter_documents`: a sandboxed child's, or None (read in-process)."""
    if not sandboxed:
        yield None
        return
    with SandboxReader(
        timeout_s=timeout_s, memory_bytes=memory_bytes, max_file_bytes=max_file_bytes
    ) as reader:
        yield reader.stream


def read_file_sandboxed(
    path: str | Path,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> list[Item]:
    """`read_file(path)` in a fresh child process with a time and memory limit."""
    with SandboxReader(
        timeout_s=timeout_s, memory_bytes=memory_bytes, max_file_bytes=max_file_bytes
    ) as reader:
        return reader.read(Path(path))


def iter_documents_sandboxed(
    paths: Iterable[str | Path],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> Iterator[Item]:
    """Like `ingest.readers.iter_documents`, with every file read in the sandbox."""
    with SandboxReader(
        timeout_s=timeout_s, memory_bytes=memory_bytes, max_file_bytes=max_file_bytes
    ) as reader:
        yield from iter_documents(paths, max_file_bytes=max_file_bytes, read=reader.stream)


def _child_answers(request: dict[str, Any], memory_bytes: int) -> Iterator[bytes]:
    """The child's JSON lines for one request: an item a line, then the end line (a
    MemoryError becomes a "MemoryLimit" failure)."""
    path = str(request["path"])
    sent = 0
    try:
        items = read_file(Path(path), PurePath(request["relative"]), max_file_bytes=request["max"])
        items.reverse()
        while items:  # each item is let go once sent
            yield (json.dumps({"item": item_json(items.pop())}, default=str) + "\n").encode()
            sent += 1
        yield _end(sent)
        return
    except MemoryError:
        reason = f"reading needed more than the memory limit of {memory_bytes:,} bytes"
        failure = ReadFailure(path, reason, "MemoryLimit")
    except RecursionError as exc:
        failure = ReadFailure(path, f"recursion limit reached ({exc})", "Crash")
    yield (json.dumps({"item": item_json(failure)}) + "\n").encode()
    yield _end(sent + 1)


def _end(count: int) -> bytes:
    return (json.dumps({"end": count}) + "\n").encode()


def _child_main(memory_bytes: int) -> None:
    """The child's loop: limits first, then for each request line on stdin its answer lines."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    out = sys.stdout.buffer
    out.write(_READY)
    out.flush()
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        for answer in _child_answers(json.loads(line), memory_bytes):
            out.write(answer)
        out.flush()


if __name__ == "__main__":
    _child_main(int(sys.argv[1]))
