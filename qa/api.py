"""The Python front door: `ask()`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qa.pipeline import engine_for
from qa.settings import Settings
from qa.types import Answer


def ask(
    question: str,
    *,
    corpus: str | Path | None = None,
    store: str | Path | None = None,
    top_k: int | None = None,
    **overrides: Any,
) -> Answer:
    """Answer a question from the articles with cited passages, or refuse.

    With no options it uses the bundled corpus and the store at `store/`, building or updating
    the store when it is missing or stale. Other keyword options are `Settings` fields.
    """
    if corpus is not None:
        overrides["corpus_dir"] = Path(corpus)
    if store is not None:
        overrides["store_dir"] = Path(store)
    return engine_for(Settings(**overrides)).ask(question, top_k=top_k)
