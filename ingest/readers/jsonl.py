"""JSON Lines records -> Documents, with the shipped structured sets recognised by their fields.

Generic record: {"id" (or "doc_id"), "title", "text", "source_type", optional "section", "url",
"date", "subject", "aliases", "meta"}. Structured sets, detected per record:
FDA SPL label sections (`loinc_code`), openFDA excerpts (`drug` + `section`), NCI definitions
(`term` + `dictionary`), PubMedQA abstracts (`pmid` + `sections`), COVID-QA articles
(`document_id` + `url`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ingest.errors import ReadError, ReadFailure
from ingest.readers.spl_sections import spl_section_name
from ingest.text import strip_hidden
from ingest.types import DEFINITION, DOCUMENT, JOURNAL, MONOGRAPH, Document, Span

_SALTS = re.compile(
    r"\s+(?:calcium|citrate|hydrochloride|hcl|sodium|potassium|mesylate|maleate|succinate|"
    r"tartrate|sulfate|besylate|fumarate|acetate|phosphate|bromide|chloride)$",
    re.I,
)
_DATE_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})$", re.M)


def iter_jsonl(data: bytes, path: str) -> Iterator[Document | ReadFailure]:
    """Documents of each line; a bad line gives a ReadFailure with its number, the rest go on."""
    seen: dict[str, int] = {}
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            doc = parse_line(raw, number, path)
        except ReadError as exc:
            yield ReadFailure(path, exc.reason, _cause_name(exc), number)
            continue
        first = seen.setdefault(doc.doc_id, number)
        if first != number:
            yield ReadFailure(
                path,
                f"duplicate doc_id {doc.doc_id!r} (first on line {first})",
                "ReadError",
                number,
            )
            continue
        yield doc


def parse_line(raw: bytes, number: int, path: str | None = None) -> Document:
    """One JSONL line -> Document; ReadError (with the line number) when it is not a record."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ReadError(f"invalid UTF-8 at byte {exc.start} of the line", line=number) from exc
    except json.JSONDecodeError as exc:
        raise ReadError(f"invalid JSON: {exc.msg} at column {exc.colno}", line=number) from exc
    except (ValueError, RecursionError) as exc:  # an integer over 4,300 digits; deep nesting
        raise ReadError(f"invalid JSON: {exc}", line=number) from exc
    if b"\\u" in raw:  # an escape can name a lone surrogate, which UTF-8 text cannot hold
        _reject_lone_surrogates(record, number)
    if not isinstance(record, dict):
        raise ReadError(f"expected a JSON object, got {type(record).__name__}", line=number)
    try:
        doc = record_document(record)
    except ReadError as exc:
        raise ReadError(exc.reason, line=number) from exc
    return doc if path is None else replace(doc, path=path)


def _reject_lone_surrogates(record: object, number: int) -> None:
    """ReadError when a string of the record holds an unpaired \\ud800-\\udfff escape."""
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        reason = f"invalid JSON string: lone surrogate {bad!r} (an unpaired \\u escape)"
        raise ReadError(reason, line=number) from exc
    except RecursionError as exc:
        raise ReadError(f"invalid JSON: {exc}", line=number) from exc


def record_document(rec: dict[str, Any]) -> Document:
    """Dispatch one record on its fields.

    >>> record_document({"id": "x1", "title": "T", "text": "Some text."}).source_type
    'document'
    """
    text, stripped = strip_hidden(_field(rec, "text"))
    if not text.strip():
        raise ReadError("field 'text' is empty")
    if "loinc_code" in rec and "set_id" in rec:
        doc = _spl(rec, text)
    elif "pmid" in rec and isinstance(rec.get("sections"), list):
        doc = _pubmed(rec, text)
    elif "term" in rec and "dictionary" in rec:
        doc = _nci(rec, text)
    elif "drug" in rec and "section" in rec:
        doc = _openfda(rec, text)
    elif "document_id" in rec and "url" in rec:
        doc = _covid(rec, text)
    else:
        doc = _generic(rec, text)
    if stripped:
        doc.meta["stripped_hidden_chars"] = stripped
    return doc


