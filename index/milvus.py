"""Milvus backend: the chunks and vectors of a `ClinqaIndex` in a Milvus collection.

Dense search is inner product over the stored (normalised) vectors, FLAT or IVF_FLAT; lexical
search is Milvus's own BM25 function over the chunk's contextual text (a VARCHAR analyzer field
feeding a SPARSE_FLOAT_VECTOR); hybrid fuses both with the same RRF as `HybridRetriever`.
Filters become Milvus filter expressions, applied inside the search (before ranking).

A local file URI (`/tmp/x.db`) runs milvus-lite in this process; `http://host:19530` reaches a
Milvus server with the same code. pymilvus is imported lazily (`pip install -e .[milvus]`).

One Milvus row per chunk *occurrence* (a `ChunkGroup` with duplicates has several rows sharing
`group`), so a filter sees each occurrence's own doc id and source type, exactly as
`Filters.admits`; hits are collapsed back to one passage per group.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from index.context import embed_text
from index.embedder import Embedder
from index.errors import ClinqaIndexError, IndexInputError, IndexMismatch
from index.fusion import rrf
from index.groups import ChunkGroup
from index.lexical import STOPWORDS
from index.types import Filters, Passage

if TYPE_CHECKING:
    from index.store import ClinqaIndex

MODES = ("dense", "lexical", "hybrid")
KINDS = ("flat", "ivf")
MAX_TOPK = 16_384  # Milvus's limit on `limit`
MAX_TEXT = 65_535
MAX_DOC_ID = 2_048
MAX_SOURCE_TYPE = 256
MANIFEST_PROPERTY = "clinqa.manifest_hash"  # which index version the collection was built from


class MilvusError(ClinqaIndexError):
    """pymilvus is missing, or the Milvus collection cannot be built, opened or searched."""


def milvus_string(value: str) -> str:
    """A Milvus filter string literal (JSON quoting escapes quotes and backslashes).

    >>> milvus_string('pubmed:1"')
    '"pubmed:1\\\\""'
    """
    return json.dumps(value, ensure_ascii=False)


def prefix_expr(field: str, prefix: str) -> str:
    """An exact "starts with" as a string range (LIKE treats `_` as a wildcard).

    >>> prefix_expr("doc_id", "spl:")
    '(doc_id >= "spl:" and doc_id < "spl;")'
    """
    if not prefix:
        return f'({field} >= "")'
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return f"({field} >= {milvus_string(prefix)})"  # no successor; superset, never hit here
    upper = prefix[:-1] + chr(last + 1)
    return f"({field} >= {milvus_string(prefix)} and {field} < {milvus_string(upper)})"


def milvus_filter(filters: Filters | None) -> str:
    """The Milvus filter expression for `filters` ("" when nothing is restricted).

    >>> milvus_filter(Filters(source_types=("journal",), doc_ids=("pubmed:1",)))
    '(source_type in ["journal"]) and (doc_id in ["pubmed:1"])'
    """
    if filters is None or filters.empty:
        return ""
    parts = []
    if filters.source_types:
        parts.append(f"source_type in [{', '.join(map(milvus_string, filters.source_types))}]")
    if filters.doc_ids:
        parts.append(f"doc_id in [{', '.join(map(milvus_string, filters.doc_ids))}]")
    if filters.doc_prefixes:
        parts.append(" or ".join(prefix_expr("doc_id", p) for p in filters.doc_prefixes))
    return " and ".join(f"({p})" for p in parts)


def collapse(hits: Sequence[tuple[int, float]], n: int) -> list[tuple[int, float]]:
    """Keep the best hit of each group, best first, at most `n`.

    >>> collapse([(3, 0.9), (3, 0.8), (1, 0.7)], 5)
    [(3, 0.9), (1, 0.7)]
    """
    best: dict[int, float] = {}
    for group, score in hits:
        if group not in best or score > best[group]:
            best[group] = score
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:n]


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as exc:
        raise MilvusError(
            "the Milvus backend needs pymilvus (and milvus-lite for local .db files): "
            "pip install -e '.[milvus]'"
        ) from exc
    return pymilvus


def _stop_words() -> list[str]:
    import bm25s.stopwords

    if STOPWORDS != "en":
        raise MilvusError(f"no Milvus stop-word list for bm25s stopwords={STOPWORDS!r}")
    return sorted(bm25s.stopwords.STOPWORDS_EN)


class MilvusCollection:
    """A Milvus collection holding the rows of `groups`; `open` or `build` it, then search it."""

    def __init__(self, client: Any, name: str, groups: Sequence[ChunkGroup], kind: str) -> None:
        self.client = client
        self.name = name
        self.groups = list(groups)
        self.kind = kind
        self.rows = sum(len(g.occurrences) for g in self.groups)
        self.nprobe = 16

    @classmethod
    def build(
        cls,
        index: ClinqaIndex,
        uri: str,
        *,
        name: str = "clinqa",
        kind: str = "flat",
        nlist: int | None = None,
        token: str = "",
        batch: int = 2_000,
    ) -> MilvusCollection:
        """(Re)create collection `name` at `uri` from the chunks and vectors of `index`."""
        return cls.build_from(
            index.groups, index.vectors, uri, name=name, kind=kind, nlist=nlist, token=token,
            batch=batch, manifest_hash=index.manifest_hash,
        )  # fmt: skip

    @classmethod
    def build_from(
        cls,
        groups: Sequence[ChunkGroup],
        vectors: np.ndarray,
        uri: str,
        *,
        name: str = "clinqa",
        kind: str = "flat",
        nlist: int | None = None,
        token: str = "",
        batch: int = 2_000,
        manifest_hash: str = "",
    ) -> MilvusCollection:
        """(Re)create collection `name` from `groups` and their `vectors` (row i = group i)."""
        if kind not in KINDS:
            raise MilvusError(f"Milvus index kind must be one of {KINDS}, got {kind!r}")
        if len(groups) != vectors.shape[0]:
            raise IndexInputError(f"{len(groups)} chunks but {vectors.shape[0]} vectors")
        pm = _pymilvus()
        client = _connect(pm, uri, token)
        try:
            if client.has_collection(name):
                client.drop_collection(name)
            dim = int(vectors.shape[1]) if vectors.ndim == 2 else 0
            client.create_collection(
                name,
                schema=_schema(pm, client, dim),
                index_params=_index_params(client, kind, nlist, len(groups)),
                properties={MANIFEST_PROPERTY: manifest_hash},
            )
            for rows in _row_batches(groups, vectors, batch):
                client.insert(name, rows)
            client.load_collection(name)
        except ClinqaIndexError:
            raise
        except Exception as exc:  # pymilvus raises MilvusException and gRPC errors
            raise MilvusError(f"cannot build Milvus collection {name!r} at {uri}: {exc}") from exc
        return cls(client, name, groups, kind)

    @classmethod
    def open(
        cls, index: ClinqaIndex, uri: str, *, name: str = "clinqa", token: str = ""
    ) -> MilvusCollection:
        """Use an existing collection built from this very index version (manifest hash)."""
        pm = _pymilvus()
        client = _connect(pm, uri, token)
        try:
            info = client.describe_collection(name)
            client.load_collection(name)
        except Exception as exc:
            raise MilvusError(f"cannot open Milvus collection {name!r} at {uri}: {exc}") from exc
        found = (info.get("properties") or {}).get(MANIFEST_PROPERTY, "")
        if found != index.manifest_hash:
            raise IndexMismatch(
                f"Milvus collection {name!r} at {uri}: property {MANIFEST_PROPERTY} expected "
                f"{index.manifest_hash!r} (index {index.path}), found {found!r}; rebuild it"
            )
        kind = "ivf" if _index_type(client, name) == "IVF_FLAT" else "flat"
        return cls(client, name, index.groups, kind)

    def dense_hits(self, vector: np.ndarray, n: int, expr: str) -> list[tuple[int, float]]:
        """(group, inner product) of the best `n` groups the expression admits."""
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.kind == "ivf":
            params["params"] = {"nprobe": self.nprobe}
        data = [np.asarray(vector, dtype=np.float32).tolist()]
        return self._search(data, "dense", n, expr, params, lambda d: float(d))

    def lexical_hits(self, query: str, n: int, expr: str) -> list[tuple[int, float]]:
        """(group, BM25 score) of the best `n` groups; groups without a query term are absent."""
        # Milvus servers return BM25 scores, milvus-lite returns them negated; both best first.
        hits = self._search([query], "sparse", n, expr, {"metric_type": "BM25"}, abs)
        return [(g, s) for g, s in hits if s > 0]

    def close(self) -> None:
        self.client.close()

    def _search(
        self, data: list[Any], field: str, n: int, expr: str, params: dict[str, Any], score: Any
    ) -> list[tuple[int, float]]:
        if n <= 0 or not self.groups:
            return []
        limit = min(n + self.rows - len(self.groups), MAX_TOPK)  # room for duplicate rows
        try:
            result = self.client.search(
                self.name,
                data=data,
                anns_field=field,
                limit=limit,
                filter=expr,
                output_fields=["group"],
                search_params=params,
            )
        except Exception as exc:
            raise MilvusError(
                f"Milvus search of {self.name!r} ({field}, filter {expr!r}) failed: {exc}"
            ) from exc
        hits = [(int(h["entity"]["group"]), float(score(h["distance"]))) for h in result[0]]
        return collapse(hits, n)


class MilvusRetriever:
    """The `Retriever` contract over a `MilvusCollection`: mode "dense", "lexical" or "hybrid"."""

    def __init__(
        self,
        collection: MilvusCollection,
        embedder: Embedder,
        mode: str = "hybrid",
        *,
        candidates: int = 50,
        rrf_k: int = 60,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"Milvus retriever mode must be one of {MODES}, got {mode!r}")
        self.collection = collection
        self.embedder = embedder
        self.mode = mode
        self.name = f"milvus-{mode}"
        self.candidates = candidates
        self.rrf_k = rrf_k

    def search(self, query: str, k: int = 10, filters: Filters | None = None) -> list[Passage]:
        """Top-k passages; the filters run inside Milvus, before ranking."""
        groups = self.collection.groups
        if not query.strip() or k <= 0 or not groups:
            return []
        expr = milvus_filter(filters)
        if self.mode == "dense":
            hits = self._dense(query, k, expr)
        elif self.mode == "lexical":
            hits = self.collection.lexical_hits(query, k, expr)
        else:
            n = max(self.candidates, k)
            lists = [self._dense(query, n, expr), self.collection.lexical_hits(query, n, expr)]
            fused = rrf([[str(g) for g, _ in hits] for hits in lists], self.rrf_k)
            hits = [(int(g), score) for g, score in fused[:k]]
        return [
            groups[g].passage(score, rank, self.name, filters)
            for rank, (g, score) in enumerate(hits, start=1)
        ]

    def _dense(self, query: str, n: int, expr: str) -> list[tuple[int, float]]:
        vector = self.embedder.embed([query])[0]
        return self.collection.dense_hits(vector, n, expr)


def attach_milvus(
    index: ClinqaIndex,
    uri: str,
    *,
    name: str = "clinqa",
    token: str = "",
    candidates: int = 50,
    rrf_k: int = 60,
) -> MilvusCollection:
    """Serve `index`'s dense, lexical and hybrid search from Milvus (the `backend = "milvus"`
    setting). The collection is opened when it was built from this very index version, else
    (re)built from the index's chunks and vectors; documents, chunks and vectors stay the
    index's own, so citations and offsets are unchanged."""
    try:
        collection = MilvusCollection.open(index, uri, name=name, token=token)
    except (IndexMismatch, MilvusError):
        collection = MilvusCollection.build(index, uri, name=name, token=token)
    index.dense = MilvusRetriever(collection, index.embedder, "dense")  # type: ignore[assignment]
    index.lexical = MilvusRetriever(collection, index.embedder, "lexical")  # type: ignore[assignment]
    index.hybrid = MilvusRetriever(  # type: ignore[assignment]
        collection, index.embedder, "hybrid", candidates=candidates, rrf_k=rrf_k
    )
    return collection


