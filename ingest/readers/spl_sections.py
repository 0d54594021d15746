"""Readable section names for FDA Structured Product Labeling sections (by LOINC code)."""

from __future__ import annotations

LOINC_SECTIONS = {
    "34066-1": "Boxed warning",
    "34067-9": "Indications and usage",
    "34068-7": "Dosage and administration",
    "43678-2": "Dosage forms and strengths",
    "34070-3": "Contraindications",
    "43685-7": "Warnings and precautions",
    "34071-1": "Warnings",
    "42232-9": "Precautions",
    "34084-4": "Adverse reactions",
    "34073-7": "Drug interactions",
    "43684-0": "Use in specific populations",
    "34088-5": "Overdosage",
    "34089-3": "Description",
    "34090-1": "Clinical pharmacology",
    "43680-8": "Nonclinical toxicology",
    "34092-7": "Clinical studies",
    "34093-5": "References",
    "34069-5": "How supplied",
    "34076-0": "Patient counseling",
    "42231-1": "Medication guide",
    "42230-3": "Patient information",
    "51945-4": "Package label",
    "43683-2": "Recent major changes",
    "55106-9": "Active ingredient",
    "55105-1": "Purpose",
    "51727-6": "Inactive ingredients",
    "53413-1": "Questions",
    "50570-1": "Do not use",
    "50569-3": "Ask a doctor",
    "50568-5": "Ask a doctor or pharmacist",
    "50567-7": "When using this product",
    "50566-9": "Stop use",
    "34072-5": "Keep out of reach of children",
    "44425-7": "Storage and handling",
    "42229-5": "Unclassified",
}


def spl_section_name(loinc_code: str, section_name: str = "") -> str:
    """Canonical name from the LOINC code, else a tidied `section_name`.

    >>> spl_section_name("34066-1"), spl_section_name("0-0", "OTC - KEEP DRY SECTION")
    ('Boxed warning', 'Keep dry')
    """
    known = LOINC_SECTIONS.get(loinc_code.strip())
    if known:
        return known
    name = section_name.strip()
    if name.upper().endswith(" SECTION"):
        name = name[: -len(" SECTION")]
    if name.upper().startswith("OTC - "):
        name = name[len("OTC - ") :]
    name = name.replace("&", "and").strip()
    return (name[:1].upper() + name[1:].lower()) if name else "Unclassified"