def _spl(rec: dict[str, Any], text: str) -> Document:
    drug = _field(rec, "drug")
    section = spl_section_name(str(rec.get("loinc_code") or ""), str(rec.get("section_name") or ""))
    aliases = _generic_aliases(rec.get("generic_names") or [], drug)
    return Document(
        doc_id=_field(rec, "doc_id"),
        title=f"{drug} — {section}",
        source_type=MONOGRAPH,
        text=text,
        sections=(Span(section, 0, len(text)),),
        date=_yyyymmdd(str(rec.get("effective_time") or "")),
        subject=drug,
        aliases=aliases,
        meta={
            "set_id": rec.get("set_id"),
            "loinc_code": rec.get("loinc_code"),
            "section_title": rec.get("section_title"),
            "source": "fda_spl",
        },
    )


def _openfda(rec: dict[str, Any], text: str) -> Document:
    drug = _field(rec, "drug")
    section = _sentence_case(_field(rec, "section"))
    return Document(
        doc_id=_field(rec, "doc_id", "id"),
        title=f"{drug} — {section}",
        source_type=MONOGRAPH,
        text=text,
        sections=(Span(section, 0, len(text)),),
        subject=drug,
        meta={"source": "openfda_excerpt"},
    )


def _nci(rec: dict[str, Any], text: str) -> Document:
    term = _field(rec, "term")
    aliases = tuple(str(a) for a in rec.get("aliases") or [] if str(a).strip() and a != term)
    return Document(
        doc_id=_field(rec, "doc_id", "id"),
        title=term,
        source_type=DEFINITION,
        text=text,
        subject=term,
        aliases=aliases,
        meta={
            "dictionary": rec.get("dictionary"),
            "audience": rec.get("audience"),
            "nci_concept_id": rec.get("nci_concept_id"),
            "source": "nci",
        },
    )


def _pubmed(rec: dict[str, Any], text: str) -> Document:
    pmid = str(rec.get("pmid") or "").strip()
    doc_id = str(rec.get("doc_id") or (f"pubmed:{pmid}" if pmid else ""))
    if not doc_id:
        raise ReadError("missing field 'pmid'")
    spans: list[Span] = []
    pos = 0
    for part in rec["sections"]:
        if not isinstance(part, dict):
            raise ReadError(f"section is not an object: {part!r:.60}")
        body, _ = strip_hidden(str(part.get("text") or ""))
        at = text.find(body, pos) if body else -1
        if at < 0:
            raise ReadError(f"section {part.get('label')!r} not found in 'text'")
        label = _sentence_case(str(part.get("label") or "Abstract"))
        spans.append(Span(label, at, at + len(body)))
        pos = at + len(body)
    year = str(rec.get("year") or "").strip()
    return Document(
        doc_id=doc_id,
        title=str(rec.get("title") or f"PubMed {pmid}"),
        source_type=JOURNAL,
        text=text,
        sections=tuple(spans),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else None,
        date=year or None,
        subject=mesh_subject(rec.get("meshes") or []),
        meta={"pmid": pmid, "meshes": list(rec.get("meshes") or []), "source": "pubmedqa"},
    )


# MeSH check tags say who was studied, not what the abstract is about.
_CHECK_TAGS = frozenset({
    "humans", "male", "female", "adult", "aged", "middle aged", "child", "adolescent", "infant",
    "animals", "young adult", "aged, 80 and over", "child, preschool", "infant, newborn",
    "retrospective studies", "prospective studies", "follow-up studies", "cross-sectional studies",
    "cohort studies", "time factors", "treatment outcome", "risk factors", "questionnaires",
    "rats", "mice",
})  # fmt: skip


