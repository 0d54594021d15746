"""Chunker: bounds, verbatim offsets, whole units, sections and pages, property tests."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunker import MAX_CHUNK_CHARS, chunk_document, minilm_token_counter
from ingest.ids import chunk_id
from ingest.text import normalise, split_units
from ingest.types import Chunk, Document, Span


@pytest.fixture(scope="session")
def token_counter() -> Callable[[str], int]:
    return minilm_token_counter()


def _doc(text: str, sections: tuple[Span, ...] = (), pages: tuple[Span, ...] = ()) -> Document:
    return Document(
        "d:1",
        "T",
        "document",
        text,
        sections=sections,
        pages=pages,
        subject="s",
        url="u",
        date="2024",
    )


def _sentences(n: int, seed: int) -> str:
    rng = random.Random(seed)
    words = "dose patient infusion renal hepatic daily weekly monitor blood pressure".split()
    out = []
    for _ in range(n):
        k = rng.randint(4, 30)
        out.append(" ".join(rng.choice(words) for _ in range(k)).capitalize() + ".")
    return " ".join(out)


def _covered(text: str, chunks: list[Chunk], start: int, end: int) -> bool:
    mask = [False] * len(text)
    for c in chunks:
        for i in range(c.start, c.end):
            mask[i] = True
    return all(mask[i] or text[i].isspace() for i in range(start, end))


def test_chunks_pack_whole_sentences_within_bounds() -> None:
    text = _sentences(80, seed=7)
    doc = _doc(text)
    chunks = chunk_document(doc, max_chars=300, max_tokens=None)
    units = {text[a:b] for a, b in split_units(text)}
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start : c.end] == c.text and len(c.text) <= 300
        assert all(text[a:b] in units for a, b in split_units(text, c.start, c.end))
        assert c.chunk_id == chunk_id(c.text)
        assert (c.doc_id, c.title, c.subject, c.url, c.date) == ("d:1", "T", "s", "u", "2024")
    ends = {b for _, b in split_units(text)}
    assert all(c.end in ends for c in chunks)
    assert _covered(text, chunks, 0, len(text))


def test_token_bound_uses_the_counter(token_counter: Callable[[str], int]) -> None:
    text = _sentences(60, seed=11)
    chunks = chunk_document(_doc(text), max_chars=2000, max_tokens=40, count_tokens=token_counter)
    assert all(token_counter(c.text) <= 40 for c in chunks)
    loose = chunk_document(_doc(text), max_chars=2000, max_tokens=None)
    assert len(chunks) > len(loose)


def test_oversize_unit_is_split_at_whitespace_and_hard_split() -> None:
    words = " ".join(f"w{i:03d}" for i in range(300))
    blob = "x" * 5000
    text = f"Short one. {words}. {blob} End."
    chunks = chunk_document(_doc(text), max_chars=100, max_tokens=None)
    assert all(len(c.text) <= 100 for c in chunks)
    word_chunks = [c for c in chunks if c.text.startswith("w")]
    assert len(word_chunks) >= 10
    assert all(
        not c.text.startswith(" ") and re.fullmatch(r"[w0-9. ]+", c.text) for c in word_chunks
    )
    assert all(c.text.split(" ")[0] in words.split(" ") for c in word_chunks)
    assert sum(len(c.text) for c in chunks if set(c.text) == {"x"}) == 5000
    assert chunks[0].text.startswith("Short one. w000") and chunks[-1].text.endswith("End.")


def test_a_megabyte_token_is_hard_split_under_the_cap() -> None:
    text = "z" * 1_000_000
    chunks = chunk_document(_doc(text), max_chars=5000, max_tokens=None)
    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in chunks)
    assert "".join(c.text for c in chunks) == text


def test_chunks_stay_inside_sections_and_pages() -> None:
    text = "Alpha one. Alpha two.\n\nBeta one. Beta two.\n\nGamma one."
    a_end = text.index("\n\nBeta")
    b_start = text.index("Beta")
    g_start = text.index("Gamma")
    sections = (Span("A", 0, a_end), Span("B", b_start, g_start - 2))
    pages = (Span("1", 0, g_start - 2), Span("2", g_start, len(text)))
    chunks = chunk_document(_doc(text, sections, pages), max_chars=900, max_tokens=None)
    assert [(c.text, c.section, c.page) for c in chunks] == [
        ("Alpha one. Alpha two.", "A", 1),
        ("Beta one. Beta two.", "B", 1),
        ("Gamma one.", None, 2),
    ]


def test_identical_text_gives_identical_ids() -> None:
    a = chunk_document(_doc("IL-2 is a cytokine."))[0]
    b = chunk_document(Document("d:2", "U", "definition", "IL-2  is a\ncytokine."))[0]
    assert a.chunk_id == b.chunk_id and a.doc_id != b.doc_id
    assert normalise(a.text) == normalise(b.text)


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="max_chars must be positive, got 0"):
        chunk_document(_doc("x"), max_chars=0)


_ALPHABET = st.sampled_from(list("abcdefghij ABCDE.,;:!?-•\n\t0123456789é\u00a0"))


@settings(derandomize=True, max_examples=150, deadline=None)
@given(
    text=st.text(_ALPHABET, min_size=0, max_size=3000),
    max_chars=st.integers(min_value=1, max_value=2500),
    cut=st.floats(min_value=0, max_value=1),
)
def test_property_offsets_bounds_and_coverage(text: str, max_chars: int, cut: float) -> None:
    mid = int(len(text) * cut)
    sections = (Span("S1", 0, mid), Span("S2", mid, len(text)))
    doc = _doc(text, sections)
    chunks = chunk_document(doc, max_chars=max_chars, max_tokens=None)
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert 0 < len(c.text) <= min(max_chars, MAX_CHUNK_CHARS)
        assert c.text == c.text.strip()
        expected = "S1" if c.end <= mid else "S2"
        assert c.section == expected and (c.start >= mid or c.end <= mid)
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:], strict=False))
    assert _covered(text, [c for c in chunks if c.section == "S1"], 0, mid)
    assert _covered(text, [c for c in chunks if c.section == "S2"], mid, len(text))


@settings(derandomize=True, max_examples=60, deadline=None)
@given(text=st.text(_ALPHABET, min_size=1, max_size=1500))
def test_property_token_bound(text: str) -> None:
    counter = minilm_token_counter()
    chunks = chunk_document(_doc(text), max_chars=900, max_tokens=20, count_tokens=counter)
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert counter(c.text) <= 20
    assert _covered(text, chunks, 0, len(text))
