"""`QA.ask(question) -> Answer`: retrieve, rerank, pick the answering sentences, cite or abstain."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from index.context import embed_text
from index.types import Filters, Passage
from ingest.text import split_units
from qa.compose import Unit, compose, display
from qa.errors import QueryError
from qa.intent import Intent, detect_intent, section_matches
from qa.numbers import unsupported_quantities
from qa.rerank import about, rerank
from qa.settings import Settings
from qa.synonyms import ABBREVIATIONS, SynonymTable, expand_query
from qa.terms import content_terms, coverage, idf, looks_like_drug, stem, tokens
from qa.types import ABSTAIN_TEXT, Answer

if TYPE_CHECKING:
    from index.store import ClinqaIndex

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_DIGIT = re.compile(r"\d")
LIST_INTENTS = frozenset(
    {
        "adverse",
        "interaction",
        "contraindication",
        "precaution",
        "administration",
        "monitoring",
        "offlabel",
        "teaching",
        "warning",
    }
)


def clean_question(question: str, max_chars: int) -> str:
    """Strip control characters and lone surrogates; refuse empty or over-long questions.

    >>> clean_question("  dose of\\x00 IL-2? ", 100)
    'dose of IL-2?'
    """
    if len(question) > max_chars:
        raise QueryError(f"question is {len(question):,} characters; the limit is {max_chars:,}")
    text = re.sub(r"\s+", " ", _CONTROL.sub("", question)).strip()
    if not text:
        raise QueryError("question is empty")
    return text


class QA:
    """Holds a loaded index and answers questions from it."""

    def __init__(self, index: ClinqaIndex, settings: Settings | None = None) -> None:
        self.index = index
        self.settings = settings or Settings()
        docs = index.documents()
        self._text = {d.doc_id: d.text for d in docs}
        subject_groups = [
            [d.subject, *d.aliases] for d in docs if d.subject and (d.aliases or d.source_type)
        ]
        self.subjects = SynonymTable.build(g for g in subject_groups if len(g) > 1)
        self._subject_names = {n for g in subject_groups for n in g if n}
        self.synonyms = SynonymTable.build([*subject_groups, *ABBREVIATIONS])
        df: Counter[str] = Counter()
        for chunk in index.chunks:
            df.update({stem(t) for t in tokens(embed_text(chunk))})
        self._df = df
        self._n = max(1, len(index.chunks))
        self._boxed = _boxed_warnings(index)

    # -- public -------------------------------------------------------------------------------
    def search(
        self, query: str, k: int = 10, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[Passage]:
        """Ranked passages for a researcher's query (no answer composed)."""
        q = clean_question(query, self.settings.max_query_chars)
        retriever = {"hybrid": self.index.hybrid, "dense": self.index.dense}.get(
            mode, self.index.lexical
        )
        return retriever.search(expand_query(q, self.synonyms), k=k, filters=filters)

    def ask(
        self, question: str, filters: Filters | None = None, subject_hint: str | None = None
    ) -> Answer:
        """Answer `question` from the index, or abstain with the named result."""
        s = self.settings
        t0 = time.perf_counter()
        q = clean_question(question, s.max_query_chars)
        intent = detect_intent(q)
        focus = self._focus(q)
        retrieval_q = q
        if not focus and subject_hint:
            retrieval_q = f"{q} ({subject_hint})"
            focus = self._focus(subject_hint)
        expanded = expand_query(retrieval_q, self.synonyms)
        found = self.index.hybrid.search(expanded, k=s.candidates, filters=filters)
        t1 = time.perf_counter()
        ranked = rerank(found, intent, focus)
        passages = ranked[: s.k]
        units, why = self._select(q, intent, focus, ranked[: s.answer_passages])
        t2 = time.perf_counter()
        confidence = units[0].score if units else 0.0
        base = dict(
            question=question,
            passages=tuple(passages),
            settings=s.to_dict(),
            confidence=confidence,
        )
        if not units or confidence < s.abstain_threshold:
            reason = why or f"best evidence scored {confidence:.2f} < {s.abstain_threshold:.2f}"
            return Answer(
                answer="",
                abstained=True,
                citations=(),
                reason=reason,
                timings_ms=_ms(t0, t1, t2, time.perf_counter()),
                **base,  # type: ignore[arg-type]
            )
        flags: list[str] = []
        if intent.name == "dose":
            warning = self._boxed_for(units[0].passage)
            if warning is not None:
                units.append(warning)
                if all(p.chunk.chunk_id != warning.passage.chunk.chunk_id for p in passages):
                    passages.append(replace(warning.passage, rank=len(passages) + 1))
                flags.append("boxed_warning")
        units = _fit(units, s.max_answer_sentences, s.max_answer_chars)
        text, citations = compose(units, self._text)
        unsupported = unsupported_quantities(text, [c.quote for c in citations])
        if unsupported:  # cannot happen with verbatim quotes; refuse rather than show it
            return Answer(
                answer="",
                abstained=True,
                citations=(),
                reason="numbers not found in cited text: " + ", ".join(u.text for u in unsupported),
                timings_ms=_ms(t0, t1, t2, time.perf_counter()),
                **{**base, "passages": tuple(passages)},  # type: ignore[arg-type]
            )
        return Answer(
            answer=text,
            abstained=False,
            citations=citations,
            flags=tuple(flags),
            timings_ms=_ms(t0, t1, t2, time.perf_counter()),
            **{**base, "passages": tuple(passages)},  # type: ignore[arg-type]
        )

    # -- internals ----------------------------------------------------------------------------
    def _focus(self, text: str) -> list[str]:
        """What the text is about: corpus subjects it names (with their synonyms) and words
        shaped like drug names (lower case). An answer must come from a passage about them."""
        names: list[str] = []
        for name, others in self.subjects.mentioned(text):
            names.extend([name, *others])
        for term in content_terms(text):
            if looks_like_drug(term) and not any(term in n or n in term for n in names):
                names.append(term)
        return names

    def _terms(self, question: str) -> tuple[list[str], dict[str, tuple[str, ...]]]:
        """Content terms; a synonym phrase ("side effects") stands as one term with its others."""
        alternatives: dict[str, tuple[str, ...]] = {}
        covered: set[str] = set()
        for name, others in self.synonyms.mentioned(question):
            alternatives[name] = others
            covered.update(tokens(name))
        terms = [t for t in content_terms(question) if t not in covered]
        return [*alternatives, *terms], alternatives

    def _weights(self, terms: Sequence[str]) -> dict[str, float]:
        """IDF per term; a phrase weighs as its rarest word."""
        return {
            t: max(idf(self._df.get(stem(w), 0), self._n) for w in (tokens(t) or [t]))
            for t in terms
        }

    def _select(
        self, question: str, intent: Intent, focus: Sequence[str], ranked: Sequence[Passage]
    ) -> tuple[list[Unit], str]:
        """Score the sentences of the top passages; return the chosen ones, best first."""
        terms, alternatives = self._terms(question)
        unknown = [
            t for t in terms if looks_like_drug(t) and self._df.get(stem(t), 0) == 0
        ]
        if unknown and not any(about(unknown, p) for p in ranked):
            return [], f"the sources never mention {', '.join(unknown)}"
        weights = self._weights(terms)
        candidates: list[Unit] = []
        for p in ranked:
            c = p.chunk
            if focus and not about(focus, p):
                continue
            for a, b in split_units(c.text):
                text = c.text[a:b]
                if intent.needs_number and not _DIGIT.search(text):
                    continue
                if len(display(text)) < 12:
                    continue
                candidates.append(Unit(p, c.start + a, c.start + b, text))
        if not candidates:
            if intent.needs_number:
                return [], "no dosing statement with a number was found for this question"
            return [], "no passage about the question's subject was found"
        vectors = self.index.embedder.embed(
            [_unit_context(u) for u in candidates] + [question], batch_size=64
        )
        qv = vectors[-1]
        cos = vectors[:-1] @ qv
        scored: list[Unit] = []
        for u, sim in zip(candidates, cos, strict=True):
            c = u.passage.chunk
            context = " ".join(x for x in (c.subject, c.title, c.section) if x)
            cov = coverage(terms, f"{context} {u.text}", weights, alternatives)
            score = 0.5 * float(sim) + 0.5 * cov
            if section_matches(intent, c.section):
                score += 0.1
            scored.append(replace(u, score=round(score, 6)))
        scored.sort(key=lambda u: u.score, reverse=True)
        best = scored[0]
        chosen = [best]
        chosen.extend(_companions(best, scored, intent))
        chosen.sort(key=lambda u: (u.passage.rank, u.start))
        chosen.remove(best)
        return [best, *chosen], ""

    def _boxed_for(self, passage: Passage) -> Unit | None:
        """The first sentence of the boxed warning of the drug a dosing passage is about."""
        c = passage.chunk
        key = (c.subject or c.title or "").lower()
        return self._boxed.get(key)


