"""Evaluation on real data: the eval index, compare reports per gold set, and eval/RESULTS.md.

Run by `scripts/eval_all.sh` (and `scripts/eval_medquad.sh`) as `python -m eval.results_md STEP`:

    build-index --index DIR --corpus DIR [--base DIR] [--exclude FILE]
    compare --index DIR --gold FILE... --out DIR [--systems a,b] [--no-answers-for PREFIX] [--k 10]
    results --reports DIR --index DIR --out FILE
    embedders --reports DIR   (the embedder comparison of scripts/eval_embedders.sh)
    unpack --src FILE.jsonl.gz --dest DIR   (ingest reads plain .jsonl only, MAX_CHUNKS_PER_FILE)

Nothing here prints; a failure raises with the offending path, and the step exits non-zero.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.baselines import SYSTEM_NAMES, SystemSet, build_systems
from eval.compare import compare_markdown, metrics_table, paired_table
from eval.gold import GoldCase, load_gold
from eval.plots import write_plots
from eval.report import write_report, write_text
from eval.runner import run_stamp
from qa.settings import Settings

if TYPE_CHECKING:
    from index.embedder import Embedder
    from index.pipeline import IngestSummary
    from index.store import ClinqaIndex

REPORT_JSON = "compare.json"
REPORT_MD = "compare.md"
ABSTENTION_MD = "abstention.md"


class ResultsError(Exception):
    """A step of the evaluation run cannot go on (the path or value is in the message)."""


def read_doc_ids(path: str | Path) -> list[str]:
    """Doc ids listed one per line (blank lines and `#` comments skipped)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ResultsError(f"cannot read doc id list {path}: {exc}") from exc
    return [s for line in lines if (s := line.strip()) and not s.startswith("#")]


def copy_live_version(base: Path, target: Path) -> bool:
    """Copy `base`'s CURRENT file and live version folder to a missing `target` (True if copied)."""
    current = base / "CURRENT"
    if target.exists() or not current.is_file():
        return False
    name = current.read_text(encoding="utf-8").strip()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        shutil.copytree(base / "versions" / name, tmp / "versions" / name)
        shutil.copy2(current, tmp / "CURRENT")
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return True


