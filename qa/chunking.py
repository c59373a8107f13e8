"""Stage 2: split articles into passages with llama-index's sentence splitter.

Token counts come from tiktoken (offline cache); every chunk keeps its character offsets, so
`article.text[chunk.start:chunk.end] == chunk.text` always holds.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from functools import lru_cache

from qa.offline import enforce_offline
from qa.settings import Settings
from qa.types import Article, Chunk

log = logging.getLogger(__name__)

SHORT_SENTENCE_CHARS = 120
SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+")


@lru_cache(maxsize=4)
def token_counter(encoding: str) -> Callable[[str], list[int]]:
    """The tiktoken encoder, loaded from the cache that ships with llama-index-core."""
    enforce_offline()
    import tiktoken

    return tiktoken.get_encoding(encoding).encode


@lru_cache(maxsize=4)
def _splitter(  # type: ignore[no-untyped-def]
    chunk_size: int, chunk_overlap: int, encoding: str, long_text: bool = False
):
    """llama-index's `SentenceSplitter`; for long texts with `split_sentences` in place of nltk's
    punkt, which costs 0.1 ms a sentence and stops a regex after 5 s (a 9 MB line failed)."""
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=token_counter(encoding),
        chunking_tokenizer_fn=split_sentences if long_text else None,
        include_metadata=False,
        include_prev_next_rel=False,
    )


def split_sentences(text: str) -> list[str]:
    """The text cut after sentence ends (., ! or ?, closing quotes or brackets, then white
    space), the white space kept with the sentence before: the pieces join to the text. Short
    sentences are kept together up to `SHORT_SENTENCE_CHARS`, since the splitter counts the
    tokens of every piece. One linear regex, unlike punkt, at the cost of cutting after
    abbreviations too (the splitter joins sentences into chunks again, so only a chunk's edge
    can move)."""
    pieces = []
    start = 0
    for match in SENTENCE_END.finditer(text):
        if match.end() - start >= SHORT_SENTENCE_CHARS:
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text) or not pieces:
        pieces.append(text[start:])
    return pieces


def article_key(article: Article, settings: Settings, embedder_name: str) -> str:
    """A content hash of everything a chunk's id and vector depend on."""
    digest = hashlib.sha256()
    for part in (
        article.source,
        article.title,
        article.date,
        article.text,
        f"{settings.chunk_size}/{settings.chunk_overlap}/{settings.tokenizer_encoding}",
        embedder_name,
    ):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()[:24]


def chunk_article(article: Article, settings: Settings, key: str) -> list[Chunk]:
    """Split one article; chunk ids are `<content key>:<index>`, so unchanged text keeps its ids.

    The splitter reads the text a window at a time (see `windows`): one window, the whole text,
    for every article up to `chunk_window_chars`; a longer one is split into sentences by
    `split_sentences`, so its time stays linear.
    """
    text = article.text
    spans = list(windows(text, settings.chunk_window_chars))
    splitter = _splitter(
        settings.chunk_size, settings.chunk_overlap, settings.tokenizer_encoding, len(spans) > 1
    )
    chunks: list[Chunk] = []
    for number, (begin, finish) in enumerate(spans, start=1):
        cursor = begin
        for piece in splitter.split_text(text[begin:finish]):
            start = _locate(text, piece, cursor, (begin, finish))
            end = start + len(piece)
            chunks.append(
                Chunk(
                    id=f"{key}:{len(chunks)}",
                    source=article.source,
                    title=article.title,
                    date=article.date,
                    start=start,
                    end=end,
                    text=text[start:end],
                )
            )
            cursor = start + 1
        if len(spans) > 1 and (number % 10 == 0 or number == len(spans)):
            log.info("Chunked %s: %d of %d characters", article.source, finish, len(text))
    return chunks


def windows(text: str, size: int) -> Iterator[tuple[int, int]]:
    """(start, end) spans of at most `size` characters that cover the text in order, each cut
    at its last paragraph break, else line break, else sentence end, else space, in its second
    half (a text without any is cut at `size`)."""
    begin = 0
    while len(text) - begin > size:
        limit = begin + size
        cut = -1
        for mark in ("\n\n", "\n", ". ", " "):
            found = text.rfind(mark, begin + size // 2, limit - len(mark) + 1)
            if found != -1:
                cut = found + len(mark)
                break
        cut = limit if cut == -1 else cut
        yield begin, cut
        begin = cut
    yield begin, len(text)


def _locate(text: str, piece: str, cursor: int, window: tuple[int, int]) -> int:
    """Where the splitter's piece of the window sits: the splitter only strips, never rewrites."""
    begin, finish = window
    found = text.find(piece, cursor, finish)
    if found == -1:
        found = text.find(piece, begin, finish)
    if found == -1:
        raise AssertionError(f"chunk not found verbatim in its article: {piece[:60]!r}")
    return found
