"""Attack tests of web sessions over the real app on 127.0.0.1 (gradio_client, real uploads).

- Session isolation: two sessions upload documents with unique canaries and ask for each other's
  over 500 questions: 0 leaks; ending a session (its heartbeat stream closes, as when a browser
  tab closes) deletes its files.
- Uploads: over the size limit refused with 413 and no disk growth; `.html`, `.svg`, `.js`
  refused; 20 parallel uploads near the size limit: 0 server errors, memory bounded, the chunk
  caps refusing with a message naming the limit; the per-session chunk cap.

Every attack starts with its positive control (a session answers from its own upload; a small
upload is accepted).
"""

from __future__ import annotations

import json
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fixtures_web import RunningApp, web_app, web_corpus, web_embedder, web_qa, web_settings  # noqa: F401

QUESTIONS = 500
CANARIES = {
    "a": ("Brivantel", "quorbic fever", "CANARY-A-5b1e9f", "41 mg"),
    "b": ("Toxelmide", "plinth syndrome", "CANARY-B-c07d42", "73 mg"),
}


def _canary_text(key: str) -> str:
    drug, condition, token, dose = CANARIES[key]
    return (
        f"{drug} prescribing note {token}.\n\n"
        f"{drug} is given at {dose} by mouth twice daily for {condition}. "
        f"Reference code {token}.\n\n"
        f"{drug} tablets are stored at room temperature.\n"
    )


def _client(app: RunningApp) -> Any:
    from gradio_client import Client

    return Client(app.url, verbose=False, download_files=False)


def _upload(client: Any, *paths: Path) -> str:
    from gradio_client import handle_file

    out = client.predict([handle_file(str(p)) for p in paths], api_name="/upload")
    return str(out[0])


