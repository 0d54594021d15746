"""The index's errors: each names the folder, file or field and what was expected vs found."""

from __future__ import annotations


class ClinqaIndexError(Exception):
    """Base class of every error index/ raises on purpose."""


class IndexMissing(ClinqaIndexError):
    """No index at the folder (no CURRENT file, or CURRENT names a missing version)."""


class IndexCorrupt(ClinqaIndexError):
    """A file of the index does not match its manifest (hash, size, count) or cannot be parsed."""


class IndexMismatch(ClinqaIndexError):
    """The index was built with another embedder (model name or dimension) than the one given."""


class EmbedderError(ClinqaIndexError):
    """An embedder cannot be loaded (unknown spec, missing model folder or file)."""


class IndexInputError(ClinqaIndexError):
    """A document or chunk handed to `update_index` is inconsistent (offsets, doc id, JSON)."""
