"""What qa returns: an `Answer` made of sentences with numbered `Citation`s."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from index.types import Passage

ABSTAIN_TEXT = "The indexed sources do not answer this question."


@dataclass(frozen=True)
class Citation:
    """A verbatim quote: `quote == stored_text(doc_id)[start:end]`."""

    n: int
    doc_id: str
    title: str
    source_type: str
    section: str | None
    page: int | None
    quote: str
    start: int
    end: int
    chunk_id: str = ""
    url: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class Answer:
    """The result of `qa.answer`. `abstained` is the named "not in the sources" result."""

    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    reason: str = ""  # why it abstained, or notes (e.g. boxed warning added)
    confidence: float = 0.0
    flags: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    timings_ms: dict[str, float] = field(default_factory=dict, hash=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The object `clinqa ask --json` prints (../shared/eval/FORMAT.md)."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "abstain_text": ABSTAIN_TEXT if self.abstained else None,
            "reason": self.reason,
            "confidence": round(self.confidence, 4),
            "flags": list(self.flags),
            "citations": [asdict(c) for c in self.citations],
            "passages": [passage_json(p) for p in self.passages],
            "settings": self.settings,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def passage_json(p: Passage) -> dict[str, Any]:
    c = p.chunk
    return {
        "rank": p.rank,
        "doc_id": c.doc_id,
        "chunk_id": c.chunk_id,
        "title": c.title,
        "source_type": c.source_type,
        "section": c.section,
        "page": c.page,
        "start": c.start,
        "end": c.end,
        "text": c.text,
        "score": round(float(p.score), 6),
        "retriever": p.retriever,
        "also": [asdict(o) for o in p.also],
    }
