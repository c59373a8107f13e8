"""The data that flows between the pipeline's stages."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    """The few words that answer the question (a name, a date, an amount...): a literal span of
    `citations[0].quote`; None when the answer is a refusal or no short span answers it."""
