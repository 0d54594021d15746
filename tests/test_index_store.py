"""The versioned index folder: round trip, verification, incremental updates, crash safety."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest
from fixtures_index import corpus, embedder, label_docs, make_doc, other_docs  # noqa: F401

import index.layout
import index.store
from index.context import embed_text
from index.dense import DenseRetriever
from index.embedder_st import SentenceTransformerEmbedder
from index.errors import IndexCorrupt, IndexInputError, IndexMismatch, IndexMissing
from index.groups import ChunkGroup
from index.layout import current_version
from index.lexical import LexicalRetriever
from index.store import ClinqaIndex, update_index
from ingest.text import split_units
from ingest.types import JOURNAL

SETTINGS = {"name": "test-chunker", "max_chars": 400}
QUERIES = [
    "What is the starting dose of metformin?",
    "warfarin contraindicated in pregnancy",
    "aldesleukin capillary leak syndrome",
    "serum IL-2 levels after ERCP",
]


def _build(folder: Path, docs, embedder, **kw):  # noqa: F811
    return update_index(folder, docs, embedder, chunker_settings=SETTINGS, **kw)


def _versions(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "versions").iterdir())


def _results(ix: ClinqaIndex) -> list:
    return [
        [(p.chunk, p.rank, round(p.score, 6), p.also) for p in r.search(q, k=8)]
        for q in QUERIES
        for r in (ix.dense, ix.lexical, ix.hybrid)
    ]


def test_save_then_load_gives_identical_search_results(tmp_path: Path, embedder) -> None:  # noqa: F811
    docs = corpus()
    report = _build(tmp_path, docs, embedder)
    ix = ClinqaIndex.load(tmp_path, embedder)
    assert ix.version == report.version and ix.manifest_hash == report.manifest_hash
    # the same retrievers built in memory from the chunks, without touching the folder
    chunks = sorted((c for _, cs in docs for c in cs), key=lambda c: (c.doc_id, c.start))
    groups = [ChunkGroup((c,)) for c in chunks]
    vectors = embedder.embed([embed_text(c) for c in chunks])
    dense = DenseRetriever(groups, vectors, embedder)
    lexical = LexicalRetriever(groups)
    for q in QUERIES:
        for mem, loaded in ((dense, ix.dense), (lexical, ix.lexical)):
            a, b = mem.search(q, 8), loaded.search(q, 8)
            assert [p.chunk for p in a] == [p.chunk for p in b]
            np.testing.assert_allclose([p.score for p in a], [p.score for p in b], rtol=1e-5)
    assert _results(ix) == _results(ClinqaIndex.load(tmp_path, embedder))
    # the stored documents and chunks are the ones given
    assert {d.doc_id: d for d in ix.documents()} == {d.doc_id: d for d, _ in docs}
    assert sorted(ix.chunks, key=lambda c: c.chunk_id) == sorted(chunks, key=lambda c: c.chunk_id)
    for c in ix.chunks:
        assert ix.document(c.doc_id).text[c.start : c.end] == c.text
        assert ix.chunk(c.chunk_id) == c and ix.vector(c.chunk_id).shape == (384,)


def test_manifest_records_how_the_index_was_built(tmp_path: Path, embedder) -> None:  # noqa: F811
    docs = label_docs()
    report = _build(tmp_path, docs, embedder)
    folder = tmp_path / "versions" / report.version
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"] == {
        "name": "sentence-transformers/all-MiniLM-L6-v2",
        "backend": "st-fp32",
        "dim": 384,
        "normalised": True,
        "max_tokens": 256,
    }
    assert manifest["chunker"] == SETTINGS and manifest["dense"]["kind"] == "flat"
    units = {c.chunk_id: len(split_units(c.text)) for _, cs in docs for c in cs}
    assert manifest["counts"] == {"documents": 12, "chunks": report.chunks_total,
                                  "occurrences": sum(len(cs) for _, cs in docs),
                                  "units": sum(units.values())}  # fmt: skip
    files = manifest["files"]
    assert {"documents.jsonl", "chunks.jsonl", "vectors.npy", "dense.faiss"} <= set(files)
    assert {"unit_spans.npy", "units.npy"} <= set(files)
    assert any(name.startswith("bm25/") for name in files)
    for name, meta in files.items():
        assert (folder / name).stat().st_size == meta["size"]
    assert (tmp_path / "CURRENT").read_text().strip() == report.version
    vectors = np.load(folder / "vectors.npy", allow_pickle=False)
    assert vectors.dtype == np.float32 and vectors.shape == (report.chunks_total, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for path in folder.rglob("*.npy"):
        np.load(path, allow_pickle=False)  # nothing needs pickle


def test_load_refuses_another_model_name(tmp_path: Path, embedder) -> None:  # noqa: F811
    _build(tmp_path, label_docs()[:2], embedder)
    other = SentenceTransformerEmbedder(embedder.path, name="acme/other-model")
    with pytest.raises(IndexMismatch) as err:
        ClinqaIndex.load(tmp_path, other)
    msg = str(err.value)
    assert "model.name" in msg and "all-MiniLM-L6-v2" in msg and "acme/other-model" in msg


def test_load_refuses_another_dimension(tmp_path: Path, embedder) -> None:  # noqa: F811
    report = _build(tmp_path, label_docs()[:2], embedder)
    path = tmp_path / "versions" / report.version / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["model"]["dim"] = 768  # as if built with a 768-dimensional model
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match=r"model\.dim expected 768.*found 384"):
        ClinqaIndex.load(tmp_path, embedder)


def test_tampered_vectors_are_detected(tmp_path: Path, embedder) -> None:  # noqa: F811
    report = _build(tmp_path, label_docs()[:3], embedder)
    path = tmp_path / "versions" / report.version / "vectors.npy"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match=r"vectors\.npy: sha256 expected"):
        ClinqaIndex.load(tmp_path, embedder)


def test_truncated_chunks_file_is_detected(tmp_path: Path, embedder) -> None:  # noqa: F811
    report = _build(tmp_path, label_docs()[:3], embedder)
    path = tmp_path / "versions" / report.version / "chunks.jsonl"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IndexCorrupt, match=r"chunks\.jsonl: size expected"):
        ClinqaIndex.load(tmp_path, embedder)


def test_an_update_refuses_a_tampered_live_version(tmp_path: Path, embedder) -> None:  # noqa: F811
    """An update reads the version it replaces through its manifest's hashes: a flipped byte
    in the live vectors is named, and nothing new is published over it."""
    first = _build(tmp_path, label_docs()[:3], embedder)
    second = _build(tmp_path, label_docs()[:4], embedder)  # positive control: an update works
    assert second.added and second.version != first.version
    path = tmp_path / "versions" / second.version / "vectors.npy"
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match=r"vectors\.npy: sha256 expected"):
        _build(tmp_path, label_docs()[:5], embedder)
    assert current_version(tmp_path)[0] == second.version


def test_an_update_does_not_load_the_version_it_replaces(
    tmp_path: Path,
    embedder,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An update keeps documents and chunks of the live version by reading its files a line
    at a time (index/previous.py), never the whole version as a query process does; what it
    writes is what a fresh build of the same documents writes."""
    docs = label_docs()
    _build(tmp_path / "a", docs[:6], embedder)

    def whole(*args: object, **kwargs: object) -> None:
        raise AssertionError("an update loaded the whole previous version")

    monkeypatch.setattr(index.layout, "read_version", whole)
    monkeypatch.setattr(index.store, "read_version", whole)
    report = _build(
        tmp_path / "a", [*docs[2:9], docs[0]], embedder, remove_doc_ids=[docs[1][0].doc_id]
    )
    monkeypatch.undo()
    assert report.chunks_reused > 0 and report.added and report.removed
    fresh = _build(tmp_path / "b", [d for i, d in enumerate(docs[:9]) if i != 1], embedder)
    a = ClinqaIndex.load(tmp_path / "a", embedder)
    b = ClinqaIndex.load(tmp_path / "b", embedder)
    for name in ("documents.jsonl", "chunks.jsonl", "unit_spans.npy"):
        assert (a.path / name).read_bytes() == (b.path / name).read_bytes(), name
    for name in ("vectors.npy", "units.npy"):  # reused rows were embedded in other batches
        va, vb = np.load(a.path / name), np.load(b.path / name)
        assert va.shape == vb.shape and np.allclose(va, vb, atol=2e-3), name
    assert fresh.chunks_total == report.chunks_total


