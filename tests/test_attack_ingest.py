"""Attack tests of ingest: the sandboxed reader, a seeded PDF mutation corpus, bombs and limits.

CI tier: unmarked tests. Long tier: `-m extended` (1,000+ mutants at 20 s per file).
"""

from __future__ import annotations

import collections
import json
import random
import time
from pathlib import Path

import pytest
from fixtures_attack import mutated_corpus, seed_pdfs, seed_token, zlib_bomb_pdf
from fixtures_index import embedder  # noqa: F401  (session fixture)

from index.pipeline import chunker_settings
from index.store import ClinqaIndex, update_index
from ingest.chunker import MAX_CHUNK_CHARS, chunk_document
from ingest.errors import ReadFailure
from ingest.readers import MAX_FILE_BYTES
from ingest.readers.pdf import MAX_PDF_PAGES
from ingest.sandbox import SandboxReader, iter_documents_sandboxed, read_file_sandboxed
from ingest.types import Document

GOOD_TEXT = "Lisinopril: initial adult dose is 10 mg once daily for hypertension.\n"


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def _by_file(items: list[Document | ReadFailure]) -> dict[str, list[Document | ReadFailure]]:
    out: dict[str, list[Document | ReadFailure]] = collections.defaultdict(list)
    for item in items:
        out[Path(item.path or "").name].append(item)
    return out


# ---- 1. the sandbox itself ----


def test_sandbox_reads_a_good_file_like_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "good.txt"
    path.write_text(GOOD_TEXT, encoding="utf-8")
    items = read_file_sandboxed(path)
    assert len(items) == 1 and isinstance(items[0], Document), items
    assert items[0].text == GOOD_TEXT and items[0].doc_id == "file:good.txt"


def test_sandbox_kills_a_slow_read_and_names_the_time_limit(tmp_path: Path) -> None:
    # positive control first: the same reader answers a small PDF within the default limit
    small = _write(tmp_path, {"ok.pdf": seed_pdfs()["plain"][0]}) / "ok.pdf"
    assert isinstance(read_file_sandboxed(small)[0], Document)
    many = tmp_path / "many.pdf"
    from fixtures_attack import handmade_pdf

    many.write_bytes(handmade_pdf([["Dose 5 mg."]] * 1_500, shared=True))
    t0 = time.monotonic()
    items = read_file_sandboxed(many, timeout_s=0.05)
    elapsed = time.monotonic() - t0
    assert [type(x).__name__ for x in items] == ["ReadFailure"], items
    failure = items[0]
    assert isinstance(failure, ReadFailure)
    assert failure.error_class == "Timeout" and "0.05 s" in failure.reason, failure
    assert elapsed < 5, elapsed


