"""The shared contract (retriever_contract.py) for dense, lexical, hybrid; FAISS vs numpy; dose."""

from __future__ import annotations

import io
import json
from pathlib import Path

import bm25s
import faiss
import numpy as np
import pytest
from bm25s.tokenization import Tokenized
from fixtures_index import DOSE_TEXT, aldesleukin_doc, embedder, other_docs  # noqa: F401
from retriever_contract import (
    FILTER_CASES,
    FILTER_IDS,
    ODD_QUERIES,
    QUERIES,
    check_deterministic,
    check_doc_filter_sees_collapsed_occurrences,
    check_empty_index,
    check_filter_matching_nothing,
    check_filters_apply_before_ranking,
    check_k_ranks_and_order,
    check_odd_query,
    check_top_hit_is_relevant,
    contract_docs,
)

from index.bm25_build import bm25_index
from index.context import embed_text
from index.dense import (
    DenseRetriever,
    build_faiss,
    build_faiss_rows,
    write_faiss,
    write_flat_rows,
)
from index.groups import ChunkGroup
from index.hybrid import HybridRetriever
from index.lexical import LexicalRetriever, bm25_tokens
from index.npy_rows import ArrayRows
from index.store import ClinqaIndex, update_index
from index.types import Filters, Retriever

KINDS = ["dense", "lexical", "hybrid"]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, embedder) -> ClinqaIndex:  # noqa: F811
    folder = tmp_path_factory.mktemp("contract")
    update_index(folder, contract_docs(), embedder, chunker_settings={"test": 1})
    return ClinqaIndex.load(folder, embedder)


@pytest.fixture(scope="module")
def empty_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> ClinqaIndex:  # noqa: F811
    folder = tmp_path_factory.mktemp("empty")
    update_index(folder, [], embedder, chunker_settings={"test": 1})
    return ClinqaIndex.load(folder, embedder)


def _retriever(ix: ClinqaIndex, kind: str) -> Retriever:
    return {"dense": ix.dense, "lexical": ix.lexical, "hybrid": ix.hybrid}[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_contract_k_ranks_and_order(index: ClinqaIndex, kind: str) -> None:
    check_k_ranks_and_order(_retriever(index, kind), kind)


@pytest.mark.parametrize("kind", KINDS)
def test_contract_top_hit_is_relevant(index: ClinqaIndex, kind: str) -> None:
    check_top_hit_is_relevant(_retriever(index, kind))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("filters", "admits"), FILTER_CASES, ids=FILTER_IDS)
def test_contract_filters_apply_before_ranking(index, kind, filters, admits) -> None:
    # dense ranks every admitted chunk, so dense and hybrid fill k when enough are admitted
    check_filters_apply_before_ranking(
        _retriever(index, kind), index.groups, filters, admits, ranks_every_chunk=kind != "lexical"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_contract_filter_matching_nothing_and_empty_index(index, empty_index, kind) -> None:
    check_filter_matching_nothing(_retriever(index, kind))
    check_empty_index(_retriever(empty_index, kind))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("query", ODD_QUERIES)
def test_contract_odd_queries_do_not_crash(index: ClinqaIndex, kind: str, query: str) -> None:
    check_odd_query(_retriever(index, kind), query)


@pytest.mark.parametrize("kind", KINDS)
def test_contract_deterministic(index: ClinqaIndex, kind: str) -> None:
    check_deterministic(_retriever(index, kind))


@pytest.mark.parametrize("kind", KINDS)
def test_contract_doc_filter_sees_collapsed_occurrences(index: ClinqaIndex, kind: str) -> None:
    check_doc_filter_sees_collapsed_occurrences(
        _retriever(index, kind), lambda d: index.document(d).text
    )


def test_faiss_selector_path_equals_numpy_subset_path(index: ClinqaIndex) -> None:
    exact = index.dense
    via_faiss = DenseRetriever(exact.groups, exact.vectors, exact.embedder, exact.index,
                               subset_max=0)  # fmt: skip
    for f in [Filters(source_types=("journal",)), Filters(doc_prefixes=("openfda_excerpt:",))]:
        for q in QUERIES:
            a = [(p.chunk.chunk_id, round(p.score, 5)) for p in exact.search(q, 6, f)]
            b = [(p.chunk.chunk_id, round(p.score, 5)) for p in via_faiss.search(q, 6, f)]
            assert a == b


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_ann_kinds_search_and_filter_like_flat(index: ClinqaIndex, kind: str) -> None:
    ann_index, params = build_faiss(index.dense.vectors, kind)
    ann = DenseRetriever(index.groups, index.dense.vectors, index.dense.embedder, ann_index,
                         kind=kind, params=params, subset_max=0)  # fmt: skip
    if kind == "ivf":
        ann.params["nprobe"] = params["nlist"]  # probe every list: exact on a tiny index
    f = Filters(doc_prefixes=("openfda_excerpt:",))
    for q in QUERIES:
        assert [p.chunk.chunk_id for p in ann.search(q, 5)] == [
            p.chunk.chunk_id for p in index.dense.search(q, 5)
        ]
        got = ann.search(q, 5, f)
        assert [p.chunk.chunk_id for p in got] == [
            p.chunk.chunk_id for p in index.dense.search(q, 5, f)
        ]


def _random_unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_faiss_top_k_equals_numpy_brute_force() -> None:
    rng = np.random.default_rng(1234)
    x, q = _random_unit(rng, 3000, 48), _random_unit(rng, 25, 48)
    index, _ = build_faiss(x, "flat")
    scores, ids = index.search(q, 10)
    sims = q @ x.T
    want = np.argsort(-sims, axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(ids, want)
    np.testing.assert_allclose(scores, np.take_along_axis(sims, want, axis=1), rtol=1e-5)


def test_hnsw_recall_at_10_vs_exact() -> None:
    rng = np.random.default_rng(99)
    x, q = _random_unit(rng, 5000, 32), _random_unit(rng, 100, 32)
    index, params = build_faiss(x, "hnsw")
    assert index.metric_type == faiss.METRIC_INNER_PRODUCT
    sp = faiss.SearchParametersHNSW(efSearch=params["efSearch"])
    _, ids = index.search(q, 10, params=sp)
    exact = np.argsort(-(q @ x.T), axis=1)[:, :10]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, exact, strict=True)])
    print(f"HNSW recall@10 vs exact on 5,000 seeded vectors: {recall:.3f}")
    assert recall >= 0.95


