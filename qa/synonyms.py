"""Names that mean the same thing, learned from the corpus itself, plus clinical abbreviations.

Alias groups come from each document's `subject` and `aliases` (monograph titles and "Related to"
lines, NCI dictionary aliases, label brand and generic names): aldesleukin = IL-2 =
interleukin-2 = Proleukin. Abbreviations expand both ways (MI <-> myocardial infarction), and so
do plain words and the clinical terms sources use for them (kidney <-> renal, drowsy <->
somnolent): a question in a patient's or a nurse's words still matches the monograph's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

ABBREVIATIONS: tuple[tuple[str, ...], ...] = (
    ("mi", "myocardial infarction"),
    ("chf", "congestive heart failure", "heart failure"),
    ("q8h", "q 8 hours", "every 8 hours"),
    ("q12h", "q 12 hours", "every 12 hours"),
    ("q6h", "q 6 hours", "every 6 hours"),
    ("bid", "twice a day", "twice daily"),
    ("tid", "three times a day", "3 times a day"),
    ("qd", "once a day", "once daily", "daily"),
    ("gi", "gastrointestinal"),
    ("cns", "central nervous system"),
    ("cv", "cardiovascular"),
    ("gu", "genitourinary"),
    ("eent", "eye, ear, nose, throat"),
    ("cbc", "complete blood count"),
    ("bun", "blood urea nitrogen"),
    ("htn", "hypertension", "high blood pressure"),
    ("hiv", "human immunodeficiency virus"),
    ("rcc", "renal cell carcinoma"),
    ("nsclc", "non-small cell lung cancer"),
    ("ra", "rheumatoid arthritis"),
    ("tb", "tuberculosis"),
    ("ace", "angiotensin-converting enzyme"),
    ("nsaid", "nsaids", "nonsteroidal anti-inflammatory"),
    ("side effects", "adverse reactions", "adverse effects"),
)

# Routes of administration. A dose question that names one is answered only by a passage that
# names it too: an I.V. regimen is no answer to "the subcutaneous dose".
ROUTES: tuple[tuple[str, ...], ...] = (
    ("iv", "i.v.", "intravenous", "intravenously"),
    ("im", "i.m.", "intramuscular", "intramuscularly"),
    ("sc", "s.c.", "subcutaneous", "subcutaneously", "subq", "sub-q"),
    ("po", "p.o.", "orally", "by mouth", "oral"),
    ("intrathecal", "intrathecally"),
    ("topical", "topically"),
    ("inhaled", "inhalation", "by inhalation"),
    ("rectal", "rectally", "suppository", "suppositories"),
    ("sublingual", "sublingually"),
    ("transdermal", "transdermally"),
    ("intravesical", "intravesically"),
)

# Patient groups whose dose differs from the usual adult one. Like routes, a dose question that
# names one needs a passage that names it: the adult dose is no answer for a child.
POPULATIONS: tuple[tuple[str, ...], ...] = (
    ("kids", "children", "child", "pediatric", "paediatric", "pediatrics"),
    ("infants", "infant", "neonates", "neonate", "neonatal", "newborns", "newborn"),
    ("adolescents", "adolescent", "teenagers"),
    ("elderly", "older adults", "geriatric", "older patients"),
    ("pregnancy", "pregnant"),
    ("breastfeeding", "breast-feeding", "lactation", "lactating", "nursing mothers"),
    (
        "renal impairment",
        "renal insufficiency",
        "renal failure",
        "renal disease",
        "renal function",
        "kidney impairment",
        "kidney disease",
        "kidney failure",
        "kidney function",
        "creatinine clearance",
        "crcl",
    ),
    (
        "hepatic impairment",
        "hepatic insufficiency",
        "hepatic disease",
        "hepatic failure",
        "hepatic function",
        "liver impairment",
        "liver disease",
        "liver failure",
        "liver function",
        "child-pugh",
    ),
    ("dialysis", "hemodialysis", "haemodialysis", "peritoneal dialysis"),
    ("obese", "obesity"),
)

# Plain words and the clinical terms monographs and labels use for them. Each group is one
# meaning; a question word is covered when a passage uses any word of its group.
CLINICAL_TERMS: tuple[tuple[str, ...], ...] = (
    ("kidney", "kidneys", "renal"),
    ("liver", "hepatic"),
    ("heart", "cardiac"),
    ("lung", "lungs", "pulmonary"),
    ("bowel", "bowels", "intestinal", "intestine", "intestines"),
    ("stomach", "gastric"),
    ("skin", "cutaneous", "dermatologic"),
    ("brain", "cerebral"),
    ("blood sugar", "glucose", "glycemia", "hyperglycemia", "hypoglycemia"),
    ("acid-base", "acidosis", "alkalosis"),
    ("transplant", "transplants", "transplantation", "allograft", "allografts"),
    ("drowsy", "drowsiness", "sleepy", "somnolent", "somnolence", "lethargic", "lethargy"),
    ("low blood pressure", "hypotension"),
    ("fast heart rate", "rapid heartbeat", "tachycardia"),
    ("irregular heartbeat", "irregular heart beats", "arrhythmia", "arrhythmias"),
    ("shortness of breath", "breathlessness", "dyspnea", "dyspnoea"),
    ("itching", "itchy", "pruritus"),
    ("bleeding", "hemorrhage", "haemorrhage"),
    ("swelling", "edema", "oedema"),
    ("fits", "seizure", "seizures", "convulsions"),
    ("weight gain", "weight increase"),
    ("fall", "falls", "drop", "drops", "decrease", "decreases", "decreased", "lowered"),
    ("rise", "rises", "raise", "raises", "increase", "increases", "increased", "elevated"),
    ("lab values", "laboratory values", "lab results", "laboratory results", "levels"),
    ("cancer", "cancers", "carcinoma", "malignancy", "neoplasm", "tumor", "tumour"),
)

# Every synonym group the question side knows, in one place.
ALL_GROUPS: tuple[tuple[str, ...], ...] = (*ABBREVIATIONS, *ROUTES, *POPULATIONS, *CLINICAL_TERMS)


@dataclass(frozen=True)
class SynonymTable:
    """Maps every known name (lower case) to the other names of its group."""

    groups: tuple[tuple[str, ...], ...]
    by_name: dict[str, tuple[str, ...]] = field(hash=False, compare=False)
    longest_first: tuple[str, ...] = field(default=(), hash=False, compare=False)

    @classmethod
    def build(cls, groups: Iterable[Iterable[str]]) -> SynonymTable:
        """Merge overlapping groups (a name in two groups joins them).

        >>> t = SynonymTable.build([["aldesleukin", "IL-2"], ["IL-2", "Proleukin"]])
        >>> t.others("il-2")
        ('aldesleukin', 'proleukin')
        """
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for group in groups:
            names = [n for n in (_clean(g) for g in group) if n]
            for a in names[1:]:
                parent[find(a)] = find(names[0])
            for a in names[:1]:
                find(a)
        merged: dict[str, list[str]] = {}
        for name in parent:
            merged.setdefault(find(name), []).append(name)
        out = tuple(tuple(sorted(set(g))) for g in merged.values() if len(set(g)) > 1)
        by_name = {n: g for g in out for n in g}
        return cls(out, by_name, tuple(sorted(by_name, key=len, reverse=True)))

    def others(self, name: str) -> tuple[str, ...]:
        group = self.by_name.get(_clean(name), ())
        return tuple(n for n in group if n != _clean(name))

    def mentioned(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """Names of the table found in `text`, with their synonyms, longest names first.

        >>> t = SynonymTable.build([["aldesleukin", "IL-2"]])
        >>> t.mentioned("What is the IL-2 dose?")
        [('il-2', ('aldesleukin',))]
        """
        low = text.lower()
        found: list[tuple[str, tuple[str, ...]]] = []
        taken: list[tuple[int, int]] = []
        # str.find per name, not a regex per name: a corpus brings tens of thousands of names
        # (NCI aliases), and compiling each one's pattern cost ~0.2 s per question.
        for name in self.longest_first or sorted(self.by_name, key=len, reverse=True):
            start = low.find(name)
            while start != -1:
                end = start + len(name)
                if _alone(low, start, end) and not any(s < end and start < e for s, e in taken):
                    taken.append((start, end))
                    found.append((name, self.others(name)))
                    break
                start = low.find(name, start + 1)
        return found


def _alone(low: str, start: int, end: int) -> bool:
    """True when low[start:end] is not part of a longer word (no letter or digit either side).

    >>> _alone("il-2 dose", 0, 4), _alone("pil-2", 1, 5)
    (True, False)
    """
    before = low[start - 1] if start > 0 else " "
    after = low[end] if end < len(low) else " "
    return not (_alnum(before) or _alnum(after))


def _alnum(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("0" <= ch <= "9")


def _clean(name: str) -> str:
    """Lower-case, trimmed name; very short or very long names are not useful aliases.

    >>> _clean("  Proleukin "), _clean("a")
    ('proleukin', '')
    """
    n = re.sub(r"\s+", " ", name.strip().lower())
    return n if 2 <= len(n) <= 60 else ""


def expand_query(question: str, table: SynonymTable) -> str:
    """The question followed by the synonyms of the names it mentions (for retrieval only).

    >>> expand_query("IL-2 dose?", SynonymTable.build([["aldesleukin", "IL-2"]]))
    'IL-2 dose? (aldesleukin)'
    """
    extra: list[str] = []
    for _, others in table.mentioned(question):
        extra.extend(o for o in others if o not in extra)
    return f"{question} ({' '.join(extra)})" if extra else question
