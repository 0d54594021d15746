"""The systems `clinqa eval --compare` scores: bm25, dense, hybrid, the full pipeline, LangChain.

Retrieval-only systems answer with the first sentences of their top passage (`extractive_answer`):
at most 4 units and 800 characters, quoted verbatim with exact offsets, never abstaining. The
"vanilla LangChain RAG" baseline is pinned here: `RecursiveCharacterTextSplitter(chunk_size=1000,
chunk_overlap=200)` over the stored document texts, the index's own embedder (same MiniLM folder,
normalised vectors) behind a LangChain `Embeddings`, LangChain's in-memory FAISS store, top 10.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from index.embedder import Embedder
from index.types import Passage
from ingest.ids import chunk_id
from ingest.text import split_units
from ingest.types import Chunk, Document
from qa.compose import display
from qa.types import Answer, Citation

if TYPE_CHECKING:
    from index.store import ClinqaIndex
    from qa.settings import Settings

System = Callable[[str], Answer]
Search = Callable[[str, int], list[Passage]]

SYSTEM_NAMES = ("bm25", "dense", "hybrid", "clinqa", "langchain")
LANGCHAIN_CHUNK_SIZE = 1000
LANGCHAIN_CHUNK_OVERLAP = 200
LANGCHAIN_K = 10
MAX_UNITS = 4
MAX_CHARS = 800


def first_units(
    text: str, max_units: int = MAX_UNITS, max_chars: int = MAX_CHARS
) -> tuple[int, int]:
    """(start, end) in `text` of its first sentences: at most `max_units` units and `max_chars`.

    A first unit longer than `max_chars` is cut at the last space before the limit.

    >>> t = "One. Two. Three. Four. Five."
    >>> t[slice(*first_units(t))], t[slice(*first_units(t, max_chars=9))]
    ('One. Two. Three. Four.', 'One. Two.')
    """
    units = split_units(text)
    if not units:
        return 0, 0
    start, end = units[0]
    for _, b in units[1:max_units]:
        if b - start > max_chars:
            break
        end = b
    if end - start > max_chars:
        cut = text.rfind(" ", start, start + max_chars)
        end = cut if cut > start else start + max_chars
        end = start + len(text[start:end].rstrip())
    return start, end


def extractive_answer(question: str, passages: Sequence[Passage], system: str = "") -> Answer:
    """Retrieval-only answer: the top passage's first sentences, cited verbatim; never abstains.

    >>> c = Chunk("c", "d", "T", "document", None, None, 10, 24, "Alpha. Beta.")
    >>> a = extractive_answer("q", [Passage(c, 1.0, 1, "x")])
    >>> a.answer, a.citations[0].start, a.citations[0].quote
    ('Alpha. Beta. [1]', 10, 'Alpha. Beta.')
    """
    settings = {"system": system, "answer_rule": f"first {MAX_UNITS} units / {MAX_CHARS} chars"}
    if not passages:
        return Answer(question, "", False, (), (), reason="no passages", settings=settings)
    chunk = passages[0].chunk
    a, b = first_units(chunk.text)
    quote = chunk.text[a:b]
    if not quote:
        return Answer(question, "", False, (), tuple(passages), settings=settings)
    citation = Citation(
        n=1,
        doc_id=chunk.doc_id,
        title=chunk.title,
        source_type=chunk.source_type,
        section=chunk.section,
        page=chunk.page,
        quote=quote,
        start=chunk.start + a,
        end=chunk.start + b,
        chunk_id=chunk.chunk_id,
        url=chunk.url,
        date=chunk.date,
    )
    text = f"{display(quote)} [1]"
    return Answer(question, text, False, (citation,), tuple(passages), settings=settings)


def retrieval_system(search: Search, k: int, name: str) -> System:
    """A system answering from `search(question, k)` with `extractive_answer`."""

    def answer(question: str) -> Answer:
        return extractive_answer(question, search(question, k), name)

    return answer


class IndexEmbeddings(Embeddings):
    """A clinqa `Embedder` (already L2-normalised) as a LangChain `Embeddings`."""

    def __init__(self, embedder: Embedder, batch_size: int = 64) -> None:
        self.embedder = embedder
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(texts, batch_size=self.batch_size).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@dataclass(frozen=True)
class LangChainSplit:
    """One LangChain chunk located in its stored document."""

    doc_id: str
    start: int
    text: str


def langchain_splits(documents: Sequence[Document]) -> list[LangChainSplit]:
    """Split stored texts with the pinned splitter; each split's start comes from `start_index`."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=LANGCHAIN_CHUNK_SIZE, chunk_overlap=LANGCHAIN_CHUNK_OVERLAP, add_start_index=True
    )
    out: list[LangChainSplit] = []
    for doc in documents:
        for piece in splitter.create_documents([doc.text], metadatas=[{"doc_id": doc.doc_id}]):
            start = int(piece.metadata["start_index"])
            if start < 0 or doc.text[start : start + len(piece.page_content)] != piece.page_content:
                raise ValueError(
                    f"document {doc.doc_id!r}: LangChain start_index {start} does not locate "
                    f"its chunk {piece.page_content[:60]!r}"
                )
            out.append(LangChainSplit(doc.doc_id, start, piece.page_content))
    return out