def _companions(best: Unit, scored: Sequence[Unit], intent: Intent) -> list[Unit]:
    """Sentences that belong with the best one: the rest of a dosing regimen, more list items."""
    out: list[Unit] = []
    bc = best.passage.chunk
    for u in scored[1:]:
        c = u.passage.chunk
        same_section = c.doc_id == bc.doc_id and c.section == bc.section
        if intent.name == "dose" and same_section and _same_paragraph(best, u):
            out.append(u)  # a regimen is one paragraph: population, dose, "Repeat for ..."
        elif intent.name in LIST_INTENTS and same_section and u.score >= 0.6 * best.score:
            out.append(u)
        elif u.score >= 0.92 * best.score and c.doc_id != bc.doc_id:
            out.append(u)
    return out


def _same_paragraph(a: Unit, b: Unit) -> bool:
    """True when no blank line separates the two units in their chunk."""
    c = a.passage.chunk
    if b.passage.chunk.chunk_id != c.chunk_id:
        return False
    lo, hi = sorted((a, b), key=lambda u: u.start)
    between = c.text[lo.end - c.start : hi.start - c.start]
    return "\n\n" not in between.replace("\r", "") and not re.search(r"\n\s*\n", between)


def _fit(units: Sequence[Unit], max_units: int, max_chars: int) -> list[Unit]:
    """Keep units in order while the answer stays within FORMAT.md's limits."""
    kept: list[Unit] = []
    total = 0
    for u in units:
        size = len(display(u.text)) + (len(u.label) + 2 if u.label else 0)
        if len(kept) < max_units and total + size <= max_chars:
            kept.append(u)
            total += size + 1
    return kept


