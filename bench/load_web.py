"""Load test of the web app's `ask` API: N concurrent gradio_client users on loopback.

Timed run (default): each user asks its own share of the gold questions (eval/gold/seed.*.jsonl,
distinct across users) with exponential inter-arrival times at `--rate` questions per second per
user (seeded), for `--duration` seconds; a request that would start after the deadline is not
sent, and each user sends at most `ceil(duration * rate) + 1` requests, so the run always stops
by itself.

Burst (`--burst N`): N users connect first, then each sends one question at the same instant.
Requests beyond the app's bounded queue (`max_queue` waiting + `concurrency_limit` running) are
refused by gradio with HTTP 503 "Queue is full", which gradio_client raises as `QueueError`; the
report gives how many were answered, refused (and how fast) or failed otherwise.

Writes the figures to bench/results/load_web.json (`--out`) and prints one summary line.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/load_web.py --users 2 --duration 10 --rate 0.5
    .venv/bin/python bench/load_web.py --url http://127.0.0.1:7860/ --users 50 --duration 120
    HF_HUB_OFFLINE=1 .venv/bin/python bench/load_web.py --spawn --index DIR --burst 200

Without `--url` the app is started on a free loopback port over `--index` (default: the
configured index, which must exist): in this process, or with `--spawn` as a child
`python -m ui.cli serve` process, whose resident memory is then reported too.
The tests in tests/test_load_web.py (extended tier) drive these functions.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import platform
import random
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GOLD = str(ROOT / "eval" / "gold" / "seed.*.jsonl")
DEFAULT_OUT = ROOT / "bench" / "results" / "load_web.json"

_TLS: ssl.SSLContext | None = None
_TLS_LOCK = threading.Lock()


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in [0, 100]); None for no values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([], 95)
    (2.0, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def load_questions(pattern: str = DEFAULT_GOLD) -> list[str]:
    """Distinct questions of the gold files matching `pattern`, in file order."""
    seen: dict[str, None] = {}
    files = sorted(glob.glob(pattern))
    if not files:
        raise SystemExit(f"no gold files match {pattern}")
    for path in files:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    seen.setdefault(json.loads(line)["question"], None)
                except (json.JSONDecodeError, KeyError) as exc:
                    raise SystemExit(f"{path}:{n}: not a gold case ({exc})") from exc
    return list(seen)


def share(questions: list[str], user: int, users: int) -> list[str]:
    """User `user`'s distinct questions (round-robin split).

    >>> share(["a", "b", "c", "d", "e"], 1, 2)
    ['b', 'd']
    """
    return questions[user::users]


def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every client of this process.

    gradio_client builds a new httpx client per request from its `ssl_verify`; given `True`,
    httpx loads the CA bundle each time (~20 ms of CPU under the GIL), which with hundreds of
    users in one process would measure the load generator rather than the app. A shared
    context keeps the same verification and loads the bundle once.
    """
    global _TLS
    with _TLS_LOCK:
        if _TLS is None:
            _TLS = ssl.create_default_context()
        return _TLS


def connect(url: str) -> Any:
    """A gradio_client user of the app at `url`."""
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False, ssl_verify=_tls())


def ask(client: Any, question: str) -> Any:
    """One question through the app's `ask` API (the `clinqa ask --json` object)."""
    return client.predict(question, api_name="/ask")


def is_queue_full(exc: BaseException) -> bool:
    """Whether `exc` is gradio_client's answer to gradio's 503 "Queue is full" refusal."""
    from gradio_client.utils import QueueError

    return isinstance(exc, QueueError)


@dataclass
class UserResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    abstained: int = 0


def run_user(
    url: str,
    questions: list[str],
    rate: float,
    deadline: float,
    max_requests: int,
    seed: int,
    result: UserResult,
) -> None:
    rng = random.Random(seed)
    try:
        client = connect(url)
    except Exception as exc:  # a user that cannot connect counts as errors, not a crash
        result.errors[f"connect: {type(exc).__name__}"] += 1
        return
    try:
        next_at = time.monotonic() + rng.expovariate(rate)
        for i in range(max_requests):
            if next_at >= deadline:
                break
            time.sleep(max(0.0, next_at - time.monotonic()))
            question = questions[i % len(questions)]
            t0 = time.perf_counter()
            try:
                out = ask(client, question)
                result.latencies_ms.append((time.perf_counter() - t0) * 1000)
                if isinstance(out, dict) and out.get("abstained"):
                    result.abstained += 1
            except Exception as exc:
                result.errors[type(exc).__name__] += 1
            next_at = max(next_at + rng.expovariate(rate), time.monotonic())
    finally:
        client.close()


