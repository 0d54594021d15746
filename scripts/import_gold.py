"""Dev-time tool: copy the shared gold sets into eval/gold/ with deterministic dev/test splits.

    .venv/bin/python scripts/import_gold.py [--shared /work/shared] [--root .]

The product never reads /work/shared; this script is run by hand and its output is committed.
Every choice is a sha256 of a stable key, so a re-run writes identical files:
- PubMedQA: its `official_split` (test -> test, train_dev -> dev).
- COVID-QA: by article (sha256 order of the gold doc ids, half each side), so no article spans
  dev and test.
- MedQuAD: by focus (sha256 of the normalised focus, parity); gzipped; plus a fixed 500-case
  sample of test. Its corpus goes to eval/medquad_corpus/ (not part of the default corpus).
- Leave-gold-out: ~15% of PubMedQA questions and ~15% of COVID-QA articles on each side become
  `<name>.holdout.<part>.jsonl` (answerable false, holdout true); their docs are listed in
  holdout_doc_ids.txt and must be left out of the eval index.
- Seed: the hand-written eval/gold/seed.all.jsonl, split ~50/50 stratified by section and
  answerability.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from eval.normalise import normalise  # noqa: E402

HOLDOUT_SHARE = 0.15
MEDQUAD_SAMPLE = 500
Row = dict[str, Any]


def sha(text: str) -> int:
    """sha256 of `text` as an integer (the one source of every deterministic choice)."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16)


def side_of(key: str) -> str:
    """'dev' or 'test' by the parity of sha256(key)."""
    return "dev" if sha(key) % 2 == 0 else "test"


def pick(keys: Iterable[str], share: float, salt: str) -> set[str]:
    """round(share * n) keys, the ones with the smallest sha256(salt + key)."""
    ordered = sorted(set(keys), key=lambda k: sha(salt + k))
    return set(ordered[: round(share * len(ordered))])


