"""The LangChain adapter inside a small runnable chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_index import embedder, label_docs  # noqa: F401
from langchain_core.documents import Document as LCDocument
from langchain_core.runnables import RunnableLambda

from index.langchain_retriever import ClinqaLangChainRetriever
from index.store import ClinqaIndex, update_index
from index.types import Filters


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, embedder) -> ClinqaIndex:  # noqa: F811
    folder: Path = tmp_path_factory.mktemp("lc")
    update_index(folder, label_docs(), embedder, chunker_settings={"test": 1})
    return ClinqaIndex.load(folder, embedder)


def format_docs(docs: list[LCDocument]) -> str:
    return "\n".join(
        f"[{d.metadata['rank']}] {d.metadata['doc_id']}: {d.page_content}" for d in docs
    )


def test_retriever_in_a_runnable_chain(index: ClinqaIndex) -> None:
    retriever = ClinqaLangChainRetriever(retriever=index.hybrid, k=3)
    chain = retriever | RunnableLambda(format_docs)
    text = chain.invoke("What is the starting dose of metformin?")
    lines = text.splitlines()
    assert len(lines) == 3 and lines[0].startswith("[1] openfda_excerpt:metformin:dosage")
    direct = index.hybrid.search("What is the starting dose of metformin?", 3)
    assert lines == [f"[{p.rank}] {p.chunk.doc_id}: {p.chunk.text}" for p in direct]


def test_metadata_is_the_locator_and_filters_apply(index: ClinqaIndex) -> None:
    f = Filters(doc_prefixes=("openfda_excerpt:warfarin",))
    retriever = ClinqaLangChainRetriever(retriever=index.dense, k=2, filters=f)
    docs = retriever.invoke("contraindicated in pregnancy")
    assert len(docs) == 2
    for d in docs:
        m = d.metadata
        assert m["doc_id"].startswith("openfda_excerpt:warfarin")
        stored = index.document(m["doc_id"]).text
        assert stored[m["start"] : m["end"]] == d.page_content
        assert index.chunk(m["chunk_id"]).section == m["section"] and m["page"] is None
        assert {"title", "source_type", "score", "rank"} <= set(m)
    assert [d.metadata["rank"] for d in docs] == [1, 2]
