"""Numbers in an answer and whether the answer's citation quotes support them.

A number is digits with optional thousands separators and decimals ("600,000", "1.2"); a range
"2-4" is one item. Digits glued to letters on their left ("IL-2", "CD4", "q26") are names, not
numbers. A number is supported when its canonical form ("600,000" == "600000", "1.50" == "1.5")
stands as a number in a quote; a range is supported as a whole or when both ends are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from eval.normalise import strip_markers

_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_ITEM = re.compile(rf"(?<![A-Za-z0-9.])(?<![A-Za-z]-)({_NUM})(?:\s?-\s?({_NUM}))?(?![\d])")


def canonical(number: str) -> str:
    """The comparable form of one written number.

    >>> canonical("600,000"), canonical("1.50"), canonical("007"), canonical("2.0")
    ('600000', '1.5', '7', '2')
    """
    digits = number.replace(",", "")
    whole, _, frac = digits.partition(".")
    whole = whole.lstrip("0") or "0"
    frac = frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def numbers_in(text: str) -> list[str]:
    """Numbers and ranges as written in `text`, citation markers removed.

    >>> numbers_in("600,000 international units/kg q 8 hours [1]; 2\u20134 days; IL-2, CD4")
    ['600,000', '8', '2-4']
    """
    found = []
    for m in _ITEM.finditer(strip_markers(text)):
        found.append(f"{m.group(1)}-{m.group(2)}" if m.group(2) else m.group(1))
    return found


def _supported_forms(quotes: Sequence[str]) -> set[str]:
    forms: set[str] = set()
    for quote in quotes:
        for item in numbers_in(quote):
            parts = [canonical(p) for p in item.split("-")]
            forms.update(parts)
            forms.add("-".join(parts))
    return forms


def unsupported_numbers(answer: str, quotes: Sequence[str]) -> list[str]:
    """Numbers of `answer` found as a number in none of `quotes`.

    >>> unsupported_numbers("600000 units/kg for 14 doses [1]", ["600,000 international units/kg"])
    ['14']
    >>> unsupported_numbers("2-4 days", ["between 2 and 4 days"])
    []
    """
    forms = _supported_forms(quotes)
    missing = []
    for item in numbers_in(answer):
        parts = [canonical(p) for p in item.split("-")]
        if "-".join(parts) not in forms and not all(p in forms for p in parts):
            missing.append(item)
    return missing
