"""Attack tests of the web app's file routes: 60+ path-traversal payloads never leak a canary.

Canary files stand outside every served root, inside the index folder, and as `.env` in the
working directory; a symlink to a canary is planted in gradio's upload cache. Positive control: a
file uploaded through gradio's own route is served back byte for byte.
"""

from __future__ import annotations

import http.client
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fixtures_index import corpus, embedder  # noqa: F401  (session fixture)
from fixtures_web import free_port

from index.store import ClinqaIndex, update_index
from qa.engine import QA
from qa.settings import Settings

CANARY = b"CLINQA-CANARY-" + uuid.UUID(int=20261124).hex.encode()


@dataclass(frozen=True)
class Site:
    port: int
    canaries: dict[str, Path]  # name -> absolute path of a file holding CANARY
    legit_path: str  # a path gradio itself handed out for an upload
    legit_bytes: bytes


def _request(port: int, method: str, raw_path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, raw_path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (http.client.HTTPException, OSError, ValueError) as exc:
        return -1, repr(exc).encode()
    finally:
        conn.close()


def _upload(port: int, name: str, data: bytes) -> str:
    boundary = "clinqaboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: text/plain\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, out = _request(
        port, "POST", "/gradio_api/upload", body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    assert status == 200, (status, out[:300])
    return str(json.loads(out)[0])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[Site]:  # noqa: F811
    from ui.app import app_state, build_app, launch_kwargs

    base = tmp_path_factory.mktemp("web_attack")
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(CANARY)
    index_dir = base / "index"
    update_index(index_dir, corpus(), embedder, chunker_settings={"name": "fixture"})
    (index_dir / "canary.txt").write_bytes(CANARY)
    work = base / "cwd"
    work.mkdir()
    (work / ".env").write_bytes(b"OPENAI_API_KEY=" + CANARY)
    corpus_dir = base / "corpus"
    corpus_dir.mkdir()
    settings = Settings(index_dir=str(index_dir), corpus_dir=str(corpus_dir), port=free_port())
    qa = QA(ClinqaIndex.load(index_dir, embedder), settings)
    old_cwd = os.getcwd()
    os.chdir(work)
    demo = build_app(qa, settings)
    legit_path = "/nonexistent"
    try:
        demo.launch(prevent_thread_lock=True, **launch_kwargs(demo, settings))
        legit = b"legitimate upload served back\n"
        legit_path = _upload(settings.port, "legit.txt", legit)
        link = Path(legit_path).parent / f"link-{os.getpid()}-{base.name}.txt"
        link.unlink(missing_ok=True)
        link.symlink_to(outside / "secret.txt")
        canaries = {
            "outside": outside / "secret.txt",
            "index": index_dir / "canary.txt",
            "cwd_env": work / ".env",
            "symlink": link,
        }
        yield Site(settings.port, canaries, legit_path, legit)
    finally:
        for leftover in Path(legit_path).parent.glob(f"link-{os.getpid()}-*"):
            leftover.unlink()
        demo.close()
        app_state(demo).close()
        os.chdir(old_cwd)


def _payloads(site: Site) -> list[str]:
    """Raw request paths: every target in many spellings, on both file routes."""
    legit_dir = str(Path(site.legit_path).parent)
    spellings: list[str] = []
    for path in map(str, site.canaries.values()):
        hops = "../" * 12 + path.lstrip("/")
        spellings += [
            path,
            quote(path, safe=""),
            quote(quote(path, safe=""), safe=""),
            path.replace("/", "\\"),
            quote(path.replace("/", "\\"), safe=""),
            f"{legit_dir}/{hops}",
            quote(f"{legit_dir}/{hops}", safe=""),
            f"{legit_dir}/" + "..%2f" * 12 + path.lstrip("/"),
            f"{legit_dir}/" + "%2e%2e/" * 12 + path.lstrip("/"),
            f"{legit_dir}/" + "....//" * 12 + path.lstrip("/"),
            f"{legit_dir}/" + "..\\" * 12 + path.lstrip("/"),
            f"{path}%00.txt",
            f"{site.legit_path}%00/../../../../..{path}",
            f"file://{path}",
            "//" + path.lstrip("/"),
        ]
    spellings += [".env", "./.env", "%2e%65nv", "canary.txt", "..%2f.env", "/proc/self/environ"]
    return [f"{route}{s}" for route in ("/gradio_api/file=", "/file=") for s in spellings]


def test_file_routes_never_serve_a_canary(site: Site) -> None:
    # positive control: gradio serves what it handed out, on both routes' main spelling
    status, body = _request(site.port, "GET", f"/gradio_api/file={site.legit_path}")
    assert status == 200 and body == site.legit_bytes, (status, body[:200])
    for path in site.canaries.values():
        assert CANARY in path.read_bytes()  # the canaries are real and readable
    payloads = _payloads(site)
    assert len(payloads) >= 60
    leaks: list[str] = []
    statuses: dict[int, int] = {}
    for raw in payloads:
        status, body = _request(site.port, "GET", raw)
        statuses[status] = statuses.get(status, 0) + 1
        if CANARY in body:
            leaks.append(f"{status} {raw}")
    print(f"\n{len(payloads)} traversal payloads: statuses {statuses}, leaks {len(leaks)}")
    assert not leaks, leaks


def test_api_file_arguments_never_read_a_canary(site: Site) -> None:
    """The upload endpoint given FileData naming files gradio never handed out."""
    leaks: list[str] = []
    sent = 0
    for name, path in site.canaries.items():
        for spelled in (str(path), f"{Path(site.legit_path).parent}/../../{path}", path.name):
            payload = {"data": [[{"path": spelled, "meta": {"_type": "gradio.FileData"}}]]}
            body = json.dumps(payload).encode()
            for route in ("/gradio_api/call/upload", "/gradio_api/run/upload"):
                status, out = _request(
                    site.port, "POST", route, body, {"Content-Type": "application/json"}
                )
                sent += 1
                texts = [out]
                if status == 200 and route.endswith("call/upload"):
                    event = json.loads(out).get("event_id")
                    if event:
                        texts.append(_request(site.port, "GET", f"{route}/{event}")[1])
                if any(CANARY in t for t in texts):
                    leaks.append(f"{name} {route} {spelled}")
    # the ask API with a path as the question only ever answers from the index
    status, out = _request(
        site.port, "POST", "/gradio_api/call/ask",
        json.dumps({"data": [str(site.canaries["outside"])]}).encode(),
        {"Content-Type": "application/json"},
    )  # fmt: skip
    if status == 200:
        event = json.loads(out)["event_id"]
        out += _request(site.port, "GET", f"/gradio_api/call/ask/{event}")[1]
    assert CANARY not in out
    print(f"\n{sent} API file payloads: leaks {len(leaks)}")
    assert not leaks, leaks
