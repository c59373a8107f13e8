"""Stage 4: hybrid retrieval: dense neighbours from Chroma and BM25, fused by reciprocal rank."""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from qa.dates import date_number, from_number
from qa.embeddings import Embedder
from qa.settings import Settings
from qa.store import Store
from qa.timeframe import without_time_words
from qa.types import Chunk, ScoredChunk, TimeWindow

log = logging.getLogger(__name__)

_per_thread = threading.local()

PART_BOUNDARY = re.compile(
    r",?\s+and\s+(?=(?:what|which|who|whom|whose|when|where|how|why)\b)|(?<=\?)\s+(?=\S)",
    re.IGNORECASE,
)


def split_question(question: str) -> list[str]:
    """A compound question ("Where is X, and who did Y?") as its parts; others unchanged."""
    parts = [p.strip() for p in PART_BOUNDARY.split(question) if p and p.strip()]
    if len(parts) < 2 or any(len(p.split()) < 3 for p in parts):
        return [question]
    return parts


def build_bm25(chunks: list[Chunk]) -> Any:
    """A BM25 index of the chunks (title and text), rows in the order given; None when empty.

    bm25s with an English stemmer and stop words, the engine and defaults of llama-index's
    `BM25Retriever`, called directly: importing llama-index costs 2+ s of every cold `qa ask`,
    and nothing else on the question path needs it.
    """
    if not chunks:
        return None
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index(tokenize([f"{c.title}\n{c.text}" for c in chunks]), show_progress=False)
    return bm25


def tokenize(texts: list[str]) -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import
    return bm25s.tokenize(texts, stopwords="en", stemmer=english_stemmer(), show_progress=False)


