"""The shared retriever contract through a real milvus-lite file; Milvus vs FAISS and bm25s."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_index import embedder  # noqa: F401
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

from index.errors import IndexMismatch
from index.milvus import MilvusCollection, MilvusRetriever, milvus_filter, prefix_expr
from index.store import ClinqaIndex, update_index
from index.types import Filters

MODES = ["dense", "lexical", "hybrid"]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, embedder) -> ClinqaIndex:  # noqa: F811
    folder = tmp_path_factory.mktemp("milvus-contract")
    update_index(folder, contract_docs(), embedder, chunker_settings={"test": 1})
    return ClinqaIndex.load(folder, embedder)


@pytest.fixture(scope="module")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("milvus") / "clinqa.db")


@pytest.fixture(scope="module")
def collection(index: ClinqaIndex, milvus_uri: str) -> MilvusCollection:
    return MilvusCollection.build(index, milvus_uri, name="contract")


@pytest.fixture(scope="module")
def empty_collection(tmp_path_factory, embedder, milvus_uri) -> MilvusCollection:  # noqa: F811
    folder = tmp_path_factory.mktemp("milvus-empty")
    update_index(folder, [], embedder, chunker_settings={"test": 1})
    return MilvusCollection.build(ClinqaIndex.load(folder, embedder), milvus_uri, name="empty")


def _milvus(collection: MilvusCollection, mode: str, **kw) -> MilvusRetriever:
    from fixtures_index import _minilm  # the session's one fp32 MiniLM

    return MilvusRetriever(collection, _minilm(), mode, **kw)


@pytest.mark.parametrize("mode", MODES)
def test_milvus_contract_k_ranks_and_order(collection, mode) -> None:
    check_k_ranks_and_order(_milvus(collection, mode), f"milvus-{mode}")


@pytest.mark.parametrize("mode", MODES)
def test_milvus_contract_top_hit_is_relevant(collection, mode) -> None:
    check_top_hit_is_relevant(_milvus(collection, mode))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("filters", "admits"), FILTER_CASES, ids=FILTER_IDS)
def test_milvus_contract_filters_apply_before_ranking(collection, mode, filters, admits) -> None:
    check_filters_apply_before_ranking(
        _milvus(collection, mode),
        collection.groups,
        filters,
        admits,
        ranks_every_chunk=mode != "lexical",
    )


@pytest.mark.parametrize("mode", MODES)
def test_milvus_contract_filter_matching_nothing_and_empty(collection, empty_collection, mode):
    check_filter_matching_nothing(_milvus(collection, mode))
    check_empty_index(_milvus(empty_collection, mode))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("query", ODD_QUERIES)
def test_milvus_contract_odd_queries_do_not_crash(collection, mode, query) -> None:
    check_odd_query(_milvus(collection, mode), query)


@pytest.mark.parametrize("mode", MODES)
def test_milvus_contract_deterministic(collection, mode) -> None:
    check_deterministic(_milvus(collection, mode))


@pytest.mark.parametrize("mode", MODES)
def test_milvus_contract_doc_filter_sees_collapsed_occurrences(index, collection, mode) -> None:
    check_doc_filter_sees_collapsed_occurrences(
        _milvus(collection, mode), lambda d: index.document(d).text
    )


def test_milvus_collection_stores_one_row_per_occurrence(index, collection) -> None:
    occurrences = sum(len(g.occurrences) for g in index.groups)
    assert occurrences == len(index.groups) + 1  # the shared boilerplate sentence
    stats = collection.client.get_collection_stats(collection.name)
    assert int(stats["row_count"]) == occurrences


def test_milvus_dense_equals_faiss_exact(index, collection) -> None:
    milvus = _milvus(collection, "dense")
    for q in QUERIES:
        for f in (None, Filters(source_types=("journal",)), Filters(doc_prefixes=("openfda_",))):
            want = [(p.chunk.chunk_id, round(p.score, 4)) for p in index.dense.search(q, 6, f)]
            got = [(p.chunk.chunk_id, round(p.score, 4)) for p in milvus.search(q, 6, f)]
            assert got == want


def test_milvus_ivf_probing_every_list_equals_flat(index, collection, milvus_uri) -> None:
    ivf = MilvusCollection.build(index, milvus_uri, name="contract_ivf", kind="ivf", nlist=4)
    ivf.nprobe = 4
    assert ivf.kind == "ivf"
    for q in QUERIES:
        want = [p.chunk.chunk_id for p in _milvus(collection, "dense").search(q, 5)]
        assert [p.chunk.chunk_id for p in _milvus(ivf, "dense").search(q, 5)] == want


def test_milvus_lexical_agrees_with_bm25s_on_the_top_hits(index, collection) -> None:
    """Milvus's own BM25 and bm25s tokenise alike (stopwords en): same top hit per query."""
    milvus = _milvus(collection, "lexical")
    queries = [*QUERIES, "warfarin embryopathy", "abagovomab ovarian CA-125", "lisinopril dose"]
    for q in queries:
        assert milvus.search(q, 1)[0].chunk.chunk_id == index.lexical.search(q, 1)[0].chunk.chunk_id
    assert milvus.search("zzzz qqqq", k=5) == []