def _connect(pm: Any, uri: str, token: str) -> Any:
    try:
        return pm.MilvusClient(uri=uri, token=token)
    except Exception as exc:
        raise MilvusError(f"cannot connect to Milvus at {uri}: {exc}") from exc


def _schema(pm: Any, client: Any, dim: int) -> Any:
    dt = pm.DataType
    schema = client.create_schema(auto_id=False)
    schema.add_field("row", dt.INT64, is_primary=True)
    schema.add_field("group", dt.INT64)
    schema.add_field("doc_id", dt.VARCHAR, max_length=MAX_DOC_ID)
    schema.add_field("source_type", dt.VARCHAR, max_length=MAX_SOURCE_TYPE)
    analyzer = {"tokenizer": "standard", "filter": ["lowercase", _stop_filter()]}
    schema.add_field(
        "text", dt.VARCHAR, max_length=MAX_TEXT, enable_analyzer=True, analyzer_params=analyzer
    )
    schema.add_field("dense", dt.FLOAT_VECTOR, dim=max(dim, 1))
    schema.add_field("sparse", dt.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        pm.Function(
            name="bm25",
            function_type=pm.FunctionType.BM25,
            input_field_names=["text"],
            output_field_names=["sparse"],
        )
    )
    return schema


def _stop_filter() -> dict[str, Any]:
    return {"type": "stop", "stop_words": _stop_words()}


