"""`SentenceTransformerEmbedder`: a sentence-transformers model folder on the CPU, loaded lazily."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.embedder import (
    MAX_TOKENS,
    MINILM_NAME,
    counting_tokenizer,
    minilm_path,
    normalise_rows,
)
from index.errors import EmbedderError
from index.recent import RECENT_BATCH, RecentVectors
from index.spans import empty, pool_spans


class SentenceTransformerEmbedder:
    """fp32 sentence-transformers embeddings; torch is imported on the first `embed` call."""

    backend = "st-fp32"

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        name: str | None = None,
        threads: int | None = None,
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        packaged = minilm_path()
        self.path = Path(model) if model is not None else packaged
        if not self.path.is_dir():
            raise EmbedderError(f"model folder not found: {self.path}")
        same = self.path.resolve() == packaged.resolve()
        self.name = name or (MINILM_NAME if same else self.path.resolve().name)
        self.max_tokens = max_tokens
        self.threads = threads
        self._model: Any = None
        self._dim: int | None = None
        self.recent: RecentVectors | None = None  # made on first use (dim may load the model)
        self._counter = counting_tokenizer(self.path / "tokenizer.json")
        self._offsets = counting_tokenizer(self.path / "tokenizer.json")
        self._offsets.enable_truncation(max_length=max_tokens)

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = _dim_from_folder(self.path) or int(
                self._load().get_sentence_embedding_dimension()
            )
        return self._dim

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` with [CLS] and [SEP], untruncated."""
        return len(self._counter.encode(text).ids)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        def compute(todo: list[str]) -> np.ndarray:
            vectors = self._load().encode(
                todo,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            return np.ascontiguousarray(vectors, dtype=np.float32)

        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) > RECENT_BATCH:
            return compute(list(texts))
        if self.recent is None:
            self.recent = RecentVectors(self.dim)
        return self.recent.embed(texts, compute)

    def embed_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int = 64,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        if not any(spans):
            return self.embed(texts, batch_size=batch_size), [empty(self.dim) for _ in texts]
        features = self._load().encode(
            list(texts),
            batch_size=batch_size,
            output_value=None,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        vectors = normalise_rows(np.stack([np.asarray(f["sentence_embedding"]) for f in features]))
        pooled: list[np.ndarray] = []
        for feats, enc, text_spans in zip(
            features, self._offsets.encode_batch(list(texts)), spans, strict=True
        ):
            hidden = np.asarray(feats["token_embeddings"], dtype=np.float32)
            offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
            if len(offsets) > len(hidden):
                raise EmbedderError(
                    f"model {self.name}: {len(hidden)} token vectors for {len(offsets)} tokens"
                )
            pooled.append(pool_spans(hidden[: len(offsets)], offsets, text_spans))
        return vectors, pooled

    def _load(self) -> Any:
        if self._model is None:
            try:
                import torch
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EmbedderError("the fp32 embedder needs sentence-transformers") from exc
            if self.threads:
                torch.set_num_threads(self.threads)
            try:
                model = SentenceTransformer(str(self.path), device="cpu", trust_remote_code=False)
            except Exception as exc:  # a broken folder raises many kinds of errors
                raise EmbedderError(f"cannot load model folder {self.path}: {exc}") from exc
            model.max_seq_length = self.max_tokens
            self._model = model
        return self._model


def _dim_from_folder(path: Path) -> int | None:
    """The pooling output size a sentence-transformers folder declares, if it says."""
    pooling = path / "1_Pooling" / "config.json"
    if not pooling.is_file() or any(path.glob("2_Dense*")):
        return None
    try:
        return int(json.loads(pooling.read_text(encoding="utf-8"))["word_embedding_dimension"])
    except (ValueError, KeyError, OSError):
        return None
