"""Recover the sections of a drug-handbook monograph whose extracted text lost some headings.

The handbook's sections come in a fixed order. Some headings survive as their own line ("Indications
and dosages", "Adverse reactions"); others were dropped in extraction and left only an extra blank
line behind. A lost heading is recovered from the text that follows it, with rules any monograph of
the same handbook satisfies: the drug-class lines, a third-person verb that opens the mechanism
("Activates...", "Inhibits..."), a dosage-form line ("Injection: ..."), a list of conditions right
after the off-label uses (contraindications), "Use cautiously in:" (precautions), imperative nursing
bullets (administration), body-system lines ("CNS: ...", adverse reactions), "Drug-drug." and its
kin (interactions). A section only ever moves forward in the handbook's order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.types import Span

DRUG_CLASS = "Drug class"
BOXED_WARNING = "Boxed warning"
MECHANISM = "Mechanism of action"
HOW_SUPPLIED = "How supplied"
INDICATIONS = "Indications and dosages"
OFF_LABEL = "Off-label uses"
CONTRAINDICATIONS = "Contraindications"
PRECAUTIONS = "Precautions"
ADMINISTRATION = "Administration"
ADVERSE = "Adverse reactions"
INTERACTIONS = "Interactions"
MONITORING = "Patient monitoring"
TEACHING = "Patient teaching"

ORDER = (
    DRUG_CLASS,
    BOXED_WARNING,
    MECHANISM,
    HOW_SUPPLIED,
    INDICATIONS,
    OFF_LABEL,
    CONTRAINDICATIONS,
    PRECAUTIONS,
    ADMINISTRATION,
    ADVERSE,
    INTERACTIONS,
    MONITORING,
    TEACHING,
)
_RANK = {name: i for i, name in enumerate(ORDER)}

HEADINGS = {
    "fda box warning": BOXED_WARNING,
    "fda boxed warning": BOXED_WARNING,
    "boxed warning": BOXED_WARNING,
    "black box warning": BOXED_WARNING,
    "action": MECHANISM,
    "mechanism of action": MECHANISM,
    "availability": HOW_SUPPLIED,
    "how supplied": HOW_SUPPLIED,
    "indications and dosages": INDICATIONS,
    "indications and dosage": INDICATIONS,
    "indications & dosages": INDICATIONS,
    "off-label uses": OFF_LABEL,
    "contraindications": CONTRAINDICATIONS,
    "precautions": PRECAUTIONS,
    "administration": ADMINISTRATION,
    "adverse reactions": ADVERSE,
    "interactions": INTERACTIONS,
    "patient monitoring": MONITORING,
    "patient teaching": TEACHING,
}

CLASS_LINE = re.compile(
    r"^(?:Pharmacologic class|Therapeutic class|Pregnancy risk category|Controlled substance)\b",
    re.I,
)
_BULLET = re.compile(r"^[•◦▪●\-*]\s*")
_DOSAGE_FORM = re.compile(
    r"^(?:Injection|Tablets?|Capsules?|Caplets?|Oral (?:solution|suspension|concentrate)|"
    r"Solution|Suspension|Syrup|Elixir|Powder(?: for [a-z ]+)?|Suppositor(?:y|ies)|Cream|"
    r"Ointment|Gel|Lotion|Transdermal [a-z ]+|Patch(?:es)?|Inhalation [a-z ]+|Aerosol|"
    r"Lozenges?|Granules|Ophthalmic [a-z ]+|Nasal spray|Implant|Emulsion)"
    r"(?:\s*\([^)]{0,40}\))?(?:,[^:\n]{0,60})?:",
)
_MECHANISM_VERBS = frozenset(
    "activates inhibits binds blocks stimulates reduces increases decreases prevents interferes "
    "acts enhances promotes suppresses competes produces causes converts kills disrupts "
    "modulates antagonizes depletes destroys interrupts alters combines forms replaces relaxes "
    "restores lowers raises hinders exerts provides mimics slows releases attaches targets "
    "selectively directly inactivates neutralizes reverses decreases dilates constricts "
    "potentiates regulates".split()
)
_IMPERATIVES = frozenset(
    "make give don't do reconstitute dilute administer infuse inject check store mix shake use "
    "avoid keep protect discard be ensure withhold prepare flush rotate crush swallow know "
    "obtain follow add place remove verify observe stop draw refrigerate premedicate hydrate "
    "never always wear handle have stay assess evaluate weigh".split()
)
_INTERACTION_LABEL = re.compile(
    r"^Drug-(?:drug|food|herb|behavior|diagnostic tests?|lab(?:oratory)? tests?)\.", re.I
)
_CAUTION = re.compile(r"^Use cautiously in\b", re.I)
_BODY_SYSTEM = re.compile(
    r"^(?:CNS|CV|EENT|GI|GU|Hematologic|Hepatic|Metabolic|Musculoskeletal|Respiratory|Skin|"
    r"Endocrine|Renal|Immune|Other):"
)


@dataclass(frozen=True)
class Line:
    """One non-empty line: absolute offsets, its text, and how many blank lines precede it."""

    start: int
    end: int
    text: str
    gap: int


def lines_of(text: str, start: int = 0, end: int | None = None) -> list[Line]:
    """Non-empty lines of `text[start:end]` with the count of blank lines before each.

    >>> [(x.text, x.gap) for x in lines_of("a\\n\\n\\nb\\nc")]
    [('a', 0), ('b', 2), ('c', 0)]
    """
    stop = len(text) if end is None else end
    out: list[Line] = []
    gap = 0
    pos = start
    while pos < stop:
        nl = text.find("\n", pos, stop)
        line_end = stop if nl < 0 else nl
        raw = text[pos:line_end]
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            a = pos + lead
            out.append(Line(a, a + len(stripped), stripped, gap))
            gap = 0
        else:
            gap += 1
        pos = line_end + 1
    return out


def heading_of(line: str) -> str | None:
    """Canonical section name when `line` is a known monograph heading.

    >>> heading_of("FDA Box Warning"), heading_of("Indications and dosages"), heading_of("CNS: x")
    ('Boxed warning', 'Indications and dosages', None)
    """
    return HEADINGS.get(line.strip().rstrip(":").lower())


def is_monograph_start(line: str) -> bool:
    """True for a line that only opens a handbook monograph (a drug-class line).

    >>> is_monograph_start("Pharmacologic class: Interleukin-2"), is_monograph_start("IL-2")
    (True, False)
    """
    return bool(CLASS_LINE.match(line))


def recover_section(line: Line, current: str | None) -> str | None:
    """The section a paragraph opens, judged from its content, or None when it opens none.

    >>> recover_section(Line(0, 9, "• Hypersensitivity to drug", 2), "Off-label uses")
    'Contraindications'
    """
    rank = _RANK.get(current, -1) if current is not None else -1
    text = line.text
    bullet = bool(_BULLET.match(text))
    body = _BULLET.sub("", text, count=1)
    first = body.split(" ", 1)[0].rstrip(",.:;").lower()

    def ahead(name: str) -> bool:
        return _RANK[name] > rank

    if is_monograph_start(text):
        return DRUG_CLASS if rank <= _RANK[DRUG_CLASS] else None
    if _INTERACTION_LABEL.match(text):
        return INTERACTIONS if ahead(INTERACTIONS) else None
    if _CAUTION.match(body):
        return PRECAUTIONS if ahead(PRECAUTIONS) else None
    if rank < _RANK[INDICATIONS]:
        if _DOSAGE_FORM.match(body) and ahead(HOW_SUPPLIED):
            return HOW_SUPPLIED
        if line.gap >= 2 and not bullet and first in _MECHANISM_VERBS and ahead(MECHANISM):
            return MECHANISM
    if line.gap < 2:
        return None
    # Weaker rules: only where a heading was visibly lost (two or more blank lines).
    if _BODY_SYSTEM.match(body) and ahead(ADVERSE):
        return ADVERSE
    if bullet and first in _IMPERATIVES and ahead(ADMINISTRATION):
        return ADMINISTRATION
    if bullet and current in (INDICATIONS, OFF_LABEL) and first not in _IMPERATIVES:
        return CONTRAINDICATIONS
    return None


def section_monograph(text: str, start: int, end: int) -> tuple[tuple[Span, ...], int]:
    """Sections of the monograph that begins at `start` (its title line), and where it ends.

    The monograph ends before a paragraph that follows a lost heading, opens no section and is
    not a list item, once the monograph has reached its closing sections (adverse reactions
    onward): on a dictionary page that is where the next dictionary's definition begins.
    Spans are absolute offsets into `text`, trimmed, in order, and cover the monograph.

    >>> page = "drugx\\n\\nPharmacologic class: x\\n\\nIndications and dosages\\n\\nAdults: 5 mg"
    >>> spans, stop = section_monograph(page, 0, len(page))
    >>> [(s.name, page[s.start:s.end][:12]) for s in spans], stop == len(page)
    ([('Drug class', 'drugx\\n\\nPharm'), ('Indications and dosages', 'Indications ')], True)
    """
    opened: list[tuple[str, int]] = []  # (section, start of its first line)
    last_end: list[int] = []  # end of the last line of each section
    current: str | None = None
    mono_end = start
    for line in lines_of(text, start, end):
        name = heading_of(line.text)
        if name is None:
            name = recover_section(line, current)
        if name is None and current is not None and line.gap >= 2:
            late = _RANK[current] >= _RANK[ADVERSE]
            if late and not _BULLET.match(line.text):
                break
        if name is not None and name != current:
            opened.append((name, line.start if opened else start))
            last_end.append(line.end)
            current = name
        elif opened:
            last_end[-1] = line.end
        mono_end = line.end
    spans = tuple(Span(n, a, b) for (n, a), b in zip(opened, last_end, strict=True))
    return spans, mono_end
