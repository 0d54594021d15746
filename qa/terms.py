"""Words that carry a question's meaning, and how much of them a passage covers (pure)."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most my
    no nor not now of off on once only or other our out over own same she should so some such than
    that the their them then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours patient patients
    drug drugs use used using tell me please give given know known mean means main type types does
    did kind one also may might must shall much many often long get gets take takes need
    needs recommended usual typical whats say says said according next""".split()
)

# Endings of international nonproprietary names (WHO stems) and common drug-name endings.
_DRUG_SUFFIXES = (
    "mab", "nib", "ciclib", "parib", "leukin", "kinra", "cept", "cillin", "mycin", "micin",
    "cycline", "floxacin", "azole", "pril", "sartan", "olol", "dipine", "statin", "vir",
    "parin", "platin", "taxel", "rubicin", "tecan", "trexate", "profen", "semide", "thiazide",
    "triptan", "setron", "tidine", "lukast", "gliptin", "glitazone", "gliflozin", "formin",
    "xaban", "gatran", "limus", "sporin", "azepam", "zolam", "oxetine", "afil", "terol",
    "tropium", "dronate", "caine", "codone", "morphone", "relin", "plase", "glutide", "patide",
    "grel", "grelor", "oxone", "axone", "vudine", "navir", "previr", "asvir", "tegravir",
    "clax", "bactam", "penem", "apine", "idone", "pramine", "tyline", "faxine", "azosin",
    "rafenib", "lisib", "degib", "zomib", "ciclovir", "tinib", "vastatin", "conazole",
)  # fmt: skip


_GENERIC_VERBS = frozenset(
    "apply applies affect affects cause causes disturb disturbs handle help helps interfere "
    "interferes happen happens call calls provoke provokes need needs work works change changes "
    "reduce reduces lower increase increases".split()
)


_DEGREE = ("high-", "low-", "full-", "standard-")


def generic_word(term: str) -> bool:
    """Verbs and verb forms carry no subject of their own: a passage may say the same thing in
    other words, so their absence is no sign that the passage is about something else.

    >>> [generic_word(t) for t in ["handled", "interfere", "sarcoma", "half-life", "high-dose"]]
    [True, True, False, False, True]
    """
    t = term.lower()
    if t.startswith(_DEGREE):
        return True  # "high-dose IL-2" names the usual regimen; passages seldom repeat it
    return t in _GENERIC_VERBS or (t.isalpha() and t.endswith(("ed", "ing", "ly")))


