"""The pipeline the front doors share: corpus → chunks → store → retrieval → answer.

An `Engine` opens the store once, brings it up to date with the corpus folder, and keeps the
retriever and the answerer warm, so repeated questions reload nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from qa import derived
from qa.answer import ExtractiveAnswerer, Vocabulary, check_question
from qa.conversation import Turn, is_follow_up, standalone_question
from qa.corpus import load_corpus
from qa.dates import date_number
from qa.embeddings import Embedder, make_embedder
from qa.errors import CorpusError
from qa.retrieve import HybridRetriever
from qa.settings import Settings
from qa.store import ArticleRecord, Store, SyncReport
from qa.timeframe import window_for, without_relative
from qa.types import Answer, Article, ScoredChunk, TimeWindow

if TYPE_CHECKING:
    from qa.llm import LLMAnswerer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Indexes:
    """What answering reads, swapped as one piece when the store changes: a question asked
    during an upload sees either the old or the new state, never a mix."""

    records: dict[str, ArticleRecord]
    retriever: HybridRetriever
    answerer: ExtractiveAnswerer | LLMAnswerer
    texts: dict[str, str]
    """The articles' full texts in this state: sections and quotes are read from them."""
    version: str = ""
    """The store's version mark when this state was read (see `Store.version`)."""
    vocabulary: Vocabulary | None = None
    """The corpus's word counts and acronyms: questions are searched with their acronyms
    spelled out (and long forms abbreviated)."""

    @cached_property
    def article_meta(self) -> dict[str, dict[str, str]]:
        """Publisher, date (ISO when one was read), title and URL by source, for citations
        (built once, not per question)."""
        return {
            source: {
                "publisher": r.publisher,
                "date": r.published or r.date,
                "title": r.title,
                "url": r.url,
            }
            for source, r in self.records.items()
        }


