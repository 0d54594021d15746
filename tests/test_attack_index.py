"""Attack tests of the index folder: kill -9 at each commit step, tampering, planted pickle,
ENOSPC/EIO during a write, idempotent re-ingest.

The kill driver is a test-only script run in a subprocess; it reads its instructions from argv
and instruments os.replace/os.fsync/os.rename itself (library code reads no env vars).
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fixtures_index import LABEL_SECTIONS, embedder  # noqa: F401  (session fixture)

import index.files
import index.store
from index.errors import IndexCorrupt
from index.layout import (
    MANIFEST,
    MANIFEST_SHA,
    VERSIONS,
    current_version,
    read_manifest,
    verify_files,
)
from index.pipeline import ingest_paths
from index.store import ClinqaIndex

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = ("version", "created")

DRIVER = r"""
import json, os, sys
cfg = json.loads(sys.argv[1])
from index.embedder import load_embedder
from index.pipeline import ingest_paths
emb = load_embedder("minilm", threads=1)
emb._load()  # weights in memory, no inference run yet: safe to fork
out = {}
for n, folder in cfg["runs"]:
    pid = os.fork()
    if pid == 0:
        calls = [0]
        def wrap(fn):
            def inner(*a, **k):
                calls[0] += 1
                if calls[0] == n:
                    os._exit(137)
                return fn(*a, **k)
            return inner
        real = {name: getattr(os, name) for name in ("replace", "fsync", "rename")}
        for name, fn in real.items():
            setattr(os, name, wrap(fn))
        ingest_paths(folder, cfg["corpus"], emb, max_chars=400, max_tokens=None)
        for name, fn in real.items():
            setattr(os, name, fn)
        with open(folder + ".calls", "w") as f:
            f.write(str(calls[0]))
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    out[str(n)] = os.waitstatus_to_exitcode(status)
print(json.dumps(out))
"""


def _corpus(folder: Path, entries: list[tuple[str, str, str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, _drug, section, body in entries:
        name = doc_id.split(":", 1)[1].replace(":", "_") + ".md"
        (folder / name).write_text(f"# {section}\n\n{body}\n", encoding="utf-8")
    return folder


def _ingest(index_dir: Path, corpus: Path, emb: Any) -> Any:
    summary = ingest_paths(index_dir, [corpus], emb, max_chars=400, max_tokens=None)
    assert not summary.failures, summary.failures
    return summary


def signature(index_dir: Path) -> str:
    """The live version's manifest without its name and timestamp (builds of the same content
    at different times give the same signature)."""
    _, folder = current_version(index_dir)
    manifest, _ = read_manifest(folder)
    kept = {k: v for k, v in manifest.items() if k not in VOLATILE}
    # bm25s files differ between processes for the same content (see the report); the rest of
    # the manifest (corpus hash, counts, settings, the other files' hashes) must match
    kept["files"] = {k: v for k, v in manifest["files"].items() if not k.startswith("bm25/")}
    return json.dumps(kept, sort_keys=True)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> dict[str, Path]:  # noqa: F811
    """An old index (six label sections), a new one (+3 sections, one edited) and the corpus."""
    base = tmp_path_factory.mktemp("index_attack")
    old_corpus = _corpus(base / "corpus", LABEL_SECTIONS[:6])
    old = base / "old"
    _ingest(old, old_corpus, embedder)
    new_corpus = _corpus(base / "corpus_new", LABEL_SECTIONS[:9])
    edited = sorted(new_corpus.iterdir())[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "\nEdited: take with food.\n", "utf-8")
    new = base / "new"
    shutil.copytree(old, new)
    _ingest(new, new_corpus, embedder)
    other = base / "other"
    _ingest(other, _corpus(base / "corpus_other", LABEL_SECTIONS[9:]), embedder)
    return {"base": base, "old": old, "new": new, "other": other, "new_corpus": new_corpus}


def _chunk_ids(index_dir: Path, emb: Any) -> list[str]:
    return [c.chunk_id for c in ClinqaIndex.load(index_dir, emb).chunks]


# ---- kill -9 at each write/fsync/rename of the commit path ----


def _kill_runs(builds: dict[str, Path], points: list[int] | None) -> dict[int, Path]:
    base = builds["base"] / f"kills-{len(points) if points else 'count'}"
    base.mkdir()
    count_dir = base / "count"
    shutil.copytree(builds["old"], count_dir)
    runs: list[tuple[int, str]] = [(10**9, str(count_dir))]
    folders: dict[int, Path] = {}
    if points is not None:
        for n in points:
            folder = base / f"kill{n:03d}"
            shutil.copytree(builds["old"], folder)
            runs.append((n, str(folder)))
            folders[n] = folder
    cfg = {"runs": runs, "corpus": [str(builds["new_corpus"])]}
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(cfg)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    codes = json.loads(proc.stdout.strip().splitlines()[-1])
    assert codes[str(10**9)] == 0, codes
    for n in folders:
        assert codes[str(n)] == 137, (n, codes)  # the child really died at call n
    folders[0] = count_dir
    return folders


def _commit_calls(builds: dict[str, Path]) -> int:
    count_dir = _kill_runs(builds, None)[0]
    return int(Path(str(count_dir) + ".calls").read_text())


def _check_killed(folder: Path, builds: dict[str, Path], emb: Any) -> str:
    old_hash = ClinqaIndex.load(builds["old"], emb).manifest_hash
    index = ClinqaIndex.load(folder, emb)  # loads and verifies every file against the manifest
    state = "old" if index.manifest_hash == old_hash else "new"
    want = builds["old"] if state == "old" else builds["new"]
    assert signature(folder) == signature(want), (folder, state)
    _ingest(folder, builds["new_corpus"], emb)  # the re-run reaches the new version
    assert signature(folder) == signature(builds["new"]), folder
    ids = _chunk_ids(folder, emb)
    assert len(ids) == len(set(ids)) == len(_chunk_ids(builds["new"], emb)), folder
    return state


def _kill_test(builds: dict[str, Path], emb: Any, every: int) -> None:
    total = _commit_calls(builds)
    assert total >= 5, f"the commit path made only {total} replace/fsync calls"
    points = sorted({*range(1, total + 1, every), total - 2, total - 1, total})
    t0 = time.monotonic()
    folders = _kill_runs(builds, points)
    print(f"driver {time.monotonic() - t0:.1f}s")
    states = {n: _check_killed(folders[n], builds, emb) for n in points}
    assert signature(folders[0]) == signature(builds["new"])  # the uninterrupted run: new
    assert "old" in states.values(), states  # positive control: early kills leave the old one
    print(f"\nkill points {len(points)}/{total}: {states}")


def test_kill_9_during_commit_leaves_old_or_new(builds: dict[str, Path], embedder: Any) -> None:  # noqa: F811
    _kill_test(builds, embedder, every=1)


# ---- tampering ----


def _tamper_cases(folder: Path, other: Path, rng: random.Random) -> list[tuple[str, Any]]:
    manifest, _ = read_manifest(folder)
    rels = sorted([*manifest["files"], MANIFEST, MANIFEST_SHA])
    cases: list[tuple[str, Any]] = []
    for rel in rels:
        size = (folder / rel).stat().st_size
        for _ in range(3):
            n = rng.randrange(0, size)
            cases.append((f"truncate {rel} to {n}", ("truncate", rel, n)))
        for _ in range(3):
            i = rng.randrange(size)
            cases.append((f"flip byte {i} of {rel}", ("flip", rel, i, rng.randrange(1, 256))))
        other_rel = other / rel
        if other_rel.is_file():
            cases.append((f"swap {rel} from another build", ("swap", rel, other_rel)))
    # edits that keep manifest.json valid JSON (a hash check of the listed files cannot see them)
    for old, new in [
        ('"k1": 1.5', '"k1": 9.5'),
        ('"created": "2', '"created": "1'),
        ('"kind": "flat"', '"kind": "hnsw"'),
        ('"normalised": true', '"normalised": false'),
    ]:
        if old in (folder / MANIFEST).read_text(encoding="utf-8"):
            cases.append((f"edit manifest {old} -> {new}", ("edit", MANIFEST, old, new)))
    return cases


def _apply(folder: Path, case: Any) -> None:
    kind, rel = case[0], case[1]
    path = folder / rel
    data = bytearray(path.read_bytes())
    if kind == "truncate":
        path.write_bytes(bytes(data[: case[2]]))
    elif kind == "edit":
        path.write_text(path.read_text(encoding="utf-8").replace(case[2], case[3], 1), "utf-8")
    elif kind == "flip":
        data[case[2]] ^= case[3]
        path.write_bytes(bytes(data))
    else:
        path.write_bytes(case[2].read_bytes())


def test_tampered_index_files_are_detected_on_load(
    builds: dict[str, Path],
    embedder: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    fresh = ClinqaIndex.load(builds["new"], embedder, fallback=True)  # positive control
    assert fresh.fallback is None
    _, live = current_version(builds["new"])
    _, other_live = current_version(builds["other"])
    cases = _tamper_cases(live, other_live, random.Random(424242))
    missed: list[str] = []
    for i, (label, case) in enumerate(cases):
        work = tmp_path / f"t{i:03d}"
        shutil.copytree(builds["new"], work)
        _, folder = current_version(work)
        _apply(folder, case)
        try:
            ClinqaIndex.load(work, embedder)
        except IndexCorrupt as exc:
            assert str(folder) in str(exc), (label, exc)  # the message names the file or folder
            prev_name = json.loads(_previous_name(builds["new"]))
            prev_folder = work / VERSIONS / prev_name
            verify_files(prev_folder, read_manifest(prev_folder)[0])  # previous version intact
            served = ClinqaIndex.load(work, embedder, fallback=True)  # the last good one serves
            assert served.version == prev_name, label
            assert served.fallback and folder.name in served.fallback, label
            assert served.search("metformin dose", k=3), label
        else:
            missed.append(label)
        shutil.rmtree(work)
    print(f"\ntampering: {len(cases) - len(missed)}/{len(cases)} detected")
    assert not missed, missed


def _previous_name(index_dir: Path) -> str:
    _, folder = current_version(index_dir)
    return json.dumps(read_manifest(folder)[0]["previous"])


# ---- planted pickle ----


class _Planted:
    """Unpickling this writes `marker` (it never should be unpickled)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (self.marker, "w"))