@dataclass
class LoadRun:
    """What a timed run of `users` users produced."""

    users: int
    duration_s: float
    rate: float
    seed: int
    results: list[UserResult]
    wall_s: float
    unfinished_users: int


def run_load(
    url: str,
    questions: list[str],
    *,
    users: int,
    duration: float,
    rate: float,
    seed: int = 13,
) -> LoadRun:
    """`users` users, each asking its own share of `questions` at `rate`/s for `duration` s."""
    if users < 1 or duration <= 0 or rate <= 0:
        raise ValueError("users, duration and rate must be positive")
    if len(questions) < users:
        raise ValueError(f"{len(questions)} questions cannot give {users} users distinct ones")
    max_requests = math.ceil(duration * rate) + 1
    results = [UserResult() for _ in range(users)]
    start = time.monotonic()
    deadline = start + duration
    threads = [
        threading.Thread(
            target=run_user,
            args=(
                url,
                share(questions, u, users),
                rate,
                deadline,
                max_requests,
                seed + u,
                results[u],
            ),
            daemon=True,
        )
        for u in range(users)
    ]
    for t in threads:
        t.start()
    for t in threads:  # a hung request cannot keep the run alive forever
        t.join(timeout=max(0.0, deadline + 120 - time.monotonic()))
    wall = time.monotonic() - start
    unfinished = sum(t.is_alive() for t in threads)
    return LoadRun(users, duration, rate, seed, results, wall, unfinished)


def summarize(run: LoadRun) -> dict[str, Any]:
    """The report fields of a timed run (latencies in ms)."""
    latencies = [x for r in run.results for x in r.latencies_ms]
    errors: Counter[str] = Counter()
    for r in run.results:
        errors.update(r.errors)
    return {
        "users": run.users,
        "duration_s": run.duration_s,
        "rate_per_user_per_s": run.rate,
        "offered_rate_per_s": round(run.users * run.rate, 3),
        "arrivals": "exponential inter-arrival times (Poisson), seeded",
        "seed": run.seed,
        "requests_ok": len(latencies),
        "abstained": sum(r.abstained for r in run.results),
        "errors": sum(errors.values()),
        "errors_by_type": dict(errors),
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p95": percentile(latencies, 95),
        "latency_ms_max": max(latencies) if latencies else None,
        "throughput_per_s": round(len(latencies) / run.wall_s, 3) if run.wall_s > 0 else None,
        "wall_s": round(run.wall_s, 2),
        "unfinished_users": run.unfinished_users,
    }


@dataclass
class BurstResult:
    """One simultaneous request per user: answered, refused as queue-full, or failed."""

    users: int
    connect_s: float
    answered_ms: list[float] = field(default_factory=list)
    refused_ms: list[float] = field(default_factory=list)  # time to the queue-full answer
    # of each: from the request leaving gradio_client to the refusal (the app and loopback),
    # when known; the rest is the load generator's own delay in getting it out
    refused_after_send_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    unfinished: int = 0
    wall_s: float = 0.0


def burst(
    url: str,
    questions: list[str],
    users: int,
    *,
    connect_workers: int = 8,
    timeout_s: float = 600.0,
) -> BurstResult:
    """`users` users connect, then each sends one question (its own, if there are enough) at
    the same instant (a barrier); time each answer, queue-full refusal or other failure."""
    t0 = time.monotonic()
    with ThreadPoolExecutor(connect_workers) as pool:
        attempts = list(pool.map(_try_connect, [url] * users))
    result = BurstResult(users=users, connect_s=time.monotonic() - t0)
    clients = []
    for c in attempts:
        if isinstance(c, Exception):
            result.errors[f"connect: {type(c).__name__}"] += 1
        else:
            clients.append(c)
    lock = threading.Lock()
    gate = threading.Barrier(len(clients) + 1)

    def user(i: int, client: Any) -> None:
        question = questions[i % len(questions)]
        sent = _note_send(client)
        gate.wait()
        start = time.perf_counter()
        try:
            ask(client, question)
            ms, kind, exc = (time.perf_counter() - start) * 1000, "answered", None
        except Exception as e:
            ms, exc = (time.perf_counter() - start) * 1000, e
            kind = "refused" if is_queue_full(e) else "error"
        with lock:
            if kind == "answered":
                result.answered_ms.append(ms)
            elif kind == "refused":
                result.refused_ms.append(ms)
                if sent:
                    result.refused_after_send_ms.append(ms - (sent[0] - start) * 1000)
            else:
                result.errors[type(exc).__name__] += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"{type(exc).__name__}: {exc}"[:300])

    threads = [
        threading.Thread(target=user, args=(i, c), daemon=True) for i, c in enumerate(clients)
    ]
    for t in threads:
        t.start()
    gate.wait()  # every user is waiting at the gate: release them together
    start = time.monotonic()
    for t in threads:
        t.join(timeout=max(0.0, start + timeout_s - time.monotonic()))
    result.wall_s = time.monotonic() - start
    result.unfinished = sum(t.is_alive() for t in threads)
    close_all(clients)
    return result


