"""`QA.ask(question) -> Answer`: retrieve, rerank, pick the answering sentences, cite or abstain."""

from __future__ import annotations

import functools
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from index.context import embed_text, unit_text
from index.spans import shifted
from index.types import Filters, Passage, Retriever
from index.units import ALONE, POOLED
from ingest.text import split_units
from ingest.types import Chunk
from qa.compose import Unit, cite, compose, display
from qa.errors import QueryError
from qa.generate import build_messages, check
from qa.intent import Intent, detect_intent, expected_answer, section_matches
from qa.numbers import quantities, unsupported_quantities
from qa.qualifiers import asked_names, dose_qualifiers, meets, required_groups
from qa.rerank import GLOSS, about, rerank
from qa.settings import Settings
from qa.synonyms import ALL_GROUPS, SynonymTable, expand_query
from qa.terms import (
    STOPWORDS,
    Scope,
    content_terms,
    coverage,
    generic_word,
    idf,
    looks_like_drug,
    scope,
    stem,
    tokens,
)
from qa.types import ABSTAIN_TEXT, Answer, Citation

if TYPE_CHECKING:
    from index.store import ClinqaIndex

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_DIGIT = re.compile(r"\d")
# Units that make a number an amount of drug (qa.numbers' canonical spellings).
DOSE_UNITS = frozenset({"mg", "mcg", "g", "ng", "ml", "unit", "international unit", "dose"})
_ANAPHOR = re.compile(r"\s*(these|this|they|it|such|repeat|then|report these)\b", re.IGNORECASE)
DOSE_SOURCES = frozenset({"monograph", "document"})
# Sentence scoring (tuned on the development parts of the gold sets; see eval/RESULTS.md).
W_COS, W_COV, W_SECTION, W_SHORT, W_MISSING = 0.5, 0.5, 0.1, 0.15, 0.3
# Passage relevance for reranking: the same signals, measured on the whole passage.
P_COS, P_COV, P_MISSING = 1.0, 1.0, 0.3
RARE_IDF = 5.5  # a question noun in fewer than ~0.3% of chunks must stand in the answer's passage
LIST_SHARE, RUNNER_UP_SHARE = 0.6, 0.9
MAX_GLOSSES = 2  # "What is X?": the openings of the two best-matching definitions
# Intents whose wording names the section itself ("boxed warning", "interact", "caution",
# "contraindicated"); measured: making the looser ones strict (a "toxicity" question is not always
# an adverse-reactions one) cost more answers on the seed development part than it gained.
STRICT_INTENTS = frozenset({"warning", "interaction", "precaution", "contraindication"})
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
        "class",
    }
)


