"""The Python front door: `ask()`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from qa.errors import CorpusError
from qa.pipeline import engine_for
from qa.settings import Settings
from qa.timeframe import as_day
from qa.types import Answer


def ask(
    question: str,
    *,
    corpus: str | Path | None = None,
    store: str | Path | None = None,
    top_k: int | None = None,
    as_of: date | str | None = None,
    since: date | str | None = None,
    until: date | str | None = None,
    **overrides: Any,
) -> Answer:
    """Answer a question from the articles with cited passages, or refuse.

    With no options it uses the bundled corpus and the store at `store/`, building or updating
    the store when it is missing or stale. Other keyword options are `Settings` fields. Paths
    may start with `~`. A missing corpus folder raises `CorpusError` and creates nothing.

    Time: the question's time words ("in February 2024", "this week") are read relative to
    `as_of` (default today; given, it also leaves out articles published after it); `since` and
    `until` bound the articles' publication dates and override the question. Each is a date or
    an ISO string ("2024-02-01"). `Answer.window.note` says what was searched.
    """
    if corpus is not None:
        overrides["corpus_dir"] = Path(corpus)
    if store is not None:
        overrides["store_dir"] = Path(store)
    settings = Settings(**overrides)
    if not settings.corpus_dir.is_dir():
        raise CorpusError(f"Corpus folder not found: {settings.corpus_dir}")
    return engine_for(settings).ask(
        question,
        top_k=top_k,
        as_of=as_day(as_of, "as_of"),
        since=as_day(since, "since"),
        until=as_day(until, "until"),
    )