def test_missing_index_names_the_folder(tmp_path: Path, embedder) -> None:  # noqa: F811
    with pytest.raises(IndexMissing, match=str(tmp_path / "nothing-here")):
        ClinqaIndex.load(tmp_path / "nothing-here", embedder)


def test_incremental_updates(tmp_path: Path, embedder) -> None:  # noqa: F811
    docs = label_docs()
    first = _build(tmp_path, docs, embedder)
    n_chunks = len({c.chunk_id for _, cs in docs for c in cs})
    assert len(first.added) == 12 and first.chunks_embedded == first.chunks_total == n_chunks
    before = ClinqaIndex.load(tmp_path, embedder)

    # the same documents again: nothing embedded, no new version
    again = _build(tmp_path, docs, embedder)
    assert again.written is False and again.chunks_embedded == 0
    assert again.unchanged == tuple(d.doc_id for d, _ in docs) and not again.added
    assert again.version == first.version and _versions(tmp_path) == [first.version]

    # one document changes one sentence: only its new chunk is embedded
    target = "openfda_excerpt:warfarin:contraindications"
    old_doc, old_chunks = next((d, cs) for d, cs in docs if d.doc_id == target)
    new_doc, new_chunks = make_doc(target, old_doc.title, old_doc.source_type,
                                   [(old_doc.sections[0].name, old_doc.text + " Avoid in "
                                     "patients with uncontrolled bleeding.")],
                                   subject=old_doc.subject)  # fmt: skip
    old_ids = {c.chunk_id for c in old_chunks}
    fresh = [c for c in new_chunks if c.chunk_id not in old_ids]
    assert fresh and len(fresh) < len(new_chunks)
    changed = _build(tmp_path, [(new_doc, new_chunks)], embedder)
    assert changed.replaced == (target,) and not changed.added and not changed.removed
    assert changed.chunks_embedded == len(fresh)
    assert changed.chunks_reused == changed.chunks_total - len(fresh)
    after = ClinqaIndex.load(tmp_path, embedder)
    assert after.document(target) == new_doc
    assert {c.chunk_id for c in after.chunks if c.doc_id == target} == {
        c.chunk_id for c in new_chunks
    }
    for c in before.chunks:
        if c.doc_id != target:  # other documents kept, vectors reused bit for bit
            assert np.array_equal(after.vector(c.chunk_id), before.vector(c.chunk_id))
    assert len(after.documents()) == 12

    # remove one document: only its chunks go
    gone = "openfda_excerpt:metformin:indications_and_usage"
    removed = _build(tmp_path, [], embedder, remove_doc_ids=[gone, "not:there"])
    assert removed.removed == (gone,) and removed.chunks_embedded == 0
    final = ClinqaIndex.load(tmp_path, embedder)
    assert all(c.doc_id != gone for c in final.chunks)
    with pytest.raises(KeyError, match="metformin"):
        final.document(gone)
    assert final.dense.search("metformin glycemic control", k=3)[0].chunk.doc_id != gone
    # three versions were written; the live one and its predecessor are kept
    assert len(_versions(tmp_path)) == 2 and final.version in _versions(tmp_path)


