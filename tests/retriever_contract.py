"""The one retriever contract every `Retriever` passes (dense, lexical, hybrid, Milvus).

Import explicitly: `from retriever_contract import ...` (tests/ is on sys.path under pytest).
Each `check_*` takes a retriever (and what it needs to judge it) and asserts; the test modules
parametrize them over their own retrievers.
"""

from __future__ import annotations

from collections.abc import Callable

from fixtures_index import corpus, make_doc

from index.groups import ChunkGroup
from index.types import Filters, Retriever
from ingest.types import MONOGRAPH, Chunk, Document

BOILERPLATE = "To report SUSPECTED ADVERSE REACTIONS, contact FDA at 1-800-FDA-1088."
QUERIES = ["starting dose of metformin", "warfarin in pregnancy", "interleukin-2 cytokine levels"]
ODD_QUERIES = ["", "   ", "\x00", "Ωμέγα 🙂\u200b ", "dose" * 500, "的 剂量是多少", "?!"]
FILTER_CASES: list[tuple[Filters, Callable[[Chunk], bool]]] = [
    (Filters(source_types=("journal",)), lambda c: c.source_type == "journal"),
    (Filters(doc_ids=("pubmed:20684175",)), lambda c: c.doc_id == "pubmed:20684175"),
    (
        Filters(doc_prefixes=("openfda_excerpt:warfarin",)),
        lambda c: c.doc_id.startswith("openfda_excerpt:warfarin"),
    ),
    (
        Filters(source_types=("monograph",), doc_prefixes=("seed:", "nci_drug:")),
        lambda c: c.doc_id.startswith("seed:"),
    ),
]
FILTER_IDS = ["source-type", "doc-id", "doc-prefix", "type-and-prefixes"]
DUP_PRIMARY = "openfda_excerpt:metformin:adverse_reactions"
DUP_OTHER = "openfda_excerpt:warfarin:adverse_reactions"


def dup_docs() -> list[tuple[Document, list[Chunk]]]:
    """Two label sections that share one identical sentence (it must collapse into one chunk)."""
    out = []
    for drug in ("metformin", "warfarin"):
        body = f"Hypoglycemia and bleeding were reported with {drug}. {BOILERPLATE}"
        out.append(
            make_doc(f"openfda_excerpt:{drug}:adverse_reactions", f"{drug} label", MONOGRAPH,
                     [("Adverse Reactions", body)], subject=drug, max_chars=60)
        )  # fmt: skip
    return out


def contract_docs() -> list[tuple[Document, list[Chunk]]]:
    """The contract's corpus: the fixture documents plus the two sharing a sentence."""
    return [*corpus(), *dup_docs()]


def check_k_ranks_and_order(r: Retriever, name: str) -> None:
    assert r.name == name
    for q in QUERIES:
        for k in (1, 3, 10):
            found = r.search(q, k=k)
            assert 1 <= len(found) <= k
            assert [p.rank for p in found] == list(range(1, len(found) + 1))
            scores = [p.score for p in found]
            assert scores == sorted(scores, reverse=True)
            assert all(p.retriever == name for p in found)
            assert len({p.chunk.chunk_id for p in found}) == len(found)
    assert r.search(QUERIES[0], k=0) == []


def check_top_hit_is_relevant(r: Retriever) -> None:
    top = r.search("metformin starting dose 500 mg twice a day", k=1)[0]
    assert top.chunk.doc_id == "openfda_excerpt:metformin:dosage_and_administration"


def check_filters_apply_before_ranking(
    r: Retriever,
    groups: list[ChunkGroup],
    filters: Filters,
    admits: Callable[[Chunk], bool],
    *,
    ranks_every_chunk: bool,
) -> None:
    """Every hit passes; a retriever that ranks every chunk (dense) fills k when enough pass."""
    for q in ["dose", "interleukin-2 cytokine levels in patients", "warfarin pregnancy"]:
        found = r.search(q, k=5, filters=filters)
        assert all(admits(p.chunk) for p in found), [p.chunk.doc_id for p in found]
    admitted = sum(any(admits(c) for c in g.occurrences) for g in groups)
    if ranks_every_chunk:
        assert len(r.search("dose", k=3, filters=filters)) == min(3, admitted)


def check_filter_matching_nothing(r: Retriever) -> None:
    assert r.search("dose", filters=Filters(source_types=("no-such-type",))) == []
    assert r.search("dose", filters=Filters(doc_ids=("pubmed:0",))) == []
    assert r.search("dose", filters=Filters(doc_prefixes=("zzz:",))) == []


def check_empty_index(r: Retriever) -> None:
    assert r.search("dose", k=5) == []
    assert r.search("dose", filters=Filters(doc_ids=("x",))) == []


def check_odd_query(r: Retriever, query: str) -> None:
    found = r.search(query, k=4)
    assert len(found) <= 4
    if not query.strip():
        assert found == []


def check_deterministic(r: Retriever) -> None:
    first = r.search("aldesleukin capillary leak syndrome", k=8)
    assert first
    assert first == r.search("aldesleukin capillary leak syndrome", k=8)


def check_doc_filter_sees_collapsed_occurrences(
    r: Retriever, stored_text: Callable[[str], str]
) -> None:
    """A duplicate chunk is found in the admitted document and lists the other place."""
    for doc_id in (DUP_PRIMARY, DUP_OTHER):
        found = r.search(BOILERPLATE, k=3, filters=Filters(doc_ids=(doc_id,)))
        hit = next(p for p in found if p.chunk.text == BOILERPLATE)
        assert hit.chunk.doc_id == doc_id  # located in the admitted document
        assert [o.doc_id for o in hit.also] == [DUP_PRIMARY if doc_id == DUP_OTHER else DUP_OTHER]
        assert stored_text(doc_id)[hit.chunk.start : hit.chunk.end] == BOILERPLATE