def test_sandbox_memory_limit_becomes_a_named_failure(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    rng = random.Random(7)
    words = [f"w{rng.randrange(10**6)}" for _ in range(1000)]
    path.write_text(" ".join(words * 2_000), encoding="utf-8")  # ~15 MB of text
    assert isinstance(read_file_sandboxed(path)[0], Document)  # positive control: 1 GiB is enough
    items = read_file_sandboxed(path, memory_bytes=60 << 20)
    assert len(items) == 1 and isinstance(items[0], ReadFailure), items
    assert items[0].error_class in {"MemoryLimit", "Crash"}, items[0]
    assert "memory limit of 62,914,560 bytes" in items[0].reason, items[0]


def test_sandbox_child_killed_mid_read_is_a_crash_and_the_next_file_is_read(
    tmp_path: Path,
) -> None:
    import os
    import signal
    import threading

    from fixtures_attack import handmade_pdf

    good = _write(tmp_path, {"good.txt": GOOD_TEXT.encode()}) / "good.txt"
    slow = tmp_path / "slow.pdf"
    slow.write_bytes(handmade_pdf([["Dose 5 mg."]] * 1_500, shared=True))
    with SandboxReader(timeout_s=60.0) as reader:
        assert isinstance(reader.read(good)[0], Document)  # positive control
        child = reader._proc
        assert child is not None
        timer = threading.Timer(0.3, os.kill, (child.pid, signal.SIGKILL))
        timer.start()
        items = reader.read(slow)
        timer.join()
        assert len(items) == 1 and isinstance(items[0], ReadFailure), items
        assert items[0].error_class == "Crash", items[0]
        assert "killed by signal 9" in items[0].reason and "time limit 60 s" in items[0].reason
        after = reader.read(good)  # a fresh child takes the next file
        assert isinstance(after[0], Document) and after[0].text == GOOD_TEXT


def _bulk_jsonl(path: Path, n: int, text_chars: int) -> Path:
    rng = random.Random(13)
    words = ["dose", "mg", "daily", "renal", "hepatic", "infusion", "melanoma", "units"]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            body = " ".join(rng.choice(words) for _ in range(text_chars // 6))[:text_chars]
            f.write(json.dumps({"id": f"bulk-{i}", "title": f"Record {i}", "text": body}) + "\n")
    return path


def test_sandbox_hands_a_bulk_file_over_a_document_at_a_time(tmp_path: Path) -> None:
    """An 8 MB bulk file: the parent takes its 1,000 documents one at a time from the child, so
    what it holds while reading stays near one document. Taking the whole answer at once (as the
    reader did before) holds all 8 MB and more; tracemalloc's peak tells the two apart."""
    import tracemalloc

    path = _bulk_jsonl(tmp_path / "bulk.jsonl", 1_000, 8_000)
    size = path.stat().st_size
    with SandboxReader(timeout_s=60.0) as reader:
        whole = reader.read(path)  # positive control: the same documents, all at once
        assert len(whole) == 1_000 and all(isinstance(d, Document) for d in whole)
        first = (whole[0].doc_id, whole[0].text)
        del whole
        tracemalloc.start()
        try:
            count, seen_first = 0, None
            for item in reader.stream(path, None):
                assert isinstance(item, Document), item
                if count == 0:
                    seen_first = (item.doc_id, item.text)
                count += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert count == 1_000 and seen_first == first
    assert peak < size / 10, f"peak {peak:,} bytes while streaming a {size:,}-byte file"


def test_a_stream_left_midway_does_not_leak_into_the_next_file(tmp_path: Path) -> None:
    """A caller that stops reading a file partway (an error downstream) must not receive the
    rest of that file as the next file's documents: the child is killed and replaced."""
    bulk = _bulk_jsonl(tmp_path / "bulk.jsonl", 200, 300)
    good = _write(tmp_path, {"good.txt": GOOD_TEXT.encode()}) / "good.txt"
    with SandboxReader(timeout_s=60.0) as reader:
        stream = reader.stream(bulk, None)
        taken = [next(stream) for _ in range(3)]
        assert [d.doc_id for d in taken if isinstance(d, Document)] == [
            "bulk-0",
            "bulk-1",
            "bulk-2",
        ]  # positive control: documents arrive in file order
        stream.close()
        after = reader.read(good)
        assert len(after) == 1 and isinstance(after[0], Document), after
        assert after[0].text == GOOD_TEXT


def test_a_new_stream_while_one_is_unfinished_gets_only_its_own_documents(tmp_path: Path) -> None:
    """A stream still referenced but not read to its end: the next file must get its own
    answer (not the rest of the first), and closing the first later must not kill the child
    that serves another file."""
    bulk = _bulk_jsonl(tmp_path / "bulk.jsonl", 200, 300)
    good = _write(tmp_path, {"good.txt": GOOD_TEXT.encode()}) / "good.txt"
    with SandboxReader(timeout_s=60.0) as reader:
        first = reader.stream(bulk, None)
        assert isinstance(next(first), Document)  # positive control: the bulk file streams
        after = reader.read(good)
        assert [d.text for d in after if isinstance(d, Document)] == [GOOD_TEXT], after
        second = reader.stream(bulk, None)
        assert isinstance(next(second), Document)
        late = next(first)  # resumed: it must not take the second stream's lines
        assert isinstance(late, ReadFailure) and "another file" in late.reason, late
        first.close()  # and closing it must not kill the child that serves the second
        rest = list(second)
        assert len(rest) == 199 and all(isinstance(d, Document) for d in rest), rest[-1]


def test_a_child_killed_midway_names_the_documents_already_taken(tmp_path: Path) -> None:
    import os
    import signal

    bulk = _bulk_jsonl(tmp_path / "bulk.jsonl", 600, 2_000)  # more than a pipe holds
    with SandboxReader(timeout_s=60.0) as reader:
        stream = reader.stream(bulk, None)
        items = [next(stream)]
        assert isinstance(items[0], Document)  # positive control
        assert reader._proc is not None
        os.kill(reader._proc.pid, signal.SIGKILL)
        items += list(stream)
    failure = items[-1]
    assert isinstance(failure, ReadFailure) and failure.error_class == "Crash", failure
    taken = len(items) - 1
    assert 1 <= taken < 600 and all(isinstance(d, Document) for d in items[:-1])
    assert f"after {taken} of the file's documents" in failure.reason, failure.reason


def test_time_spent_between_documents_is_not_charged_to_the_file(tmp_path: Path) -> None:
    """The time limit is on the child's reading: a caller that embeds between documents for
    longer than the limit still gets every document (a slow file still times out, above)."""
    bulk = _bulk_jsonl(tmp_path / "bulk.jsonl", 600, 2_000)  # more than a pipe's buffer
    with SandboxReader(timeout_s=1.0) as reader:
        items = []
        for item in reader.stream(bulk, None):
            items.append(item)
            if len(items) == 1:
                time.sleep(1.5)
    assert len(items) == 600 and all(isinstance(d, Document) for d in items), items[-1]


# ---- 2. PDF mutation corpus ----


def _index_seeds(tmp_path: Path, embedder: object) -> None:  # noqa: F811
    seeds = seed_pdfs()
    folder = _write(tmp_path / "seeds", {f"{n}.pdf": data for n, (data, _) in seeds.items()})
    items = list(iter_documents_sandboxed([folder]))
    failures = [x for x in items if isinstance(x, ReadFailure)]
    docs = [x for x in items if isinstance(x, Document)]
    # the password-protected seed is the one expected failure, named with its reason
    assert [Path(f.path).name for f in failures] == ["user_password.pdf"], failures
    assert "password" in failures[0].reason
    readable = sorted(n for n, (_, ok) in seeds.items() if ok)
    assert sorted(d.doc_id.removeprefix("file:").removesuffix(".pdf") for d in docs) == readable
    update_index(
        tmp_path / "index",
        ((d, chunk_document(d, max_chars=900, max_tokens=None)) for d in docs),
        embedder,  # type: ignore[arg-type]
        chunker_settings=chunker_settings(900, None),
    )
    index = ClinqaIndex.load(tmp_path / "index", embedder)  # type: ignore[arg-type]
    for doc in docs:
        token = next(t for t in doc.text.split() if t.startswith("seedmark"))
        hits = index.search(token, k=1, mode="lexical")
        assert hits and hits[0].doc_id == doc.doc_id, (doc.doc_id, token, hits)


def test_every_well_formed_seed_pdf_is_indexed(tmp_path: Path, embedder: object) -> None:  # noqa: F811
    _index_seeds(tmp_path, embedder)
    assert seed_token(0) in seed_pdfs()["plain"][0].decode("latin-1")


def _run_mutants(tmp_path: Path, n: int, seed: int, timeout_s: float, budget_s: float) -> None:
    mutants = mutated_corpus(n, seed)
    folder = _write(tmp_path / "mutants", dict(mutants))
    good = _write(tmp_path / "good", {"good.txt": GOOD_TEXT.encode()})
    t0 = time.monotonic()
    items = list(iter_documents_sandboxed([folder, good], timeout_s=timeout_s))
    elapsed = time.monotonic() - t0
    by_file = _by_file(items)
    names = [name for name, _ in mutants]
    # every mutant gave an answer that names it; nothing was lost and the parent survived
    assert sorted(by_file) == sorted([*names, "good.txt"]), set(names) ^ set(by_file)
    for item in items:
        if isinstance(item, ReadFailure):
            assert item.error_class and item.reason, item
            assert Path(item.path).name in by_file
    assert isinstance(by_file["good.txt"][0], Document)  # the walk went on to the good file
    failures = [x for x in items if isinstance(x, ReadFailure)]
    assert failures, "a mutation corpus with no failure means the mutations did nothing"
    partial = bool(failures)
    assert partial
    classes = collections.Counter(f.error_class for f in failures)
    print(f"\n{n} mutants: {len(items) - len(failures)} documents, {len(failures)} failures "
          f"{dict(classes)} in {elapsed:.1f}s")  # fmt: skip
    assert elapsed < budget_s, elapsed


def test_pdf_mutation_corpus_ci(tmp_path: Path) -> None:
    _run_mutants(tmp_path, 200, seed=20261124, timeout_s=5.0, budget_s=120.0)


@pytest.mark.extended
def test_pdf_mutation_corpus_extended(tmp_path: Path) -> None:
    _run_mutants(tmp_path, 3_000, seed=9001, timeout_s=20.0, budget_s=1_200.0)


# ---- 3. bombs and size limits ----


def test_bombs_and_oversize_files_are_refused_by_their_limit(tmp_path: Path) -> None:
    from fixtures_attack import handmade_pdf

    folder = tmp_path / "bombs"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (folder / "good.pdf").write_bytes(seed_pdfs()["plain"][0])
    (folder / "zlib_bomb.pdf").write_bytes(zlib_bomb_pdf(1 << 30))
    (folder / "pages_5000.pdf").write_bytes(
        handmade_pdf([["Dose 5 mg daily."]] * 5_000, shared=True)
    )
    with open(folder / "huge.txt", "wb") as f:  # sparse 50 MiB file, over MAX_FILE_BYTES
        f.truncate(50 << 20)
    rng = random.Random(3)
    (folder / "binary.txt").write_bytes(bytes(rng.randrange(256) for _ in range(20_000)))
    (folder / "bad_utf8.txt").write_bytes(b"Dose: 5 mg \xff\xfe daily\n" * 10)
    (folder / "one_line.txt").write_bytes(b"x" * 1_000_000)
    t0 = time.monotonic()
    items = list(iter_documents_sandboxed([folder], timeout_s=5.0))
    elapsed = time.monotonic() - t0
    by_file = _by_file(items)

    def failure(name: str) -> ReadFailure:
        got = by_file[name]
        assert len(got) == 1 and isinstance(got[0], ReadFailure), (name, got)
        return got[0]

    assert isinstance(by_file["good.txt"][0], Document)  # positive controls
    assert isinstance(by_file["good.pdf"][0], Document)
    assert "decompression limit of 20,000,000 bytes" in failure("zlib_bomb.pdf").reason
    assert f"over the limit of {MAX_PDF_PAGES}" in failure("pages_5000.pdf").reason
    assert f"over the limit of {MAX_FILE_BYTES:,}" in failure("huge.txt").reason
    assert "binary content" in failure("binary.txt").reason
    assert "invalid UTF-8 at byte 11" in failure("bad_utf8.txt").reason
    line = by_file["one_line.txt"]
    assert len(line) == 1 and isinstance(line[0], Document)
    chunks = chunk_document(line[0], max_chars=900, max_tokens=None)
    assert chunks and max(len(c.text) for c in chunks) <= MAX_CHUNK_CHARS
    assert "".join(c.text for c in chunks) == line[0].text  # hard split loses nothing
    assert elapsed < 5.0 * len(by_file), elapsed


def test_clinqa_ingest_reads_every_file_in_the_sandbox(tmp_path: Path) -> None:
    """`clinqa ingest` runs the readers in the sandbox (settings.sandbox_reads, on by default):
    a file that breaks the memory limit is named with the limit, the good file beside it is
    indexed, and the exit status says the run was partial."""
    import json
    import os
    import subprocess
    import sys

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    rng = random.Random(11)
    words = [f"w{rng.randrange(10**6)}" for _ in range(1000)]
    (folder / "big.txt").write_text(" ".join(words * 2_000), encoding="utf-8")  # ~15 MB
    index = tmp_path / "index"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "CLINQA_READ_MEMORY_MB": "60",
        "CLINQA_SANDBOX_READS": "true",
    }
    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-m", "ui.cli", "ingest", str(folder), "--index", str(index)]
    done = subprocess.run(
        [*cmd, "--no-progress"], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode != 0, done.stdout  # partial
    assert "big.txt" in done.stderr and "memory limit of 62,914,560 bytes" in done.stderr, (
        done.stderr[-2000:]
    )
    version = (index / "CURRENT").read_text().strip()
    manifest = json.loads((index / "versions" / version / "manifest.json").read_text())
    assert manifest["counts"]["documents"] == 1, manifest["counts"]  # good.txt went in


def test_uploads_are_read_in_the_sandbox(tmp_path: Path) -> None:
    from ui.web_upload import parse_uploads

    good = tmp_path / "good.txt"
    good.write_text(GOOD_TEXT, encoding="utf-8")
    big = tmp_path / "big.txt"
    rng = random.Random(12)
    words = [f"w{rng.randrange(10**6)}" for _ in range(1000)]
    big.write_text(" ".join(words * 2_000), encoding="utf-8")  # ~15 MB
    limits = dict(max_chars=900, max_tokens=None, count_tokens=None)
    parsed = parse_uploads([good, big], **limits, sandboxed=True, memory_bytes=60 << 20)  # type: ignore[arg-type]
    assert [d.doc_id for d in parsed.documents] == ["file:good.txt"] and parsed.chunks  # control
    assert [Path(f.path).name for f in parsed.failures] == ["big.txt"]
    assert "memory limit of 62,914,560 bytes" in parsed.failures[0].reason