def test_milvus_hybrid_is_rrf_of_its_dense_and_lexical(collection) -> None:
    q = "metformin contraindicated metabolic acidosis"
    hybrid = _milvus(collection, "hybrid", candidates=10)
    d = [p.chunk.chunk_id for p in _milvus(collection, "dense").search(q, 10)]
    lx = [p.chunk.chunk_id for p in _milvus(collection, "lexical").search(q, 10)]
    got = hybrid.search(q, 5)
    assert len(got) == 5
    for p in got:
        want = sum(
            1 / (60 + r.index(p.chunk.chunk_id) + 1) for r in (d, lx) if p.chunk.chunk_id in r
        )
        assert p.score == pytest.approx(want)


def test_milvus_open_reuses_the_collection_and_refuses_another_index(
    index,
    collection,
    milvus_uri,
    tmp_path: Path,
    embedder,  # noqa: F811
) -> None:
    again = MilvusCollection.open(index, milvus_uri, name="contract")
    q = "warfarin in pregnancy"
    assert _milvus(again, "hybrid").search(q, 5) == _milvus(collection, "hybrid").search(q, 5)
    update_index(tmp_path, contract_docs()[:3], embedder, chunker_settings={"test": 1})
    other = ClinqaIndex.load(tmp_path, embedder)
    with pytest.raises(IndexMismatch, match=other.manifest_hash):
        MilvusCollection.open(other, milvus_uri, name="contract")


def test_milvus_filter_expressions() -> None:
    assert milvus_filter(None) == "" and milvus_filter(Filters()) == ""
    expr = milvus_filter(Filters(doc_ids=('a"b\\c',), doc_prefixes=("x_", "y")))
    assert expr == (
        '(doc_id in ["a\\"b\\\\c"]) and '
        '((doc_id >= "x_" and doc_id < "x`") or (doc_id >= "y" and doc_id < "z"))'
    )
    assert prefix_expr("doc_id", "") == '(doc_id >= "")'


def test_backend_setting_serves_search_and_answers_from_milvus(
    index: ClinqaIndex,
    embedder,  # noqa: F811
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`backend = "milvus"`: open_qa builds the collection on first use, reopens it after, and
    search returns the index's own chunks (the same top passage as FAISS + bm25s)."""
    import ui.cli
    from qa.settings import Settings

    monkeypatch.setattr(ui.cli, "_embedder", lambda s, ingest=False: embedder)
    query = "dose of aldesleukin for metastatic melanoma"
    s = Settings().replace(index_dir=str(index.path.parent.parent), model="minilm")
    faiss_qa = ui.cli.open_qa(s)  # positive control: the default backend
    assert type(faiss_qa.index.hybrid).__name__ == "HybridRetriever"
    uri = str(tmp_path / "served.db")
    for _ in range(2):  # built, then reopened (the collection carries the manifest hash)
        qa = ui.cli.open_qa(s.replace(backend="milvus", milvus_uri=uri))
        assert isinstance(qa.index.hybrid, MilvusRetriever)
        top = qa.search(query, k=3)
        assert top and top[0].retriever == "milvus-hybrid"
        assert top[0].chunk.chunk_id == faiss_qa.search(query, k=3)[0].chunk.chunk_id
    with pytest.raises(SystemExit, match="backend"):
        ui.cli.open_qa(s.replace(backend="elastic"))
