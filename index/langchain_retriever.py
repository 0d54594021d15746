"""`ClinqaLangChainRetriever`: any clinqa `Retriever` as a LangChain `BaseRetriever`."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.types import Filters, Passage


def passage_document(p: Passage) -> LCDocument:
    """A LangChain document: the passage text, with its locator as metadata."""
    c = p.chunk
    metadata = {
        "doc_id": c.doc_id,
        "title": c.title,
        "source_type": c.source_type,
        "section": c.section,
        "page": c.page,
        "start": c.start,
        "end": c.end,
        "chunk_id": c.chunk_id,
        "score": float(p.score),
        "rank": p.rank,
        "retriever": p.retriever,
    }
    return LCDocument(page_content=c.text, metadata=metadata)


class ClinqaLangChainRetriever(BaseRetriever):
    """Wraps `retriever` (dense, lexical or hybrid); `k` and `filters` apply to every query."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any  # an index.types.Retriever
    k: int = 10
    filters: Filters | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        return [passage_document(p) for p in self.retriever.search(query, self.k, self.filters)]
