"""Dose fidelity: every number and unit in an answer must stand in the text it cites.

Units are normalised for comparison only (mcg = µg = μg; "international units" = "IU"); the answer
text itself is never rewritten.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
# A number: digits with optional thousands separators and decimals ("600,000", "0.5", "1.2").
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\d])")
_UNIT = re.compile(
    r"\s*(mcg|µg|μg|ug|mg|g|kg|ng|ml|mL|l|L|iu|IU|units?|international\s+units?|meq|mEq|mmol|"
    r"mol|%|hours?|hrs?|h|minutes?|min|days?|weeks?|doses?|vials?|tablets?|capsules?)\b",
    re.IGNORECASE,
)
_UNIT_ALIASES = {
    "µg": "mcg",
    "μg": "mcg",
    "ug": "mcg",
    "iu": "international unit",
    "units": "unit",
    "international units": "international unit",
    "hrs": "hour",
    "hr": "hour",
    "h": "hour",
    "hours": "hour",
    "min": "minute",
    "minutes": "minute",
    "days": "day",
    "weeks": "week",
    "doses": "dose",
    "vials": "vial",
    "tablets": "tablet",
    "capsules": "capsule",
}


@dataclass(frozen=True)
class Quantity:
    """A number as written (`text`), its canonical value, and the unit right after it, if any."""

    text: str
    value: str
    unit: str | None


def strip_markers(text: str) -> str:
    """Remove citation markers.

    >>> strip_markers("Give 5 mg [1] daily [2, 3].")
    'Give 5 mg  daily .'
    """
    return _MARKER.sub("", text)


def canonical_number(text: str) -> str:
    """The comparable form of a written number.

    >>> canonical_number("600,000"), canonical_number("1.50"), canonical_number("007")
    ('600000', '1.5', '7')
    """
    digits = text.replace(",", "")
    if "." in digits:
        whole, frac = digits.split(".", 1)
        frac = frac.rstrip("0")
        whole = whole.lstrip("0") or "0"
        return f"{whole}.{frac}" if frac else whole
    return digits.lstrip("0") or "0"


def canonical_unit(unit: str) -> str:
    """Fold unit spellings that mean the same thing.

    >>> canonical_unit("µg"), canonical_unit("MG"), canonical_unit("International Units")
    ('mcg', 'mg', 'international unit')
    """
    u = re.sub(r"\s+", " ", unit.strip()).lower()
    return _UNIT_ALIASES.get(u, u)


def quantities(text: str) -> list[Quantity]:
    """Numbers in `text` (citation markers removed), each with the unit that follows it.

    >>> [(q.value, q.unit) for q in quantities("600,000 international units/kg q 8 hours [1]")]
    [('600000', 'international unit'), ('8', 'hour')]
    """
    text = unicodedata.normalize("NFKC", strip_markers(text))
    found: list[Quantity] = []
    for m in _NUMBER.finditer(text):
        written = m.group(0)
        um = _UNIT.match(text, m.end())
        unit = canonical_unit(um.group(1)) if um else None
        found.append(Quantity(written, canonical_number(written), unit))
    return found


def unsupported_quantities(answer: str, quotes: list[str]) -> list[Quantity]:
    """Quantities of `answer` that no quote supports (same number; same unit when one is given).

    >>> [q.text for q in unsupported_quantities("6,000,000 units", ["600,000 units/kg"])]
    ['6,000,000']
    >>> unsupported_quantities("5 mcg", ["5 µg daily"])
    []
    >>> [q.text for q in unsupported_quantities("5 mg", ["5 mcg daily"])]
    ['5']
    """
    supported: dict[str, set[str | None]] = {}
    for quote in quotes:
        for q in quantities(quote):
            supported.setdefault(q.value, set()).add(q.unit)
    missing = []
    for q in quantities(answer):
        units = supported.get(q.value)
        if units is None or (q.unit is not None and q.unit not in units):
            missing.append(q)
    return missing
