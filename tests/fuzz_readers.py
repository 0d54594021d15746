"""Coverage-guided fuzzing of the file readers (atheris/libFuzzer): `check_input` and a main.

`check_input(data)` reads `data` the way `clinqa ingest` does, through
`ingest.readers.read_file` on a file holding those bytes: as `input.pdf` when the bytes start like
a PDF (ingest sniffs content, so a PDF-looking file reaches the PDF reader whatever its name),
otherwise as `input.txt`, `input.md` and `input.jsonl` (plain text, Markdown, the seed
dictionary page by content, JSON Lines). The readers' contract is that a bad file becomes a
`ReadFailure`, so `ReaderContractError` (a crash for the fuzzer) is raised when:

- any exception escapes `read_file`, except MemoryError (the sandbox names it "MemoryLimit");
- an item is neither a `Document` nor a `ReadFailure` with a path, a reason and an error class;
- a document has no id or text, or its sections or pages point outside its text;
- an item does not survive the sandbox's JSON pipe, or holds a string that does not encode as
  UTF-8 (a lone surrogate: the index writes chunks as UTF-8, the tokenizer refuses them).

Hangs and memory blow-ups are libFuzzer's: `-timeout` (default here 10 s per input) and
`-rss_limit_mb=1024` (the sandbox's `read_memory_mb`).

Run it (needs the `extended` extra, see README "Tests"):

    nice -n 10 .venv/bin/python tests/fuzz_readers.py -max_total_time=600

It writes the seeds (the attack tests' seed PDFs and a few text files) to
`$CLINQA_FUZZ_DIR/seeds` (default `var/fuzz`) and reads each once before instrumenting, so every
module a read imports gets coverage feedback. With no corpus folder on the command line it keeps
new inputs in `.../corpus`, also loads `.../seeds` and `tests/data/fuzz_regressions/`, and writes
crash/timeout/oom inputs to `.../artifacts/`. Defaults, unless given: -timeout=10
-rss_limit_mb=1024 -seed=20261124 -dict=(PDF, JSON and seed-page tokens) -print_final_stats=1.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path, PurePath

from ingest.errors import ReadFailure
from ingest.readers import read_file
from ingest.readers.pdf import is_pdf
from ingest.sandbox import item_from_json, item_json
from ingest.types import Document

ROOT = Path(__file__).resolve().parents[1]
REGRESSIONS = ROOT / "tests" / "data" / "fuzz_regressions"
TEXT_NAMES = ("input.txt", "input.md", "input.jsonl")
PDF_NAME = "input.pdf"
FUZZ_SEED = 20261124
_workdir: Path | None = None

# Text seeds written for the fuzzer (the JSONL seeds are tests/data/ingest/*.jsonl).
TEXT_SEEDS = {
    "seed-handover.txt": "Ward handover\nThe patient received 0.5 mg I.V. at 08:00.\n"
    "Continue monitoring vs. baseline every 4 hours.\n",
    "seed-dosing.md": "# Metformin\nIntro \u200bline.\n## Dose\n500 mg twice daily.\n"
    "```\n# not a heading\n```\n### Renal\nAvoid if eGFR < 30.\n",
    "seed-dictionary-page.txt": "Also found in: Dictionary, Thesaurus.\n"
    "Related to warfarin: Coumadin\n\nwarfarin sodium (Coumadin, Jantoven)\n\n"
    "Pharmacologic class: Coumarin derivative\n\nTherapeutic class: Anticoagulant\n\n"
    "Indications and dosages\n\u2022 Adults: 2 to 5 mg P.O. daily.\n\n"
    "Patient teaching\n\u2022 Tell patient to report bleeding.\n\n\n"
    "An anticoagulant that blocks vitamin K.\n\n"
    "References in periodicals archive ?\nWarfarin doses were adjusted weekly. (Journal, 2020)\n",
    "seed-records.jsonl": '{"id": "x1", "title": "T", "text": "Give 5 mg daily."}\n'
    '{"term": "INR", "dictionary": "nci", "text": "A blood test."}\nnot json\n',
}
DICT_TOKENS = [
    *"obj endobj stream endstream xref trailer startxref %%EOF %PDF-1.7 R".split(),
    *"/Type /Catalog /Pages /Page /Kids /Count /Parent /Contents /Resources /Font".split(),
    *"/Length /Filter /FlateDecode /LZWDecode /ASCIIHexDecode /ASCII85Decode".split(),
    *"/RunLengthDecode /DecodeParms /Predictor /Columns /ObjStm /XRef /Prev /Root".split(),
    *"/Encrypt /ToUnicode /Encoding /Differences /Widths /FirstChar /Subtype /Type0".split(),
    *"/DescendantFonts /CIDToGIDMap /MediaBox /Rotate /Annots /AcroForm /XObject".split(),
    *"/Form /Info /Title begincmap endcmap beginbfchar endbfchar beginbfrange".split(),
    *"endbfrange usecmap BT ET Tf Td TD Tm T* Tj TJ ' \" Do q Q cm << >> [ ]".split(),
    "\\u0000", "\\ud800", "\\udfff", '"text"', '"title"', '"id"', '"sections"', '"pmid"',
    "Also found in:", "Related to ", "References in periodicals archive",
    "Pharmacologic class:", "# ", "```",
]  # fmt: skip


class ReaderContractError(Exception):
    """The readers broke their contract on this input (see the module docstring)."""


def check_input(data: bytes) -> None:
    """Read `data` as ingest would; ReaderContractError when the readers break their contract."""
    names = [PDF_NAME] if is_pdf(data) else list(TEXT_NAMES)
    for name in names:
        check_items(read_as(data, name), name)


def read_as(data: bytes, name: str) -> list[Document | ReadFailure]:
    """`read_file` on a file called `name` holding `data`; ReaderContractError if it raises."""
    path = _folder() / name
    path.write_bytes(data)
    try:
        return read_file(path, PurePath(name))
    except MemoryError:
        return [ReadFailure(str(path), "MemoryError (the sandbox's MemoryLimit)", "MemoryLimit")]
    except Exception as exc:
        raise ReaderContractError(f"{name}: {type(exc).__name__} escaped read_file") from exc


def check_items(items: object, name: str) -> None:
    """The invariants every answer of `read_file` must meet (see the module docstring)."""
    if not isinstance(items, list):
        raise ReaderContractError(f"{name}: read_file answered {items!r:.200}, not a list")
    if not items:
        raise ReaderContractError(f"{name}: read_file answered nothing (no document, no failure)")
    for item in items:
        if isinstance(item, ReadFailure):
            if not (item.path and item.reason and item.error_class):
                raise ReaderContractError(f"{name}: incomplete failure {item!r:.300}")
        elif isinstance(item, Document):
            _check_document(item, name)
        else:
            raise ReaderContractError(f"{name}: unexpected item {type(item).__name__}")
        as_json = json.dumps(item_json(item), default=str)
        if item_from_json(json.loads(as_json)) != item:
            raise ReaderContractError(f"{name}: {item!r:.300} changes through the sandbox pipe")
        try:  # what the index writes: UTF-8, so no lone surrogate in any field
            json.dumps(item_json(item), default=str, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ReaderContractError(f"{name}: {item!r:.300} is not Unicode ({exc})") from exc


def _check_document(doc: Document, name: str) -> None:
    if not doc.doc_id or not doc.text.strip():
        raise ReaderContractError(f"{name}: document without id or text: {doc!r:.300}")
    for span in (*doc.sections, *doc.pages):
        if not 0 <= span.start <= span.end <= len(doc.text):
            raise ReaderContractError(
                f"{name}: span {span} outside the text ({len(doc.text)} characters)"
            )


def _folder() -> Path:
    global _workdir
    if _workdir is None:
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        _workdir = Path(tempfile.mkdtemp(prefix="clinqa-fuzz-", dir=base))
        atexit.register(shutil.rmtree, _workdir, True)
    return _workdir


def write_seeds(folder: Path) -> list[Path]:
    """The seed corpus: the attack tests' seed PDFs, TEXT_SEEDS and tests/data/ingest/*.jsonl."""
    from fixtures_attack import seed_pdfs  # imported here: it needs pypdf's writer, not atheris

    folder.mkdir(parents=True, exist_ok=True)
    files = {f"seed-{n}.pdf": data for n, (data, _) in sorted(seed_pdfs().items())}
    files.update({n: text.encode("utf-8") for n, text in TEXT_SEEDS.items()})
    for path in sorted((ROOT / "tests" / "data" / "ingest").glob("*.jsonl")):
        files[f"seed-{path.name}"] = path.read_bytes()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / n for n in files]


