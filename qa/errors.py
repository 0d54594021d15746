"""The two error classes of qa (edges turn them into messages)."""


class QAError(Exception):
    """Base class for errors raised while answering."""


class QueryError(QAError, ValueError):
    """The question itself cannot be used (empty, too long); the message says why."""
