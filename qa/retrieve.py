"""Stage 4: hybrid retrieval: dense neighbours from Chroma and BM25, fused by reciprocal rank."""

from __future__ import annotations

import logging
from typing import Any

from qa.embeddings import Embedder
from qa.settings import Settings
from qa.store import Store
from qa.types import Chunk, ScoredChunk

log = logging.getLogger(__name__)


class HybridRetriever:
    """Dense + BM25 over the committed chunks of a store; ranks fused with RRF."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.chunks: dict[str, Chunk] = {}
        self.bm25: Any = None
        self.refresh()

    def refresh(self) -> None:
        """Reload the chunk table and rebuild BM25 after the store changed."""
        from llama_index.core.schema import TextNode
        from llama_index.retrievers.bm25 import BM25Retriever

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import

        self.chunks = {c.id: c for c in self.store.committed_chunks()}
        if not self.chunks:
            self.bm25 = None
            return
        nodes = [TextNode(id_=c.id, text=f"{c.title}\n{c.text}") for c in self.chunks.values()]
        self.bm25 = BM25Retriever.from_defaults(
            nodes=nodes, similarity_top_k=min(self.settings.candidates, len(nodes))
        )

    def dense(self, question: str, limit: int) -> list[str]:
        """Chunk ids by cosine similarity to the question (committed chunks only)."""
        vector = self.embedder.embed_query(question)
        hits = self.store.query(vector, limit + 10)
        return [cid for cid, _ in hits if cid in self.chunks][:limit]

    def sparse(self, question: str, limit: int) -> list[str]:
        """Chunk ids by BM25 score (zero-score chunks left out)."""
        if self.bm25 is None:
            return []
        return [n.node.node_id for n in self.bm25.retrieve(question) if (n.score or 0) > 0][:limit]

    def retrieve(self, question: str, top_k: int | None = None) -> list[ScoredChunk]:
        """The top-k chunks by reciprocal rank fusion of the dense and BM25 rankings."""
        if not self.chunks:
            return []
        top_k = top_k or self.settings.top_k
        limit = self.settings.candidates
        dense = self.dense(question, limit)
        sparse = self.sparse(question, limit)
        return fuse(self.chunks, dense, sparse, self.settings.rrf_k)[:top_k]


def fuse(chunks: dict[str, Chunk], dense: list[str], sparse: list[str], k: int) -> list[ScoredChunk]:
    """Reciprocal rank fusion: score = sum over rankings of 1 / (k + rank)."""
    dense_rank = {cid: rank for rank, cid in enumerate(dense, start=1)}
    sparse_rank = {cid: rank for rank, cid in enumerate(sparse, start=1)}
    scored = [
        ScoredChunk(
            chunk=chunks[cid],
            score=sum(1.0 / (k + r) for r in (dense_rank.get(cid), sparse_rank.get(cid)) if r),
            dense_rank=dense_rank.get(cid),
            bm25_rank=sparse_rank.get(cid),
        )
        for cid in dense_rank.keys() | sparse_rank.keys()
    ]
    return sorted(scored, key=lambda s: (-s.score, s.chunk.id))