@dataclass(frozen=True)
class QuestionTerms:
    """What a question is scored by: its content terms (a synonym phrase is one term), the
    alternatives each may appear as, IDF weights, the rare ones and the question's vector."""

    question: str
    terms: tuple[str, ...]
    alternatives: dict[str, tuple[str, ...]]
    weights: dict[str, float]
    rare: tuple[str, ...]
    vector: np.ndarray
    required: tuple[tuple[str, ...], ...] = ()  # a dose question's patient groups and routes

    def coverage(self, text: str | Scope) -> float:
        return self.coverage_of(self.terms, text)

    def coverage_of(self, terms: Sequence[str], text: str | Scope) -> float:
        return coverage(terms, text, self.weights, self.alternatives)

    def missing(self, text: str | Scope) -> int:
        """How many rare question terms `text` never mentions."""
        where = scope(text) if isinstance(text, str) else text
        return sum(
            1 for t in self.rare if coverage([t], where, self.weights, self.alternatives) == 0
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

    def __init__(
        self, index: ClinqaIndex, settings: Settings | None = None, chat_model: Any = None
    ) -> None:
        self.index = index
        self.settings = settings or Settings()
        self.chat_model = chat_model  # optional LangChain chat model (generative mode)
        docs = index.documents()
        self._text = {d.doc_id: d.text for d in docs}
        subject_groups = [
            [d.subject, *d.aliases] for d in docs if d.subject and (d.aliases or d.source_type)
        ]
        self.subjects = SynonymTable.build(g for g in subject_groups if len(g) > 1)
        # alias (lower case) -> the subject name the corpus files it under
        self._canonical = {
            a.lower(): d.subject.lower() for d in docs if d.subject for a in (d.subject, *d.aliases)
        }
        self.abbreviations = SynonymTable.build(ALL_GROUPS)
        self.synonyms = SynonymTable.build([*subject_groups, *ALL_GROUPS])
        df: Counter[str] = Counter()
        for chunk in index.chunks:
            df.update({stem(t) for t in set(tokens(embed_text(chunk)))})
        self._df = df
        self._n = max(1, len(index.chunks))
        self._boxed = _boxed_warnings(index)

    # -- public -------------------------------------------------------------------------------
    def search(
        self, query: str, k: int = 10, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[Passage]:
        """Ranked passages for a researcher's query (no answer composed)."""
        q = clean_question(query, self.settings.max_query_chars)
        retrievers: dict[str, Retriever] = {
            "hybrid": self.index.hybrid,
            "dense": self.index.dense,
            "bm25": self.index.lexical,
        }
        if mode not in retrievers:
            raise QueryError(f"unknown search mode {mode!r} (hybrid, dense or bm25)")
        return retrievers[mode].search(self._retrieval_query(q), k=k, filters=filters)

    def _retrieval_query(self, question: str) -> str:
        """The question plus the corpus's own name for any alias it uses ("Proleukin" ->
        "aldesleukin") and the expansions of clinical abbreviations. Only the canonical name is
        added, so a subject's many aliases do not outweigh what is asked about it."""
        low = question.lower()
        extra: list[str] = []
        for name, _ in self.subjects.mentioned(question):
            canon = self._canonical.get(name)
            if canon and canon not in low and canon not in extra:
                extra.append(canon)
        expanded = expand_query(question, self.abbreviations)
        return f"{expanded} ({' '.join(extra)})" if extra else expanded

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
        query = self._retrieval_query(retrieval_q)
        # One forward pass for both texts; the retriever and the scorer then find their vectors
        # remembered by the embedder.
        self.index.embedder.embed(list(dict.fromkeys([query, q])))
        found = self.index.hybrid.search(query, k=s.candidates, filters=filters)
        qt = self._question_terms(q, intent, focus)
        relevance = [self._relevance(qt, p) for p in found]
        t1 = time.perf_counter()
        bare = intent.name == "definition" and _bare(qt.terms, focus)
        ranked = rerank(
            found, replace(intent, name=GLOSS) if bare else intent, focus, relevance=relevance
        )
        passages = ranked[: s.k]
        # "What is X?" may be answered by any of the top-k passages' definitions; other
        # questions by the sentences of the first few passages.
        pool = s.k if bare else s.answer_passages
        units, why = self._select(qt, intent, focus, ranked[:pool], bare)
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
        units = _reading_order(_fit(units, s.max_answer_sentences, s.max_answer_chars))
        text, citations = compose(units, self._text)
        if self.chat_model is not None:
            generated, notes = self._generate(q, ranked[: s.answer_passages], units)
            flags.extend(notes)
            if generated is not None:
                text, citations = generated
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
    def _generate(
        self, question: str, passages: Sequence[Passage], units: Sequence[Unit]
    ) -> tuple[tuple[str, tuple[Citation, ...]] | None, list[str]]:
        """The chat model's answer from the numbered passages, each sentence checked against
        what it cites (qa/generate.py), plus flags. None (and the extractive answer stands)
        when the model fails or no sentence survives the check."""
        texts = [p.chunk.text for p in passages]
        try:
            reply = self.chat_model.invoke(build_messages(question, texts))
        except Exception as exc:  # a remote service: any failure leaves the extractive answer
            return None, [f"generative_error: {type(exc).__name__}"]
        content = reply.content if isinstance(reply.content, str) else str(reply.content)
        checked = check(content, texts)
        notes = [f"removed {r.reason}" for r in checked.removed]
        if not checked.kept:
            return None, ["generative_rejected", *notes]
        number: dict[int, int] = {}
        citations: list[Citation] = []
        parts: list[str] = []
        for sentence in checked.kept:
            for n in sentence.cites:
                if n not in number:
                    number[n] = len(number) + 1
                    c = passages[n - 1].chunk
                    citations.append(cite(c, number[n], c.start, c.end, self._text[c.doc_id]))
            marks = " ".join(f"[{number[n]}]" for n in dict.fromkeys(sentence.cites))
            parts.append(f"{sentence.text} {marks}")
        for u in units:  # labelled extractive notes (the boxed warning) stay, verbatim
            if u.label:
                note, (boxed,) = compose([u], self._text)
                n = len(citations) + 1
                citations.append(replace(boxed, n=n))
                parts.append(note.replace("[1]", f"[{n}]"))
        return (" ".join(parts), tuple(citations)), ["generated", *notes]

    def focus(self, text: str) -> list[str]:
        """What `text` is about, as the index knows it (see `_focus`)."""
        return self._focus(text)

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
        terms: dict[str, None] = {}
        for t in content_terms(question):
            for part in self._parts(t):
                if part not in covered:
                    terms.setdefault(part, None)
        return [*alternatives, *terms], alternatives

    def _parts(self, term: str) -> list[str]:
        """A hyphenated word the corpus never uses, as its known head and its other words
        ("il-2-induced" -> "il-2"; a passage says "IL-2 causes ..."), generic ones dropped.
        Drug-shaped combinations ("piperacillin-tazobactam") stay whole: an unknown drug is
        reported as such."""
        words = term.split("-")
        if len(words) < 2 or self._df.get(stem(term), 0) > 0:
            return [term]
        if all(looks_like_drug(w) for w in words):
            return [term]
        for cut in range(len(words) - 1, 0, -1):
            head = "-".join(words[:cut])
            if self._df.get(stem(head), 0) > 0:
                rest = [
                    w
                    for w in words[cut:]
                    if len(w) > 1 and w not in STOPWORDS and not generic_word(w)
                ]
                return [head, *rest]
        return [term]

    def _weights(self, terms: Sequence[str]) -> dict[str, float]:
        """IDF per term; a phrase weighs as its rarest word."""
        return {
            t: max(idf(self._df.get(stem(w), 0), self._n) for w in (tokens(t) or [t]))
            for t in terms
        }

    def _question_terms(self, question: str, intent: Intent, focus: Sequence[str]) -> QuestionTerms:
        """Terms, weights and the words an answering passage must mention: the rare ones (in
        under ~0.3% of chunks, or in at most 3 chunks of a small index) and, for a dose, every
        qualifier (condition, population, route): a dose is only quoted for what was asked."""
        terms, alternatives = self._terms(question)
        weights = self._weights(terms)
        rare_idf = min(RARE_IDF, idf(3, self._n))
        narrowing = dose_qualifiers(question, focus) if intent.name == "dose" else set()
        rare = [
            t
            for t in terms
            if not generic_word(t)
            and ((weights[t] >= rare_idf and self._known(t)) or _in_phrase(t, narrowing))
        ]
        vector = self.index.embedder.embed([question])[0]
        required = required_groups(question) if intent.name == "dose" else ()
        return QuestionTerms(
            question, tuple(terms), alternatives, weights, tuple(rare), vector, required
        )

    def _relevance(self, qt: QuestionTerms, p: Passage) -> float:
        """How well a whole passage answers: the similarity of its stored vector to the
        question's (of its best unit when the units were embedded alone, index/units.py), plus
        IDF-weighted coverage of the question's words, less a penalty per rare question word it
        never mentions."""
        c = p.chunk
        where = _chunk_scope(c)
        stored = self.index.unit_vectors(c.chunk_id) if self.index.unit_mode == ALONE else None
        if stored is not None and len(stored[1]):
            vectors = stored[1]
        else:
            vectors = self.index.vector(c.chunk_id)
        cos = float(np.max(vectors @ qt.vector))
        return P_COS * cos + P_COV * qt.coverage(where) - P_MISSING * qt.missing(where)

    def _select(
        self,
        qt: QuestionTerms,
        intent: Intent,
        focus: Sequence[str],
        ranked: Sequence[Passage],
        bare: bool,
    ) -> tuple[list[Unit], str]:
        """Score the sentences of the top passages; return the chosen ones, best first. `bare`:
        the question names only its subject ("What is X?").

        A sentence's score mixes its embedding similarity to the question with the share of the
        question's words it covers (IDF-weighted, synonyms allowed). Rare question words (a
        condition, a population, a route) that appear nowhere in the sentence's passage cost a
        penalty: "the IL-2 dose for Kaposi's sarcoma" is not answered by the melanoma dose.
        """
        known = self.synonyms.by_name
        unknown = [
            t
            for t in qt.terms
            if t not in known and looks_like_drug(t) and self._df.get(stem(t), 0) == 0
        ]
        if unknown and not any(about(unknown, p) for p in ranked):
            return [], f"the sources never mention {', '.join(unknown)}"
        kind = expected_answer(qt.question)
        candidates: list[Unit] = []
        for p in ranked:
            c = p.chunk
            if focus and not about(focus, p):
                continue
            if intent.name == "dose" and c.source_type not in DOSE_SOURCES:
                continue  # a dose is quoted from a monograph, a label or the user's own file
            if qt.required and not meets(qt.required, f"{_context(c)} {c.text}"):
                continue  # the adult I.V. regimen is no answer for a child or another route
            for a, b in split_units(c.text):
                text = c.text[a:b]
                if intent.needs_number and not _DIGIT.search(text):
                    continue
                if kind is not None and not kind.states.search(text):
                    continue
                if len(display(text)) < 12 or self._only_names(text, c):
                    continue
                gloss = (
                    c.source_type == "definition"
                    and c.start == 0
                    and not any(u.passage.chunk.chunk_id == c.chunk_id for u in candidates)
                )
                candidates.append(Unit(p, c.start + a, c.start + b, text, gloss=gloss))
        if not candidates:
            if kind is not None:
                return [], f"no passage about the question's subject states a {kind.name}"
            if qt.required:
                asked = " and ".join(asked_names(qt.question, qt.required))
                return [], f"no dosing statement for {asked} was found in the sources"
            if intent.needs_number:
                return [], "no dosing statement with a number was found for this question"
            return [], "no passage about the question's subject was found"
        if bare:
            # "What is X?" asks for what X is: a dictionary's opening sentence, when the
            # sources define X, rather than whatever else is said about X.
            glosses = [u for u in candidates if u.gloss]
            candidates = glosses or candidates
        if intent.name == "indication":
            # What a drug is for is a condition, not a regimen: "the approved indications"
            # are answered by "metastatic melanoma", not by the dose line below it.
            no_dose = [
                u for u in candidates if not any(q.unit in DOSE_UNITS for q in quantities(u.text))
            ]
            candidates = no_dose or candidates
        if focus and intent.name in STRICT_INTENTS:
            # A monograph that has the section the question asks about answers from it: "Can
            # aldesleukin be combined with gentamicin?" is answered by aldesleukin's
            # interactions, not by a gentamicin study that mentions no aldesleukin dose.
            in_section = [u for u in candidates if section_matches(intent, u.passage.chunk.section)]
            candidates = in_section or candidates
        cos = self._unit_vectors(candidates) @ qt.vector
        scored: list[Unit] = []
        for u, sim in zip(candidates, cos, strict=True):
            c = u.passage.chunk
            context = _context(c)
            score = W_COS * float(sim) + W_COV * qt.coverage(f"{context} {u.text}")
            if section_matches(intent, c.section):
                score += W_SECTION
            if intent.name == "definition" and u.gloss:
                score += W_SECTION  # "What is X?" is answered by a definition's opening
            if len(display(u.text).split()) < 4:
                score -= W_SHORT  # a heading or a lone list item rarely answers on its own
            score -= W_MISSING * qt.missing(_chunk_scope(c))
            scored.append(replace(u, score=round(score, 6)))
        scored.sort(key=lambda u: u.score, reverse=True)
        best = scored[0]
        own = self._asked(qt, focus) if kind is not None else []
        if own and qt.coverage_of(own, _chunk_scope(best.passage.chunk)) == 0:
            # A question after a kind of value ("how long is it stable at room temperature")
            # whose best passage states such a value but shares none of the question's own
            # words is about the subject, not about what was asked ("infuse over 15 minutes").
            return [], "the best passage about the subject says nothing about " + ", ".join(own)
        chosen = _companions(best, scored, intent)
        # The answer's length budget goes first to the rest of a dosing regimen (its population
        # and repeats), then to the others by score; _reading_order puts back document order.
        regimen = intent.name == "dose"
        chosen.sort(
            key=lambda u: (0, u.start) if regimen and _same_paragraph(best, u) else (1, -u.score)
        )
        return [best, *chosen], ""

    def _unit_vectors(self, units: Sequence[Unit]) -> np.ndarray:
        """One L2-normalised vector per unit: the vector stored at ingest (index/units.py), else
        made now as the index makes them (an index written before unit vectors were stored, or
        a units file that changed under us): pooled from one pass over the chunk, or the unit
        embedded alone in its context (and so a pooled unit past the model's token limit)."""
        out = np.zeros((len(units), self.index.embedder.dim), dtype=np.float32)
        by_chunk: dict[str, list[int]] = {}
        for i, u in enumerate(units):
            by_chunk.setdefault(u.passage.chunk.chunk_id, []).append(i)
        todo: dict[str, list[int]] = {}
        for chunk_id, rows in by_chunk.items():
            stored = self.index.unit_vectors(chunk_id)
            where = (
                {} if stored is None else {tuple(ab): j for j, ab in enumerate(stored[0].tolist())}
            )
            for i in rows:
                c = units[i].passage.chunk
                j = where.get((units[i].start - c.start, units[i].end - c.start))
                if stored is not None and j is not None and stored[1][j].any():
                    out[i] = stored[1][j]
                else:
                    todo.setdefault(chunk_id, []).append(i)
        if todo and self.index.unit_mode == POOLED:
            chunks = [units[rows[0]].passage.chunk for rows in todo.values()]
            texts = [embed_text(c) for c in chunks]
            spans = [
                shifted(
                    [(units[i].start - c.start, units[i].end - c.start) for i in rows],
                    len(t) - len(c.text),
                )
                for c, t, rows in zip(chunks, texts, todo.values(), strict=True)
            ]
            _, pooled = self.index.embedder.embed_spans(texts, spans)
            for rows, vecs in zip(todo.values(), pooled, strict=True):
                out[rows] = vecs
        alone = [i for i in range(len(units)) if not out[i].any()]
        if alone:
            mode = self.index.unit_mode
            out[alone] = self.index.embedder.embed([_unit_context(units[i], mode) for i in alone])
        return out

    def _only_names(self, text: str, c: Chunk) -> bool:
        """True for a heading line that only repeats the chunk's subject (or another name of
        it), title or section ("interleukin-2 (IL-2)"): it names what the passage is about and
        answers nothing."""
        words = set(tokens(text))
        names = [_context(c), *self.synonyms.others(c.subject or "")]
        return bool(words) and words <= set(tokens(" ".join(names)))

    def _asked(self, qt: QuestionTerms, focus: Sequence[str]) -> list[str]:
        """The question's own words beyond its subject: not the subject's names, not generic
        verbs, not words the corpus never uses (nothing could cover them)."""
        names = {n.lower() for n in focus}
        return [t for t in qt.terms if t not in names and not generic_word(t) and self._known(t)]

    def _known(self, term: str) -> bool:
        """True when some word of `term` (or a synonym) occurs in the corpus."""
        options = [term, *self.synonyms.others(term)]
        return any(self._df.get(stem(w), 0) > 0 for o in options for w in (tokens(o) or [o]))

    def _boxed_for(self, passage: Passage) -> Unit | None:
        """The first sentence of the boxed warning of the drug a dosing passage is about."""
        c = passage.chunk
        key = (c.subject or c.title or "").lower()
        return self._boxed.get(key)


_DEFINING = frozenset({"define", "definition", "meaning", "mean", "means", "term"})


def _bare(terms: Sequence[str], focus: Sequence[str]) -> bool:
    """True when a question names only its subject ("What is Proleukin?", "Define IL-2.").

    >>> _bare(["il-2", "define"], ["il-2", "aldesleukin"]), _bare(["il-2", "role"], ["il-2"])
    (True, False)
    """
    names = set(focus)
    return bool(names) and all(t in names or t in _DEFINING for t in terms)


def _in_phrase(term: str, words: set[str]) -> bool:
    """True when `term` (a word or a synonym phrase) contains one of `words`."""
    return bool(words.intersection(tokens(term)))


def _companions(best: Unit, scored: Sequence[Unit], intent: Intent) -> list[Unit]:
    """Sentences that belong with the best one: the rest of a dosing regimen, more list items,
    a sentence that continues it ("Report these immediately."), and close runners-up."""
    out: list[Unit] = []
    glosses = 1
    bc = best.passage.chunk
    for u in scored[1:]:
        c = u.passage.chunk
        same_section = c.doc_id == bc.doc_id and c.section == bc.section
        if intent.name == "dose" and same_section and _same_paragraph(best, u):
            out.append(u)  # a regimen is one paragraph: population, dose, "Repeat for ..."
        elif intent.name in LIST_INTENTS and same_section and u.score >= LIST_SHARE * best.score:
            out.append(u)
        elif _continues(best, u):
            out.append(u)
        elif intent.name == "definition" and best.gloss and u.gloss and glosses < MAX_GLOSSES:
            glosses += 1
            out.append(u)  # a second dictionary's definition beside the first
        elif u.score >= RUNNER_UP_SHARE * best.score:
            out.append(u)
    return out


def _continues(best: Unit, u: Unit) -> bool:
    """True when `u` directly follows `best` on the same line and leans on it ("These ...")."""
    c = best.passage.chunk
    if u.passage.chunk.chunk_id != c.chunk_id or u.start < best.end:
        return False
    between = c.text[best.end - c.start : u.start - c.start]
    return "\n" not in between and bool(_ANAPHOR.match(u.text))


def _same_paragraph(a: Unit, b: Unit) -> bool:
    """True when no blank line separates the two units in their chunk."""
    c = a.passage.chunk
    if b.passage.chunk.chunk_id != c.chunk_id:
        return False
    lo, hi = sorted((a, b), key=lambda u: u.start)
    between = c.text[lo.end - c.start : hi.start - c.start]
    return "\n\n" not in between.replace("\r", "") and not re.search(r"\n\s*\n", between)


def _reading_order(units: Sequence[Unit]) -> list[Unit]:
    """The best unit's passage first, each passage's units in document order, labelled notes
    (the boxed warning) last, so contiguous sentences merge into one citation."""
    first_seen: dict[str, int] = {}
    for u in units:
        first_seen.setdefault(u.passage.chunk.chunk_id, len(first_seen))
    return sorted(
        units, key=lambda u: (bool(u.label), first_seen[u.passage.chunk.chunk_id], u.start)
    )


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


def _context(c: Chunk) -> str:
    """The words that place a chunk: its subject, title and section."""
    return " ".join(x for x in (c.subject, c.title, c.section) if x)


@functools.lru_cache(maxsize=8192)
def _chunk_scope(c: Chunk) -> Scope:
    """A chunk's words with its context, read once (a passage is scored, then its units)."""
    return scope(f"{_context(c)} {c.text}")


def _unit_context(u: Unit, mode: str) -> str:
    """A unit's text as its index embeds units alone ("alone": index.context.unit_text); for a
    pooled index (a unit its chunk's pass cut off), with the chunk's subject or title."""
    c = u.passage.chunk
    if mode == ALONE:
        return unit_text(c, u.start - c.start, u.end - c.start)
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
        out[key] = Unit(
            passage, chunk.start + a, chunk.start + b, chunk.text[a:b], 1.0, "Boxed warning"
        )
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