def _index_params(client: Any, kind: str, nlist: int | None, n: int) -> Any:
    params = client.prepare_index_params()
    if kind == "ivf":
        lists = nlist or max(1, int(4 * np.sqrt(max(n, 1))))
        params.add_index("dense", index_type="IVF_FLAT", metric_type="IP", params={"nlist": lists})
    else:
        params.add_index("dense", index_type="FLAT", metric_type="IP")
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    return params


def _index_type(client: Any, name: str) -> str:
    try:
        info = client.describe_index(name, "dense")
    except Exception:  # an older server names indexes differently; FLAT is the safe reading
        return "FLAT"
    return str(info.get("index_type", "FLAT"))


def _row_batches(
    groups: Sequence[ChunkGroup], vectors: np.ndarray, batch: int
) -> list[list[dict[str, Any]]]:
    """Insert batches: one row per occurrence, carrying its group's text and vector."""
    rows: list[dict[str, Any]] = []
    for g, group in enumerate(groups):
        text = embed_text(group.chunk)
        vector = np.asarray(vectors[g], dtype=np.float32).tolist()
        for c in group.occurrences:
            _check_lengths(c.doc_id, c.source_type, text)
            rows.append(
                {"row": len(rows), "group": g, "doc_id": c.doc_id, "source_type": c.source_type,
                 "text": text, "dense": vector}
            )  # fmt: skip
    step = max(1, batch)
    return [rows[i : i + step] for i in range(0, len(rows), step)]


def _check_lengths(doc_id: str, source_type: str, text: str) -> None:
    for field, value, limit in (
        ("doc_id", doc_id, MAX_DOC_ID),
        ("source_type", source_type, MAX_SOURCE_TYPE),
        ("text", text, MAX_TEXT),
    ):
        if len(value.encode("utf-8")) > limit:
            raise IndexInputError(
                f"chunk of {doc_id!r}: field {field} is {len(value.encode('utf-8'))} bytes, "
                f"Milvus VARCHAR limit {limit}"
            )
