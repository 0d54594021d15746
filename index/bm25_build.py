"""A bm25s index built a batch of texts at a time, into the arrays bm25s itself would build.

bm25s's own `index` holds every document's token ids as Python lists, then three arrays as long
as the corpus has (document, token) pairs, then sorts them into its sparse matrix: some 30 bytes
a pair at its peak. Here the token ids are kept as one int32 array and the matrix is filled in
place, column by column, a batch of documents at a time: 8 bytes a pair (what a query process
holds to serve it) and 4 a token. The result is the same (a test compares every array with
bm25s's), and bm25s saves and loads it as its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import bm25s
import numpy as np
from bm25s.scoring import _build_idf_array, _select_idf_scorer, _select_tfc_scorer

BATCH = 1024  # texts tokenised, then scored, at a time


@dataclass(frozen=True)
class TokenIds:
    """A corpus's token ids: document i is `ids[offsets[i]:offsets[i + 1]]`, over `vocab`
    (token -> id, in sorted token order)."""

    ids: np.ndarray  # int32
    offsets: np.ndarray  # int64, one more than the documents
    vocab: dict[str, int]


def token_ids(
    texts: Iterable[str], tokenize: Callable[[Sequence[str]], list[list[str]]], batch: int = BATCH
) -> TokenIds:
    """Token ids of `texts` over a sorted vocabulary (so the same corpus gives the same ids in
    every process), tokenised `batch` texts at a time."""
    seen: dict[str, int] = {}  # token -> id in order of first appearance
    parts: list[np.ndarray] = []
    lengths: list[int] = []
    todo = iter(texts)
    while part := list(itertools.islice(todo, max(1, batch))):
        docs = tokenize(part)
        lengths.extend(len(d) for d in docs)
        flat = [seen.setdefault(t, len(seen)) for d in docs for t in d]
        parts.append(np.asarray(flat, dtype=np.int32))
    vocab = {token: i for i, token in enumerate(sorted(seen))}
    remap = np.zeros(len(seen), dtype=np.int32)
    for token, first in seen.items():
        remap[first] = vocab[token]
    ids = np.concatenate(parts) if parts else np.zeros(0, np.int32)
    ids = remap[ids] if len(ids) else ids
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.asarray(lengths, dtype=np.int64), out=offsets[1:])
    return TokenIds(ids, offsets, vocab)


def bm25_from_ids(corpus: TokenIds, batch: int = BATCH) -> bm25s.BM25:
    """A bm25s index (its defaults: Lucene BM25, k1 1.5, b 0.75) over `corpus`, as
    `bm25s.BM25().index` builds it from the same ids, with the empty token bm25s adds."""
    bm25 = bm25s.BM25()
    if bm25.method in bm25.methods_requiring_nonoccurrence:
        raise ValueError(f"bm25s method {bm25.method!r} is not supported here")
    n_docs, n_vocab = len(corpus.offsets) - 1, len(corpus.vocab)
    doc_len = np.diff(corpus.offsets)
    avg_doc_len = doc_len.mean() if n_docs else np.float64(0.0)
    df = np.zeros(n_vocab, dtype=np.int64)
    for lo in range(0, n_docs, max(1, batch)):
        _, tok, _ = _pairs(corpus, lo, min(n_docs, lo + batch), n_vocab)
        df += np.bincount(tok, minlength=n_vocab)
    idf = _build_idf_array(
        doc_frequencies=dict(enumerate(df.tolist())),
        n_docs=n_docs,
        compute_idf_fn=_select_idf_scorer(bm25.idf_method),
        dtype=bm25.dtype,
    )
    tfc_of = _select_tfc_scorer(bm25.method)
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    nnz = int(indptr[-1])
    data = np.zeros(nnz, dtype=bm25.dtype)
    indices = np.zeros(nnz, dtype=bm25.int_dtype)
    fill = indptr[:-1].copy()  # next free slot of each column
    for lo in range(0, n_docs, max(1, batch)):
        doc, tok, tf = _pairs(corpus, lo, min(n_docs, lo + batch), n_vocab)
        tfc = tfc_of(
            tf_array=tf.astype(bm25.dtype), l_d=doc_len[doc], l_avg=avg_doc_len,
            k1=bm25.k1, b=bm25.b, delta=bm25.delta,
        )  # fmt: skip
        scores = idf[tok] * tfc
        order = np.lexsort((doc, tok))  # by column, then by document, as bm25s sorts them
        doc, tok, scores = doc[order], tok[order], scores[order]
        first = np.searchsorted(tok, tok)  # each pair's offset within its column's run
        slots = fill[tok] + (np.arange(len(tok)) - first)
        data[slots] = scores
        indices[slots] = doc
        fill += np.bincount(tok, minlength=n_vocab)
    bm25.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}
    vocab: dict[Any, int] = dict(corpus.vocab)
    if "" not in vocab:
        vocab[""] = max(vocab.values(), default=-1) + 1
    bm25.vocab_dict = vocab
    bm25.nonoccurrence_array = None
    bm25.unique_token_ids_set = set(vocab.values())
    return bm25


def _pairs(
    corpus: TokenIds, lo: int, hi: int, n_vocab: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(document, token, count) for each distinct token of documents lo..hi-1."""
    start, end = int(corpus.offsets[lo]), int(corpus.offsets[hi])
    ids = corpus.ids[start:end].astype(np.int64)
    local = np.repeat(np.arange(hi - lo, dtype=np.int64), np.diff(corpus.offsets[lo : hi + 1]))
    keys, counts = np.unique(local * max(1, n_vocab) + ids, return_counts=True)
    doc = (keys // max(1, n_vocab) + lo).astype(np.int32)
    return doc, (keys % max(1, n_vocab)).astype(np.int32), counts