def test_dose_sentence_ranks_first_with_contextual_text(embedder) -> None:  # noqa: F811
    _, chunks = aldesleukin_doc()
    dose = next(c for c in chunks if c.text == DOSE_TEXT)
    assert dose.subject == "aldesleukin" and dose.section == "Indications and dosages"
    assert "aldesleukin" not in dose.text.lower()
    distractors = [c for c in chunks if c.section in ("Pharmacologic class", "FDA Box Warning",
                                                      "Adverse reactions")]  # fmt: skip
    distractors += [c for _, cs in other_docs() for c in cs if c.doc_id == "pubmed:18670651"]
    assert len(distractors) == 5 and all("dose" not in c.text.lower() for c in distractors)
    groups = [ChunkGroup((c,)) for c in [*distractors, dose]]
    vectors = embedder.embed([embed_text(g.chunk) for g in groups])
    dense = DenseRetriever(groups, vectors, embedder)
    top = dense.search("What is the aldesleukin dose for metastatic melanoma?", k=3)
    assert top[0].chunk.text == DOSE_TEXT
    print(f"dose chunk cosine {top[0].score:.3f}; best distractor {top[1].score:.3f}")


def test_hybrid_fuses_dense_and_lexical(index: ClinqaIndex) -> None:
    q = "metformin contraindicated metabolic acidosis"
    hybrid = HybridRetriever(index.dense, index.lexical, candidates=10, rrf_k=60)
    d = [p.chunk.chunk_id for p in index.dense.search(q, 10)]
    lx = [p.chunk.chunk_id for p in index.lexical.search(q, 10)]
    got = hybrid.search(q, 5)
    for p in got:
        want = sum(
            1 / (60 + r.index(p.chunk.chunk_id) + 1) for r in (d, lx) if p.chunk.chunk_id in r
        )
        assert p.score == pytest.approx(want)


def test_lexical_never_returns_zero_scores(index: ClinqaIndex) -> None:
    found = index.lexical.search("calciphylaxis warfarin", k=50)
    assert found and all(p.score > 0 for p in found)
    assert len(found) < len(index.chunks)  # chunks without either word are left out
    assert index.lexical.search("zzzz qqqq", k=5) == []


def test_lexical_saves_without_pickle(index: ClinqaIndex, tmp_path: Path) -> None:
    index.lexical.save(tmp_path)
    again = LexicalRetriever.load(tmp_path, index.groups)
    assert again.search("warfarin pregnancy", 5) == index.lexical.search("warfarin pregnancy", 5)
    for npy in tmp_path.glob("*.npy"):
        np.load(npy, allow_pickle=False)


ROOT = Path(__file__).resolve().parents[1]
BM25_FILES_SCRIPT = r"""
import hashlib, json, pathlib, sys, tempfile
from index.groups import ChunkGroup
from index.lexical import LexicalRetriever
from ingest.types import Chunk
texts = json.loads(sys.argv[1])
groups = [
    ChunkGroup((Chunk(f"c{i}", "d", "T", "monograph", None, None, 0, len(t), t),))
    for i, t in enumerate(texts)
]
folder = pathlib.Path(tempfile.mkdtemp())
LexicalRetriever(groups).save(folder)
print(json.dumps({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}))
"""


