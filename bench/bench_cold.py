"""Cold start: wall time from process start to printed answer, and the child's peak RSS."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from timing import median

ROOT = Path(__file__).resolve().parent.parent
TIME = "/usr/bin/time"


def timed_child(argv: Sequence[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """(wall seconds, peak RSS bytes, exit code, stdout head) of `argv` run under /usr/bin/time.

    /usr/bin/time reports the command's own peak RSS; os.wait4 on a child forked from this
    (large) process would report at least this process's RSS (Linux keeps the high-water mark
    across fork and exec).
    """
    fd, tmp = tempfile.mkstemp(prefix="bench-time-")
    os.close(fd)
    try:
        wall, _, code, head = forked_child([TIME, "-f", "%M", "-o", tmp, *argv], env)
        lines = Path(tmp).read_text(encoding="utf-8").split()
        peak_kb = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    finally:
        Path(tmp).unlink(missing_ok=True)
    return wall, peak_kb * 1024, code, head


def forked_child(argv: Sequence[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """(wall seconds, peak RSS bytes, exit code, stdout head) of one child, via os.wait4."""
    t0 = time.perf_counter()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: exec the command with stdout into the pipe
        os.close(read_fd)
        os.dup2(write_fd, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.chdir(ROOT)
        os.execve(argv[0], list(argv), env)
    os.close(write_fd)
    chunks = []
    while True:
        data = os.read(read_fd, 65536)
        if not data:
            break
        chunks.append(data)
    os.close(read_fd)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    return (
        wall,
        int(usage.ru_maxrss) * 1024,
        code,
        b"".join(chunks).decode("utf-8", "replace")[:200],
    )


def cold_start(label: str, argv: Sequence[str], runs: int) -> dict[str, Any]:
    """Median wall time and peak RSS of `runs` fresh processes."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    walls, rss, head = [], [], ""
    for _ in range(runs):
        wall, peak, code, head = timed_child(argv, env)
        if code != 0:
            raise RuntimeError(f"{label}: {' '.join(argv)} exited {code}: {head!r}")
        walls.append(wall)
        rss.append(peak)
    shown = [".venv/bin/python", *argv[1:]] if argv[0] == sys.executable else list(argv)
    shown = [a.replace(str(ROOT) + "/", "") for a in shown]
    return {
        "label": label, "command": shlex.join(shown), "runs": runs,
        "wall_s_runs": [round(w, 2) for w in walls], "wall_s_median": round(median(walls), 2),
        "peak_rss_mb_median": round(median(rss) / 2**20, 1),
        "output_head": head.strip().splitlines()[0][:120] if head.strip() else "",
    }  # fmt: skip