def write_dict(path: Path) -> Path:
    """A libFuzzer dictionary of DICT_TOKENS."""
    lines = []
    for i, token in enumerate(DICT_TOKENS):
        escaped = "".join(c if c.isalnum() or c in " /%#:?*'<>[]" else f"\\x{ord(c):02x}"
                          for c in token)  # fmt: skip
        lines.append(f'kw{i}="{escaped}"')
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def libfuzzer_args(argv: list[str], work: Path) -> list[str]:
    """argv with this harness's defaults (corpus folders, limits, seed) added where not given."""
    given = {a.split("=", 1)[0] for a in argv[1:] if a.startswith("-")}
    out = list(argv)
    defaults = {
        "-timeout": "10",
        "-rss_limit_mb": "1024",
        "-seed": str(FUZZ_SEED),
        "-print_final_stats": "1",
        "-artifact_prefix": f"{work / 'artifacts'}/",
        "-dict": str(write_dict(work / "readers.dict")),
    }
    out[1:1] = [f"{k}={v}" for k, v in defaults.items() if k not in given]
    if not any(not a.startswith("-") for a in argv[1:]):
        (work / "corpus").mkdir(exist_ok=True)
        out += [str(work / "corpus"), str(work / "seeds"), str(REGRESSIONS)]
    (work / "artifacts").mkdir(exist_ok=True)
    return out


def main() -> None:
    import atheris  # the `extended` extra; check_input itself needs no atheris

    global _workdir
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # warnings on every broken input
    warnings.simplefilter("ignore")
    work = Path(os.environ.get("CLINQA_FUZZ_DIR", ROOT / "var" / "fuzz"))
    _workdir = work / "inputs"  # libFuzzer exits without running atexit: no temporary folder
    _workdir.mkdir(parents=True, exist_ok=True)
    args = libfuzzer_args(sys.argv, work)
    print("libFuzzer arguments:", " ".join(args[1:]), flush=True)
    for seed in write_seeds(work / "seeds"):  # warm-up: imports every module a read needs
        check_input(seed.read_bytes())
    atheris.instrument_all()  # so ingest, pypdf and what they use get coverage feedback
    atheris.Setup(args, check_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