def build_eval_index(
    index_dir: str | Path,
    corpus_dir: str | Path,
    embedder: Embedder,
    *,
    exclude_doc_ids: Sequence[str],
    base_index: str | Path | None = None,
    max_chars: int = 900,
    max_tokens: int | None = 230,
    unit_vectors: str = "pooled",
) -> IngestSummary:
    """The eval index: the corpus minus `exclude_doc_ids`, starting from a copy of `base_index`.

    Copying the built default index first means nothing is re-embedded: the update only drops
    the excluded documents (and picks up corpus changes since the base was built).
    """
    from index.pipeline import ingest_paths

    target = Path(index_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    if base_index is not None:
        copy_live_version(Path(base_index), target)
    return ingest_paths(
        target,
        [corpus_dir],
        embedder,
        max_chars=max_chars,
        max_tokens=max_tokens,
        exclude_doc_ids=exclude_doc_ids,
        replace_all=True,
        unit_vectors=unit_vectors,
    )


def unpack_jsonl_gz(src: str | Path, dest: str | Path, lines_per_file: int = 2000) -> list[Path]:
    """Write a .jsonl.gz as plain `part-NNNN.jsonl` files of `lines_per_file` lines in `dest`.

    The readers take plain .jsonl only and refuse a file of over MAX_CHUNKS_PER_FILE chunks, so
    MedQuAD's 16,359 passages are ingested from parts. Parts are rewritten only when they differ.
    """
    out_dir = Path(dest)
    try:
        with gzip.open(src, "rt", encoding="utf-8") as fh:
            lines = [line if line.endswith("\n") else line + "\n" for line in fh if line.strip()]
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ResultsError(f"cannot read {src}: {exc}") from exc
    written: list[Path] = []
    for n, start in enumerate(range(0, len(lines), lines_per_file)):
        path = out_dir / f"part-{n:04d}.jsonl"
        text = "".join(lines[start : start + lines_per_file])
        if not (path.is_file() and path.read_text(encoding="utf-8") == text):
            write_text(path, text)
        written.append(path)
    return written


def without_answers(cases: Sequence[GoldCase]) -> list[GoldCase]:
    """The cases with `answers` removed (PubMedQA's yes/no/maybe labels are not answer texts).

    >>> without_answers([GoldCase("a", "q?", answers=("yes",))])[0].answers
    ()
    """
    return [dataclasses.replace(c, answers=()) for c in cases]


def gold_set_name(path: str | Path) -> str:
    """A gold file's set name: its file name without .jsonl / .jsonl.gz.

    >>> gold_set_name("eval/gold/seed.test.jsonl"), gold_set_name("x/medquad.test.jsonl.gz")
    ('seed.test', 'medquad.test')
    """
    name = Path(path).name
    for suffix in (".gz", ".jsonl"):
        name = name.removesuffix(suffix)
    return name


def score_gold_file(
    index: ClinqaIndex,
    systems: SystemSet,
    gold_path: str | Path,
    out_dir: str | Path,
    *,
    k: int = 10,
    seed: int = 0,
    strip_answers: bool = False,
) -> dict[str, Any]:
    """Compare `systems` on one gold file; write compare.json, compare.md and PNGs to `out_dir`."""
    from eval.compare import run_compare

    cases, errors = load_gold(gold_path)
    if not cases:
        raise ResultsError(f"gold file {gold_path}: no case loaded ({len(errors)} bad lines)")
    if strip_answers:
        cases = without_answers(cases)
    model = str(index.manifest.get("model", {}).get("name"))
    run = run_stamp(index.manifest_hash, model)
    run.update(
        gold=str(gold_path),
        gold_set=gold_set_name(gold_path),
        gold_errors=[e.to_json() for e in errors],
        answers_stripped=strip_answers,
        corpus=dict(index.manifest.get("counts", {})),
        index_version=index.version,
    )

    def stored_text(doc_id: str) -> str | None:
        try:
            return index.document(doc_id).text
        except KeyError:
            return None

    def source_type_of(doc_id: str) -> str | None:
        try:
            return index.document(doc_id).source_type
        except KeyError:
            return None

    result = run_compare(
        cases,
        systems.systems,
        k=k,
        stored_text=stored_text,
        seed=seed,
        run=run,
        build_ms=systems.build_ms,
        source_type_of=source_type_of,
    )
    write_compare_outputs(result, out_dir)
    return result


def write_compare_outputs(result: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """compare.json, compare.md (with the plots linked) and the PNGs, in `out_dir`."""
    out = Path(out_dir)
    pngs = write_plots(result, out)
    md = compare_markdown(result)
    if pngs:
        md += "\n### Plots\n\n" + "\n".join(f"![{p.stem}]({p.name})" for p in pngs) + "\n"
    return [write_report(result, out / REPORT_JSON), write_text(out / REPORT_MD, md), *pngs]


def read_report(path: str | Path) -> dict[str, Any]:
    """A compare.json written by `write_compare_outputs`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"cannot read compare report {path}: {exc}") from exc
    if not isinstance(data, dict) or "systems" not in data:
        raise ResultsError(f"{path}: not a compare report (no 'systems' key)")
    return data


def results_markdown(
    reports: Mapping[str, Mapping[str, Any]],
    *,
    corpus: Mapping[str, Any],
    model: str,
    date: str,
    links: Mapping[str, str] | None = None,
    curves: Mapping[str, str] | None = None,
) -> str:
    """eval/RESULTS.md: corpus, model, date, then one table per gold set, one row per system."""
    out = [
        "# clinqa: evaluation results",
        "",
        "Regenerated by `scripts/eval_all.sh` (do not edit by hand). Gold format and metrics:",
        "FORMAT.md (copied contract in eval/gold/PROVENANCE.md). Cells are value [95% percentile",
        "bootstrap interval over cases, 2,000 resamples, seed 0]; `null` = no case scored.",
        "",
        f"- date: {date}",
        f"- model: `{model}`",
        f"- eval index: {corpus.get('documents', '?')} documents, {corpus.get('chunks', '?')} "
        "chunks (the default corpus minus the leave-gold-out documents in "
        "eval/gold/holdout_doc_ids.txt)",
        "- systems: `bm25`, `dense`, `hybrid` (RRF) = clinqa's retrievers alone; `clinqa` = the "
        "full pipeline; `langchain` = vanilla LangChain RAG (RecursiveCharacterTextSplitter "
        "1000/200 over stored texts, same MiniLM, LangChain FAISS, top 10). Retrieval-only "
        "systems answer with the first <= 4 sentences / 800 chars of their top passage, cited "
        "verbatim, and never abstain.",
        "- PubMedQA: `answers` are yes/no/maybe labels, stripped before scoring, so its "
        "answer-text metrics are null; its retrieval metrics are the ones that count.",
        "",
    ]
    for name, report in reports.items():
        run = report.get("run") or {}
        out += [f"## {name}", ""]
        stamp = [f"{run.get('n_cases', '?')} cases", f"commit `{run.get('commit')}`"]
        counts = run.get("corpus") or {}
        if counts:
            stamp.append(
                f"index of {counts.get('documents', '?')} documents, "
                f"{counts.get('chunks', '?')} chunks"
            )
        stamp.append(f"index manifest `{str(run.get('index_manifest_hash'))[:16]}`")
        if links and name in links:
            stamp.append(f"[full report]({links[name]})")
        out += ["- " + ", ".join(stamp), "", *metrics_table(report)]
        paired = paired_table(report)
        if paired:
            out += ["", "clinqa minus each system (paired bootstrap; * = excludes 0):", ""]
            out += paired
        if curves and name in curves:
            out += ["", curves[name].rstrip("\n")]
        out.append("")
    return "\n".join(out)


def write_results_md(
    reports_dir: str | Path, out_path: str | Path, corpus: Mapping[str, Any], model: str
) -> Path:
    """Read every <set>/compare.json under `reports_dir` (sorted) and write RESULTS.md."""
    root = Path(reports_dir)
    out = Path(out_path)
    reports: dict[str, dict[str, Any]] = {}
    links: dict[str, str] = {}
    curves: dict[str, str] = {}
    for path in sorted(root.glob(f"*/{REPORT_JSON}")):
        reports[path.parent.name] = read_report(path)
        links[path.parent.name] = os.path.relpath(path.parent / REPORT_MD, out.parent)
        curve = path.parent / ABSTENTION_MD
        if curve.is_file():
            curves[path.parent.name] = curve.read_text(encoding="utf-8")
    if not reports:
        raise ResultsError(f"no {REPORT_JSON} under {root}")
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    text = results_markdown(
        reports, corpus=corpus, model=model, date=date, links=links, curves=curves
    )
    embedders = root / EMBEDDERS / EMBEDDERS_MD
    if embedders.is_file():
        text += "\n" + embedders.read_text(encoding="utf-8")
    return write_text(out, text)


EMBEDDERS = "embedders"
EMBEDDERS_MD = "embedders.md"
EMBEDDER_COLUMNS = (
    "hit@5", "mrr@10", "doc_hit@5", "fact_all", "token_f1", "abstain_recall", "false_abstain",
    "numbers_unsupported", "latency_ms_p50", "latency_ms_p95",
)  # fmt: skip


def embedders_markdown(root: str | Path) -> str:
    """One table per gold set, one row per embedder, from <root>/<model>/<set>/compare.json and
    <root>/<model>/build.json (written by scripts/eval_embedders.sh)."""
    base = Path(root)
    models = sorted(p.name for p in base.iterdir() if (p / "build.json").is_file())
    if not models:
        raise ResultsError(f"no <model>/build.json under {base}")
    builds = {m: json.loads((base / m / "build.json").read_text(encoding="utf-8")) for m in models}
    out = [
        "## Embedders: int8 and fp32 MiniLM, all-mpnet-base-v2, and units embedded alone",
        "",
        "Regenerated by `bash scripts/eval_embedders.sh`. A `-alone` row is the same model with "
        '`unit_vectors = "alone"` (each sentence embedded on its own at ingest, passages ranked '
        "by their best sentence); the others pool unit vectors from the chunk's pass. Each builds "
        "its own default-corpus index from scratch (the build row: wall time of `build-index`, "
        "2 threads) and its own eval index (minus the leave-gold-out documents); clinqa's full "
        "pipeline and dense retrieval alone are scored on the same test parts. Latencies are per "
        "question.",
        "",
        "| model | build s | chunks | chunks/s | index |",
        "|---|---:|---:|---:|---|",
    ]
    for m in models:
        b = builds[m]
        out.append(f"| {m} | {b['seconds']} | {b['chunks']} | "
                   f"{b['chunks'] / max(b['seconds'], 1e-9):.1f} | `{b['model']}` |")  # fmt: skip
    sets = sorted({p.parent.name for m in models for p in (base / m).glob(f"*/{REPORT_JSON}")})
    for name in sets:
        out += ["", f"### {name}", "", "| model | system | " + " | ".join(EMBEDDER_COLUMNS) + " |",
                "|---|---|" + "---:|" * len(EMBEDDER_COLUMNS)]  # fmt: skip
        for m in models:
            path = base / m / name / REPORT_JSON
            if not path.is_file():
                continue
            report = read_report(path)
            for system in ("clinqa", "dense"):
                metrics = report["systems"].get(system, {}).get("metrics")
                if metrics is None:
                    continue
                cells = [_cell(metrics.get(c)) for c in EMBEDDER_COLUMNS]
                out.append(f"| {m} | {system} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "null"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


# ---- steps run by scripts/eval_all.sh --------------------------------------------------------


def _settings(args: argparse.Namespace) -> Settings:
    from qa.settings import Settings

    return Settings(
        index_dir=args.index,
        model=args.model,
        unit_vectors=getattr(args, "unit_vectors", Settings().unit_vectors),
    )


def _load_index(args: argparse.Namespace) -> ClinqaIndex:
    from index.embedder import load_embedder
    from index.store import ClinqaIndex

    s = _settings(args)
    embedder = load_embedder(s.model, threads=s.threads, models_dir=s.models_dir)
    return ClinqaIndex.load(args.index, embedder, candidates=s.candidates, rrf_k=s.rrf_k)


def _step_build_index(args: argparse.Namespace) -> None:
    from index.embedder import load_embedder

    s = _settings(args)
    exclude = read_doc_ids(args.exclude) if args.exclude else []
    summary = build_eval_index(
        args.index,
        args.corpus,
        load_embedder(s.model, threads=s.ingest_threads, models_dir=s.models_dir),
        exclude_doc_ids=exclude,
        base_index=args.base,
        max_chars=s.chunk_max_chars,
        max_tokens=s.chunk_max_tokens,
        unit_vectors=s.unit_vectors,
    )
    if summary.report is None:
        raise ResultsError(f"building {args.index} wrote nothing")


def _step_compare(args: argparse.Namespace) -> None:
    index = _load_index(args)
    names = [n.strip() for n in args.systems.split(",") if n.strip()]
    systems = build_systems(index, _settings(args), k=args.k, names=names)
    for gold in args.gold:
        name = gold_set_name(gold)
        strip = any(name.startswith(prefix) for prefix in args.no_answers_for)
        score_gold_file(index, systems, gold, Path(args.out) / name, k=args.k, strip_answers=strip)


def _step_curve(args: argparse.Namespace) -> None:
    """Run clinqa with the threshold switched off on each gold file; write abstention.md/.png."""
    from eval.abstention import abstention_curve, curve_markdown
    from eval.plots import plot_abstention
    from eval.runner import run_eval
    from qa.engine import QA

    index = _load_index(args)
    settings = _settings(args)
    qa = QA(index, settings.replace(abstain_threshold=-1e9))

    def stored_text(doc_id: str) -> str | None:
        try:
            return index.document(doc_id).text
        except KeyError:
            return None

    for spec in args.gold:  # "a.jsonl+b.jsonl": one curve over both (answerable + holdout)
        paths = spec.split("+")
        name = gold_set_name(paths[0])
        cases = [c for path in paths for c in load_gold(path)[0]]
        if any(name.startswith(prefix) for prefix in args.no_answers_for):
            cases = without_answers(cases)
        result = run_eval(cases, qa.ask, k=args.k, stored_text=stored_text)
        points = abstention_curve(result.cases)
        folder = Path(args.out) / name
        files = " + ".join(f"`{Path(p).name}`" for p in paths)
        lines = [
            f"Abstention curve over {files} ({len(cases)} cases; clinqa run once with the "
            "threshold off, then each threshold applied to the recorded confidences):",
            "",
            *curve_markdown(points, settings.abstain_threshold),
        ]
        write_text(folder / ABSTENTION_MD, "\n".join(lines) + "\n")
        plot_abstention(points, settings.abstain_threshold, folder / "abstention.png", name)


def _step_results(args: argparse.Namespace) -> None:
    from index.layout import read_version

    data = read_version(Path(args.index), verify=False)
    corpus = dict(data.manifest.get("counts", {}))
    model = str(data.manifest.get("model", {}).get("name"))
    write_results_md(args.reports, args.out, corpus, model)


def _step_embedders(args: argparse.Namespace) -> None:
    root = Path(args.reports)
    write_text(root / EMBEDDERS_MD, embedders_markdown(root))


def _step_unpack(args: argparse.Namespace) -> None:
    unpack_jsonl_gz(args.src, args.dest)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one step (see the module docstring); 0 on success, exceptions propagate."""
    parser = argparse.ArgumentParser(prog="python -m eval.results_md")
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("build-index")
    p.add_argument("--index", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--base")
    p.add_argument("--exclude")
    p.add_argument("--model", default=Settings().model)
    p.add_argument("--unit-vectors", default=Settings().unit_vectors, choices=("pooled", "alone"))
    p = sub.add_parser("compare")
    p.add_argument("--index", required=True)
    p.add_argument("--gold", required=True, action="append")
    p.add_argument("--out", required=True)
    p.add_argument("--systems", default=",".join(SYSTEM_NAMES))
    p.add_argument("--no-answers-for", action="append", default=[], metavar="SET_PREFIX")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--model", default=Settings().model)
    p = sub.add_parser("curve")
    p.add_argument("--index", required=True)
    p.add_argument("--gold", required=True, action="append")
    p.add_argument("--out", required=True)
    p.add_argument("--no-answers-for", action="append", default=[], metavar="SET_PREFIX")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--model", default=Settings().model)
    p = sub.add_parser("results")
    p.add_argument("--reports", required=True)
    p.add_argument("--index", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("embedders")
    p.add_argument("--reports", required=True)
    p = sub.add_parser("unpack")
    p.add_argument("--src", required=True)
    p.add_argument("--dest", required=True)
    args = parser.parse_args(argv)
    steps = {
        "build-index": _step_build_index,
        "compare": _step_compare,
        "curve": _step_curve,
        "results": _step_results,
        "embedders": _step_embedders,
        "unpack": _step_unpack,
    }
    steps[args.step](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
