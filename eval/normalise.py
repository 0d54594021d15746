"""FORMAT.md's text matching, on `ingest.text.normalise` (NFKC, lower case, curly quotes and
dashes folded, whitespace collapsed): a gold string "is in" a text when its normalised form is a
substring of the text's normalised form.
"""

from __future__ import annotations

import re
import unicodedata

from ingest.text import normalise

__all__ = ["is_in", "normalise", "strip_markers"]

_MARKER = re.compile(r"\[\d+(?:\s*[,-]\s*\d+)*\]")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58"})


def is_in(needle: str, haystack: str) -> bool:
    """True when normalised `needle` is a substring of normalised `haystack` (empty never matches).

    >>> is_in("14 DOSES", "a maximum of 14\\ndoses"), is_in("", "x")
    (True, False)
    """
    n = normalise(needle)
    return bool(n) and n in normalise(haystack)


def strip_markers(text: str) -> str:
    """Remove citation markers such as [1], [2, 3] or [1-3] (NFKC, dashes folded, case kept).

    >>> strip_markers("Give 600,000 units/kg [1] q 8 hours [2, 3].")
    'Give 600,000 units/kg  q 8 hours .'
    """
    return _MARKER.sub("", unicodedata.normalize("NFKC", text).translate(_DASHES))
