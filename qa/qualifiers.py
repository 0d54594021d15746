"""What narrows a dose question: the condition, the patient group and the route it asks about.

A dose is only quoted for what was asked. "What is the IL-2 dose for children?" is not answered
by "Adults older than age 18: 600,000 international units/kg": the adult regimen is a wrong dose
for a child. So a dose question's patient groups and routes (qa/synonyms.py POPULATIONS and
ROUTES) are hard requirements on the answering passage, and the other words that narrow it (the
condition after "for", "in", "with" or "to treat") must appear in it or cost a penalty.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.synonyms import POPULATIONS, ROUTES
from qa.terms import STOPWORDS, content_terms, generic_word

_DOSE_WORDS = frozenset(
    """dose doses dosing dosage dosages regimen regimens amount maximum max daily usual standard
    starting initial mg kg units unit per kilogram body weight course courses cycle cycles
    treatment therapy single schedule day days week weeks period given administered
    prescribed next first last missed subsequent following previous another""".split()
)
_QUALIFIED = re.compile(
    r"\b(?:for|in|with|against|to treat|treating|treatment of|used for)\s+([^,;:?.!()]+)",
    re.IGNORECASE,
)
_BEFORE_DOSE = re.compile(r"\b([a-z][\w-]*)\s+dos(?:e|es|ing|age)\b", re.IGNORECASE)
_WORD = r"(?<![a-z0-9]){}(?![a-z0-9])"


def dose_qualifiers(question: str, focus: Sequence[str]) -> set[str]:
    """Words of a dose question that narrow what is asked: the condition or population after
    "for", "in", "with" or "to treat", and the word before "dose" ("paediatric dose"), but not
    the drug itself nor the words of a regimen.

    >>> sorted(dose_qualifiers("Paediatric dose of IL-2 for a 10-year-old?", ["il-2"]))
    ['10-year-old', 'paediatric']
    >>> sorted(dose_qualifiers("Maximum aldesleukin doses in a single cycle?", ["aldesleukin"]))
    []
    >>> sorted(dose_qualifiers("What dose of IL-2 is used to treat HIV infection?", ["il-2"]))
    ['hiv', 'infection']
    """
    words = [w for m in _QUALIFIED.finditer(question) for w in content_terms(m.group(1))]
    words += [m.group(1).lower() for m in _BEFORE_DOSE.finditer(question)]
    return {
        w
        for w in words
        if w not in _DOSE_WORDS
        and w not in STOPWORDS
        and not w.isdigit()
        and not generic_word(w)
        and not any(w in name or name in w for name in focus)
    }


def _names(text: str, name: str) -> bool:
    return re.search(_WORD.format(re.escape(name)), text) is not None


def required_groups(question: str) -> tuple[tuple[str, ...], ...]:
    """The patient groups and routes a question names, each as all its names.

    >>> [g[0] for g in required_groups("What is the subcutaneous IL-2 dose for children?")]
    ['sc', 'kids']
    >>> required_groups("What is the dose of aldesleukin for metastatic melanoma?")
    ()
    """
    low = question.lower()
    return tuple(g for g in (*ROUTES, *POPULATIONS) if any(_names(low, n) for n in g))


def asked_names(question: str, groups: Sequence[Sequence[str]]) -> list[str]:
    """For each group, the name the question itself used ("child", not the group's "kids").

    >>> asked_names("IL-2 dose for a child, given SC?", required_groups("child SC"))
    ['sc', 'child']
    """
    low = question.lower()
    return [next((n for n in g if _names(low, n)), g[0]) for g in groups]


def meets(groups: Sequence[Sequence[str]], text: str) -> bool:
    """True when `text` names every group (any of its names).

    >>> meets([("kids", "children", "pediatric")], "Pediatric patients: 5 mg/kg")
    True
    >>> meets([("kids", "children")], "Adults older than age 18: 600,000 units/kg")
    False
    """
    low = text.lower()
    return all(any(_names(low, n) for n in g) for g in groups)
