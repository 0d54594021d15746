"""Load test of the web app's `ask` API: N concurrent gradio_client users on loopback.

Each user asks its own share of the gold questions (eval/gold/seed.*.jsonl, distinct across
users) with exponential inter-arrival times at `--rate` questions per second per user (seeded),
for `--duration` seconds; a request that would start after the deadline is not sent, and each
user sends at most `ceil(duration * rate) + 1` requests, so the run always stops by itself.
Writes p50/p95 latency, throughput and error counts to bench/results/load_web.json and prints
one summary line.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/load_web.py --users 2 --duration 10 --rate 0.5
    .venv/bin/python bench/load_web.py --url http://127.0.0.1:7860/ --users 50 --duration 120

Without `--url` the app is started in this process on a free loopback port over `--index`
(default: the configured index, which must exist).
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
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GOLD = str(ROOT / "eval" / "gold" / "seed.*.jsonl")
DEFAULT_OUT = ROOT / "bench" / "results" / "load_web.json"


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


def load_questions(pattern: str) -> list[str]:
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
    from gradio_client import Client

    rng = random.Random(seed)
    try:
        client = Client(url, verbose=False, download_files=False)
    except Exception as exc:  # a user that cannot connect counts as errors, not a crash
        result.errors[f"connect: {type(exc).__name__}"] += 1
        return
    next_at = time.monotonic() + rng.expovariate(rate)
    for i in range(max_requests):
        if next_at >= deadline:
            break
        time.sleep(max(0.0, next_at - time.monotonic()))
        question = questions[i % len(questions)]
        t0 = time.perf_counter()
        try:
            out = client.predict(question, api_name="/ask")
            result.latencies_ms.append((time.perf_counter() - t0) * 1000)
            if isinstance(out, dict) and out.get("abstained"):
                result.abstained += 1
        except Exception as exc:
            result.errors[type(exc).__name__] += 1
        next_at = max(next_at + rng.expovariate(rate), time.monotonic())


def start_local_app(index_dir: str | None) -> tuple[str, Any]:
    """Start the app in this process on a free loopback port; return its URL and the demo."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ui.app import build_app, launch_kwargs
    from ui.cli import open_qa
    from ui.config import load_settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    settings = load_settings({"index_dir": index_dir, "host": "127.0.0.1", "port": port})
    if not (Path(settings.index_dir) / "CURRENT").is_file():
        raise SystemExit(f"no index at {settings.index_dir}: run `clinqa build` or pass --index")
    demo = build_app(open_qa(settings), settings)
    demo.launch(prevent_thread_lock=True, **launch_kwargs(demo, settings))
    return f"http://127.0.0.1:{port}/", demo


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", help="a running app (default: start one here)")
    p.add_argument("--index", help="index folder for the app started here")
    p.add_argument("--users", type=int, default=2)
    p.add_argument("--duration", type=float, default=10.0, help="seconds")
    p.add_argument("--rate", type=float, default=0.5, help="questions per second per user")
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
    questions = load_questions(args.gold)
    if len(questions) < args.users:
        raise SystemExit(f"{len(questions)} questions cannot give {args.users} users distinct ones")
    demo = None
    url = args.url
    if url is None:
        url, demo = start_local_app(args.index)
    if args.warmup:  # load the model and caches before the clock starts
        from gradio_client import Client

        Client(url, verbose=False, download_files=False).predict(questions[0], api_name="/ask")
    max_requests = math.ceil(args.duration * args.rate) + 1
    results = [UserResult() for _ in range(args.users)]
    start = time.monotonic()
    deadline = start + args.duration
    threads = [
        threading.Thread(
            target=run_user,
            args=(
                url,
                share(questions, u, args.users),
                args.rate,
                deadline,
                max_requests,
                args.seed + u,
                results[u],
            ),
            daemon=True,
        )
        for u in range(args.users)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.duration + 120)  # a hung request cannot keep the run alive forever
    wall = time.monotonic() - start
    if demo is not None:
        from ui.app import app_state

        demo.close()
        app_state(demo).close()
    latencies = [x for r in results for x in r.latencies_ms]
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r.errors)
    report = {
        "url": url,
        "users": args.users,
        "duration_s": args.duration,
        "rate_per_user_per_s": args.rate,
        "arrivals": "exponential inter-arrival times (Poisson), seeded",
        "seed": args.seed,
        "warmup": args.warmup,
        "gold": args.gold,
        "questions_available": len(questions),
        "requests_ok": len(latencies),
        "abstained": sum(r.abstained for r in results),
        "errors": sum(errors.values()),
        "errors_by_type": dict(errors),
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p95": percentile(latencies, 95),
        "latency_ms_max": max(latencies) if latencies else None,
        "throughput_per_s": round(len(latencies) / wall, 3) if wall > 0 else None,
        "wall_s": round(wall, 2),
        "unfinished_users": sum(t.is_alive() for t in threads),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)
    p50, p95 = report["latency_ms_p50"], report["latency_ms_p95"]
    print(
        f"load_web: {args.users} users x {args.duration:g}s at {args.rate:g}/s each: "
        f"{len(latencies)} ok, {report['errors']} errors, p50 "
        f"{'-' if p50 is None else f'{p50:.0f}'} ms, p95 {'-' if p95 is None else f'{p95:.0f}'}"
        f" ms -> {out}"
    )
    return 0 if report["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