def _rss() -> int:
    """Resident memory of this process (the app runs in it), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def _end_session(app: RunningApp, session_hash: str, timeout: float = 60.0) -> bool:
    """Open the session's heartbeat stream and drop it, as a closing browser tab does; True when
    the app then forgets the session."""
    from ui.app import app_state

    state = app_state(app.demo)
    held = state.sessions.get(session_hash)  # before the stream: its end may be seen at once
    assert held is not None, "the session holds no uploads"
    with httpx.stream("GET", f"{app.url}gradio_api/heartbeat/{session_hash}", timeout=10) as r:
        assert r.status_code == 200
        next(r.iter_lines())  # the first "ALIVE"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state.sessions.get(session_hash) is None and not held.folder.exists():
            return True
        time.sleep(0.25)
    return False


@pytest.fixture()
def clients(web_app: RunningApp) -> Iterator[list[Any]]:  # noqa: F811
    """Fresh gradio_client sessions; whatever they leave behind is closed afterwards."""
    from ui.app import app_state

    made: list[Any] = []
    yield made
    state = app_state(web_app.demo)
    for c in made:
        state.sessions.close(c.session_hash)
        c.close()


# -- session isolation -----------------------------------------------------------------------


def test_sessions_never_see_each_others_uploads(
    web_app: RunningApp,  # noqa: F811
    clients: list[Any],
    tmp_path: Path,
) -> None:
    from ui.app import app_state

    state = app_state(web_app.demo)
    a, b = _client(web_app), _client(web_app)
    clients.extend([a, b])
    assert a.session_hash != b.session_hash
    own = {"a": a, "b": b}
    for key, client in own.items():
        path = tmp_path / f"note-{key}.txt"
        path.write_text(_canary_text(key), encoding="utf-8")
        status = _upload(client, path)
        assert "1 document(s)" in status, status
    folders = {k: state.sessions.get(c.session_hash) for k, c in own.items()}
    assert all(f is not None and any(f.folder.iterdir()) for f in folders.values())

    def asks(key: str) -> list[str]:
        drug, condition, token, _ = CANARIES[key]
        return [
            f"What is the dose of {drug}?",
            f"Which drug is given for {condition}?",
            f"What does reference code {token} refer to?",
            f"How is {drug} stored?",
            f"{drug} {condition} {token}",
        ]

    # positive control: each session answers from its own upload, quoting it
    for key, client in own.items():
        got = client.predict(asks(key)[0], api_name="/ask")
        assert not got["abstained"], got
        assert CANARIES[key][3] in got["answer"]
        assert any(CANARIES[key][2] in p["text"] for p in got["passages"])

    rng = random.Random(11)
    plan = []  # (asker, other): mostly the other session's canary, some of its own
    for i in range(QUESTIONS):
        asker = "a" if i % 2 == 0 else "b"
        target = asker if i % 10 == 0 else ("b" if asker == "a" else "a")
        plan.append((asker, target, rng.choice(asks(target))))
    leaks: list[str] = []
    own_answers = 0

    def run(asker: str) -> None:
        nonlocal own_answers
        other = "b" if asker == "a" else "a"
        forbidden = [CANARIES[other][0], CANARIES[other][2], CANARIES[other][3]]
        for who, target, q in plan:
            if who != asker:
                continue
            got = own[asker].predict(q, api_name="/ask")
            blob = json.dumps(got, ensure_ascii=False)
            # the question itself may name the other canary; nothing else in the reply may
            reply = blob.replace(json.dumps(q, ensure_ascii=False)[1:-1], "")
            hit = [f for f in forbidden if f.lower() in reply.lower()]
            if hit:
                leaks.append(f"{asker} asked {q!r} and saw {hit}")
            if target == asker and not got["abstained"] and CANARIES[asker][2] in blob:
                own_answers += 1

    threads = [threading.Thread(target=run, args=(k,)) for k in own]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"\n{QUESTIONS} cross-session questions: {len(leaks)} leaks; own answers {own_answers}")
    assert leaks == []
    assert own_answers >= QUESTIONS // 10 // 2  # the sessions kept answering from their own

    # ending a session deletes its files; the other session keeps its own
    assert _end_session(web_app, a.session_hash)
    assert not folders["a"].folder.exists()  # type: ignore[union-attr]
    assert folders["b"].folder.exists()  # type: ignore[union-attr]
    assert not b.predict(asks("b")[0], api_name="/ask")["abstained"]
    assert _end_session(web_app, b.session_hash)
    assert not folders["b"].folder.exists()  # type: ignore[union-attr]


# -- uploads ---------------------------------------------------------------------------------


def _tree_bytes(*roots: Path) -> int:
    total = 0
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for f in files:
                try:
                    total += os.path.getsize(os.path.join(dirpath, f))
                except OSError:
                    pass
    return total


def _upload_roots(web_app: RunningApp) -> list[Path]:  # noqa: F811
    from ui.app import app_state

    cache = os.environ.get("GRADIO_TEMP_DIR") or str(Path(tempfile.gettempdir()) / "gradio")
    return [app_state(web_app.demo).uploads_root, Path(cache)]


def test_an_upload_over_the_size_limit_is_refused_with_413_and_leaves_no_file(
    web_app: RunningApp,  # noqa: F811
    tmp_path: Path,
) -> None:
    url = f"{web_app.url}gradio_api/upload"
    small = tmp_path / "small.txt"
    small.write_text("Ok to upload.\n", encoding="utf-8")
    with small.open("rb") as fh:  # positive control: the upload route takes a small file
        ok = httpx.post(url, files={"files": ("small.txt", fh, "text/plain")}, timeout=60)
    assert ok.status_code == 200, ok.text
    limit = web_app.settings.max_upload_mb * 1024 * 1024
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        fh.write(b"a" * (limit + 1024 * 1024))
    before = _tree_bytes(*_upload_roots(web_app))
    with big.open("rb") as fh:
        refused = httpx.post(url, files={"files": ("big.txt", fh, "text/plain")}, timeout=120)
    after = _tree_bytes(*_upload_roots(web_app))
    print(f"\nover-limit upload: HTTP {refused.status_code}; disk {before:,} -> {after:,} bytes")
    assert refused.status_code == 413, refused.text
    assert after - before < 1024 * 1024, "the refused upload left data on disk"


@pytest.mark.parametrize("name", ["page.html", "image.svg", "script.js", "notes.txt.exe"])
def test_uploads_of_active_content_types_are_refused(
    web_app: RunningApp,  # noqa: F811
    clients: list[Any],
    tmp_path: Path,
    name: str,
) -> None:
    from ui.app import app_state

    client = _client(web_app)
    clients.append(client)
    good = tmp_path / "good.txt"
    good.write_text(_canary_text("a"), encoding="utf-8")
    assert "1 document(s)" in _upload(client, good)  # positive control
    bad = tmp_path / name
    bad.write_text("<script>alert(1)</script><svg onload=alert(2)></svg>", encoding="utf-8")
    try:
        status = _upload(client, bad)
    except Exception as exc:  # gradio's own file-type check may refuse it first
        status = str(exc)
    assert re.search(r"only \.pdf, \.txt, \.md, \.jsonl|[Ii]nvalid file type", status), status
    held = app_state(web_app.demo).sessions.get(client.session_hash)
    assert held is not None and len(held.documents) == 1
    assert [p.name for p in held.folder.iterdir()] == ["good.txt"]


def test_twenty_parallel_uploads_near_the_size_limit(
    web_app: RunningApp,  # noqa: F811
    clients: list[Any],
    tmp_path: Path,
) -> None:
    """Every upload is answered (accepted or refused with a message naming its limit), none with a
    server error; memory stays bounded; small uploads beside them are accepted."""
    near = web_app.settings.max_upload_mb * 1024 * 1024 - 512 * 1024
    rng = random.Random(20)
    words = ["dose", "tablet", "renal", "hepatic", "infusion", "daily", "weekly", "monitor"]
    paths = []
    for i in range(20):
        p = tmp_path / f"bulk-{i:02d}.txt"
        with p.open("w", encoding="utf-8") as fh:
            line = " ".join(rng.choice(words) for _ in range(14)) + ".\n"
            fh.write(line * (near // len(line)))
        paths.append(p)
    small = tmp_path / "small-note.txt"
    small.write_text(_canary_text("b"), encoding="utf-8")
    peak = [_rss()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    base = peak[0]
    outcomes: list[str] = []
    t0 = time.perf_counter()
    try:
        own = [_client(web_app) for _ in range(21)]
        clients.extend(own)
        with ThreadPoolExecutor(max_workers=21) as pool:
            pairs = zip(own, [*paths, small], strict=True)
            futures = [pool.submit(_upload, c, p) for c, p in pairs]
            for f in futures:
                try:
                    outcomes.append(f.result(timeout=600))
                except Exception as exc:  # a server error surfaces here
                    outcomes.append(f"ERROR {type(exc).__name__}: {exc}")
    finally:
        stop.set()
        sampler.join()
    took = time.perf_counter() - t0
    errors = [o for o in outcomes if o.startswith("ERROR")]
    refused = [o for o in outcomes[:20] if "refused" in o or "could be read" in o]
    print(
        f"\n20 uploads of {near / 2**20:.1f} MB + 1 small in parallel: {len(errors)} errors, "
        f"{len(refused)} refused by a limit, {took:.1f} s; "
        f"RSS {base / 2**20:.0f} -> peak {peak[0] / 2**20:.0f} MiB"
    )
    assert errors == []
    assert "1 document(s)" in outcomes[20]  # the small upload beside them went through
    assert len(refused) == 20, outcomes[:3]
    assert all(re.search(r"MAX_CHUNKS_PER_FILE|max_session_chunks", o) for o in refused)
    assert peak[0] - base < 1536 * 2**20, "memory grew by more than 1.5 GiB"


def test_a_session_cannot_hold_more_than_its_chunk_cap(
    web_app: RunningApp,  # noqa: F811
    clients: list[Any],
    tmp_path: Path,
) -> None:
    from ui.app import app_state

    cap = web_app.settings.max_session_chunks
    client = _client(web_app)
    clients.append(client)
    good = tmp_path / "good.txt"
    good.write_text(_canary_text("a"), encoding="utf-8")
    assert "1 document(s)" in _upload(client, good)  # positive control
    paragraphs = [
        f"Paragraph {i} on dosing in renal impairment with enough words to fill a chunk. " * 12
        for i in range(cap + 50)
    ]
    big = tmp_path / "many-chunks.txt"
    big.write_text("\n\n".join(paragraphs), encoding="utf-8")
    status = _upload(client, big)
    assert "Upload refused" in status and f"{cap:,} chunks per session" in status, status
    held = app_state(web_app.demo).sessions.get(client.session_hash)
    assert held is not None and len(held.documents) == 1 and len(held.chunks) < cap
    assert [p.name for p in held.folder.iterdir()] == ["good.txt"]
