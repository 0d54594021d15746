"""Readers during rebuilds (small corpus): 4 reader threads ask 2,000 questions while a writer
commits 10 new index versions; 0 errors, and every citation points into the version that answered.

Readers get the current answerer the way the web app's handlers do (`WebState.qa_for`); after each
commit the writer swaps in the newly loaded version the way a shared upload does
(`WebState.refresh`: load the new version, then swap it in under the lock). The commit itself
(`update_index`: embed, write, publish, prune old versions) runs outside that lock, as a shared
upload's does (under the app's separate writer lock), so readers keep
answering from the previous in-memory version while the next one is written and older ones are
deleted from disk. Each version edits documents (numbers and offsets change), adds one and
deletes one, so a citation checked against the wrong version does not match.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest
from fixtures_index import (  # noqa: F401  (embedder: session fixture)
    ALDESLEUKIN_SECTIONS,
    LABEL_SECTIONS,
    corpus,
    embedder,
    make_doc,
)

from index.store import ClinqaIndex, update_index
from ingest.types import MONOGRAPH, Chunk, Document
from qa.engine import QA
from qa.settings import Settings
from qa.types import Answer

THREADS = 4
QUERIES = 2000
COMMITS = 10
STEP = QUERIES // (COMMITS + 2)  # commit j starts once readers have taken j * STEP questions
DEADLINE_S = 600.0
SEED = 7
CHUNKER = {"name": "test-chunker", "max_chars": 400}
QUESTIONS = [
    "What is the starting dose of metformin?",
    "What is the initial dose of lisinopril for hypertension?",
    "What is the dose of aldesleukin?",
    "What is the recommended dose of zorvanib?",
    "What is abagovomab?",
    "Is warfarin contraindicated in pregnancy?",
    "What are the contraindications of amoxicillin?",
    "What is the dose of amoxicillin for adults?",
    "How often should INR be checked with warfarin?",
    "What is lisinopril indicated for?",
    "What are the adverse reactions of aldesleukin?",
    "What is the recommended dose of zanubrutinib for Waldenstrom macroglobulinemia?",
]

Docs = dict[str, tuple[Document, list[Chunk]]]


class MemoEmbedder:
    """The session MiniLM behind a text -> vector memo, so 2,000 questions fit the CI tier: a
    question or sentence is embedded once (concurrently, when readers miss at the same time)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.backend: str = inner.backend
        self.max_tokens: int = inner.max_tokens
        self.misses = 0
        self._memo: dict[str, np.ndarray] = {}
        self._spans: dict[tuple[str, tuple[tuple[int, int], ...]], Any] = {}
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        todo = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if todo:
            out = self.inner.embed(todo, batch_size=batch_size)
            with self._lock:
                self._memo.update(zip(todo, out, strict=True))
                self.misses += len(todo)
        return np.stack([self._memo[t] for t in texts]).astype(np.float32)

    def embed_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int = 64,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        keys = [(t, tuple(s)) for t, s in zip(texts, spans, strict=True)]
        todo = [k for k in dict.fromkeys(keys) if k not in self._spans]
        if todo:
            out, pooled = self.inner.embed_spans(
                [t for t, _ in todo], [s for _, s in todo], batch_size=batch_size
            )
            with self._lock:
                self._spans.update(zip(todo, zip(out, pooled, strict=True), strict=True))
                self.misses += len(todo)
        rows = [self._spans[k] for k in keys]
        return np.stack([v for v, _ in rows]).astype(np.float32), [u for _, u in rows]


