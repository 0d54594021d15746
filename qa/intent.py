"""What a question asks for, read from its wording: dosing, adverse effects, interactions, ...

Each intent names the section families that usually answer it. Matching on section names is
loose (lower-case substrings), so "Dosage and administration" and "Indications and dosages" both
count as dosing sections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Intent:
    name: str
    sections: tuple[str, ...]  # lower-case substrings of section names that answer it
    needs_number: bool = False  # a dosing answer without a number answers nothing
    authority: bool = False  # monographs and labels outrank definitions and news


_RULES: tuple[tuple[str, str, tuple[str, ...], bool, bool], ...] = (
    (
        # "should I give the next dose?" asks whether to give it, not how much
        "administration",
        r"^(?!.*\bhow (much|many)\b)(?!.*\b(what|which) dos).*"
        r"\b((should|can|must) (i|we|you|nurses?) (still )?(give|hold|withhold|skip|continue"
        r"|stop|administer)|(hold|withhold|skip) (the )?(next )?dose)\b",
        ("administration", "boxed warning", "dosage and administration"),
        False,
        True,
    ),
    (
        "dose",
        # "high-dose IL-2" names a regimen, "dosage form" a product: neither asks for a dose
        r"\b((?<!high-)(?<!low-)dos(e|es|ing|age)(?! forms?\b)|how much|how many (mg|units|doses)"
        r"|regimen|mg/kg|units/kg"
        r"|maximum (daily )?(dose|amount))\b",
        ("dosage", "dosing", "indications and dosages", "dosage and administration"),
        True,
        True,
    ),
    (
        "warning",
        r"\b(box(ed)? warning|black box|warnings?)\b",
        ("boxed warning", "warning"),
        False,
        True,
    ),
    (
        "contraindication",
        r"\b(contraindicat\w*|should not (be )?(given|used|take)|must not|who should not)\b",
        ("contraindication",),
        False,
        True,
    ),
    (
        "interaction",
        r"\b(interact\w*|together with|combined with|concomitant|co-?administ\w*"
        r"|interfere\w* with|drug-diagnostic|diagnostic test results?)\b",
        ("interaction",),
        False,
        True,
    ),
    (
        "adverse",
        r"\b(side[- ]effects?|adverse|toxicit\w*|reactions?)\b",
        ("adverse reaction", "warnings and precautions"),
        False,
        True,
    ),
    (
        "monitoring",
        r"\b(monitor\w*|follow[- ]up tests?|check(ed)? during|(lab|laboratory) tests?"
        r"|followed|assess(ed|ment)?|watch(ed)? for)\b",
        ("monitoring",),
        False,
        True,
    ),
    (
        "administration",
        r"\b(administ\w*|reconstitut\w*|dilut\w*|infus\w*|prepar\w*|in-line filter|give it)\b",
        ("administration", "dosage and administration"),
        False,
        True,
    ),
    (
        "teaching",
        r"\b(teach\w*|counsel\w*|(tell|told) (the )?patients?|be told|advise|patient education"
        r"|instruct|should (a |the )?patients?( [\w-]+){0,3} (report|expect|know|avoid|watch)"
        r"|patients? (should|must|need to) (report|expect|know|avoid))\b",
        ("patient teaching", "patient counseling", "medication guide"),
        False,
        True,
    ),
    (
        "precaution",
        r"\b(caution\w*|precaution\w*|careful\w*)\b",
        ("precaution", "warnings and precautions"),
        False,
        True,
    ),
    (
        "supplied",
        r"\b(supplied|formulations?|vials?|strengths?|dosage forms?|how is it supplied)\b",
        ("how supplied", "dosage forms"),
        False,
        True,
    ),
    (
        "offlabel",
        r"\b(off[- ]label|unapproved uses?)\b",
        ("off-label",),
        False,
        True,
    ),
    (
        "indication",
        r"\b(indicat\w*|approved (for|to)|used (for|to treat)|treat(s|ed)? what|uses?)\b",
        ("indications", "indication"),
        False,
        True,
    ),
    (
        "mechanism",
        r"\b(mechanism|how does .* work|works?|mode of action|acts?)\b",
        ("mechanism", "clinical pharmacology"),
        False,
        False,
    ),
    (
        "class",
        r"\b(class|classif\w*|category|pregnancy (risk )?category)\b",
        ("drug class",),
        False,
        False,
    ),
    (
        "research",
        r"\b(stud(y|ies)|trials?|research\w*|scientists?|investigators?|journal|announced"
        r"|grants?|published|publish|reported|dictionar(y|ies))\b",
        (),
        False,
        False,
    ),
    (
        "definition",
        r"^\s*(what (is|are)|define|definition of|meaning of)\b",
        (),
        False,
        False,
    ),
)

GENERAL = Intent("general", ())


@dataclass(frozen=True)
class AnswerType:
    """A kind of value the question asks for ("at what temperature", "how long"); a sentence
    that states no value of that kind does not answer it, however close its words are."""

    name: str
    asks: re.Pattern[str]
    states: re.Pattern[str]


_TIME_UNIT = r"(seconds?|secs?|minutes?|mins?|hours?|hrs?|h|days?|weeks?|wks?|months?|years?|yrs?)"
ANSWER_TYPES: tuple[AnswerType, ...] = (
    AnswerType(
        "temperature",
        re.compile(r"\b(what|which) (storage )?temperatures?\b|\bhow (hot|cold)\b", re.I),
        re.compile(r"°|\bdegrees?\b|\d\s*(c|f)\b", re.I),
    ),
    AnswerType(
        "cost",
        re.compile(r"\bcosts?\b|\bprices?\b|\bhow expensive\b", re.I),
        re.compile(r"[$€£¥]|\b(usd|eur|gbp|dollars?|euros?)\b", re.I),
    ),
    AnswerType(
        "rate",
        re.compile(
            r"\b(response|survival|mortality|death|fatality|cure|success|incidence|prevalence"
            r"|remission|recurrence|relapse|complication|positivity|attack) rates?\b"
            r"|\bwhat (percent|percentage|proportion|fraction)\b",
            re.I,
        ),
        re.compile(r"%|\bper ?cent|\b\d+ (of|in|out of) \d+|\bratio\b|\bhalf\b", re.I),
    ),
    AnswerType(
        "duration",
        re.compile(
            r"\bhow long\b|\bhalf-lives?\b|\bover what (time|period)\b|\bfor how many "
            + _TIME_UNIT
            + r"\b",
            re.I,
        ),
        re.compile(
            r"\d\s*(-|–|to)?\s*\d*\s*" + _TIME_UNIT + r"\b|\b(one|two|three|four|five|six|seven"
            r"|eight|nine|ten|twelve|several|few|a) " + _TIME_UNIT + r"\b",
            re.I,
        ),
    ),
)


def expected_answer(question: str) -> AnswerType | None:
    """The kind of value the question asks for, if it asks for one.

    >>> expected_answer("At what temperature should the vials be stored?").name
    'temperature'
    >>> expected_answer("How long is the rest period between cycles?").name
    'duration'
    >>> expected_answer("What is the dose of aldesleukin?") is None
    True
    """
    for kind in ANSWER_TYPES:
        if kind.asks.search(question):
            return kind
    return None


def detect_intent(question: str) -> Intent:
    """The first matching intent, in order of clinical specificity.

    >>> detect_intent("What is the aldesleukin dose for metastatic melanoma?").name
    'dose'
    >>> detect_intent("What are the side effects of IL-2?").name
    'adverse'
    >>> detect_intent("What is aldesleukin?").name
    'definition'
    >>> detect_intent("Can high-dose IL-2 cause ileus?").name
    'general'
    >>> detect_intent("In what dosage form is it available?").name
    'supplied'
    >>> detect_intent("The patient is drowsy before the next dose - should I give it?").name
    'administration'
    >>> detect_intent("How much should I give for metastatic melanoma?").name
    'dose'
    >>> detect_intent("What should a patient on aldesleukin report at once?").name
    'teaching'
    """
    q = question.lower()
    for name, pattern, sections, needs_number, authority in _RULES:
        if re.search(pattern, q):
            return Intent(name, sections, needs_number, authority)
    return GENERAL


def section_matches(intent: Intent, section: str | None) -> bool:
    """True when `section` belongs to the intent's section families.

    >>> section_matches(detect_intent("dose of X?"), "Indications and dosages")
    True
    >>> section_matches(detect_intent("What is X indicated for?"), "Contraindications")
    False
    """
    if not section or not intent.sections:
        return False
    s = section.lower()
    return any(re.search(r"(?<![a-z])" + re.escape(part), s) for part in intent.sections)
