"""The `clinqa` command line: a thin layer over the library; the only code here that prints."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ui.config import ConfigError, load_settings

if TYPE_CHECKING:
    from index.store import ClinqaIndex
    from qa.engine import QA
    from qa.settings import Settings

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", dest="index_dir", help="index folder (default: settings.index_dir)")
    p.add_argument("--config", help="TOML config file (default: ./clinqa.toml if present)")
    p.add_argument("--model", help="embedder: minilm, minilm-int8, mpnet or a model folder")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clinqa", description="Clinical-literature QA with verbatim, checkable citations."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="add documents under PATH(s) to the index")
    p.add_argument("paths", nargs="+")
    p.add_argument("--no-progress", action="store_true")
    _common(p)

    p = sub.add_parser("build", help="build the index from the corpus folder if it is missing")
    p.add_argument("--corpus", dest="corpus_dir")
    p.add_argument("--force", action="store_true", help="re-ingest even if the index exists")
    p.add_argument("--no-progress", action="store_true")
    _common(p)

    p = sub.add_parser("ask", help="answer a question with citations (no question: interactive)")
    p.add_argument("question", nargs="?")
    p.add_argument("--json", action="store_true", help="print the FORMAT.md JSON object")
    _common(p)

    p = sub.add_parser("search", help="ranked snippets for a query")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--source-type", action="append", default=[])
    p.add_argument("--doc", action="append", default=[], help="doc id or doc-id prefix")
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default="hybrid")
    p.add_argument("--json", action="store_true")
    _common(p)

    p = sub.add_parser("eval", help="score a gold file (FORMAT.md)")
    p.add_argument("gold")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--out", help="report JSON path (a .md and plots are written beside it)")
    p.add_argument("--min", action="append", default=[], metavar="METRIC=VALUE")
    p.add_argument("--max", action="append", default=[], metavar="METRIC=VALUE")
    p.add_argument("--compare", action="store_true", help="also score the baseline systems")
    _common(p)

    p = sub.add_parser("serve", help="start the web app (builds the index first if missing)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    _common(p)

    p = sub.add_parser("config", help="print the effective settings")
    _common(p)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    flags = {
        k: getattr(args, k, None) for k in ("index_dir", "model", "corpus_dir", "host", "port")
    }
    return load_settings(flags, config_file=getattr(args, "config", None))


def _progress(label: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc=label, unit="chunk", file=sys.stderr)
        b = bar["bar"]
        b.total = total
        b.n = done
        b.refresh()
        if done >= total:
            b.close()

    return update


def _embedder(s: Settings, *, ingest: bool = False) -> Any:
    from index.embedder import load_embedder

    threads = s.ingest_threads if ingest else s.threads
    return load_embedder(s.model, threads=threads, models_dir=s.models_dir)


def _ingest(s: Settings, paths: Sequence[str], progress: bool, replace_all: bool = False) -> int:
    from index.pipeline import ingest_paths
    from ingest.sandbox import file_reader

    with file_reader(
        s.sandbox_reads, timeout_s=s.read_timeout_s, memory_bytes=s.read_memory_mb << 20
    ) as read:
        summary = ingest_paths(
            s.index_dir,
            paths,
            _embedder(s, ingest=True),
            max_chars=s.chunk_max_chars,
            max_tokens=s.chunk_max_tokens,
            dense_kind=s.dense_index,
            ann_min_chunks=s.ann_min_chunks,
            unit_vectors=s.unit_vectors,
            progress=_progress("embedding", progress and sys.stderr.isatty()),
            replace_all=replace_all,
            read=read,
        )
    r = summary.report
    if r is not None:
        print(
            f"index {s.index_dir}: {len(r.added)} added, {len(r.replaced)} replaced, "
            f"{len(r.unchanged)} unchanged, {len(r.removed)} removed; "
            f"{r.chunks_total} chunks ({r.chunks_embedded} embedded, {r.chunks_reused} reused)"
        )
    for f in summary.failures:
        where = f"{f.path}:{f.line}" if f.line else str(f.path)
        print(f"skipped {where}: {f.error_class}: {f.reason}", file=sys.stderr)
    if summary.failures:
        print(f"partial ingest: {len(summary.failures)} file(s) skipped", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def ensure_index(s: Settings, progress: bool = True) -> None:
    """Build the default index from the corpus folder when none exists."""
    if (Path(s.index_dir) / "CURRENT").is_file():
        return
    print(f"building the index at {s.index_dir} from {s.corpus_dir} ...", file=sys.stderr)
    _ingest(s, [s.corpus_dir], progress)


def open_qa(s: Settings, *, fallback: bool = True) -> QA:
    """Load the index and the answerer. With `fallback` (ask, search, serve) a live version that
    fails verification is reported on stderr and the last good version answers; `clinqa eval`
    passes False, so a gate never scores anything but the live version."""
    embedder = _embedder(s)
    # Start the model before the index and its libraries are in memory: its start-up transient
    # (ONNX constant folding of the int8 weights, ~110 MiB, freed again) then never stacks on
    # them. Measured on the default index: peak RSS of `clinqa ask` 378 -> 281 MiB.
    embedder.embed(["warm up"])
    _return_free_memory()
    from index.store import ClinqaIndex
    from qa.engine import QA

    index: ClinqaIndex = ClinqaIndex.load(s.index_dir, embedder, fallback=fallback)
    if index.fallback:
        print(f"clinqa: warning: {index.fallback}", file=sys.stderr)
    if s.backend == "milvus":
        from index.milvus import attach_milvus

        attach_milvus(
            index, s.milvus_uri, name=s.milvus_collection, candidates=s.candidates, rrf_k=s.rrf_k
        )
    elif s.backend != "faiss":
        raise SystemExit(f"clinqa: setting backend: {s.backend!r} is not 'faiss' or 'milvus'")
    model = None
    if s.llm:
        from qa.llm import chat_model

        model = chat_model(s.llm, s.llm_base_url)
    qa = QA(index, s, chat_model=model)
    _return_free_memory()
    return qa


def _return_free_memory() -> None:
    """Hand the heap that loading freed (JSON parsing, the model's start-up) back to the OS:
    glibc keeps it otherwise, ~35 MiB of a query process's resident memory on the default
    index. No-op where the C library is not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _print_answer(ans: Any) -> None:
    if ans.abstained:
        from qa.types import ABSTAIN_TEXT

        print(ABSTAIN_TEXT)
        if ans.reason:
            print(f"  ({ans.reason})")
        return
    print(ans.answer)
    print()
    for c in ans.citations:
        where = " · ".join(
            x for x in (c.title, c.source_type, c.section, f"p. {c.page}" if c.page else None) if x
        )
        print(f'[{c.n}] {where}\n    {c.doc_id} chars {c.start}-{c.end}: "{c.quote}"')


def cmd_ask(args: argparse.Namespace, s: Settings) -> int:
    from qa.errors import QueryError

    qa = open_qa(s)
    if args.question is None:
        print("clinqa: ask a question (empty line or Ctrl-D to quit)", file=sys.stderr)
        while True:
            try:
                line = input("? ")
            except EOFError:
                return EXIT_OK
            if not line.strip():
                return EXIT_OK
            try:
                _print_answer(qa.ask(line))
            except QueryError as exc:
                print(f"error: {exc}", file=sys.stderr)
            print()
    try:
        ans = qa.ask(args.question)
    except QueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(ans.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_answer(ans)
    return EXIT_OK


def cmd_search(args: argparse.Namespace, s: Settings) -> int:
    from index.types import Filters
    from qa.errors import QueryError
    from qa.types import passage_json

    qa = open_qa(s)
    docs = tuple(d for d in args.doc if not d.endswith("*"))
    prefixes = tuple(d[:-1] for d in args.doc if d.endswith("*"))
    filters = Filters(tuple(args.source_type), docs, prefixes)
    try:
        hits = qa.search(args.query, k=args.k, filters=filters, mode=args.mode)
    except QueryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(
            json.dumps(
                {
                    "query": args.query,
                    "count": len(hits),
                    "passages": [passage_json(p) for p in hits],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_OK
    print(f"{len(hits)} result(s)")
    for p in hits:
        c = p.chunk
        head = " · ".join(x for x in (c.title, c.source_type, c.section) if x)
        snippet = " ".join(c.text.split())
        print(f"{p.rank:>3}. [{p.score:.3f}] {head}  ({c.doc_id})\n     {snippet[:300]}")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, s: Settings) -> int:
    from ui.eval_command import run_eval_command

    return run_eval_command(args, s, lambda s: open_qa(s, fallback=False))


def cmd_serve(args: argparse.Namespace, s: Settings) -> int:
    ensure_index(s)
    from ui.app import serve

    serve(s)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    try:
        s = _settings(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from index.errors import ClinqaIndexError

    try:
        if args.command == "ingest":
            return _ingest(s, args.paths, not args.no_progress)
        if args.command == "build":
            if args.force or not (Path(s.index_dir) / "CURRENT").is_file():
                return _ingest(s, [s.corpus_dir], not args.no_progress)
            print(f"index exists at {s.index_dir} (use --force to re-ingest)")
            return EXIT_OK
        if args.command == "config":
            print(json.dumps(s.to_dict(), indent=2))
            return EXIT_OK
        if args.command == "ask":
            return cmd_ask(args, s)
        if args.command == "search":
            return cmd_search(args, s)
        if args.command == "eval":
            return cmd_eval(args, s)
        if args.command == "serve":
            return cmd_serve(args, s)
    except ClinqaIndexError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