def version_docs(v: int) -> Docs:
    """Every document of version v (1 = the first): three edited documents whose numbers and
    offsets change with v, a zorvanib bulletin only this version has, abagovomab in odd ones."""
    docs = {d.doc_id: (d, cs) for d, cs in corpus()}
    note = f"Revision {v}." + " Reviewed." * (v % 4)
    for doc_id, drug, section, body in LABEL_SECTIONS:
        if doc_id.endswith("metformin:dosage_and_administration"):
            body = body.replace("500 mg", f"{500 + 5 * v} mg")
        elif doc_id.endswith("lisinopril:dosage_and_administration"):
            body = body.replace("Initial adult dose is 10 mg", f"Initial adult dose is {10 + v} mg")
        else:
            continue
        title = f"{drug} label: {section}"
        docs[doc_id] = make_doc(
            doc_id, title, MONOGRAPH, [("Revision", note), (section, body)], subject=drug
        )
    sections = [
        (name, body.replace("600,000", f"{600 + 10 * v},000"))
        for name, body in ALDESLEUKIN_SECTIONS
    ]
    sections[0] = (sections[0][0], f"{sections[0][1]} {note}")
    docs["seed:aldesleukin"] = make_doc(
        "seed:aldesleukin",
        "aldesleukin (interleukin-2, IL-2)",
        MONOGRAPH,
        sections,
        subject="aldesleukin",
    )
    bulletin = (
        f"Zorvanib tablets: the recommended dose in bulletin {v} is {20 + 5 * v} mg once daily "
        "with food."
    )
    docs[f"bulletin:v{v}"] = make_doc(
        f"bulletin:v{v}", f"zorvanib bulletin {v}", MONOGRAPH, [("Dosage", bulletin)],
        subject="zorvanib",
    )  # fmt: skip
    if v % 2 == 0:
        del docs["nci_drug:299488"]  # abagovomab: deleted in even versions, re-added in odd ones
    return docs


@dataclass(frozen=True)
class Record:
    n: int
    question: str
    version: str
    manifest_hash: str
    answer: Answer
    t0: float
    t1: float


@dataclass
class Commit:
    number: int
    version: str
    manifest_hash: str
    t0: float
    t1: float