def looks_like_drug(term: str) -> bool:
    """True for words shaped like drug names (INN stems such as -mab, -nib, -pril, -statin).

    >>> [looks_like_drug(t) for t in ["pembrolizumab", "zorvanib", "lisinopril", "dose"]]
    [True, True, True, False]
    >>> looks_like_drug("piperacillin-tazobactam"), looks_like_drug("high-dose")
    (True, False)
    """
    t = term.lower()
    if "-" in t:  # a combination product: piperacillin-tazobactam
        return any(looks_like_drug(part) for part in t.split("-"))
    return len(t) >= 7 and t.isalpha() and t.endswith(_DRUG_SUFFIXES)


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; hyphenated names stay whole; a possessive 's is dropped.

    >>> tokens("What is the IL-2 dose for a patient's weight?")
    ['what', 'is', 'the', 'il-2', 'dose', 'for', 'a', 'patient', 'weight']
    """
    return [t[:-2] if t.endswith("'s") else t for t in _TOKEN.findall(text.lower())]


def content_terms(text: str) -> list[str]:
    """Tokens that are not stopwords, in order, without repeats.

    >>> content_terms("What is the dose of aldesleukin for melanoma?")
    ['dose', 'aldesleukin', 'melanoma']
    """
    seen: dict[str, None] = {}
    for t in tokens(text):
        if t not in STOPWORDS and (len(t) > 1 or t.isdigit()):
            seen.setdefault(t, None)
    return list(seen)


_BRITISH = (("haem", "hem"), ("aem", "em"), ("paed", "ped"), ("oedem", "edem"),
            ("oesoph", "esoph"), ("tumour", "tumor"), ("isation", "ization"))  # fmt: skip


def fold_spelling(term: str) -> str:
    """British to American spelling, for matching only.

    >>> fold_spelling("haematological"), fold_spelling("paediatric"), fold_spelling("oedema")
    ('hematological', 'pediatric', 'edema')
    """
    for old, new in _BRITISH:
        if old in term:
            term = term.replace(old, new)
    return term


@functools.lru_cache(maxsize=1 << 17)
def stem(term: str) -> str:
    """A crude suffix stripper, enough to match "doses"/"dosing"/"dose".

    >>> [stem(t) for t in ["doses", "dosing", "dose", "reactions", "infusion", "treatment"]]
    ['dos', 'dos', 'dos', 'reaction', 'infus', 'treat']
    >>> [stem(a) == stem(b) for a, b in [("prophylaxis", "prophylactic"), ("cautiously",
    ...     "caution"), ("supervise", "supervision"), ("hypotension", "hypotensive")]]
    [True, True, True, True]
    >>> stem("haematological") == stem("hematologic")
    True
    >>> [stem(a) == stem(b) for a, b in [("antibiotics", "antibiotic"), ("diuretics",
    ...     "diuretic"), ("antihypertensives", "antihypertensive"), ("hormonals", "hormonal")]]
    [True, True, True, True]
    """
    term = fold_spelling(term)
    for ending, base in _GREEK:
        if term.endswith(ending) and len(term) - len(ending) >= 3:
            return term[: -len(ending)] + base
    if term.endswith(_PLURAL_OF) and len(term) > 5:
        term = term[:-1]  # antibiotics -> antibiotic, then stemmed as the singular is
    for suffix, rest in _SUFFIXES:
        if len(term) - len(suffix) >= rest and term.endswith(suffix):
            term = term[: -len(suffix)]
            break
    for ending, base in _DERIVED:
        if term.endswith(ending) and len(term) - len(ending) >= 3:
            return term[: -len(ending)] + base
    return term


# Greek and Latin noun/adjective pairs share one stem: prophylaxis/prophylactic,
# necrosis/necrotic, paralysis/paralytic, diuresis/diuretic, caution/cautious(ly),
# supervision/supervise, hypotension/hypotensive.
_GREEK = (("axis", "act"), ("osis", "ot"), ("ysis", "yt"), ("esis", "et"))
_DERIVED = (("tious", "tion"), ("sion", "s"), ("siv", "s"))
# Plurals of words whose singular ends in a suffix of their own ("-ic", "-ive", "-al").
_PLURAL_OF = ("ics", "ives", "als")


_SUFFIXES = (
    ("ments", 4), ("ment", 4), ("ical", 4), ("ic", 5), ("al", 5), ("ings", 3), ("ing", 3),
    ("ies", 3), ("es", 3), ("s", 3), ("ive", 4), ("e", 3), ("ed", 3), ("ly", 3),
)  # fmt: skip


def idf(df: int, n_docs: int) -> float:
    """Smoothed inverse document frequency.

    >>> round(idf(0, 100), 3), round(idf(99, 100), 3)
    (5.308, 0.015)
    """
    return math.log((n_docs + 1) / (df + 0.5))


@dataclass(frozen=True)
class Scope:
    """A text read once for matching: lower case, and the stems of its tokens."""

    low: str
    stems: frozenset[str]


def scope(text: str) -> Scope:
    """`text` tokenised and stemmed once, for several `coverage` calls.

    >>> sorted(scope("Aldesleukin doses").stems)
    ['aldesleukin', 'dos']
    """
    return Scope(text.lower(), frozenset(stem(t) for t in tokens(text)))


def coverage(
    query_terms: Iterable[str],
    text: str | Scope,
    weights: Mapping[str, float],
    alternatives: Mapping[str, Iterable[str]] | None = None,
) -> float:
    """Weighted share of `query_terms` present in `text` (a term counts when any alternative does).

    >>> coverage(["dose", "aldesleukin"], "aldesleukin doses", {"dose": 1.0, "aldesleukin": 3.0})
    1.0
    >>> coverage(["half-life", "aldesleukin"], "aldesleukin", {})
    0.5
    """
    where = scope(text) if isinstance(text, str) else text
    total = found = 0.0
    for term in query_terms:
        w = weights.get(term, 1.0)
        total += w
        options = [term, *(alternatives or {}).get(term, ())]
        if any(_present(opt, where) for opt in options):
            found += w
    return found / total if total else 0.0


def _present(term: str, where: Scope) -> bool:
    if " " in term or "-" in term:
        return _phrase(term).search(where.low) is not None
    return stem(term) in where.stems


@functools.lru_cache(maxsize=1 << 14)
def _phrase(term: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(term) + r"(?![a-z0-9])")