def _pickle_npy(path: Path, marker: Path) -> None:
    arr = np.empty(1, dtype=object)
    arr[0] = _Planted(str(marker))
    with open(path, "wb") as f:
        np.save(f, arr, allow_pickle=True)


def _forge(index_dir: Path, folder: Path, rel: str) -> None:
    """Re-hash `rel` into the manifest (and manifest.sha256), as a forger would."""
    manifest, _ = read_manifest(folder)
    sha, size = index.files.file_digest(folder / rel)
    manifest["files"][rel] = {"sha256": sha, "size": size}
    data = json.dumps(manifest, indent=2).encode()
    (folder / MANIFEST).write_bytes(data)
    (folder / MANIFEST_SHA).write_text(index.files.sha256_bytes(data) + "\n")


def test_planted_pickle_never_executes(
    builds: dict[str, Path],
    embedder: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    # positive control: the payload does write its marker when something unpickles it
    probe, probe_marker = tmp_path / "probe.npy", tmp_path / "probe-marker"
    _pickle_npy(probe, probe_marker)
    np.load(probe, allow_pickle=True)
    assert probe_marker.exists()

    marker = tmp_path / "PICKLE-RAN"
    outcomes = {}
    _, live = current_version(builds["new"])
    bm25_npy = sorted(p.relative_to(live).as_posix() for p in (live / "bm25").glob("*.npy"))
    targets = ["extra.pkl", "vectors.npy", "units.npy", "unit_spans.npy", *bm25_npy]
    for i, rel in enumerate(targets):
        work = tmp_path / f"p{i}"
        shutil.copytree(builds["new"], work)
        _, folder = current_version(work)
        _pickle_npy(folder / rel, marker)
        _pickle_npy(work / "index.pkl", marker)
        if rel != "extra.pkl":
            _forge(work, folder, rel)
        try:
            idx = ClinqaIndex.load(work, embedder)
            idx.search("metformin dose", k=3)
            outcomes[rel] = "loaded"
        except IndexCorrupt as exc:
            outcomes[rel] = f"IndexCorrupt: {str(exc)[:60]}"
        assert not marker.exists(), (rel, outcomes)
    print(f"\nplanted pickle: {outcomes}")
    assert outcomes["extra.pkl"] == "loaded"  # an unlisted file is ignored, not executed


# ---- ENOSPC / EIO during the write ----


@pytest.mark.parametrize(
    ("target", "call", "err"),
    [("write_durable", k, errno.ENOSPC) for k in (1, 2, 3, 4, 5)]
    + [("fsync", k, errno.EIO) for k in (1, 4, 8)],
)
def test_disk_errors_during_write_keep_the_old_version(
    builds: dict[str, Path],
    embedder: Any,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    call: int,
    err: int,
) -> None:
    work = tmp_path / "idx"
    shutil.copytree(builds["old"], work)
    old_hash = ClinqaIndex.load(work, embedder).manifest_hash
    calls = [0]
    real = index.store.write_durable if target == "write_durable" else os.fsync

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == call:
            raise OSError(err, os.strerror(err))
        return real(*args, **kwargs)

    if target == "write_durable":
        monkeypatch.setattr(index.store, "write_durable", failing)
    else:
        monkeypatch.setattr(index.files.os, "fsync", failing)
    with pytest.raises(OSError) as info:
        ingest_paths(work, [builds["new_corpus"]], embedder, max_chars=400, max_tokens=None)
    assert info.value.errno == err
    monkeypatch.undo()
    assert ClinqaIndex.load(work, embedder).manifest_hash == old_hash
    leftovers = [p.name for p in (work / VERSIONS).iterdir() if p.name.startswith(".tmp-")]
    assert not leftovers, leftovers
    _ingest(work, builds["new_corpus"], embedder)  # and the next run succeeds
    assert signature(work) == signature(builds["new"])


# ---- idempotent re-ingest ----


def _jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_reingest_is_idempotent_and_an_edit_replaces_only_its_chunks(
    tmp_path: Path,
    embedder: Any,  # noqa: F811
) -> None:
    records = [
        {"id": f"label:{drug}:{i}", "title": f"{drug} {section}", "text": body, "subject": drug}
        for i, (_doc_id, drug, section, body) in enumerate(LABEL_SECTIONS[:8])
    ]
    corpus = tmp_path / "c1"
    corpus.mkdir()
    _jsonl(corpus / "a.jsonl", records[:4])
    _jsonl(corpus / "b.jsonl", records[4:])
    idx = tmp_path / "idx"
    first = _ingest(idx, corpus, embedder).report
    assert first.written and len(first.added) == 8  # positive control
    again = _ingest(idx, corpus, embedder).report
    assert not again.written and again.manifest_hash == first.manifest_hash
    # renamed files, records reordered and moved between files
    moved = tmp_path / "c2"
    moved.mkdir()
    shuffled = records[:]
    random.Random(5).shuffle(shuffled)
    _jsonl(moved / "z_first.jsonl", shuffled[:3])
    _jsonl(moved / "y_second.jsonl", shuffled[3:])
    renamed = ingest_paths(idx, [moved], embedder, max_chars=400, max_tokens=None).report
    assert renamed is not None
    assert renamed.manifest_hash == first.manifest_hash, (renamed.replaced, renamed.added)
    assert renamed.chunks_total == first.chunks_total
    before = ClinqaIndex.load(idx, embedder)
    ids_before = {c.chunk_id: c.doc_id for c in before.chunks}
    assert len(ids_before) == len(before.chunks)
    # an edit replaces exactly the edited document's chunks
    edited = [dict(r) for r in shuffled]
    target = edited[2]
    target["text"] = target["text"] + " Edited: review renal function every 3 months."
    _jsonl(moved / "z_first.jsonl", edited[:3])
    _jsonl(moved / "y_second.jsonl", edited[3:])
    report = _ingest(idx, moved, embedder).report
    assert report.replaced == (target["id"],) and not report.added and not report.removed
    after = ClinqaIndex.load(idx, embedder)
    ids_after = {c.chunk_id: c.doc_id for c in after.chunks}
    gone = {k: v for k, v in ids_before.items() if k not in ids_after}
    new = {k: v for k, v in ids_after.items() if k not in ids_before}
    assert set(gone.values()) <= {target["id"]} and set(new.values()) == {target["id"]}
    assert report.chunks_embedded == len(new)
    assert len(ids_after) == len(after.chunks)


def test_ask_falls_back_to_the_last_good_version_and_eval_refuses(
    builds: dict[str, Path],
    embedder: Any,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import ui.cli
    from qa.settings import Settings

    monkeypatch.setattr(ui.cli, "_embedder", lambda s, ingest=False: embedder)
    work = tmp_path / "index"
    shutil.copytree(builds["new"], work)
    s = Settings().replace(index_dir=str(work), model="minilm")
    live, folder = current_version(work)
    assert ui.cli.open_qa(s).index.version == live  # positive control: the live version serves
    assert "warning" not in capsys.readouterr().err
    vectors = folder / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:-64])  # a truncated file in the live version
    served = ui.cli.open_qa(s)
    assert served.index.version == json.loads(_previous_name(builds["new"]))
    err = capsys.readouterr().err
    assert "warning" in err and live in err and "serving the previous version" in err
    assert not served.ask("What is metformin indicated for?").abstained
    with pytest.raises(IndexCorrupt, match="vectors.npy"):
        ui.cli.open_qa(s, fallback=False)  # what `clinqa eval` uses: the gate sees the damage