def mesh_subject(meshes: list[Any], max_chars: int = 120) -> str | None:
    """What a PubMed abstract is about, from its MeSH headings (check tags left out), so every
    chunk of the abstract carries its topic in its embedded text.

    >>> mesh_subject(["Humans", "Vaccines", "Refrigeration", "Male"])
    'Vaccines; Refrigeration'
    """
    out: list[str] = []
    for m in meshes:
        term = str(m).strip()
        if not term or term.lower() in _CHECK_TAGS:
            continue
        if len("; ".join([*out, term])) > max_chars:
            break
        out.append(term)
    return "; ".join(out) or None


def _covid(rec: dict[str, Any], text: str) -> Document:
    doc_id = str(rec.get("doc_id") or f"covidqa:{rec['document_id']}")
    date = _DATE_LINE.search(text[:3000])
    return Document(
        doc_id=doc_id,
        title=str(rec.get("title") or doc_id),
        source_type=JOURNAL,
        text=text,
        url=str(rec["url"]) if rec.get("url") else None,
        date=date.group(1) if date else None,
        meta={"document_id": rec.get("document_id"), "source": "covid_qa"},
    )


def _generic(rec: dict[str, Any], text: str) -> Document:
    doc_id = _field(rec, "id", "doc_id")
    section = rec.get("section")
    meta = rec.get("meta") or {}
    if not isinstance(meta, dict):
        raise ReadError(f"field 'meta' must be an object, got {type(meta).__name__}")
    aliases = rec.get("aliases") or []
    if not isinstance(aliases, list):
        raise ReadError(f"field 'aliases' must be a list, got {type(aliases).__name__}")
    return Document(
        doc_id=doc_id,
        title=str(rec.get("title") or doc_id),
        source_type=str(rec.get("source_type") or DOCUMENT),
        text=text,
        sections=(Span(str(section), 0, len(text)),) if section else (),
        url=str(rec["url"]) if rec.get("url") else None,
        date=str(rec["date"]) if rec.get("date") else None,
        subject=str(rec["subject"]) if rec.get("subject") else None,
        aliases=tuple(str(a) for a in aliases if str(a).strip()),
        meta=dict(meta),
    )


def _field(rec: dict[str, Any], *names: str) -> str:
    """The first present, non-empty string field among `names`; ReadError naming it otherwise."""
    for name in names:
        value = rec.get(name)
        if isinstance(value, str) and value.strip():
            return value
        if value is not None and not isinstance(value, str):
            raise ReadError(f"field {name!r} must be a string, got {type(value).__name__}")
    raise ReadError(f"missing field {names[0]!r}")


def _generic_aliases(names: list[Any], drug: str) -> tuple[str, ...]:
    """Generic names and their salt-free base names, minus the brand itself.

    >>> _generic_aliases(["atorvastatin calcium"], "Lipitor")
    ('atorvastatin calcium', 'atorvastatin')
    """
    out: list[str] = []
    for raw in names:
        for name in str(raw).split(","):
            name = name.strip()
            for cand in (name, _SALTS.sub("", name)):
                if (
                    cand
                    and cand.lower() != drug.lower()
                    and cand.lower() not in map(str.lower, out)
                ):
                    out.append(cand)
    return tuple(out)


def _yyyymmdd(value: str) -> str | None:
    """'20130930' -> '2013-09-30'; anything else -> None.

    >>> _yyyymmdd("20130930"), _yyyymmdd("2013")
    ('2013-09-30', None)
    """
    v = value.strip()
    if len(v) >= 8 and v[:8].isdigit():
        return f"{v[:4]}-{v[4:6]}-{v[6:8]}"
    return None


def _sentence_case(label: str) -> str:
    """'Indications and Usage' -> 'Indications and usage'; 'RESULTS' -> 'Results'.

    >>> _sentence_case("MATERIALS AND METHODS"), _sentence_case("Drug Interactions")
    ('Materials and methods', 'Drug interactions')
    """
    label = label.strip()
    return label[:1].upper() + label[1:].lower()


def _cause_name(exc: ReadError) -> str:
    cause = exc.__cause__
    while isinstance(cause, ReadError) and cause.__cause__ is not None:
        cause = cause.__cause__
    return type(cause).__name__ if cause is not None else type(exc).__name__
