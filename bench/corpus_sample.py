"""Fixed corpus samples for the benchmarks, and fixed real questions.

A sample is some folders of corpus/ plus the first N PubMed abstracts of
corpus/pubmedqa/corpus.jsonl (file order), copied into a folder. The embedder ceiling draws its
chunks from seed + openFDA + NCI + 150 abstracts; ingest (run 3 times per backend on a shared
2-core box) uses seed + openFDA + 50 abstracts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ingest.readers import iter_documents
from ingest.types import Document

FOLDERS = ("seed", "openfda_label_excerpts", "nci_dictionaries")
PUBMED_FILE = "pubmedqa/corpus.jsonl"
GOLD_FILES = ("seed.dev.jsonl", "seed.test.jsonl", "pubmedqa.dev.jsonl", "covidqa.dev.jsonl")


def write_sample(corpus: Path, out: Path, folders: tuple[str, ...], pubmed_n: int) -> Path:
    """Copy `folders` of `corpus` and the first `pubmed_n` abstracts into `out`; return it."""
    out.mkdir(parents=True, exist_ok=True)
    for name in folders:
        shutil.copytree(corpus / name, out / name)
    lines = (corpus / PUBMED_FILE).read_text(encoding="utf-8").splitlines()[:pubmed_n]
    (out / "pubmedqa").mkdir()
    (out / PUBMED_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def sample_documents(folder: Path) -> list[Document]:
    """The documents of the sample folder, as clinqa reads them."""
    return [d for d in iter_documents([folder]) if isinstance(d, Document)]


def gold_questions(gold_dir: Path, n: int) -> list[str]:
    """The first `n` distinct questions of the gold files, in file order."""
    out: list[str] = []
    for name in GOLD_FILES:
        path = gold_dir / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            q = json.loads(line).get("question", "").strip()
            if q and q not in out:
                out.append(q)
            if len(out) >= n:
                return out
    return out
