"""Take the README screenshot: the chat with an answer and its first citation opened.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/screenshot.py docs/screenshot.png \
        [--index DIR] [--question "..."]

Starts the app in this process on a free loopback port over the index (default: the configured
one), asks the question in Debian's chromium (/usr/bin/chromium, through Playwright), opens the
first citation and writes a PNG to the path given.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
QUESTION = "What is the dose of aldesleukin for metastatic renal cell carcinoma?"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="README screenshot of the clinqa chat")
    p.add_argument("out", help="PNG file to write")
    p.add_argument("--index", help="index folder (default: the configured one)")
    p.add_argument("--question", default=QUESTION)
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=1100)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from playwright.sync_api import sync_playwright

    from ui.app import app_state, build_app, launch_kwargs
    from ui.cli import open_qa
    from ui.config import load_settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    settings = load_settings({"index_dir": args.index, "host": "127.0.0.1", "port": port})
    if not (Path(settings.index_dir) / "CURRENT").is_file():
        print(
            f"no index at {settings.index_dir}: run `clinqa build` or pass --index", file=sys.stderr
        )
        return 1
    demo = build_app(open_qa(settings), settings)
    demo.launch(prevent_thread_lock=True, **launch_kwargs(demo, settings))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.set_default_timeout(120_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#clinqa-question textarea", args.question)
            page.click("#clinqa-ask")
            page.wait_for_function(
                "() => document.querySelector('#clinqa-question textarea').value === ''"
                " && document.querySelector('#clinqa-citations .clinqa-cites')"
            )
            first = page.locator("#clinqa-citations details.clinqa-cite summary").first
            if first.count():
                first.click()
            page.screenshot(path=str(out), full_page=True)
            browser.close()
    finally:
        demo.close()
        app_state(demo).close()
    print(f"screenshot written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
