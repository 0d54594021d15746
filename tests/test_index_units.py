"""Answer-unit vectors: pooled from the chunk's own forward pass at ingest, stored in the index
folder, read by QA instead of embedding every candidate sentence at query time."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fixtures_index import corpus, embedder, int8_embedder, make_doc  # noqa: F401

from index.context import embed_text, unit_text
from index.errors import IndexCorrupt
from index.npy_rows import NpyRows
from index.spans import pool_spans, shifted, span_tokens
from index.store import ClinqaIndex, update_index
from index.units import ALONE, POOLED, chunk_units, embed_units
from ingest.types import MONOGRAPH
from qa.engine import P_COS, QA
from qa.intent import detect_intent
from qa.settings import Settings

SETTINGS = {"name": "test-chunker", "max_chars": 400}
METFORMIN = (
    "Starting dose: 500 mg orally twice a day with meals. "
    "Lactic acidosis is a rare but serious complication. "
    "Store tablets at room temperature away from moisture."
)
QUESTIONS = [
    "What is the starting dose of metformin?",
    "Is warfarin contraindicated in pregnancy?",
    "What does aldesleukin cause in the capillaries?",
    "How is lisinopril dosed in heart failure?",
]


def test_pool_spans_matches_a_brute_force_mean() -> None:
    rng = np.random.default_rng(11)
    hidden = rng.normal(size=(40, 8)).astype(np.float32)
    ends = np.cumsum(rng.integers(1, 6, size=38))
    offsets = np.array([[0, 0], *[[e - 1, e] for e in ends], [0, 0]])  # [CLS] ... [SEP]
    spans = [(0, 20), (20, 60), (60, 500), (1000, 1010)]
    got = pool_spans(hidden, offsets, spans)
    for row, (a, b) in zip(got, spans, strict=True):
        inside = [t for t, (s, e) in enumerate(offsets) if e > s and s < b and e > a]
        if not inside:
            assert not row.any()  # past the truncated end: a zero row
            continue
        want = hidden[inside].mean(axis=0)
        np.testing.assert_allclose(row, want / np.linalg.norm(want), rtol=1e-5, atol=1e-6)
    first = offsets[1]
    assert span_tokens(offsets, 0, int(first[1])).tolist() == [1]  # [CLS] (0, 0) never counts


@pytest.mark.parametrize("which", ["embedder", "int8_embedder"])
def test_a_unit_vector_is_nearest_its_own_sentence(which: str, request: Any) -> None:
    emb = request.getfixturevalue(which)
    text = "metformin — Dosage: " + METFORMIN
    starts = [text.index(w) for w in ("Starting", "Lactic", "Store")]
    spans = list(zip(starts, [starts[1] - 1, starts[2] - 1, len(text)], strict=True))
    vectors, pooled = emb.embed_spans([text, "a short text"], [spans, []])
    np.testing.assert_allclose(vectors, emb.embed([text, "a short text"]), atol=1e-5)
    assert pooled[1].shape == (0, emb.dim)
    alone = emb.embed([text[a:b] for a, b in spans])
    sims = pooled[0] @ alone.T
    assert [int(i) for i in sims.argmax(axis=1)] == [0, 1, 2], sims.round(3)
    whole = emb.embed_spans([text], [[(0, len(text))]])[1][0][0]
    assert float(whole @ vectors[0]) > 0.98  # all tokens but [CLS]/[SEP]: the text's own vector


def test_stored_unit_vectors_are_those_of_a_fresh_forward_pass(
    tmp_path: Path,
    int8_embedder: Any,  # noqa: F811
) -> None:
    docs = corpus()
    report = update_index(tmp_path, docs, int8_embedder, chunker_settings=SETTINGS)
    ix = ClinqaIndex.load(tmp_path, int8_embedder)
    assert ix.units is not None and len(ix.units.spans) == ix.manifest["counts"]["units"]
    for chunk in ix.chunks[:12]:
        stored = ix.unit_vectors(chunk.chunk_id)
        assert stored is not None
        spans, vectors = stored
        units = chunk_units(chunk)
        assert spans.tolist() == [list(u) for u in units]
        text = embed_text(chunk)
        fresh = int8_embedder.embed_spans([text], [shifted(units, len(text) - len(chunk.text))])
        np.testing.assert_allclose(vectors, fresh[1][0], atol=2e-3)  # float16 on disk
    # re-ingest of unchanged text embeds nothing and keeps the unit vectors
    again = update_index(tmp_path, docs, int8_embedder, chunker_settings=SETTINGS, replace_all=True)
    assert again.chunks_embedded == 0 and not again.written
    # an edited document is embedded again, the rest of the units are reused
    edited = [
        (dataclasses.replace(d, meta={**d.meta, "rev": 2}), cs) if i == 0 else (d, cs)
        for i, (d, cs) in enumerate(docs)
    ]
    third = update_index(tmp_path, edited, int8_embedder, chunker_settings=SETTINGS)
    assert third.written and third.chunks_embedded == 0  # same chunk texts: vectors reused
    ix3 = ClinqaIndex.load(tmp_path, int8_embedder)
    assert ix3.units is not None
    old, new = ix.units.vectors, ix3.units.vectors
    assert isinstance(old, NpyRows) and isinstance(new, NpyRows)  # read on demand
    np.testing.assert_array_equal(new.read_all(), old.read_all())
    assert report.chunks_total == third.chunks_total


def test_an_update_writes_the_same_unit_files_as_a_fresh_build(
    tmp_path: Path,
    int8_embedder: Any,  # noqa: F811
) -> None:
    """An update mixes rows embedded now (from the build's scratch file) with rows reused from
    the previous version's units.npy; the files must be those a fresh build writes."""
    docs = corpus()
    update_index(tmp_path / "a", docs, int8_embedder, chunker_settings=SETTINGS)
    added = make_doc(
        "test:new", "Tinzaparin", MONOGRAPH,
        [("Dosage", "Give 175 anti-Xa units/kg subcutaneously once daily. Check platelets.")],
        subject="Tinzaparin",
    )  # fmt: skip
    final = [added, *docs[1:]]  # one document dropped, one added, the rest reused
    upd = update_index(
        tmp_path / "a", final, int8_embedder, chunker_settings=SETTINGS, replace_all=True
    )
    assert upd.written and 0 < upd.chunks_embedded < upd.chunks_total  # a real mix
    fresh = update_index(tmp_path / "b", final, int8_embedder, chunker_settings=SETTINGS)
    assert fresh.chunks_embedded == fresh.chunks_total
    a = tmp_path / "a" / "versions" / upd.version
    b = tmp_path / "b" / "versions" / fresh.version
    for name in (
        "units.npy",
        "unit_spans.npy",
        "vectors.npy",
        "chunks.jsonl",
        "documents.jsonl",
        "dense.faiss",
    ):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert not [p for p in (tmp_path / "a").rglob("*") if "tmp" in p.name]  # no scratch left


def _edit_manifest(folder: Path, edit: Any) -> None:
    """Apply `edit` to a version's manifest and write it back consistently hashed."""
    import json

    from index.files import sha256_text
    from index.layout import MANIFEST, MANIFEST_SHA

    manifest = json.loads((folder / MANIFEST).read_text())
    edit(manifest)
    text = json.dumps(manifest, indent=2, ensure_ascii=False)
    (folder / MANIFEST).write_text(text, encoding="utf-8")
    (folder / MANIFEST_SHA).write_text(sha256_text(text) + "\n")


class Counting:
    """An embedder wrapper that counts what QA asks of the model at query time."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.backend, self.max_tokens = inner.name, inner.backend, inner.max_tokens
        self.dim = inner.dim
        self.texts: set[str] = set()
        self.span_texts = 0

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def embed(self, texts: Any, *, batch_size: int = 64) -> np.ndarray:
        self.texts.update(texts)
        return np.asarray(self.inner.embed(texts, batch_size=batch_size))

    def embed_spans(self, texts: Any, spans: Any, *, batch_size: int = 64) -> Any:
        self.span_texts += len(texts)
        return self.inner.embed_spans(texts, spans, batch_size=batch_size)


def test_qa_reads_stored_unit_vectors_and_pools_the_same_ones_without_them(
    tmp_path: Path,
    int8_embedder: Any,  # noqa: F811
) -> None:
    update_index(tmp_path, corpus(), int8_embedder, chunker_settings=SETTINGS)
    counting = Counting(int8_embedder)
    stored = QA(ClinqaIndex.load(tmp_path, counting), Settings())
    answers = [stored.ask(q) for q in QUESTIONS]
    assert sum(not a.abstained for a in answers) >= 3  # positive control: it answers
    # the query path embeds the question (as asked and as expanded for retrieval), never a
    # sentence
    assert counting.span_texts == 0 and len(counting.texts) <= 2 * len(QUESTIONS)
    assert all(any(q in t for q in QUESTIONS) for t in counting.texts), counting.texts
    # an index without unit vectors pools them at query time from one pass per chunk
    old = ClinqaIndex.load(tmp_path, counting)
    old.units = None
    pooled = QA(old, Settings())
    for q, a in zip(QUESTIONS, answers, strict=True):
        b = pooled.ask(q)
        assert (b.abstained, b.answer) == (a.abstained, a.answer), q
        assert [round(p.score, 2) for p in b.passages] == [round(p.score, 2) for p in a.passages]
    assert counting.span_texts > 0


def test_unit_files_that_do_not_fit_the_manifest_are_refused(
    tmp_path: Path,
    int8_embedder: Any,  # noqa: F811
) -> None:
    from index.files import sha256_bytes
    from index.layout import UNIT_SPANS, npy_bytes

    report = update_index(tmp_path, corpus(), int8_embedder, chunker_settings=SETTINGS)
    ClinqaIndex.load(tmp_path, int8_embedder)  # positive control: the build loads
    folder = tmp_path / "versions" / report.version
    spans = np.load(folder / UNIT_SPANS, allow_pickle=False)
    spans[[0, -1]] = spans[[-1, 0]]  # rows out of order, consistently re-hashed
    data = npy_bytes(spans)
    (folder / UNIT_SPANS).write_bytes(data)
    _edit_manifest(
        folder,
        lambda m: m["files"].update(
            {UNIT_SPANS: {"sha256": sha256_bytes(data), "size": len(data)}}
        ),
    )
    with pytest.raises(IndexCorrupt, match="unit rows are not sorted"):
        ClinqaIndex.load(tmp_path, int8_embedder)


def test_unit_rows_cut_off_under_a_reader_fall_back_to_pooling(
    tmp_path: Path,
    int8_embedder: Any,  # noqa: F811
) -> None:
    from index.layout import UNITS

    report = update_index(tmp_path, corpus(), int8_embedder, chunker_settings=SETTINGS)
    ix = ClinqaIndex.load(tmp_path, int8_embedder)
    qa = QA(ix, Settings())
    before = qa.ask(QUESTIONS[0])
    last = ix.chunks[-1].chunk_id
    assert ix.unit_vectors(last) is not None  # positive control: read from the file
    path = tmp_path / "versions" / report.version / UNITS
    with open(path, "r+b") as f:  # the file shrinks after it was verified and opened
        f.truncate(path.stat().st_size // 2)
    with pytest.raises(IndexCorrupt, match="cut off"):
        assert ix.units is not None
        ix.units.for_row(len(ix.chunks) - 1)
    assert ix.unit_vectors(last) is None  # QA then pools the vectors from the chunk itself
    after = QA(ix, Settings()).ask(QUESTIONS[0])
    assert (after.abstained, after.answer) == (before.abstained, before.answer)


@pytest.mark.parametrize("which", ["embedder", "int8_embedder"])
def test_a_unit_is_embedded_alone_in_its_chunks_context(which: str, request: Any) -> None:
    emb = request.getfixturevalue(which)
    _, chunks = make_doc(
        "test:m", "Metformin", MONOGRAPH, [("Dosage", METFORMIN)], subject="metformin"
    )
    chunk = chunks[0]
    empty = make_doc("test:e", "Empty", MONOGRAPH, [("Notes", "A short text.")])[1][0]
    spans = chunk_units(chunk)
    assert len(spans) == 3  # positive control: three sentences
    got = embed_units(emb, [chunk, empty], [spans, []])
    assert got[1].shape == (0, emb.dim)
    texts = [unit_text(chunk, a, b) for a, b in spans]
    assert texts[1] == "metformin — Dosage: Lactic acidosis is a rare but serious complication."
    np.testing.assert_allclose(got[0], emb.embed(texts), atol=1e-5)
    # each unit's vector is nearest its own sentence, not the chunk's average
    sims = got[0] @ emb.embed([chunk.text[a:b] for a, b in spans]).T
    assert [int(i) for i in sims.argmax(axis=1)] == [0, 1, 2], sims.round(3)


def test_an_embedder_that_returns_the_wrong_shape_is_named(embedder: Any) -> None:  # noqa: F811
    class Short:
        name, dim = "short-model", embedder.dim

        def embed(self, texts: Any, *, batch_size: int = 64) -> np.ndarray:
            return np.zeros((len(texts) - 1, self.dim), dtype=np.float32)

    chunk = make_doc("test:m", "M", MONOGRAPH, [("Dosage", "Give 5 mg. Then 10 mg.")])[1][0]
    assert len(embed_units(embedder, [chunk], [chunk_units(chunk)])[0]) == 2  # positive control
    with pytest.raises(ValueError, match="short-model returned shape"):
        embed_units(Short(), [chunk], [chunk_units(chunk)])  # type: ignore[arg-type]


def test_an_alone_build_stores_each_unit_embedded_alone_and_ranks_by_the_best_one(
    tmp_path: Path,
    int8_embedder: Any,  # noqa: F811
) -> None:
    docs = corpus()
    update_index(tmp_path / "p", docs, int8_embedder, chunker_settings=SETTINGS)
    report = update_index(
        tmp_path / "a", docs, int8_embedder, chunker_settings=SETTINGS, unit_vectors=ALONE
    )
    pooled, alone = (ClinqaIndex.load(tmp_path / x, int8_embedder) for x in ("p", "a"))
    assert (pooled.unit_mode, alone.unit_mode) == (POOLED, ALONE)
    assert alone.manifest["units"] == ALONE and report.chunks_embedded == report.chunks_total
    np.testing.assert_array_equal(pooled.vectors, alone.vectors)  # chunk vectors are the same
    differ = 0
    for chunk in alone.chunks[:12]:
        got, was = alone.unit_vectors(chunk.chunk_id), pooled.unit_vectors(chunk.chunk_id)
        assert got is not None and was is not None
        assert got[0].tolist() == was[0].tolist() == [list(u) for u in chunk_units(chunk)]
        fresh = int8_embedder.embed([unit_text(chunk, a, b) for a, b in chunk_units(chunk)])
        np.testing.assert_allclose(got[1], fresh, atol=2e-3)  # float16 on disk
        differ += int(np.abs(got[1] - was[1]).max() > 0.05)
    assert differ >= 3  # positive control: the pooled vectors are another thing
    # QA ranks an alone index's passages by their best unit; a pooled one by the chunk's vector
    question = QUESTIONS[0]
    qa_a, qa_p = QA(alone, Settings()), QA(pooled, Settings())
    a, p = qa_a.ask(question), qa_p.ask(question)
    assert not a.abstained and not p.abstained
    intent = detect_intent(question)
    qt_a = qa_a._question_terms(question, intent, qa_a._focus(question))
    qt_p = qa_p._question_terms(question, intent, qa_p._focus(question))
    for passage in a.passages[:5]:
        cid = passage.chunk.chunk_id
        stored = alone.unit_vectors(cid)
        assert stored is not None and len(stored[1])
        best = float(np.max(stored[1] @ qt_a.vector))
        whole = float(alone.vector(cid) @ qt_p.vector)
        lexical_a = qa_a._relevance(qt_a, passage) - P_COS * best
        lexical_p = qa_p._relevance(qt_p, passage) - P_COS * whole
        assert abs(lexical_a - lexical_p) < 1e-5, cid  # the rest of the score is the same
    # an update asked for the other kind embeds everything again rather than mix the two
    again = update_index(tmp_path / "a", docs, int8_embedder, chunker_settings=SETTINGS)
    assert again.written and again.chunks_embedded == again.chunks_total
    back = ClinqaIndex.load(tmp_path / "a", int8_embedder)
    assert back.unit_mode == POOLED
    assert back.units is not None and pooled.units is not None
    back_rows, pooled_rows = back.units.vectors, pooled.units.vectors
    assert isinstance(back_rows, NpyRows) and isinstance(pooled_rows, NpyRows)
    np.testing.assert_array_equal(back_rows.read_all(), pooled_rows.read_all())
    with pytest.raises(ValueError, match="unit_vectors must be one of"):
        update_index(
            tmp_path / "x", docs, int8_embedder, chunker_settings=SETTINGS, unit_vectors="mean"
        )
    assert not (tmp_path / "x" / "CURRENT").exists()


def test_an_index_whose_manifest_predates_the_units_record_is_pooled(
    tmp_path: Path,
    int8_embedder: Any,  # noqa: F811
) -> None:
    docs = corpus()
    report = update_index(tmp_path, docs, int8_embedder, chunker_settings=SETTINGS)
    folder = tmp_path / "versions" / report.version
    assert ClinqaIndex.load(tmp_path, int8_embedder).manifest["units"] == POOLED  # recorded now
    _edit_manifest(folder, lambda m: m.update(units="sentences"))
    with pytest.raises(IndexCorrupt, match="units 'sentences' is not one of pooled, alone"):
        ClinqaIndex.load(tmp_path, int8_embedder)
    _edit_manifest(folder, lambda m: m.pop("units"))  # as written before 2026-12-01
    old = ClinqaIndex.load(tmp_path, int8_embedder)
    assert old.unit_mode == POOLED and old.units is not None
    again = update_index(tmp_path, docs, int8_embedder, chunker_settings=SETTINGS, replace_all=True)
    assert not again.written and again.chunks_embedded == 0  # nothing to redo


def test_a_sessions_uploads_get_their_unit_vectors_as_the_main_index_does(
    tmp_path: Path,
    int8_embedder: Any,  # noqa: F811
) -> None:
    from ui.web_session import SessionView, SideIndex, SideView

    docs = corpus()
    documents = [d for d, _ in docs[:3]]
    chunks = [c for _, cs in docs[:3] for c in cs]
    pooled = SideIndex.build(documents, chunks, int8_embedder)
    alone = SideIndex.build(documents, chunks, int8_embedder, unit_mode=ALONE)
    assert (pooled.unit_mode, alone.unit_mode) == (POOLED, ALONE)
    multi = [c for c in chunks if len(chunk_units(c)) > 1]
    assert multi  # positive control: chunks with more than one unit
    for c in multi:
        want = int8_embedder.embed([unit_text(c, a, b) for a, b in chunk_units(c)])
        np.testing.assert_allclose(alone.units[c.chunk_id][1], want, atol=1e-5)
        assert np.abs(pooled.units[c.chunk_id][1] - want).max() > 0.05
    update_index(tmp_path, docs, int8_embedder, chunker_settings=SETTINGS, unit_vectors=ALONE)
    main = ClinqaIndex.load(tmp_path, int8_embedder)
    assert SessionView(main, alone, Settings()).unit_mode == ALONE
    assert SideView(alone, int8_embedder, Settings()).unit_mode == ALONE


def test_an_alone_index_without_unit_rows_embeds_units_alone_never_pooling(
    tmp_path: Path,
    int8_embedder: Any,  # noqa: F811
) -> None:
    update_index(tmp_path, corpus(), int8_embedder, chunker_settings=SETTINGS, unit_vectors=ALONE)
    counting = Counting(int8_embedder)
    stored = QA(ClinqaIndex.load(tmp_path, counting), Settings())
    answers = [stored.ask(q) for q in QUESTIONS]
    assert sum(not a.abstained for a in answers) >= 3  # positive control: it answers
    assert counting.span_texts == 0 and len(counting.texts) <= 2 * len(QUESTIONS)
    old = ClinqaIndex.load(tmp_path, counting)
    old.units = None  # as when the units file changed under a reader
    missing = QA(old, Settings())
    for q, a in zip(QUESTIONS, answers, strict=True):
        b = missing.ask(q)
        assert (b.abstained, b.answer) == (a.abstained, a.answer), q
    assert counting.span_texts == 0  # embedded alone, as the index was built, not pooled
    assert any(" — " in t for t in counting.texts - set(QUESTIONS))  # units in their context


def test_session_uploads_follow_the_main_indexs_unit_mode(
    tmp_path: Path,
    int8_embedder: Any,  # noqa: F811
) -> None:
    from ui.web_session import SessionUploads, add_documents

    docs = corpus()
    update_index(
        tmp_path / "i", docs[3:], int8_embedder, chunker_settings=SETTINGS, unit_vectors=ALONE
    )
    main = QA(ClinqaIndex.load(tmp_path / "i", int8_embedder), Settings())
    documents = [d for d, _ in docs[:3]]
    chunks = [c for _, cs in docs[:3] for c in cs]
    uploads = SessionUploads(tmp_path / "s")
    view = add_documents(uploads, documents, chunks, main, Settings(), lambda ix, s: QA(ix, s))
    assert view.merged.index.unit_mode == ALONE and view.uploads.index.unit_mode == ALONE
    side = view.merged.index.side
    multi = [c for c in chunks if len(chunk_units(c)) > 1]
    assert multi  # positive control
    for c in multi:
        want = int8_embedder.embed([unit_text(c, a, b) for a, b in chunk_units(c)])
        np.testing.assert_allclose(side.units[c.chunk_id][1], want, atol=1e-5)


def test_a_bad_unit_vectors_setting_is_refused_naming_where_it_came_from(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from ui.config import ConfigError, load_settings

    assert load_settings(environ={"CLINQA_UNIT_VECTORS": "alone"}).unit_vectors == ALONE
    with pytest.raises(
        ConfigError, match="environment variable CLINQA_UNIT_VECTORS.*pooled, alone"
    ):
        load_settings(environ={"CLINQA_UNIT_VECTORS": "mean"})
    toml = tmp_path / "clinqa.toml"
    toml.write_text('unit_vectors = "sentences"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=f"config file {toml}: setting unit_vectors"):
        load_settings(config_file=str(toml), environ={})
    env = {**os.environ, "CLINQA_UNIT_VECTORS": "mean", "CLINQA_INDEX_DIR": str(tmp_path / "i")}
    done = subprocess.run(
        [sys.executable, "-m", "ui.cli", "build"], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0 and "CLINQA_UNIT_VECTORS" in done.stderr, done.stderr
    assert not (tmp_path / "i").exists()  # refused before any work
