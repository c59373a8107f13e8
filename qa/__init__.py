"""newsdesk QA: questions over news articles, answered with cited passages, offline."""

from qa.offline import enforce_offline

enforce_offline()

from qa.api import ask  # noqa: E402
from qa.types import Answer, Citation  # noqa: E402

__all__ = ["Answer", "Citation", "ask"]