class Engine:
    """One corpus, one store, warm indexes; safe to share between threads."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        self.store = Store(settings, self.embedder)
        self._lock = threading.RLock()
        self._checked = time.monotonic()
        self.indexes: Indexes | None = None

    @property
    def records(self) -> dict[str, ArticleRecord]:
        """The committed articles being served (empty before the first load)."""
        return self.indexes.records if self.indexes else {}

    @property
    def retriever(self) -> HybridRetriever | None:
        """The retriever being served (None before the first load)."""
        return self.indexes.retriever if self.indexes else None

    def ingest(self, progress: bool = True, announce: str = "") -> SyncReport:
        """Bring the store in line with the corpus folder; embeds only new or changed articles
        (with `announce`, why, logged first when there is any to embed)."""
        loaded = load_corpus(self.settings.corpus_dir, self.settings)
        if not loaded.articles:
            raise CorpusError(
                f"No readable articles in {self.settings.corpus_dir} "
                f"({len(loaded.skipped)} file(s) skipped)."
            )
        with self._lock:
            report = self.store.sync(
                loaded.articles, remove_missing=True, progress=progress,
                unreadable=loaded.unreadable, announce=announce,
            )
            report.skipped = loaded.skipped
            if report.changed or self.indexes is None:
                self.load(report.records)
        return report

    def load(self, records: dict[str, ArticleRecord] | None = None) -> None:
        """Serve the store as it is, without reading the corpus folder; `records` are the
        committed articles when the caller has just read them."""
        with self._lock:
            version = self.store.version()
            records = self.store.records() if records is None else records
            records = self.store.date_records(records)
            built = derived.load_or_build(self.store, self.settings, records)
            dates = {source: date_number(r.published or "") for source, r in records.items()}
            previous = self.indexes
            texts = self.store.article_texts(
                records, *((previous.texts, previous.records) if previous else ())
            )
            retriever = HybridRetriever(
                self.store.pinned(texts), self.embedder, self.settings, built.chunks, built.bm25,
                dates,
            )
            answerer = make_answerer(self.settings, built.vocabulary)
            self.indexes = Indexes(records, retriever, answerer, texts, version, built.vocabulary)

    def add_articles(self, articles: list[Article]) -> SyncReport:
        """Add or replace articles (e.g. an upload) without touching the rest of the store."""
        with self._lock:
            report = self.store.sync(articles, remove_missing=False, progress=False)
            self.load(report.records)
        return report

    def remove_articles(self, sources: list[str]) -> None:
        with self._lock:
            self.store.remove(sources)
            self.load()

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        *,
        as_of: date | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> Answer:
        """Answer one question from the store, citing exact passages, or refuse.

        Time words in the question ("in February 2024", "this week", "latest") are read relative
        to `as_of` (default: today) and narrow the search to articles dated in that range;
        `since` and `until` override them. `Answer.window` says what was searched; when no
        article is dated in the range, the answer is a refusal that says so.
        """
        text, indexes, window, passages = self._retrieve(question, top_k, as_of, since, until)
        if passages is None:
            return _no_article_in(text, window)
        answer = indexes.answerer.answer(text, passages, indexes.article_meta)
        answer.window = window
        return answer

    def ask_stream(
        self,
        question: str,
        top_k: int | None = None,
        *,
        as_of: date | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> Iterator[str | Answer]:
        """Yield the answer text as it is produced, then the final `Answer` (with citations).

        The extractive answerer produces its text at once, so it yields one piece. An LLM
        answerer yields the model's tokens; the final Answer's text is authoritative, since
        verification may have removed sentences or fallen back to the extractive answer.
        The time options are those of `ask`.
        """
        text, indexes, window, passages = self._retrieve(question, top_k, as_of, since, until)
        if passages is None:
            refusal = _no_article_in(text, window)
            yield refusal.text
            yield refusal
            return
        for piece in indexes.answerer.stream(text, passages, indexes.article_meta):
            if isinstance(piece, Answer):
                piece.window = window
            yield piece

    def standalone_question(self, question: str, history: Sequence[Turn]) -> str:
        """A follow-up made stand-alone for retrieval: rewritten by the language model when one
        answers, by rule otherwise and whenever the model's rewrite is not a question."""
        indexes = self.indexes
        if indexes is not None and history and is_follow_up(question):
            llm = getattr(indexes.answerer, "llm", None)
            if llm is not None:
                from qa.llm import rewrite_followup

                turns = [
                    (role, text)
                    for turn in history[-3:]
                    for role, text in (("user", turn.question), ("assistant", turn.answer))
                ]
                rewritten = rewrite_followup(question, turns, llm)
                if rewritten != question and rewritten.endswith("?"):
                    return rewritten
        return standalone_question(question, history)

    def _follow_store(self) -> None:
        """Load the store's new state when another process has changed it (another replica on
        the same Chroma server), checked at most every `store_check_s` seconds."""
        now = time.monotonic()
        if now - self._checked < self.settings.store_check_s:
            return
        self._checked = now
        indexes = self.indexes
        if indexes is None or self.store.version() == indexes.version:
            return
        with self._lock:  # an ingest of this engine may hold it; after it, recheck
            indexes = self.indexes
            if indexes is not None and self.store.version() != indexes.version:
                log.info("The store changed in another process: loading its new state")
                self.load()

    def article_text(self, source: str) -> str:
        """The full text of a stored article (the text citation offsets refer to), as the
        indexes being served hold it."""
        indexes = self.indexes
        if indexes is not None and source in indexes.texts:
            return indexes.texts[source]
        return self.store.article_text(source)

    def passages(
        self, question: str, *, as_of: date | None = None
    ) -> tuple[str, list[ScoredChunk]]:
        """The checked question and the passages `ask` would answer it from (none when its time
        window holds no article): what the reader's calibration is fitted on."""
        text, _, _, passages = self._retrieve(question, None, as_of)
        return text, passages or []

    def _retrieve(
        self,
        question: str,
        top_k: int | None,
        as_of: date | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> tuple[str, Indexes, TimeWindow | None, list[ScoredChunk] | None]:
        """Check the question, make sure the store is loaded, read its time window and retrieve
        its passages (None when the window holds no article)."""
        text = check_question(question, self.settings)
        if self.indexes is None:
            self.ingest(progress=False, announce="Before answering")
        else:
            self._follow_store()
        indexes = self.indexes
        assert indexes is not None
        window = window_for(text, self.settings, as_of=as_of, since=since, until=until)
        if window is not None and window.filters:
            from_today = window.relative and as_of is None and since is None and until is None
            if from_today and not indexes.retriever.articles_in(window, dated_only=True):
                window = without_relative(text, self.settings, window)
            if window.filters and not indexes.retriever.articles_in(window):
                return text, indexes, window, None
        searched = indexes.vocabulary.expand(text) if indexes.vocabulary else text
        passages = indexes.retriever.retrieve(searched, top_k or self.settings.top_k, window)
        return text, indexes, window, passages


def _no_article_in(question: str, window: TimeWindow | None) -> Answer:
    """The refusal for a time window that holds no article."""
    assert window is not None
    return Answer(question=question, text=window.empty_text, refused=True, window=window)


def make_answerer(settings: Settings, vocabulary: Vocabulary) -> ExtractiveAnswerer | LLMAnswerer:
    """The answerer `settings.answerer` names; LLM code is imported only when one is chosen."""
    extractive = ExtractiveAnswerer(settings, vocabulary)
    if settings.answerer == "extractive":
        return extractive
    from qa.llm import LLMAnswerer

    return LLMAnswerer(settings, extractive)


@lru_cache(maxsize=8)
def engine_for(settings: Settings) -> Engine:
    """The process-wide engine of these settings (built on first use, then reused)."""
    return Engine(settings)