def _unit_context(u: Unit) -> str:
    c = u.passage.chunk
    head = " — ".join(x for x in (c.subject or c.title, c.section) if x)
    return f"{head}: {u.text}" if head else u.text


def _boxed_warnings(index: ClinqaIndex) -> dict[str, Unit]:
    """subject (lower case) -> first sentence of its boxed warning, as a labelled unit."""
    out: dict[str, Unit] = {}
    for chunk in index.chunks:
        if not chunk.section or "boxed warning" not in chunk.section.lower():
            continue
        key = (chunk.subject or chunk.title or "").lower()
        if key in out:
            continue
        spans = [(a, b) for a, b in split_units(chunk.text) if len(chunk.text[a:b].split()) >= 5]
        if not spans:
            continue
        a, b = spans[0]
        passage = Passage(chunk, 0.0, 0, "boxed-warning")
        out[key] = Unit(passage, chunk.start + a, chunk.start + b, chunk.text[a:b], 1.0,
                        "Boxed warning")
    return out


def _ms(*marks: float) -> dict[str, float]:
    t0, t1, t2, t3 = marks
    return {
        "retrieve": (t1 - t0) * 1000,
        "select": (t2 - t1) * 1000,
        "compose": (t3 - t2) * 1000,
        "total": (t3 - t0) * 1000,
    }


__all__ = ["ABSTAIN_TEXT", "QA", "QueryError", "clean_question"]
