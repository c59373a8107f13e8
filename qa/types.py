"""The data that flows between the pipeline's stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Article:
    """One news article as read from the corpus folder."""

    source: str
    """Path relative to the corpus folder (for .jsonl files: `file.jsonl#line`)."""
    title: str
    text: str
    publisher: str = ""
    date: str = ""
    url: str = ""
    published: str | None = None
    """The publication date as ISO `YYYY-MM-DD` ("" when none could be read), from `date`, the
    page's own dates or a dateline (see `qa.dates`); None = not read yet, so the store reads it
    from `date` and the text. Not part of the article's content key."""
    published_from: str = ""
    """What `published` was read from, as written (e.g. "2024/01/05", "LISBON, Sept 25")."""


@dataclass(frozen=True)
class Chunk:
    """A passage of an article; `text == article.text[start:end]`."""

    id: str
    source: str
    title: str
    date: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ScoredChunk:
    """A retrieved chunk with its fused score and the ranks each retriever gave it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None
    similarity: float = 0.0
    """Cosine similarity of the chunk to the question under the embedding model (0 if unseen)."""
    parts: tuple[ScoredChunk, ...] = ()
    """For a section (consecutive chunks of one article): its chunks, each scored as retrieved
    (score 0 and similarity 0 when only its neighbour was retrieved)."""

    def part_at(self, offset: int) -> ScoredChunk:
        """The part holding this article offset that is most similar to the question; the
        passage itself when it has no parts."""
        holding = [p for p in self.parts if p.chunk.start <= offset < p.chunk.end]
        return max(holding, key=lambda p: p.similarity) if holding else self


@dataclass(frozen=True)
class Citation:
    """A numbered citation: `quote == article_text[start:end]` exactly."""

    n: int
    title: str
    source: str
    quote: str
    start: int
    end: int
    publisher: str = ""
    date: str = ""
    url: str = ""
    """The article's address when the corpus gives one ("" otherwise)."""


@dataclass(frozen=True)
class TimeWindow:
    """The publication dates a question was searched in: `since` to `until`, both included
    (None = open), with newer articles ranked higher among relevant ones when `prefer_recent`."""

    since: date | None = None
    until: date | None = None
    prefer_recent: bool = False
    as_of: date | None = None
    """The date relative times ("this week") were read from."""
    phrase: str = ""
    """The question's words the range was read from ("" when it came from the options)."""
    spans: tuple[tuple[int, int], ...] = ()
    """Where the phrases the range was read from are in the question (character offsets)."""
    relative: bool = False
    """Whether the range was read from words relative to `as_of` ("this week", "yesterday")."""
    instead: str = ""
    """A range read relative to today (no `as_of` given) that held no article, so it was dropped
    and the rest searched ("" when none was)."""
    keep_undated: bool = False
    """Whether articles with no date are searched too (a range read from the question's words:
    they date an event, which an undated article may report); False when since or until was
    given, which say which publication dates to read."""

    @property
    def filters(self) -> bool:
        """Whether only some articles are searched (by date, and undated ones unless
        `keep_undated`)."""
        return self.since is not None or self.until is not None

    @property
    def range_text(self) -> str:
        """The range in words: "2024-02-01 to 2024-02-29", "2022-01-01 or later"..."""
        if self.since and self.until:
            return f"{self.since.isoformat()} to {self.until.isoformat()}"
        if self.since:
            return f"{self.since.isoformat()} or later"
        return f"up to {self.until.isoformat()}" if self.until else "at any date"

    @property
    def note(self) -> str:
        """What was searched, for the reader: "Searched articles dated 2024-02-01 to 2024-02-29
        (in February 2024)."."""
        parts = []
        if self.instead:
            parts.append(f"No article is dated {self.instead}: that range was read from today.")
        if self.filters:
            said = f" ({self.phrase})" if self.phrase else ""
            undated = ", and those with no date" if self.keep_undated else ""
            parts.append(f"Searched articles dated {self.range_text}{said}{undated}.")
        if self.instead and not self.filters:
            parts.append("Searched articles of any date.")
        if self.prefer_recent:
            parts.append("Newer articles were ranked higher.")
        return " ".join(parts)

    @property
    def empty_text(self) -> str:
        """The refusal when no article is dated in the range."""
        return f"No article is dated {self.range_text}, so none can answer this."


@dataclass(frozen=True)
class SourcedValue:
    """One source's value in a disagreement: the words as written, the citation that quotes
    them, and the article's date (ISO, "" when unknown)."""

    value: str
    n: int
    source: str
    date: str = ""


@dataclass(frozen=True)
class Disagreement:
    """Well-supported answers of one kind that differ between articles, newest first.

    `kind` is "conflict" (the same quantity, different figures, on the same day or undated),
    "update" (a figure that changed between articles of different dates: the newest is the
    answer) or "currencies" (amounts given in different currencies or units: shown as given,
    not a contradiction)."""

    kind: str
    values: tuple[SourcedValue, ...]


@dataclass
class Answer:
    """What `ask()` returns: the text with inline [n] markers and the citations they refer to."""

    question: str
    text: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[ScoredChunk] = field(default_factory=list)
    answerer: str = "extractive"
    short: str | None = None
    """The few words that answer the question (a name, a date, an amount...), each a literal
    span of a cited quote (a compound question's parts joined by "; "); None when the answer is
    a refusal or no short span answers it."""
    confidence: float = 0.0
    """The evidence the answer stood on: its candidate's votes, or its sentence's support (the
    lowest over the parts of a compound question); refusals keep the best they had."""
    disagreements: list[Disagreement] = field(default_factory=list)
    """Where the sources give different answers of the same kind (see `Disagreement`)."""
    window: TimeWindow | None = None
    """The publication dates searched, when the question or the options narrowed them (its
    `note` says so in words); None when every article was searched."""
