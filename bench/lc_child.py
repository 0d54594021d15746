"""Vanilla LangChain cold start: load MiniLM and a saved store (no pickle), answer one query.

.venv/bin/python bench/lc_child.py STORE_DIR "question"
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from bench_langchain import ClinqaEmbeddings
from langchain_community.vectorstores import FAISS

from index.embedder import load_embedder


def main(argv: list[str]) -> int:
    folder, question = Path(argv[0]), argv[1]
    emb = ClinqaEmbeddings(load_embedder("minilm", threads=1))
    vectors = np.load(folder / "vectors.npy", allow_pickle=False)
    texts = json.loads((folder / "texts.json").read_text(encoding="utf-8"))
    store = FAISS.from_embeddings(list(zip(texts, vectors.tolist(), strict=True)), emb)
    hits = store.similarity_search(question, k=10)
    print(hits[0].page_content[:200])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