def english_stemmer() -> Any:
    """This thread's English stemmer (PyStemmer), shared by BM25 and the answerer.

    One per thread: a PyStemmer instance keeps state between calls and its documentation says
    only one thread may use it at a time, while the chat window answers on several threads.
    """
    stemmer = getattr(_per_thread, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _per_thread.stemmer = Stemmer.Stemmer("english")
    return stemmer


def bm25_ranking(
    bm25: Any, chunk_ids: list[str], question: str, limit: int, mask: Any = None
) -> list[str]:
    """The ids (`chunk_ids`, in index row order) of the best BM25 matches, zero scores left out;
    with a `mask` (one boolean a row), only the rows it keeps."""
    if bm25 is None:
        return []
    query = tokenize([question])
    if not query.vocab:
        return []
    rows, scores = bm25.retrieve(
        query, k=min(limit, len(chunk_ids)), weight_mask=mask, show_progress=False
    )
    return [chunk_ids[i] for i, score in zip(rows[0], scores[0], strict=True) if score > 0]


class HybridRetriever:
    """Dense + BM25 over the committed chunks of a store; ranks fused with RRF.

    A time window filters both sides by the publication date of each chunk's article: BM25
    with a mask of its rows (exact). The dense side, for a window of at most
    `dense_window_exact` chunks, compares the question with those chunks' stored vectors
    (exact); for a wider one, reads Chroma's unfiltered nearest neighbours deep enough to hold
    `candidates` + 10 chunks of the window on average (at most `dense_window_fetch`) and keeps
    those in the window; only between the two, Chroma's `where` on the chunks' `date_num`
    metadata (exact, but at 118k chunks 110 to 460 ms a query against 5 ms unfiltered). Articles
    with no date (`date_num` 0) are searched when no window filters, or when the window keeps
    them (`TimeWindow.keep_undated`).
    """

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        settings: Settings,
        chunks: list[Chunk],
        bm25: Any,
        dates: Mapping[str, int] | None = None,
    ) -> None:
        """Search the store's committed `chunks`: `bm25` indexes them in this order (see
        `build_bm25`); dense search goes to the store. `dates` are the articles' publication
        dates as numbers (20240105; 0 or absent = undated), by source."""
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.chunks = {c.id: c for c in chunks}
        self.chunk_ids = list(self.chunks)
        self.bm25 = bm25
        self.dates = dict(dates or {})
        self.row_dates = np.array([self.dates.get(c.source, 0) for c in chunks], dtype=np.int64)

    def dense(
        self, question: str, limit: int, window: TimeWindow | None = None
    ) -> list[tuple[str, float]]:
        """Chunk ids with their cosine similarity to the question (committed chunks only, in the
        window when it filters)."""
        vector = self.embedder.embed_query(question)
        wanted = min(limit + 10, len(self.chunks))
        if window is None or not window.filters:
            hits = self.store.query(vector, wanted)
            return [(cid, sim) for cid, sim in hits if cid in self.chunks][:limit]
        rows = self.window_rows(window)
        count = int(rows.sum())
        if count == 0:
            return []
        if count <= self.settings.dense_window_exact:
            ids = [self.chunk_ids[row] for row in np.flatnonzero(rows)]
            hits = sorted(self.store.similarities(vector, ids), key=lambda hit: -hit[1])
            return hits[:limit]
        fetch = math.ceil(wanted * len(rows) / count)
        if fetch <= self.settings.dense_window_fetch:
            hits = self.store.query(vector, min(fetch, len(self.chunks)))
            return [
                (cid, sim)
                for cid, sim in hits
                if cid in self.chunks and in_window(self.date_of(cid), window)
            ][:limit]
        low, high = date_range(window)
        where: dict[str, Any] = {
            "$and": [{"date_num": {"$gte": low}}, {"date_num": {"$lte": high}}]
        }
        if window.keep_undated:
            where = {"$or": [{"date_num": 0}, where]}
        hits = self.store.query(vector, wanted, where=where)
        return [(cid, sim) for cid, sim in hits if cid in self.chunks][:limit]

    def sparse(self, question: str, limit: int, window: TimeWindow | None = None) -> list[str]:
        """Chunk ids by BM25 score (zero-score chunks left out; in the window when it filters)."""
        mask = self.window_rows(window) if window is not None and window.filters else None
        return bm25_ranking(self.bm25, self.chunk_ids, question, limit, mask)

    def date_of(self, chunk_id: str) -> int:
        """The publication date number of a chunk's article (0 = undated)."""
        return self.dates.get(self.chunks[chunk_id].source, 0)

    def window_rows(self, window: TimeWindow) -> Any:
        """One boolean a chunk (in BM25 row order): whether its article is in the window."""
        low, high = date_range(window)
        rows = (self.row_dates >= low) & (self.row_dates <= high)
        if window.keep_undated:
            rows |= self.row_dates == 0
        return rows

    def articles_in(self, window: TimeWindow, dated_only: bool = False) -> int:
        """How many articles the window keeps (all of them when it does not filter); with
        `dated_only`, not counting the undated ones it keeps."""
        if not window.filters:
            return len({c.source for c in self.chunks.values()})
        return sum(
            in_window(number, window) and not (dated_only and number == 0)
            for number in self.dates.values()
        )

    def retrieve(
        self, question: str, top_k: int | None = None, window: TimeWindow | None = None
    ) -> list[ScoredChunk]:
        """The top-k passages: chunks ranked by reciprocal rank fusion of the dense and BM25
        rankings, each replaced by its section (see `Settings.section_chunks`).

        A compound question gets top-k passages per part, interleaved, so each part has evidence.
        With a `window`, only articles dated in it are searched, and newer ones are ranked higher
        when it prefers recent evidence.
        """
        if not self.chunks:
            return []
        top_k = top_k or self.settings.top_k
        span = self.settings.section_chunks
        depth = top_k if span == 1 else self.settings.candidates
        if self.settings.time_strip_words:
            question = without_time_words(question, window) or question
        rankings = [
            self._retrieve_one(part, depth, window) for part in split_question(question)
        ]
        merged: dict[str, ScoredChunk] = {}
        for rank in range(depth):
            for ranking in rankings:
                if rank < len(ranking):
                    merged.setdefault(ranking[rank].chunk.id, ranking[rank])
        if span == 1:
            return list(merged.values())
        return self._sections(list(merged.values()), top_k * len(rankings))

    def _sections(self, ranked: list[ScoredChunk], limit: int) -> list[ScoredChunk]:
        """The sections of the ranked chunks, in the order of their best chunk, at most `limit`."""
        span = self.settings.section_chunks
        groups: dict[tuple[str, int], list[ScoredChunk]] = {}
        for scored in ranked:
            key, index = scored.chunk.id.rsplit(":", 1)
            section = (key, int(index) // span)
            if section in groups or len(groups) < limit:
                groups.setdefault(section, []).append(scored)
        return [self._section(key, number, hits) for (key, number), hits in groups.items()]

    def _section(self, key: str, number: int, hits: list[ScoredChunk]) -> ScoredChunk:
        span = self.settings.section_chunks
        ids = [f"{key}:{i}" for i in range(number * span, (number + 1) * span)]
        members = [self.chunks[cid] for cid in ids if cid in self.chunks]
        retrieved = {h.chunk.id: h for h in hits}
        parts = tuple(retrieved.get(c.id, ScoredChunk(chunk=c, score=0.0)) for c in members)
        first, last, best = members[0], members[-1], hits[0]
        section = dataclasses.replace(
            first,
            id=f"{key}:{first.id.rsplit(':', 1)[1]}-{last.id.rsplit(':', 1)[1]}",
            end=last.end,
            text=self.store.article_text(first.source)[first.start : last.end],
        )
        return ScoredChunk(
            chunk=section,
            score=best.score,
            dense_rank=best.dense_rank,
            bm25_rank=best.bm25_rank,
            similarity=max(part.similarity for part in parts),
            parts=parts,
        )

    def _retrieve_one(
        self, question: str, top_k: int, window: TimeWindow | None
    ) -> list[ScoredChunk]:
        limit = self.settings.candidates
        dense = self.dense(question, limit, window)
        sparse = self.sparse(question, limit, window)
        fused = fuse(self.chunks, dense, sparse, self.settings.rrf_k, self.settings.bm25_weight)
        if window is not None and window.prefer_recent:
            fused = self._newer_first(fused)
        return fused[:top_k]

    def _newer_first(self, ranked: list[ScoredChunk]) -> list[ScoredChunk]:
        """The candidates re-ranked with a recency boost: the newest dated one's fused score
        grows by `recency_weight` (a share of itself, so a weak match stays weak), halved per
        `recency_half_life_days` of age behind the newest; undated ones gain nothing."""
        dated = {s.chunk.source: from_number(self.dates.get(s.chunk.source, 0)) for s in ranked}
        newest = max((d for d in dated.values() if d), default=None)
        if newest is None:
            return ranked
        weight, half_life = self.settings.recency_weight, self.settings.recency_half_life_days
        boosted = [
            dataclasses.replace(
                s, score=s.score * (1 + weight * 0.5 ** ((newest - published).days / half_life))
            )
            if (published := dated[s.chunk.source])
            else s
            for s in ranked
        ]
        return sorted(boosted, key=lambda s: (-s.score, s.chunk.id))


def in_window(number: int, window: TimeWindow) -> bool:
    """Whether an article of this date number (0 = undated) is searched in the window."""
    if number == 0:
        return window.keep_undated or not window.filters
    low, high = date_range(window)
    return low <= number <= high


def date_range(window: TimeWindow) -> tuple[int, int]:
    """The window as inclusive date numbers; an open end is the earliest or latest date, never 0
    (the number of an undated article)."""
    low = date_number(window.since.isoformat()) if window.since else 1
    high = date_number(window.until.isoformat()) if window.until else 99991231
    return low, high


def fuse(
    chunks: dict[str, Chunk],
    dense: list[tuple[str, float]],
    sparse: list[str],
    k: int,
    sparse_weight: float,
) -> list[ScoredChunk]:
    """Reciprocal rank fusion: score = sum over rankings of weight / (k + rank), the dense
    ranking's weight 1 and BM25's `sparse_weight`."""
    similarity = dict(dense)
    dense_rank = {cid: rank for rank, (cid, _) in enumerate(dense, start=1)}
    sparse_rank = {cid: rank for rank, cid in enumerate(sparse, start=1)}
    scored = [
        ScoredChunk(
            chunk=chunks[cid],
            score=sum(w / (k + r) for w, r in ((1.0, dense_rank.get(cid)),
                                                (sparse_weight, sparse_rank.get(cid))) if r),
            dense_rank=dense_rank.get(cid),
            bm25_rank=sparse_rank.get(cid),
            similarity=similarity.get(cid, 0.0),
        )
        for cid in dense_rank.keys() | sparse_rank.keys()
    ]
    return sorted(scored, key=lambda s: (-s.score, s.chunk.id))
