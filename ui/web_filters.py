"""Turn the search tab's filter fields into `index.types.Filters` (pure functions)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from index.types import Filters
from ingest.types import Document

ALL_TYPES = "all source types"


@dataclass(frozen=True)
class Resolved:
    """The filters to search with, or `matches_nothing` when the fields exclude every document."""

    filters: Filters
    matches_nothing: bool = False
    note: str = ""


def resolve_doc_field(
    text: str, documents: Sequence[Document]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Doc ids and doc-id prefixes named by the drug/document field (comma-separated terms).

    A term is an exact doc id, a doc-id prefix ending in `*`, or a case-insensitive substring of
    a document's subject, alias or title (resolved to those documents' ids).

    >>> d = Document("spl:1", "Warfarin label", "monograph", "t", subject="warfarin")
    >>> resolve_doc_field("WARF, pubmed:*", [d])
    (('spl:1',), ('pubmed:',))
    """
    ids: list[str] = []
    prefixes: list[str] = []
    known = {d.doc_id for d in documents}
    for raw in text.split(","):
        term = raw.strip()
        if not term:
            continue
        if term.endswith("*"):
            if term[:-1]:
                prefixes.append(term[:-1])
            continue
        if term in known:
            ids.append(term)
            continue
        needle = term.lower()
        for d in documents:
            names = (d.subject or "", d.title, *d.aliases)
            if any(needle in n.lower() for n in names if n):
                ids.append(d.doc_id)
    return tuple(dict.fromkeys(ids)), tuple(dict.fromkeys(prefixes))


def resolve_filters(
    source_type: str | None, doc_field: str, documents: Sequence[Document]
) -> Resolved:
    """The `Filters` for the search tab's fields; flags a field that matches no document.

    >>> d = Document("spl:1", "Warfarin label", "monograph", "t", subject="warfarin")
    >>> resolve_filters(ALL_TYPES, "nothing-like-this", [d]).matches_nothing
    True
    """
    types = () if not source_type or source_type == ALL_TYPES else (source_type,)
    field = (doc_field or "").strip()
    ids, prefixes = resolve_doc_field(field, documents)
    if ids and prefixes:  # Filters intersects ids and prefixes; the field means their union
        extra = [d.doc_id for d in documents if any(d.doc_id.startswith(p) for p in prefixes)]
        ids, prefixes = tuple(dict.fromkeys([*ids, *extra])), ()
    filters = Filters(source_types=types, doc_ids=ids, doc_prefixes=prefixes)
    if field and not ids and not prefixes:
        return Resolved(filters, True, f"no document matches {field!r}")
    admitted = [d for d in documents if _admits(filters, d)]
    if not admitted:
        return Resolved(filters, True, "the filters match no indexed document")
    return Resolved(filters)


def _admits(f: Filters, d: Document) -> bool:
    if f.source_types and d.source_type not in f.source_types:
        return False
    if f.doc_ids and d.doc_id not in f.doc_ids:
        return False
    return not f.doc_prefixes or any(d.doc_id.startswith(p) for p in f.doc_prefixes)


def source_type_counts(documents: Iterable[Document]) -> list[tuple[str, int]]:
    """(source type, document count), most common first, then by name.

    >>> source_type_counts([Document("a", "A", "journal", "x"), Document("b", "B", "journal", "y"),
    ...                     Document("c", "C", "definition", "z")])
    [('journal', 2), ('definition', 1)]
    """
    counts = Counter(d.source_type for d in documents)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
