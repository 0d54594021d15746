"""PDF files via pypdf: the text of each page, with `Document.pages` giving 1-based page numbers.

pypdf runs with conservative decompression limits (a PDF bomb fails as a ReadError, not by
exhausting memory), and never calls external decoders.
"""

from __future__ import annotations

import io
import re
from typing import Any

from ingest.errors import ReadError
from ingest.text import strip_hidden
from ingest.types import DOCUMENT, Document, Span

MAX_PDF_PAGES = 2_000
MAX_PDF_CHARS = 20_000_000  # characters of extracted text per PDF
_STREAM_LIMIT = 20_000_000  # bytes a single stream may inflate to
PDF_LIMITS: dict[str, Any] = {
    "maximum_declared_stream_length": _STREAM_LIMIT,
    "array_based_stream_maximum_output_length": _STREAM_LIMIT,
    "zlib_maximum_output_length": _STREAM_LIMIT,
    "lzw_maximum_output_length": _STREAM_LIMIT,
    "run_length_maximum_output_length": _STREAM_LIMIT,
    "jbig2_maximum_output_length": _STREAM_LIMIT,
    "brotli_maximum_output_length": _STREAM_LIMIT,
    "image_maximum_buffer_size": _STREAM_LIMIT,
    "stream_decoding_work_maximum_length": 5 * _STREAM_LIMIT,
    "jbig2dec_binary": None,
}
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_pdf(data: bytes) -> bool:
    """True when the bytes start like a PDF (the header may follow up to 1 KiB of junk).

    >>> is_pdf(b"%PDF-1.4\\n..."), is_pdf(b"hello")
    (True, False)
    """
    return b"%PDF-" in data[:1024]


def pdf_document(doc_id: str, data: bytes, stem: str, meta: dict[str, object]) -> Document:
    """One document for the whole PDF; each page's text is a `pages` span named by its number."""
    import pypdf

    try:
        with pypdf.apply_configuration(None, **PDF_LIMITS):
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise ReadError("encrypted PDF that needs a password")
            count = len(reader.pages)
            if count > MAX_PDF_PAGES:
                raise ReadError(f"PDF has {count} pages, over the limit of {MAX_PDF_PAGES}")
            texts = _page_texts(reader)
            title = _title(reader)
    except ReadError:
        raise
    except Exception as exc:  # pypdf raises many kinds on malformed input; all mean "broken"
        raise ReadError(f"broken PDF: {type(exc).__name__}: {exc}") from exc
    parts: list[str] = []
    pages: list[Span] = []
    stripped_total = 0
    pos = 0
    for number, raw in enumerate(texts, start=1):
        raw = valid_unicode(raw)
        cleaned, stripped = strip_hidden(raw.replace("\r\n", "\n").replace("\r", "\n"))
        stripped_total += stripped
        cleaned = cleaned.strip()
        if not cleaned:
            continue
        if parts:
            parts.append("\n\n")
            pos += 2
        parts.append(cleaned)
        pages.append(Span(str(number), pos, pos + len(cleaned)))
        pos += len(cleaned)
    if not pages:
        raise ReadError("PDF has no extractable text (scanned images?)")
    info = {**meta, "page_count": len(texts)}
    if stripped_total:
        info["stripped_hidden_chars"] = stripped_total
    return Document(
        doc_id=doc_id,
        title=title or stem,
        source_type=DOCUMENT,
        text="".join(parts),
        pages=tuple(pages),
        meta=info,
    )


def _page_texts(reader: Any) -> list[str]:
    """Each page's text; ReadError once the total passes MAX_PDF_CHARS."""
    texts: list[str] = []
    total = 0
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text() or ""
        if not text.strip():
            _probe_contents(page, number)  # extract_text hides a stream over the limits
        total += len(text)
        if total > MAX_PDF_CHARS:
            raise ReadError(
                f"PDF text passes the limit of {MAX_PDF_CHARS:,} characters at page {number}"
            )
        texts.append(text)
    return texts


def _probe_contents(page: Any, number: int) -> None:
    """Decode a page's content stream; ReadError naming the limit when it inflates too far."""
    from pypdf.errors import LimitReachedError

    try:
        contents = page.get_contents()
        if contents is not None:
            contents.get_data()
    except LimitReachedError as exc:
        raise ReadError(
            f"page {number}: content stream inflates past the decompression limit of "
            f"{_STREAM_LIMIT:,} bytes ({exc})"
        ) from exc
    except Exception:  # other stream damage only costs this page's text
        return


def _title(reader: object) -> str | None:
    try:
        metadata = getattr(reader, "metadata", None)
        title = metadata.title if metadata is not None else None
    except Exception:  # a broken info dictionary only costs the title
        return None
    return valid_unicode(str(title)).strip() or None if title else None


def valid_unicode(text: str) -> str:
    """`text` with surrogate pairs joined and lone surrogates (a ToUnicode map can give them) as
    U+FFFD, so it encodes as UTF-8.

    >>> valid_unicode("a\\ud800b\\ud83d\\ude00") == "a\\ufffdb\\U0001f600"
    True
    """
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