def test_replace_all_drops_documents_not_given(tmp_path: Path, embedder) -> None:  # noqa: F811
    docs = label_docs()
    _build(tmp_path, docs, embedder)
    report = _build(tmp_path, docs[:2], embedder, replace_all=True)
    assert report.unchanged == tuple(d.doc_id for d, _ in docs[:2])
    assert sorted(report.removed) == sorted(d.doc_id for d, _ in docs[2:])
    assert report.chunks_embedded == 0
    assert len(ClinqaIndex.load(tmp_path, embedder).documents()) == 2


def test_duplicate_chunks_collapse_and_keep_occurrences(tmp_path: Path, embedder) -> None:  # noqa: F811
    shared = "Serum concentrations of IL-2 were determined before and after the procedure."
    a = make_doc("pubmed:1", "Study one", JOURNAL,
                 [("METHODS", f"We enrolled 45 patients. {shared}")], max_chars=40)  # fmt: skip
    b = make_doc("pubmed:2", "Study two", JOURNAL, [("METHODS", f"{shared} Ten controls joined.")],
                 max_chars=40)  # fmt: skip
    report = _build(tmp_path, [a, b], embedder)
    assert report.chunks_total == 3 and report.chunks_embedded == 3
    ix = ClinqaIndex.load(tmp_path, embedder)
    dup = next(c for c in ix.chunks if c.text == shared)
    occ = ix.occurrences(dup.chunk_id)
    assert [(o.doc_id, ix.document(o.doc_id).text[o.start : o.end]) for o in occ] == [
        ("pubmed:1", shared),
        ("pubmed:2", shared),
    ]
    hit = ix.hybrid.search("IL-2 serum concentrations", k=1)[0]
    assert hit.chunk.chunk_id == dup.chunk_id and [o.doc_id for o in hit.also] == ["pubmed:2"]

    # removing one document removes only its occurrence
    report = _build(tmp_path, [], embedder, remove_doc_ids=["pubmed:1"])
    ix = ClinqaIndex.load(tmp_path, embedder)
    assert [o.doc_id for o in ix.occurrences(dup.chunk_id)] == ["pubmed:2"]
    assert ix.chunk(dup.chunk_id).doc_id == "pubmed:2" and report.chunks_total == 2
    # the primary moved to "Study two", so the contextual text changed and is embedded anew
    assert report.chunks_embedded == 1 and report.chunks_reused == 1