# ---- extended: kill -9 at random moments of an update of the default corpus ----

KILLS = 20


def _clinqa(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "ui.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the sandboxed readers die with it
    )


def _retrieval(index_dir: Path, emb: Any, questions: list[str]) -> list[list[tuple[str, float]]]:
    ix = ClinqaIndex.load(index_dir, emb)
    return [[(p.chunk.chunk_id, round(p.score, 5)) for p in ix.search(q, k=10)] for q in questions]


@pytest.mark.extended
def test_kill_9_at_random_moments_of_a_default_corpus_update(tmp_path: Path) -> None:
    import signal

    import faiss

    from eval.results_md import build_eval_index
    from index.embedder import load_embedder

    faiss.omp_set_num_threads(1)  # reproducible search results for the comparison
    emb = load_embedder("minilm-int8", threads=1)
    corpus = ROOT / "corpus"
    full = tmp_path / "full"
    built = _clinqa("build", "--force", "--no-progress", "--index", str(full), "--model",
                    "minilm-int8")  # fmt: skip
    assert built.wait(timeout=3600) == 0, built.stderr.read() if built.stderr else ""
    docs = sorted(d.doc_id for d in ClinqaIndex.load(full, emb).documents())
    dropped = random.Random(20).sample(docs, 150)
    old = tmp_path / "old"
    build_eval_index(old, corpus, emb, exclude_doc_ids=dropped, base_index=full)
    questions = []
    for name in ("seed.test.jsonl", "pubmedqa.test.jsonl"):
        lines = (ROOT / "eval" / "gold" / name).read_text(encoding="utf-8").splitlines()
        questions += [json.loads(line)["question"] for line in lines[:20]]
    # the uninterrupted update: its duration sets the kill moments, its result is "new"
    new = tmp_path / "new"
    shutil.copytree(old, new)
    t0 = time.monotonic()
    update = ("ingest", str(corpus), "--no-progress", "--model", "minilm-int8", "--index")
    run = _clinqa(*update, str(new))
    assert run.wait(timeout=3600) == 0
    duration = time.monotonic() - t0
    states = {"old": (signature(old), _retrieval(old, emb, questions)),
              "new": (signature(new), _retrieval(new, emb, questions))}  # fmt: skip
    assert states["old"][0] != states["new"][0]  # positive control: the update changes it
    rng = random.Random(4242)
    seen: list[str] = []
    for i in range(KILLS):
        work = tmp_path / f"kill{i:02d}"
        shutil.copytree(old, work)
        moment = rng.uniform(0.05, 1.0) * duration
        proc = _clinqa(*update, str(work))
        time.sleep(moment)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        sig = signature(work)  # loads only the manifest; the next line verifies every file
        state = next(name for name, (want, _) in states.items() if want == sig)
        assert _retrieval(work, emb, questions) == states[state][1], (i, state)
        rerun = _clinqa(*update, str(work))
        assert rerun.wait(timeout=3600) == 0, i
        assert signature(work) == states["new"][0], i
        ids = [c.chunk_id for c in ClinqaIndex.load(work, emb).chunks]
        assert len(ids) == len(set(ids)), i  # no duplicate chunks after the re-run
        seen.append(f"{moment:.1f}s:{state}")
        shutil.rmtree(work)
    print(f"\nupdate {duration:.1f}s; {KILLS} kills: {seen}")
    assert "old" in [s.split(":")[1] for s in seen]  # the kills really interrupted updates
