"""Errors a person can act on: the front doors print their message, never a traceback."""


class QAError(Exception):
    """Base of the errors caused by input or environment, not by a bug."""


class CorpusError(QAError):
    """The corpus folder is missing or holds no readable article."""


class StoreError(QAError):
    """The Chroma store cannot be opened or reached."""


class BackendError(QAError):
    """An embedding or answering backend failed (missing model, endpoint down, bad reply)."""


class QuestionError(QAError, ValueError):
    """The question is empty, too long or not text."""