def test_bad_chunk_offsets_are_refused(tmp_path: Path, embedder) -> None:  # noqa: F811
    doc, chunks = label_docs()[0]
    bad = dataclasses.replace(chunks[0], start=chunks[0].start + 1)
    with pytest.raises(IndexInputError, match=chunks[0].chunk_id):
        _build(tmp_path, [(doc, [bad])], embedder)
    assert not (tmp_path / "CURRENT").exists()


def test_empty_index_round_trip(tmp_path: Path, embedder) -> None:  # noqa: F811
    report = _build(tmp_path, [], embedder)
    assert report.chunks_total == 0 and report.written
    ix = ClinqaIndex.load(tmp_path, embedder)
    assert ix.chunks == [] and ix.documents() == [] and ix.hybrid.search("dose") == []


def test_progress_is_reported(tmp_path: Path, embedder) -> None:  # noqa: F811
    calls: list[tuple[int, int]] = []
    report = _build(tmp_path, label_docs()[:4], embedder, batch_size=2,
                    progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    total = report.chunks_embedded
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def _assert_old_version_intact(folder: Path, embedder, version: str, expected: list) -> None:  # noqa: F811
    ix = ClinqaIndex.load(folder, embedder, verify=True)
    assert ix.version == version and _results(ix) == expected
    assert not [p for p in (folder / "versions").iterdir() if p.name.startswith(".tmp-")]
    assert _versions(folder) == [version]


@pytest.mark.parametrize("fail_on_call", [1, 2])
def test_crash_in_os_replace_keeps_old_version(
    tmp_path: Path,
    embedder,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    fail_on_call: int,
) -> None:
    first = _build(tmp_path, label_docs()[:4], embedder)
    expected = _results(ClinqaIndex.load(tmp_path, embedder))
    real_replace = os.replace
    calls = {"n": 0}

    def flaky_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == fail_on_call:  # 1: the version folder rename, 2: CURRENT
            raise OSError(f"simulated crash on os.replace #{calls['n']}")
        return real_replace(src, dst)

    monkeypatch.setattr(index.layout.os, "replace", flaky_replace)
    with pytest.raises(OSError, match="simulated crash"):
        _build(tmp_path, other_docs(), embedder)
    monkeypatch.undo()
    _assert_old_version_intact(tmp_path, embedder, first.version, expected)
    # and the next update succeeds
    assert _build(tmp_path, other_docs(), embedder).added


def test_crash_while_writing_files_keeps_old_version(
    tmp_path: Path,
    embedder,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = _build(tmp_path, label_docs()[:4], embedder)
    expected = _results(ClinqaIndex.load(tmp_path, embedder))

    def broken_save(bm25, folder):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "half-written").write_text("x")
        raise RuntimeError("disk full while writing bm25/")

    monkeypatch.setattr(index.store, "save_bm25", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        _build(tmp_path, other_docs(), embedder)
    monkeypatch.undo()
    _assert_old_version_intact(tmp_path, embedder, first.version, expected)


def test_leftover_temp_folder_from_a_killed_writer_is_ignored(tmp_path: Path, embedder) -> None:  # noqa: F811
    first = _build(tmp_path, label_docs()[:2], embedder)
    junk = tmp_path / "versions" / ".tmp-deadbeef"
    junk.mkdir()
    (junk / "vectors.npy").write_bytes(b"partial")
    assert ClinqaIndex.load(tmp_path, embedder).version == first.version
    second = _build(tmp_path, label_docs()[2:4], embedder)
    assert not junk.exists() and _versions(tmp_path) == sorted([first.version, second.version])


def test_chunker_settings_change_writes_a_new_version(tmp_path: Path, embedder) -> None:  # noqa: F811
    docs = label_docs()[:2]
    first = _build(tmp_path, docs, embedder)
    report = update_index(tmp_path, docs, embedder, chunker_settings={**SETTINGS, "max_chars": 9})
    assert report.written and report.version != first.version and report.chunks_embedded == 0
    manifest = ClinqaIndex.load(tmp_path, embedder).manifest
    assert manifest["chunker"]["max_chars"] == 9