class Pace:
    """Readers take question numbers; the writer starts commit j once j * STEP are taken, and
    readers run at most STEP questions ahead of the commit in progress, so every version serves."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.taken = 0
        self.commits_done = 0
        self.writer_done = False
        self.deadline = time.monotonic() + DEADLINE_S

    def take(self) -> int | None:
        with self.cond:
            while True:
                n = self.taken
                if n >= QUERIES or time.monotonic() > self.deadline:
                    return None
                if self.writer_done or n < (self.commits_done + 2) * STEP:
                    break
                self.cond.wait(timeout=1.0)
            self.taken += 1
            self.cond.notify_all()
            return n

    def wait_for_readers(self, commit: int) -> None:
        with self.cond:
            while self.taken < commit * STEP and time.monotonic() < self.deadline:
                self.cond.wait(timeout=1.0)

    def committed(self, commit: int) -> None:
        with self.cond:
            self.commits_done = commit
            self.cond.notify_all()

    def finish(self) -> None:
        with self.cond:
            self.writer_done = True
            self.cond.notify_all()


@pytest.fixture(scope="module", autouse=True)
def one_faiss_thread() -> Iterator[None]:
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def _changes(prev: Docs, cur: Docs) -> tuple[list[tuple[Document, list[Chunk]]], set[str]]:
    changed = [cur[d] for d in cur if d not in prev or prev[d] != cur[d]]
    return changed, set(prev) - set(cur)


def _mismatches(records: list[Record], truth: dict[str, dict[str, str]], key: Any) -> list[str]:
    """Citations that do not point into the texts `key(record)` names in `truth`."""
    bad: list[str] = []
    for r in records:
        texts = truth[key(r)]
        for c in r.answer.citations:
            if c.doc_id not in texts:
                bad.append(f"#{r.n} {r.version}: {c.doc_id} is not in the version")
            elif texts[c.doc_id][c.start : c.end] != c.quote:
                bad.append(f"#{r.n} {r.version}: {c.doc_id}[{c.start}:{c.end}] != {c.quote!r}")
    return bad


def test_readers_during_rebuilds_cite_the_version_that_answered(
    tmp_path: Path,
    embedder: Any,  # noqa: F811
) -> None:
    from ui.app import WebState

    t_start = time.monotonic()
    emb = MemoEmbedder(embedder)
    root = tmp_path / "index"
    first = version_docs(1)
    report = update_index(root, first.values(), emb, chunker_settings=CHUNKER)
    truth = {report.manifest_hash: {d: doc.text for d, (doc, _) in first.items()}}
    number = {report.manifest_hash: 1}
    settings = Settings().replace(index_dir=str(root))
    state = WebState(QA(ClinqaIndex.load(root, emb), settings), settings)  # reload: app's _reload
    try:
        # positive control: version 1 answers from its own passages
        qa1 = state.qa_for(None)
        assert qa1.index.manifest_hash == report.manifest_hash
        zor = qa1.ask("What is the recommended dose of zorvanib?")
        assert [c.doc_id for c in zor.citations][:1] == ["bulletin:v1"], zor
        assert "25 mg" in zor.citations[0].quote
        dose = qa1.ask("What is the dose of aldesleukin?")
        assert dose.citations and dose.citations[0].doc_id == "seed:aldesleukin", dose
        assert "610,000 international units/kg" in dose.citations[0].quote
        for c in (*zor.citations, *dose.citations):
            assert first[c.doc_id][0].text[c.start : c.end] == c.quote

        rng = random.Random(SEED)
        schedule = [q for _ in range(QUERIES // len(QUESTIONS) + 1) for q in QUESTIONS]
        rng.shuffle(schedule)
        schedule = schedule[:QUERIES]
        pace = Pace()
        records: list[Record] = []
        errors: list[str] = []
        commits: list[Commit] = []

        def reader() -> None:
            while (n := pace.take()) is not None:
                view = state.qa_for(None)
                t0 = time.monotonic()
                try:
                    ans = view.ask(schedule[n])
                except Exception as exc:  # every failure counts; none is expected
                    errors.append(f"#{n} {schedule[n]!r}: {type(exc).__name__}: {exc}")
                    continue
                ix = view.index
                records.append(
                    Record(n, schedule[n], ix.version, ix.manifest_hash, ans, t0, time.monotonic())
                )

        def writer() -> None:
            try:
                prev = first
                for j in range(1, COMMITS + 1):
                    pace.wait_for_readers(j)
                    cur = version_docs(j + 1)
                    changed, removed = _changes(prev, cur)
                    t0 = time.monotonic()
                    rep = update_index(
                        root, changed, emb, remove_doc_ids=removed, chunker_settings=CHUNKER
                    )
                    t1 = time.monotonic()
                    assert rep.written and rep.added and rep.replaced and rep.removed, rep
                    truth[rep.manifest_hash] = {d: doc.text for d, (doc, _) in cur.items()}
                    number[rep.manifest_hash] = j + 1
                    loaded = state.refresh().index  # as ui.app._ingest_shared does

                    assert loaded.manifest_hash == rep.manifest_hash, (loaded.version, rep)
                    assert {d.doc_id for d in loaded.documents()} == set(cur)
                    commits.append(Commit(j, rep.version, rep.manifest_hash, t0, t1))
                    pace.committed(j)
                    prev = cur
            except BaseException as exc:
                errors.append(f"writer: {type(exc).__name__}: {exc}")
            finally:
                pace.finish()

        threads = [threading.Thread(target=reader, daemon=True) for _ in range(THREADS)]
        threads.append(threading.Thread(target=writer, daemon=True))
        t_run = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max(1.0, pace.deadline - time.monotonic() + 5))
        run_s = time.monotonic() - t_run
        assert not any(t.is_alive() for t in threads), "reader or writer hung"
    finally:
        state.close()

    served = Counter(number[r.manifest_hash] for r in records)
    cited = [r for r in records if r.answer.citations]
    n_citations = sum(len(r.answer.citations) for r in records)
    during = [sum(1 for r in records if r.t0 < c.t1 and r.t1 > c.t0) for c in commits]
    bad = _mismatches(cited, truth, lambda r: r.manifest_hash)
    print(
        f"\nreaders: {len(records) + len(errors)} queries by {THREADS} threads in {run_s:.1f}s "
        f"({len(errors)} errors); {len(commits)} commits; versions answering "
        f"{dict(sorted(served.items()))}; {len(cited)} answers with {n_citations} citations, "
        f"{len(bad)} mismatches; answers in flight during each commit {during}; "
        f"embedder misses {emb.misses}; total {time.monotonic() - t_start:.1f}s"
    )
    assert not errors, errors[:5]
    assert len(records) == QUERIES and len(commits) == COMMITS
    assert not bad, bad[:5]
    assert len(cited) >= QUERIES // 2  # most questions are answered with citations
    assert len(served) >= 5, served  # the readers really spanned the commits
    assert sum(1 for n in during if n) >= COMMITS // 2, during  # and ran while they were written
