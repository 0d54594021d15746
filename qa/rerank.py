"""Reorder retrieved passages by what the question asks for (pure).

A passage's score is its relevance to the question (computed by the caller: embedding
similarity plus IDF-weighted coverage of the question's words), a little of the fused retrieval
score, and adjustments: a passage gains when its section answers the question's intent, when it
comes from an authoritative source for that intent (monographs and labels for dosing, warnings,
contraindications), and when it is about the drug the question names; then each passage inherits
a share of its document's best score, so the rest of a matching document follows its best part,
and a study's Results lead its passages for a general or research question. Without a relevance
signal the fused score alone is the base; reciprocal-rank fusion squeezes its scores so close
together that the adjustments then decide almost everything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from index.types import Passage
from qa.intent import Intent, section_matches

MONOGRAPH = "monograph"
DICTIONARY = "definition"
# A bare "What is X?" (the question names only its subject): dictionaries are the authority for
# what a thing is, and a news excerpt about X does not say what X is.
GLOSS = "gloss"
WEAK_SOURCES = ("periodical",)
NEWS_INTENTS = ("research", "definition")
SHORT_WORDS = 8
EVIDENCE_INTENTS = ("general", "research")
_RESULTS = re.compile(r"\s*(results?|findings|main results|outcomes?)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Weights:
    section: float = 0.35
    authority: float = 0.15
    weak_source: float = 0.25
    focus: float = 0.3
    short: float = 0.2
    fused: float = 0.3  # share of the fused retrieval score kept beside the relevance signal
    # Share of its document's best passage score a passage inherits: the rest of an abstract
    # whose best passage matched follows it up the list (PubMedQA's evidence is in its
    # Results, the Background restates the question). Measured on the development parts:
    # pubmedqa.dev hit@5 0.855 -> 0.931 (0.3), 0.947 (0.6), 0.957 (1.0); covidqa.dev 0.767 ->
    # 0.767, 0.763, 0.756; seed.dev, answers and abstentions unchanged. 0.3 loses nothing.
    document: float = 0.3
    # A study's Results lead its document's passages for a general or research question: the
    # evidence is there (the Background restates the question). Measured on the development
    # parts: pubmedqa.dev hit@1 0.102 -> 0.779, MRR 0.430 -> 0.856, hit@5 0.931 -> 0.964;
    # covidqa.dev (articles without sections) and seed.dev unchanged; no other document moves.
    results_lead: bool = True


def about(names: Sequence[str], passage: Passage) -> bool:
    """True when the passage's subject, title or text names one of `names` (lower case).

    >>> from ingest.types import Chunk
    >>> c = Chunk("c", "d", "Aldesleukin", "monograph", None, None, 0, 4, "text", "aldesleukin")
    >>> about(["aldesleukin"], Passage(c, 1.0, 1, "hybrid"))
    True
    """
    c = passage.chunk
    hay = " ".join(x for x in (c.subject, c.title, c.text) if x).lower()
    return any(n in hay for n in names)


def passage_bonus(passage: Passage, intent: Intent, focus: Sequence[str], w: Weights) -> float:
    """Intent, authority and focus adjustments for one passage."""
    c = passage.chunk
    bonus = 0.0
    if section_matches(intent, c.section):
        bonus += w.section
    if intent.authority and c.source_type == MONOGRAPH:
        bonus += w.authority
    if intent.name == GLOSS and c.source_type == DICTIONARY:
        bonus += w.authority
    if c.source_type in WEAK_SOURCES and intent.name not in NEWS_INTENTS:
        bonus -= w.weak_source  # a news excerpt answers questions about research news only
    if len(c.text.split()) < SHORT_WORDS and intent.name not in ("supplied", "class"):
        bonus -= w.short  # a one-line passage wins on its prefix alone, not on what it says
    if focus:
        bonus += w.focus if about(focus, passage) else -w.focus
    return bonus


def _is_results(p: Passage) -> bool:
    """True for the Results (or Findings, Outcomes) section of a journal article or abstract."""
    section = p.chunk.section or ""
    return p.chunk.source_type == "journal" and bool(_RESULTS.match(section))


def rerank(
    passages: Sequence[Passage],
    intent: Intent,
    focus: Sequence[str],
    weights: Weights | None = None,
    relevance: Sequence[float] | None = None,
) -> list[Passage]:
    """Passages re-scored and re-ranked from 1. The base is `relevance[i]` plus `w.fused` times
    the fused score scaled to [0, 1]; without `relevance`, the scaled fused score alone.

    >>> rerank([], Intent("general", ()), [])
    []
    """
    if not passages:
        return []
    if relevance is not None and len(relevance) != len(passages):
        raise ValueError(f"{len(relevance)} relevance scores for {len(passages)} passages")
    w = weights or Weights()
    top = max(p.score for p in passages) or 1.0
    base = (
        [p.score / top for p in passages]
        if relevance is None
        else [w.fused * p.score / top + r for p, r in zip(passages, relevance, strict=True)]
    )
    own = [b + passage_bonus(p, intent, focus, w) for b, p in zip(base, passages, strict=True)]
    best: dict[str, float] = {}
    for s, p in zip(own, passages, strict=True):
        best[p.chunk.doc_id] = max(s, best.get(p.chunk.doc_id, s))
    if w.results_lead and intent.name in EVIDENCE_INTENTS:
        # A study's Results carry its evidence for a general or research question: they take
        # the place of the document's best passage, which follows them; no other document moves.
        own = [
            max(s, best[p.chunk.doc_id] + 1e-6) if _is_results(p) else s
            for s, p in zip(own, passages, strict=True)
        ]
    scored = [
        (s + w.document * best[p.chunk.doc_id], -i, p)
        for i, (s, p) in enumerate(zip(own, passages, strict=True))
    ]
    scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [
        replace(p, score=round(s, 6), rank=r, retriever="clinqa")
        for r, (s, _, p) in enumerate(scored, 1)
    ]
