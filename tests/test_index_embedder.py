"""Embedders: the packaged MiniLM in fp32 (sentence-transformers) and int8 (onnxruntime)."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from fixtures_index import embedder, int8_embedder, sentences  # noqa: F401

import index.mpnet
from index.embedder import MINILM_NAME, load_embedder, normalise_rows
from index.embedder_onnx import mean_pool
from index.errors import EmbedderError


@pytest.mark.parametrize("which", ["embedder", "int8_embedder"])
def test_shape_dtype_and_unit_norm(which: str, request: pytest.FixtureRequest) -> None:
    e = request.getfixturevalue(which)
    texts = sentences()[:7]
    v = e.embed(texts, batch_size=3)
    assert v.shape == (7, 384) and v.dtype == np.float32 and e.dim == 384
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert e.embed([]).shape == (0, 384)
    assert e.name == MINILM_NAME and e.max_tokens == 256


def test_int8_vectors_match_fp32_within_002_cosine(embedder, int8_embedder) -> None:  # noqa: F811
    texts = sentences()
    assert len(texts) >= 50
    cos = np.sum(embedder.embed(texts) * int8_embedder.embed(texts), axis=1)
    print(f"int8 vs fp32 cosine over {len(texts)} sentences: min {cos.min():.4f}, "
          f"mean {cos.mean():.4f}")  # fmt: skip
    assert cos.min() >= 0.98


def test_int8_length_sorted_batches_keep_input_order(int8_embedder) -> None:  # noqa: F811
    texts = sorted(sentences()[:9], key=len, reverse=True) + ["IL-2"]
    together = int8_embedder.embed(texts, batch_size=4)
    alone = np.vstack([int8_embedder.embed([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=2e-3)
    # each row really is its own text: it is closest to itself
    assert (np.argmax(together @ alone.T, axis=1) == np.arange(len(texts))).all()


def test_long_text_is_truncated_not_refused(embedder, int8_embedder) -> None:  # noqa: F811
    long = " ".join(sentences()) * 3
    assert embedder.count_tokens(long) > 256
    for e in (embedder, int8_embedder):
        assert e.embed([long]).shape == (1, 384)


def test_count_tokens_counts_special_tokens(embedder, int8_embedder) -> None:  # noqa: F811
    # "[CLS] aldesleukin ... [SEP]": word pieces plus two special tokens
    assert embedder.count_tokens("") == 2
    assert embedder.count_tokens("dose dose dose") == 5
    assert int8_embedder.count_tokens("dose dose dose") == 5


def test_related_sentences_are_closer_than_unrelated(embedder) -> None:  # noqa: F811
    v = embedder.embed(
        [
            "What is the starting dose of metformin?",
            "Starting dose: 500 mg orally twice a day or 850 mg once a day, with meals",
            "Vitamin D may prevent autoimmunity by stimulating regulatory T cells.",
        ]
    )
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_load_embedder_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_embedder("minilm-int8", threads=1).backend == "onnx-int8"
    assert load_embedder("minilm").backend == "st-fp32"
    with pytest.raises(EmbedderError, match="no-such-model"):
        load_embedder("no-such-model")

    def absent(name: str) -> metadata.Distribution:  # mpnet's parts not installed (as in CI)
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(index.mpnet.metadata, "distribution", absent)
    with pytest.raises(EmbedderError, match="mpnet"):
        load_embedder("mpnet", models_dir=tmp_path)


def test_helpers() -> None:
    np.testing.assert_allclose(
        normalise_rows(np.array([[3.0, 4.0], [0.0, 0.0]])), [[0.6, 0.8], [0, 0]]
    )
    hidden = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    np.testing.assert_allclose(mean_pool(hidden, np.array([[1, 1, 0]])), [[2.0, 3.0]])


def test_importing_index_does_not_import_torch() -> None:
    code = (
        "import sys, index.embedder, index.store, index.hybrid, index.langchain_retriever\n"
        "from index.embedder import load_embedder\n"
        "load_embedder('minilm')\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
