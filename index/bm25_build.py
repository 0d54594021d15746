"""A bm25s index built a batch of texts at a time, into the arrays bm25s itself would build.

bm25s's own `index` holds every document's token ids as Python lists, then three arrays as long
as the corpus has (document, token) pairs, then sorts them into its sparse matrix: some 30 bytes
a pair at its peak. Here the corpus is tokenised twice, a batch at a time, and the matrix is
filled in place, column by column: 8 bytes a pair (what a query process holds to serve it), 8 a
document and the vocabulary. The result is the same (a test compares every array and file with
bm25s's), and bm25s saves and loads it as its own.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import bm25s
import numpy as np
from bm25s.scoring import _build_idf_array, _select_idf_scorer, _select_tfc_scorer

BATCH = 1024  # texts tokenised, then scored, at a time


Texts = Callable[[], Iterable[str]]  # the corpus, afresh each call
Tokenize = Callable[[Sequence[str]], list[list[str]]]


def bm25_index(texts: Texts, tokenize: Tokenize, batch: int = BATCH) -> bm25s.BM25:
    """A bm25s index (its defaults: Lucene BM25, k1 1.5, b 0.75) over the corpus `texts()`, as
    `bm25s.BM25().index` builds it from the texts' token ids over their sorted vocabulary (the
    same corpus gives the same files in every process), with the empty token bm25s adds.

    The corpus is read twice, `batch` texts at a time: once for the vocabulary, document
    frequencies and lengths, once to score and place each (document, token) pair, so no token
    list is held beyond a batch."""
    bm25 = bm25s.BM25()
    if bm25.method in bm25.methods_requiring_nonoccurrence:
        raise ValueError(f"bm25s method {bm25.method!r} is not supported here")
    seen: dict[str, int] = {}  # token -> id in order of first appearance
    df_seen = array("q")  # documents holding each token, by first-appearance id
    lengths = array("q")
    for docs in _batches(texts(), tokenize, batch):
        for words in docs:
            lengths.append(len(words))
            for token in set(words):
                first = seen.setdefault(token, len(seen))
                if first == len(df_seen):
                    df_seen.append(0)
                df_seen[first] += 1
    vocab = {token: i for i, token in enumerate(sorted(seen))}
    df = np.zeros(len(vocab), dtype=np.int64)
    for token, first in seen.items():
        df[vocab[token]] = df_seen[first]
    del seen, df_seen
    n_docs, n_vocab = len(lengths), len(vocab)
    doc_len = np.frombuffer(lengths, dtype=np.int64) if n_docs else np.zeros(0, np.int64)
    avg_doc_len = doc_len.mean() if n_docs else np.float64(0.0)
    idf = _build_idf_array(
        doc_frequencies=dict(enumerate(df.tolist())),
        n_docs=n_docs,
        compute_idf_fn=_select_idf_scorer(bm25.idf_method),
        dtype=bm25.dtype,
    )
    tfc_of = _select_tfc_scorer(bm25.method)
    indptr = np.zeros(n_vocab + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    data = np.zeros(int(indptr[-1]), dtype=bm25.dtype)
    indices = np.zeros(int(indptr[-1]), dtype=bm25.int_dtype)
    fill = indptr[:-1].copy()  # next free slot of each column
    lo = 0
    for docs in _batches(texts(), tokenize, batch):
        doc, tok, tf = _pairs(docs, vocab, lo)
        lo += len(docs)
        tfc = tfc_of(
            tf_array=tf.astype(bm25.dtype), l_d=doc_len[doc], l_avg=avg_doc_len,
            k1=bm25.k1, b=bm25.b, delta=bm25.delta,
        )  # fmt: skip
        scores = idf[tok] * tfc
        order = np.lexsort((doc, tok))  # by column, then by document, as bm25s sorts them
        doc, tok, scores = doc[order], tok[order], scores[order]
        first_of = np.searchsorted(tok, tok)  # each pair's offset within its column's run
        slots = fill[tok] + (np.arange(len(tok)) - first_of)
        data[slots] = scores
        indices[slots] = doc
        fill += np.bincount(tok, minlength=n_vocab)
    if lo != n_docs:
        raise ValueError(f"the corpus gave {n_docs} texts, then {lo}")
    bm25.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}
    full: dict[Any, int] = dict(vocab)
    if "" not in full:
        full[""] = max(full.values(), default=-1) + 1
    bm25.vocab_dict = full
    bm25.nonoccurrence_array = None
    bm25.unique_token_ids_set = set(full.values())
    return bm25


def _batches(texts: Iterable[str], tokenize: Tokenize, batch: int) -> Iterator[list[list[str]]]:
    todo = iter(texts)
    while part := list(itertools.islice(todo, max(1, batch))):
        yield tokenize(part)


def _pairs(
    docs: list[list[str]], vocab: dict[str, int], lo: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(document, token, count) for each distinct token of `docs`, documents lo, lo + 1, ..."""
    n_vocab = max(1, len(vocab))
    ids = np.asarray([vocab[t] for d in docs for t in d], dtype=np.int64)
    local = np.repeat(np.arange(len(docs), dtype=np.int64), [len(d) for d in docs])
    keys, counts = np.unique(local * n_vocab + ids, return_counts=True)
    doc = (keys // n_vocab + lo).astype(np.int32)
    return doc, (keys % n_vocab).astype(np.int32), counts