def close_all(clients: list[Any]) -> None:
    """Close gradio_client clients together: each `close` waits up to 1 s for its heartbeat
    thread, so closing hundreds one after another would take minutes."""
    if clients:
        with ThreadPoolExecutor(min(len(clients), 256)) as pool:
            list(pool.map(lambda c: c.close(), clients))


def _note_send(client: Any) -> list[float]:
    """Record when `client` posts its request (gradio_client's `send_data`, if it has one):
    a diagnostic only, so the load generator's own delay can be told from the app's."""
    sent: list[float] = []
    original = getattr(client, "send_data", None)
    if callable(original):

        def send_data(*args: Any, **kwargs: Any) -> Any:
            sent.append(time.perf_counter())
            return original(*args, **kwargs)

        client.send_data = send_data
    return sent


def _try_connect(url: str) -> Any:
    try:
        return connect(url)
    except Exception as exc:
        return exc


def summarize_burst(b: BurstResult) -> dict[str, Any]:
    """The report fields of a burst (times in ms)."""
    return {
        "burst_users": b.users,
        "connect_s": round(b.connect_s, 2),
        "answered": len(b.answered_ms),
        "refused_queue_full": len(b.refused_ms),
        "errors": sum(b.errors.values()),
        "errors_by_type": dict(b.errors),
        "error_samples": b.error_samples,
        "unfinished": b.unfinished,
        "refusal_ms_p50": percentile(b.refused_ms, 50),
        "refusal_ms_max": max(b.refused_ms) if b.refused_ms else None,
        "refusal_after_send_ms_max": (
            max(b.refused_after_send_ms) if b.refused_after_send_ms else None
        ),
        "answered_ms_max": max(b.answered_ms) if b.answered_ms else None,
        "wall_s": round(b.wall_s, 2),
    }


def sequential_ms(url: str, questions: list[str]) -> list[float]:
    """One user asking `questions` one after another; the latency of each (ms)."""
    client = connect(url)
    try:
        out = []
        for q in questions:
            t0 = time.perf_counter()
            ask(client, q)
            out.append((time.perf_counter() - t0) * 1000)
        return out
    finally:
        client.close()


def median(values: list[float]) -> float:
    return float(statistics.median(values))


# -- the server's memory ---------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    """Resident memory of process `pid` in MiB (/proc), or None if it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class RssSampler:
    """Samples a process's resident memory every `interval` seconds while it is running."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            mb = rss_mb(self.pid)
            if mb is not None:
                self.samples.append(mb)
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float | None:
        return max(self.samples) if self.samples else None


# -- the app -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_local_app(index_dir: str | None) -> tuple[str, Any]:
    """Start the app in this process on a free loopback port; return its URL and the demo."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ui.app import build_app, launch_kwargs
    from ui.cli import open_qa
    from ui.config import load_settings

    port = free_port()
    settings = load_settings({"index_dir": index_dir, "host": "127.0.0.1", "port": port})
    if not (Path(settings.index_dir) / "CURRENT").is_file():
        raise SystemExit(f"no index at {settings.index_dir}: run `clinqa build` or pass --index")
    demo = build_app(open_qa(settings), settings)
    demo.launch(prevent_thread_lock=True, **launch_kwargs(demo, settings))
    return f"http://127.0.0.1:{port}/", demo


