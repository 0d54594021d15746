"""Pure text helpers: matching normalisation, hidden-character stripping, sentence/list-item units.

`split_units` is what the chunker packs and what qa picks answer sentences from, so its spans are
absolute offsets into the text it was given, trimmed of surrounding whitespace, and together they
cover every non-whitespace character of the range.
"""

from __future__ import annotations

import re
import unicodedata

_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\ufe58": "-",
    }
)
_SPACE = re.compile(r"\s+")

# Unicode tag characters, bidi embedding/override/isolate controls, zero-width characters.
HIDDEN_CHARS = re.compile(
    "[\U000e0000-\U000e007f\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]"
)


def normalise(text: str) -> str:
    """Fold text for matching (NFKC, lower case, ASCII quotes and dashes, one space).

    >>> normalise("  Don\u2019t  use\\n in\u2013line FILTER ")
    "don't use in-line filter"
    """
    folded = unicodedata.normalize("NFKC", text).translate(_FOLD).lower()
    return _SPACE.sub(" ", folded).strip()


def strip_hidden(text: str) -> tuple[str, int]:
    """Remove tag, bidi-control and zero-width characters; return the text and how many went.

    >>> strip_hidden("IL\u200b-2\u202e")
    ('IL-2', 2)
    """
    cleaned, count = HIDDEN_CHARS.subn("", text)
    return cleaned, count


# --- sentence and list-item units -------------------------------------------------------------

_BULLET_LINE = re.compile(r"^[ \t]*(?:[•◦▪●‣∙·*\-–]|\d{1,3}[.)]|[a-z][.)]|\(\d{1,3}\))[ \t]+", re.M)
_INLINE_BULLET = re.compile(r"(?<=\S)[ \t]+(?=[•◦▪●‣][ \t])")
_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")
_NEWLINE = re.compile(r"\n")
# A short run-in label glued to its text: "Drug-drug.Aminoglycosides", "Drug-food.Grapefruit".
_GLUED_LABEL = re.compile(r"^[ \t]*[A-Z][a-z]+(?:[- ][a-z]+){0,3}\.(?=[A-Z][a-z])", re.M)
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9•◦▪●])")
_TERMINAL = re.compile(r"[.!?:;]$")
_LAST_TOKEN = re.compile(r"(\S+)$")

_ABBREVIATIONS = frozenset(
    "e.g i.e vs dr mr mrs ms prof fig figs al approx cf ca ref refs eq vol pp p dept univ mt sr "
    "jr no nos ed eds ch sec wt max min avg".split()
)
# Only an abbreviation when a number follows ("No. 5", "p. 12", "Fig. 3").
_NUMBERED = frozenset({"no", "nos", "p", "pp", "vol", "ch", "sec", "eq", "ref", "refs"})
_LIST_NUMBER = re.compile(r"^(?:\d{1,3}|[a-z])$")
_INITIAL = re.compile(r"[A-Z]\.\s")
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")  # I.V, q.d, b.i.d, U.S, e.g


def split_units(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence and list-item spans inside `text[start:end]`, absolute and trimmed.

    >>> t = "Give 0.5 mg I.V. now. Repeat q.d. if needed.\\n• Check BP"
    >>> [t[a:b] for a, b in split_units(t)]
    ['Give 0.5 mg I.V. now.', 'Repeat q.d. if needed.', '• Check BP']
    """
    stop = len(text) if end is None else min(end, len(text))
    begin = max(0, start)
    if begin >= stop:
        return []
    region = text[begin:stop]
    cuts = {0, len(region)}
    cuts.update(m.end() for m in _BLANK_LINES.finditer(region))
    cuts.update(m.start() for m in _BULLET_LINE.finditer(region))
    cuts.update(m.end() for m in _INLINE_BULLET.finditer(region))
    cuts.update(m.end() for m in _GLUED_LABEL.finditer(region))
    cuts.update(_heading_breaks(region))
    cuts.update(m.end() for m in _SENTENCE_END.finditer(region) if _ends_sentence(region, m))
    spans: list[tuple[int, int]] = []
    ordered = sorted(cuts)
    for a, b in zip(ordered, ordered[1:], strict=False):
        piece = region[a:b]
        stripped = piece.strip()
        if not stripped:
            continue
        lead = len(piece) - len(piece.lstrip())
        spans.append((begin + a + lead, begin + a + lead + len(stripped)))
    return spans


def _heading_breaks(region: str) -> list[int]:
    """Line starts after a short unpunctuated line (a heading or label line) or a colon line.

    >>> _heading_breaks("Indications\\nAdults: 5 mg\\nmore text")
    [12]
    """
    breaks = []
    for m in _NEWLINE.finditer(region):
        line_start = region.rfind("\n", 0, m.start()) + 1
        prev = region[line_start : m.start()].strip()
        nxt = region[m.end() : m.end() + 1]
        if not prev or not nxt[:1].isupper():
            continue
        if (len(prev) < 60 and not _TERMINAL.search(prev)) or prev.endswith(":"):
            breaks.append(m.end())
    return breaks


def _ends_sentence(region: str, m: re.Match[str]) -> bool:
    """False when the punctuation closes an abbreviation, an initial or a number label."""
    if region[m.start()] != ".":
        return True
    before = region[max(0, m.start() - 40) : m.start()]
    tok = _LAST_TOKEN.search(before)
    if tok is None:
        return True
    word = tok.group(1).lstrip("([{\"'“‘")
    if not word:
        return True
    lower = word.lower()
    nxt = region[m.end() :].lstrip()[:1]
    line_start = region.rfind("\n", 0, m.start()) + 1
    if not region[line_start : m.start() - len(word)].strip() and _LIST_NUMBER.match(word):
        return False  # "1. First step": a list number, not a sentence
    if lower in _NUMBERED:
        return not nxt.isdigit()
    if lower in _ABBREVIATIONS or _DOTTED.match(word):
        return False
    if len(word) == 1 and word.isupper():
        if _INITIAL.match(region[m.end() :].lstrip()):
            return False  # "K. L. Jones"
        prev = before[: tok.start()].rstrip()
        prev_tok = _LAST_TOKEN.search(prev)
        if prev_tok is None:
            return False
        prev_word = prev_tok.group(1).lstrip("([{\"'“‘")
        return not (prev_word[:1].isupper() or re.fullmatch(r"[A-Z]\.", prev_word))
    return True