def read_jsonl(path: Path) -> list[Row]:
    opener: Callable[..., Any] = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl(path: Path, rows: list[Row]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    if path.name.endswith(".gz"):
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
            gz.write(text)
        text = buf.getvalue()
    write_atomic(path, text)


def as_holdout(row: Row) -> Row:
    return {**row, "answerable": False, "holdout": True}


def leave_out(
    parts: dict[str, list[Row]], name: str, by_article: bool
) -> tuple[dict[str, list[Row]], set[str]]:
    """Move ~15% of each part's questions (or articles) to `<name>.holdout.<part>`."""
    out: dict[str, list[Row]] = {}
    held_docs: set[str] = set()
    for part, rows in parts.items():
        keys = [r["gold_doc_ids"][0] if by_article else r["id"] for r in rows]
        chosen = pick(keys, HOLDOUT_SHARE, f"holdout:{name}:{part}:")
        kept: list[Row] = []
        held: list[Row] = []
        for row, key in zip(rows, keys, strict=True):
            (held if key in chosen else kept).append(row)
        out[f"{name}.{part}"] = kept
        out[f"{name}.holdout.{part}"] = [as_holdout(r) for r in held]
        held_docs.update(d for r in held for d in r["gold_doc_ids"])
    return out, held_docs


def split_pubmedqa(data: Path) -> dict[str, list[Row]]:
    official = {q["qid"]: q["official_split"] for q in read_jsonl(data / "questions.jsonl")}
    parts: dict[str, list[Row]] = {"dev": [], "test": []}
    for row in read_jsonl(data / "gold.jsonl"):
        parts["test" if official[row["id"]] == "test" else "dev"].append(row)
    return parts


def split_covidqa(data: Path) -> dict[str, list[Row]]:
    """Articles in sha256 order: the first half (rounded down) dev, the rest test."""
    rows = read_jsonl(data / "gold.jsonl")
    articles = sorted(
        {r["gold_doc_ids"][0] for r in rows}, key=lambda d: sha("covidqa-article:" + d)
    )
    dev = set(articles[: len(articles) // 2])
    parts: dict[str, list[Row]] = {"dev": [], "test": []}
    for row in rows:
        parts["dev" if row["gold_doc_ids"][0] in dev else "test"].append(row)
    return parts


def split_medquad(data: Path) -> dict[str, list[Row]]:
    parts: dict[str, list[Row]] = {"dev": [], "test": []}
    for row in read_jsonl(data / "gold.jsonl"):
        parts[side_of("medquad-focus:" + normalise(row.get("focus") or ""))].append(row)
    return parts


def split_seed(rows: list[Row]) -> dict[str, list[Row]]:
    """Stratified by (answerable, section): within each stratum in sha256 order, alternate
    test/dev, the alternation carrying over between strata so singletons balance out."""
    strata: dict[tuple[bool, str], list[Row]] = defaultdict(list)
    for row in rows:
        strata[(bool(row.get("answerable", True)), row.get("section") or "")].append(row)
    side_by_id: dict[str, str] = {}
    turn = 0
    for key in sorted(strata):
        for row in sorted(strata[key], key=lambda r: sha("seed:" + r["id"])):
            side_by_id[row["id"]] = "test" if turn % 2 == 0 else "dev"
            turn += 1
    return {part: [r for r in rows if side_by_id[r["id"]] == part] for part in ("dev", "test")}


def counts(rows: list[Row]) -> str:
    ans = sum(bool(r.get("answerable", True)) for r in rows)
    return f"{len(rows)} ({ans} answerable, {len(rows) - ans} unanswerable)"


PROVENANCE = """# Gold sets in eval/gold/

Format: ../shared/eval/FORMAT.md (copied contract: JSON Lines, one case a line; `.jsonl.gz` too).
Written by `scripts/import_gold.py` (deterministic; re-running it writes identical files) from
the project's shared data snapshot; the shipped `evidence`, `answers` and `gold_doc_ids` are kept
as they are. Extra keys (`section`, `holdout`, `final_decision`, ...) are ignored by the scorer.

## Origin and licence
- seed: hand-written for clinqa from the seed page `000_d4abd2d28b5a34b3.txt` (an online medical
  dictionary page on interleukin-2 / aldesleukin / Proleukin; its text belongs to its publishers,
  shipped as the sample corpus). Master file `seed.all.jsonl`; every `evidence` quote is verbatim
  from the page and every `must_include` item is inside one of the case's quotes. Doc ids:
  `seed:000_d4abd2d28b5a34b3:monograph`, `...:definition:NN` (01-08 in page order; the
  "interleukin-2 (IL-2)" line heads definition 03), `...:periodical:NN` (01-12 in page order).
  Unanswerable cases: drugs absent from every shared data set (checked with grep: daclizumab,
  basiliximab, semaglutide, tirzepatide, empagliflozin, ticagrelor, daptomycin, piperacillin,
  tocilizumab, venetoclax, osimertinib, naloxone, tenecteplase) and near misses where the drug or
  topic is present but the fact is not (nivolumab and pembrolizumab are defined by the NCI drug
  dictionary without a dose; imatinib and vancomycin appear in PubMed abstracts without a dose;
  aldesleukin's half-life, paediatric dose, storage, cost, renal adjustment, HIV or Kaposi dose,
  response rate, subcutaneous regimen, stability). Written before any tuning.
- pubmedqa: PubMedQA PQA-L (github pubmedqa/pubmedqa), MIT licence; Jin et al., EMNLP 2019.
- covidqa: COVID-QA April-2020 release (github deepset-ai/COVID-QA), Apache-2.0; article texts are
  CORD-19 / PMC open-access papers. Moller et al., 2020.
- medquad: MedQuAD (github abachaa/MedQuAD), CC BY 4.0; Ben Abacha & Demner-Fushman, BMC
  Bioinformatics 2019. Its answer corpus is in eval/medquad_corpus/ (NOT in the default corpus).

## How split
- seed: ~50/50, stratified by (answerability, section), sha256 order within each stratum.
- pubmedqa: the dataset's `official_split` field (test -> test, train_dev -> dev).
- covidqa: by article: articles in order of sha256("covidqa-article:" + gold doc id), the first
  half (rounded down) dev, the rest test; no article's questions are on both sides.
- medquad: parity of sha256("medquad-focus:" + normalised focus), so questions about one focus
  stay together. `medquad.sample.test.jsonl` = the {sample} test cases with the smallest
  sha256("sample:" + id), in file order, for repeated runs.
- Leave-gold-out (unanswerable by construction): on each side, round(15%) of the PubMedQA
  questions and round(15%) of the COVID-QA articles, chosen by smallest
  sha256("holdout:<name>:<part>:" + key), moved to `<name>.holdout.<part>.jsonl` with
  `"answerable": false, "holdout": true` (other fields kept). Their gold documents are listed in
  `holdout_doc_ids.txt` ({n_held} ids) and must be left out of the eval index; score the
  `<name>.<part>.jsonl` and `<name>.holdout.<part>.jsonl` files against that index.

## Counts
{table}
"""

SOURCES = """# MedQuAD answer corpus (eval only)

`corpus.jsonl.gz` is a byte copy of the shared MedQuAD corpus (16,359 answer passages of NIH
consumer-health pages; `doc_id` "medquad:<source>_<document id>_Sec<n>", `title` = focus, `url`,
`text`). Source: github abachaa/MedQuAD (snapshot 577bd37b96c02d1833b2c9eed2de9f96964e96cb).
Licence: CC BY 4.0 (Ben Abacha & Demner-Fushman, BMC Bioinformatics 2019). Answers of the
MedlinePlus subsets were removed by the authors and are absent.

It is NOT part of the default corpus: build a separate index from it to score
`eval/gold/medquad.*.jsonl(.gz)`.
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default="/work/shared", type=Path)
    ap.add_argument("--root", default=Path(__file__).resolve().parents[1], type=Path)
    args = ap.parse_args(argv)
    data, gold = args.shared / "data", args.root / "eval" / "gold"

    files: dict[str, list[Row]] = {}
    held_docs: set[str] = set()
    seed_rows = read_jsonl(gold / "seed.all.jsonl")
    files.update({f"seed.{p}": rows for p, rows in split_seed(seed_rows).items()})
    for name, parts, by_article in (
        ("pubmedqa", split_pubmedqa(data / "pubmedqa"), False),
        ("covidqa", split_covidqa(data / "covid_qa"), True),
    ):
        out, docs = leave_out(parts, name, by_article)
        files.update(out)
        held_docs |= docs
    medquad = split_medquad(data / "medquad")
    sample_ids = set(
        sorted((r["id"] for r in medquad["test"]), key=lambda i: sha("sample:" + i))[
            :MEDQUAD_SAMPLE
        ]
    )

    for stem, rows in files.items():
        write_jsonl(gold / f"{stem}.jsonl", rows)
    for part, rows in medquad.items():
        write_jsonl(gold / f"medquad.{part}.jsonl.gz", rows)
    sample = [r for r in medquad["test"] if r["id"] in sample_ids]
    write_jsonl(gold / "medquad.sample.test.jsonl", sample)
    write_atomic(
        gold / "holdout_doc_ids.txt", "".join(f"{d}\n" for d in sorted(held_docs)).encode()
    )

    mq_dir = args.root / "eval" / "medquad_corpus"
    mq_dir.mkdir(parents=True, exist_ok=True)
    tmp = mq_dir / ".corpus.jsonl.gz.tmp"
    shutil.copyfile(data / "medquad" / "corpus.jsonl.gz", tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, mq_dir / "corpus.jsonl.gz")
    write_atomic(mq_dir / "SOURCES.md", SOURCES.encode())

    all_files = {f"{k}.jsonl": v for k, v in files.items()}
    all_files |= {f"medquad.{p}.jsonl.gz": v for p, v in medquad.items()}
    all_files["medquad.sample.test.jsonl"] = sample
    table = ["| file | cases | articles/docs |", "|---|---|---|"]
    for fname in sorted(all_files):
        rows = all_files[fname]
        n_docs = len({d for r in rows for d in r.get("gold_doc_ids", [])})
        table.append(f"| {fname} | {counts(rows)} | {n_docs} |")
    table.append(f"| seed.all.jsonl (master) | {counts(seed_rows)} | - |")
    sections = Counter(r.get("section") for r in seed_rows)
    table += ["", "Seed cases per section: " + ", ".join(f"{s} {n}" for s, n in sections.items())]
    text = PROVENANCE.format(sample=MEDQUAD_SAMPLE, n_held=len(held_docs), table="\n".join(table))
    write_atomic(gold / "PROVENANCE.md", text.encode())
    for fname in sorted(all_files):
        print(f"{fname}: {counts(all_files[fname])}")
    print(f"holdout_doc_ids.txt: {len(held_docs)} ids")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