class LangChainRAG:
    """Vanilla LangChain RAG over stored documents: in-memory FAISS store, `similarity_search`."""

    name = "langchain"

    def __init__(self, documents: Sequence[Document], embedder: Embedder) -> None:
        from langchain_community.vectorstores import FAISS
        from langchain_core.documents import Document as LCDocument

        started = time.perf_counter()
        self._docs = {d.doc_id: d for d in documents}
        self.splits = langchain_splits(documents)
        lc_docs = [
            LCDocument(page_content=s.text, metadata={"doc_id": s.doc_id, "start_index": s.start})
            for s in self.splits
        ]
        self.store: Any = FAISS.from_documents(lc_docs, IndexEmbeddings(embedder))
        self.build_ms = (time.perf_counter() - started) * 1000.0

    def search(self, query: str, k: int = LANGCHAIN_K) -> list[Passage]:
        """The top `k` LangChain chunks as Passages (score: cosine from the squared L2 distance)."""
        hits = self.store.similarity_search_with_score(query, k=k)
        return [self._passage(lc, float(dist), rank) for rank, (lc, dist) in enumerate(hits, 1)]

    def _passage(self, lc: Any, distance: float, rank: int) -> Passage:
        doc = self._docs[lc.metadata["doc_id"]]
        start = int(lc.metadata["start_index"])
        text = lc.page_content
        chunk = Chunk(
            chunk_id=chunk_id(text),
            doc_id=doc.doc_id,
            title=doc.title,
            source_type=doc.source_type,
            section=None,
            page=None,
            start=start,
            end=start + len(text),
            text=text,
            subject=doc.subject,
            url=doc.url,
            date=doc.date,
        )
        return Passage(chunk, 1.0 - distance / 2.0, rank, self.name)


@dataclass(frozen=True)
class SystemSet:
    """The systems of one compare run and how long building each took (ms; 0 when prebuilt)."""

    systems: dict[str, System]
    build_ms: dict[str, float]


def build_systems(
    index: ClinqaIndex,
    settings: Settings,
    *,
    k: int = 10,
    names: Sequence[str] = SYSTEM_NAMES,
) -> SystemSet:
    """The named systems over one loaded index (LangChain's store is built here, and timed)."""
    unknown = [n for n in names if n not in SYSTEM_NAMES]
    if unknown:
        raise ValueError(f"unknown system(s) {unknown!r}; known: {', '.join(SYSTEM_NAMES)}")
    systems: dict[str, System] = {}
    build_ms: dict[str, float] = {}
    for name in names:
        started = time.perf_counter()
        if name == "bm25":
            systems[name] = retrieval_system(index.lexical.search, k, name)
        elif name == "dense":
            systems[name] = retrieval_system(index.dense.search, k, name)
        elif name == "hybrid":
            systems[name] = retrieval_system(index.hybrid.search, k, name)
        elif name == "clinqa":
            from qa.engine import QA

            systems[name] = QA(index, settings.replace(k=k)).ask
        else:
            rag = LangChainRAG(index.documents(), index.embedder)
            systems[name] = retrieval_system(rag.search, k, name)
        build_ms[name] = (time.perf_counter() - started) * 1000.0
    return SystemSet(systems, build_ms)
