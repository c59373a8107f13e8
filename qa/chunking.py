"""Stage 2: split articles into passages with llama-index's sentence splitter.

Token counts come from tiktoken (offline cache); every chunk keeps its character offsets, so
`article.text[chunk.start:chunk.end] == chunk.text` always holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache

from qa.offline import enforce_offline
from qa.settings import Settings
from qa.types import Article, Chunk


@lru_cache(maxsize=4)
def token_counter(encoding: str) -> Callable[[str], list[int]]:
    """The tiktoken encoder, loaded from the cache that ships with llama-index-core."""
    enforce_offline()
    import tiktoken

    return tiktoken.get_encoding(encoding).encode


@lru_cache(maxsize=4)
def _splitter(chunk_size: int, chunk_overlap: int, encoding: str):  # type: ignore[no-untyped-def]
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=token_counter(encoding),
        include_metadata=False,
        include_prev_next_rel=False,
    )


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
    """Split one article; chunk ids are `<content key>:<index>`, so unchanged text keeps its ids."""
    splitter = _splitter(settings.chunk_size, settings.chunk_overlap, settings.tokenizer_encoding)
    pieces = splitter.split_text(article.text)
    chunks = []
    cursor = 0
    for index, piece in enumerate(pieces):
        start = _locate(article.text, piece, cursor)
        end = start + len(piece)
        chunks.append(
            Chunk(
                id=f"{key}:{index}",
                source=article.source,
                title=article.title,
                date=article.date,
                start=start,
                end=end,
                text=article.text[start:end],
            )
        )
        cursor = start + 1
    return chunks


def _locate(text: str, piece: str, cursor: int) -> int:
    """Where the splitter's piece sits in the text: the splitter only strips, never rewrites."""
    found = text.find(piece, cursor)
    if found == -1:
        found = text.find(piece)
    if found == -1:
        raise AssertionError(f"chunk not found verbatim in its article: {piece[:60]!r}")
    return found