def test_bm25_files_do_not_depend_on_the_hash_seed() -> None:
    """The same chunks write byte-identical BM25 files in processes with different
    PYTHONHASHSEED, so an unchanged corpus keeps its manifest hash."""
    import os
    import subprocess
    import sys

    texts = [
        "the dose of aldesleukin is 600,000 units",
        "metformin tablets for type 2 diabetes",
        "aldesleukin causes capillary leak syndrome",
        "zebra apple mango kiwi banana cherry",
    ]

    def files(seed: str) -> dict[str, str]:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", BM25_FILES_SCRIPT, json.dumps(texts)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    runs = [files(seed) for seed in ("1", "2", "3", "4")]
    assert "vocab.index.json" in runs[0] and len(runs[0]) >= 4  # positive control: files written
    assert all(r == runs[0] for r in runs[1:])


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_faiss_built_a_batch_at_a_time_equals_one_built_at_once(kind: str) -> None:
    """A build adds its vectors to FAISS from vectors.npy a batch at a time (and IVF trains on
    a sample gathered batch by batch); the index written must be the one built in one go. It
    fails when a batch boundary drops or repeats a row (checked with an off-by-one)."""
    rng = np.random.default_rng(7)
    x = _random_unit(rng, 2500, 16)
    whole, p1 = build_faiss_rows(ArrayRows(x), kind, batch_rows=len(x))
    parts, p2 = build_faiss_rows(ArrayRows(x), kind, batch_rows=333)
    assert p1 == p2 and parts.ntotal == len(x)
    assert faiss.serialize_index(parts).tobytes() == faiss.serialize_index(whole).tobytes()
    out = io.BytesIO()
    write_faiss(parts, out.write)
    assert out.getvalue() == faiss.serialize_index(whole).tobytes()


@pytest.mark.parametrize(("n", "dim", "batch"), [(0, 8, 5), (1, 8, 5), (2500, 16, 333)])
def test_an_exact_index_written_from_its_rows_is_the_file_faiss_writes(
    n: int, dim: int, batch: int
) -> None:
    """A build writes dense.faiss for the exact kind from vectors.npy without building it in
    memory; the bytes must be FAISS's own for the same vectors, and FAISS must read them back."""
    x = _random_unit(np.random.default_rng(11), n, dim) if n else np.zeros((0, dim), np.float32)
    index = faiss.IndexFlatIP(dim)
    if n:
        index.add(x)
    out = io.BytesIO()
    write_flat_rows(ArrayRows(x), out.write, batch_rows=batch)
    assert out.getvalue() == faiss.serialize_index(index).tobytes()
    back = faiss.deserialize_index(np.frombuffer(out.getvalue(), dtype=np.uint8))
    assert back.ntotal == n and back.d == dim
    if n:
        _, ids = back.search(x[:3], 1)
        assert ids[:, 0].tolist() == list(range(min(n, 3)))


@pytest.mark.parametrize("batch", [1, 17, 5000])
def test_bm25_built_a_batch_at_a_time_is_the_index_bm25s_builds(batch: int, tmp_path: Path) -> None:
    """The build tokenises the corpus twice, a batch at a time, and fills bm25s's score matrix
    itself; every array, the vocabulary and the saved files must be bm25s's own for the texts'
    ids over their sorted vocabulary (a seeded corpus with repeated tokens and empty documents).
    It fails when a column's documents are out of order or tf is computed in float32 (checked)."""
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(300)]
    texts = [" ".join(rng.choice(words, size=int(rng.integers(0, 40)))) for _ in range(700)]
    texts += ["", "the of and"]
    tokens = bm25_tokens(texts)
    vocab = {t: i for i, t in enumerate(sorted({t for doc in tokens for t in doc}))}
    ref = bm25s.BM25()
    corpus = Tokenized(ids=[[vocab[t] for t in d] for d in tokens], vocab=dict(vocab))
    ref.index(corpus, show_progress=False)
    mine = bm25_index(lambda: iter(texts), bm25_tokens, batch=batch)
    for key in ("data", "indices", "indptr"):
        assert mine.scores[key].dtype == ref.scores[key].dtype, key
        assert mine.scores[key].tobytes() == ref.scores[key].tobytes(), key
    assert mine.scores["num_docs"] == ref.scores["num_docs"] == len(texts)
    assert mine.vocab_dict == ref.vocab_dict and len(vocab) > 250
    ref.save(str(tmp_path / "ref"), allow_pickle=False, show_progress=False)
    mine.save(str(tmp_path / "mine"), allow_pickle=False, show_progress=False)
    names = sorted(p.name for p in (tmp_path / "ref").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "mine").iterdir()) and len(names) == 5
    for name in names:
        assert (tmp_path / "mine" / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()
    query = tokens[3][:3]
    assert len(query) == 3 and np.array_equal(mine.get_scores(query), ref.get_scores(query))


def test_bm25_refuses_a_corpus_that_changes_between_its_two_reads() -> None:
    calls = iter([["dose of aldesleukin", "renal dose"], ["dose of aldesleukin"]])
    with pytest.raises(ValueError, match="gave 2 texts, then 1"):
        bm25_index(lambda: next(calls), bm25_tokens)