@dataclass
class SpawnedApp:
    """`clinqa serve` in a child process on a loopback port."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


def spawn_app(
    index_dir: str,
    *,
    log_path: Path,
    corpus_dir: str | None = None,
    env: Mapping[str, str] | None = None,
    ready_timeout_s: float = 600.0,
) -> SpawnedApp:
    """Start `python -m ui.cli serve` on a free loopback port (it builds the index from
    `corpus_dir` first if `index_dir` has none) and wait until its page answers."""
    port = free_port()
    child_env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    if corpus_dir is not None:
        child_env["CLINQA_CORPUS_DIR"] = corpus_dir
    child_env.update(env or {})
    cmd = [sys.executable, "-m", "ui.cli", "serve", "--index", index_dir]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=child_env, stdout=log, stderr=log)
    app = SpawnedApp(f"http://127.0.0.1:{port}/", proc, log_path)
    deadline = time.monotonic() + ready_timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"`clinqa serve` exited with {proc.returncode}:\n{app.log()}")
        try:
            with urllib.request.urlopen(app.url, timeout=5) as r:
                if r.status == 200:
                    return app
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            app.stop()
            raise RuntimeError(f"`clinqa serve` not up after {ready_timeout_s:g} s:\n{app.log()}")
        time.sleep(0.5)


@contextmanager
def spawned_app(index_dir: str, **kwargs: Any) -> Iterator[SpawnedApp]:
    app = spawn_app(index_dir, **kwargs)
    try:
        yield app
    finally:
        app.stop()


def write_report(report: Mapping[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--url", help="a running app (default: start one here)")
    p.add_argument("--index", help="index folder for the app started here")
    p.add_argument(
        "--spawn", action="store_true", help="start the app as a child process (reports its RSS)"
    )
    p.add_argument("--users", type=int, default=2)
    p.add_argument("--duration", type=float, default=10.0, help="seconds")
    p.add_argument("--rate", type=float, default=0.5, help="questions per second per user")
    p.add_argument(
        "--burst", type=int, metavar="N", help="instead: N users send one question at once"
    )
    p.add_argument("--gold", default=DEFAULT_GOLD)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--out", default=str(DEFAULT_OUT))
    p.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="skip the one untimed request sent before the run",
    )
    args = p.parse_args(argv)
    if args.users < 1 or args.duration <= 0 or args.rate <= 0:
        raise SystemExit("--users, --duration and --rate must be positive")
    if args.burst is not None and args.burst < 1:
        raise SystemExit("--burst must be positive")
    questions = load_questions(args.gold)
    if args.burst is None and len(questions) < args.users:
        raise SystemExit(f"{len(questions)} questions cannot give {args.users} users distinct ones")
    demo = None
    spawned: SpawnedApp | None = None
    url = args.url
    pid: int | None = None
    if url is None and args.spawn:
        index = args.index
        if index is None:
            from ui.config import load_settings

            index = load_settings().index_dir
        spawned = spawn_app(index, log_path=Path(args.out).with_suffix(".server.log"))
        url, pid = spawned.url, spawned.pid
    elif url is None:
        url, demo = start_local_app(args.index)
        pid = os.getpid()
    try:
        if args.warmup:  # load the model and caches before the clock starts
            sequential_ms(url, questions[:1])
        rss_before = rss_mb(pid) if pid is not None else None
        sampler = RssSampler(pid) if pid is not None else None
        with sampler if sampler is not None else nullcontext():
            if args.burst is not None:
                body = summarize_burst(burst(url, questions, args.burst))
            else:
                run = run_load(
                    url,
                    questions,
                    users=args.users,
                    duration=args.duration,
                    rate=args.rate,
                    seed=args.seed,
                )
                body = summarize(run)
        memory = {
            "server_pid": pid,
            "rss_mb_before": rss_before,
            "rss_mb_peak": sampler.peak_mb if sampler is not None else None,
            "rss_mb_after": rss_mb(pid) if pid is not None else None,
        }
    finally:
        if spawned is not None:
            spawned.stop()
        if demo is not None:
            from ui.app import app_state

            demo.close()
            app_state(demo).close()
    report = {
        "url": url,
        "mode": "burst" if args.burst is not None else "timed",
        "app": "spawned" if spawned else "in-process" if demo is not None else "external",
        "warmup": args.warmup,
        "gold": args.gold,
        "questions_available": len(questions),
        **body,
        "memory": memory,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    out = Path(args.out)
    write_report(report, out)
    if args.burst is not None:
        print(
            f"load_web: burst of {args.burst}: {body['answered']} answered, "
            f"{body['refused_queue_full']} refused (queue full; max "
            f"{_ms(body['refusal_ms_max'])} ms), {body['errors']} errors -> {out}"
        )
    else:
        print(
            f"load_web: {args.users} users x {args.duration:g}s at {args.rate:g}/s each: "
            f"{body['requests_ok']} ok, {body['errors']} errors, p50 "
            f"{_ms(body['latency_ms_p50'])} ms, p95 {_ms(body['latency_ms_p95'])} ms -> {out}"
        )
    return 0 if body["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
