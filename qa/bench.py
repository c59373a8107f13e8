"""Benchmark on a real news corpus: ingestion, latency, retrieval quality, answers, server mode.

    python -m qa.bench --corpus ../shared/bench/realtimeqa-2024 --sizes 1000,3000,all \
        --out evals/bench

For each corpus size (the first N articles in date order, so the questions of those weeks stay
answerable) it builds a fresh store through the normal pipeline and measures, in one run:
ingestion speed against the raw embedder, peak memory, an unchanged re-ingest, warm `ask()` and
cold `qa ask` latency, answer-bearing hit@k / MRR / hit within a token budget for dense, BM25,
our hybrid and llama-index's stock pipeline, answer accuracy, and the same ingest and asks through
a Chroma server that it starts and stops. Results are rewritten after every size (a run cut short
keeps what it finished) as `bench.json`, `bench.md` and `bench.png` in the output folder. The
metric rules are those of the corpus's README (RealTimeQA 2024).
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import logging
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from qa.embeddings import Embedder, MiniLMEmbedder, make_embedder
from qa.offline import enforce_offline
from qa.servers import chroma_server
from qa.settings import PROJECT_ROOT, Settings
from qa.types import Chunk

log = logging.getLogger("qa.bench")

KS = (1, 5, 10)
BUDGETS = (1280, 2560)
CANDIDATES = 30
SYSTEMS = ("dense", "bm25", "hybrid", "stock", "hybrid-stock-chunks")
SYSTEM_NAMES = {"hybrid-stock-chunks": "hybrid on stock's chunks"}
HIDDEN, LAYERS, FFN = 384, 6, 1536


@dataclass(frozen=True)
class Question:
    """An answerable quiz question: its right choice occurs in one of `article_ids`."""

    id: str
    question: str
    choices: tuple[str, ...]
    answer: str
    article_ids: frozenset[str]


@dataclass(frozen=True)
class Hit:
    """One retrieved passage, as the metrics see it."""

    article_id: str
    text: str


class MeteredEmbedder:
    """Counts the passages and seconds spent in the embedder.

    With `replay` (vectors by passage text), passages already embedded are served from it (server
    mode measures the store path, not the model a second time); only the others reach the model
    and are counted.
    """

    def __init__(self, inner: Embedder, replay: dict[str, np.ndarray] | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.replay = replay or {}
        self.seconds = 0.0
        self.passages = 0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self.replay]
        start = time.perf_counter()
        fresh = self.inner.embed_passages(missing) if missing else np.zeros((0, HIDDEN))
        self.seconds += time.perf_counter() - start
        self.passages += len(missing)
        computed = dict(zip(missing, fresh, strict=True))
        return np.array([computed[t] if t in computed else self.replay[t] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


class StandInEmbedder:
    """Real query vectors, but passages get a random unit vector seeded by their text.

    For the full-corpus scale check only: it exercises the store, BM25, the answerer and memory
    at full size without the hours the model would need; its dense ranking means nothing. Its
    name differs from the model's, so its vectors never mix with real ones.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = f"{inner.name}+stand-in-passages"

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.array([
            np.random.default_rng(zlib.crc32(t.encode("utf-8"))).standard_normal(HIDDEN)
            for t in texts
        ], dtype=np.float32).reshape(len(texts), HIDDEN)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


class PeakMemory:
    """Samples this process's resident memory every 0.1 s; `peak` is the largest seen (bytes)."""

    def __init__(self) -> None:
        import psutil

        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.process.memory_info().rss)


# --- data -------------------------------------------------------------------------------------


def load_articles(folder: Path) -> list[dict[str, Any]]:
    """The corpus's articles (`articles.jsonl.gz` or `articles.jsonl`), in date order."""
    path = folder / "articles.jsonl.gz"
    opener: Callable[..., Any] = gzip.open if path.exists() else open
    if not path.exists():
        path = folder / "articles.jsonl"
    with opener(path, "rt", encoding="utf-8") as lines:
        articles = [json.loads(line) for line in lines if line.strip()]
    return sorted(articles, key=lambda a: (a["date"].replace("-", "/"), a["id"]))


def load_questions(path: Path) -> list[Question]:
    """The questions whose answer text occurs in the corpus (`answer_in_corpus`)."""
    questions = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record.get("answer_in_corpus"):
                questions.append(
                    Question(
                        id=record["id"],
                        question=record["question"],
                        choices=tuple(record["choices"]),
                        answer=record["answer"],
                        article_ids=frozenset(record["articles_with_answer"]),
                    )
                )
    return questions


def write_subset(articles: list[dict[str, Any]], folder: Path) -> Path:
    """The articles as one .jsonl file, the format the normal corpus loader reads."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "articles.jsonl").open("w", encoding="utf-8") as out:
        for a in articles:
            record = {k: a[k] for k in ("id", "title", "text", "url", "date")}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return folder


# --- metrics ----------------------------------------------------------------------------------


def answer_bearing(hit: Hit, question: Question) -> bool:
    """The README's rule: from an answer article, and holding the answer text (any case)."""
    return hit.article_id in question.article_ids and question.answer.lower() in hit.text.lower()


def within_budget(hits: list[Hit], budget: int, encoding: Any) -> list[Hit]:
    """Passages in rank order until `budget` tokens are filled; the last one cut to fit."""
    kept, used = [], 0
    for hit in hits:
        tokens = encoding.encode(hit.text)
        if used + len(tokens) > budget:
            kept.append(Hit(hit.article_id, encoding.decode(tokens[: budget - used])))
            break
        kept.append(hit)
        used += len(tokens)
    return kept


def retrieval_scores(
    ranked: list[tuple[Question, list[Hit]]], encoding: Any
) -> dict[str, float]:
    """Answer-bearing hit@k, MRR@10 and hit within each token budget, averaged over questions."""
    if not ranked:
        return {}
    scores: dict[str, list[float]] = {f"hit@{k}": [] for k in KS}
    scores["mrr@10"] = []
    scores |= {f"hit@{b}tok": [] for b in BUDGETS}
    for question, hits in ranked:
        flags = [answer_bearing(h, question) for h in hits]
        for k in KS:
            scores[f"hit@{k}"].append(float(any(flags[:k])))
        first = next((rank for rank, f in enumerate(flags[:10], start=1) if f), None)
        scores["mrr@10"].append(1.0 / first if first else 0.0)
        for b in BUDGETS:
            budget_hits = within_budget(hits, b, encoding)
            scores[f"hit@{b}tok"].append(float(any(answer_bearing(h, question)
                                                   for h in budget_hits)))
    return {name: round(float(np.mean(values)), 4) for name, values in scores.items()}


def judge(answer_text: str, question: Question) -> bool:
    """The README's rule: the answer holds the right choice and none of the others."""
    text = answer_text.lower()
    others = [c for c in question.choices if c != question.answer]
    return question.answer.lower() in text and not any(c.lower() in text for c in others)


def percentiles(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {}
    ms = np.array(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "mean_ms": round(float(ms.mean()), 1),
        "n": len(seconds),
    }


def make_settings(**values: Any) -> Settings:
    """Settings from `QA_*` variables, with these fields set."""
    return Settings(**values)


def article_id(source: str) -> str:
    """The RealTimeQA id of a chunk's article (`articles.jsonl#<id>`)."""
    return source.rsplit("#", 1)[-1]


# --- machine and model arithmetic -------------------------------------------------------------


def flops_per_token(mean_tokens: float) -> float:
    """MiniLM-L6 forward FLOPs per word piece: the six layers' products plus attention."""
    linear = 2 * LAYERS * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN)
    attention = 2 * LAYERS * 2 * mean_tokens * HIDDEN
    return float(linear + attention)


PEAK_PROBE = """
import time, numpy as np
a = np.random.default_rng(0).random((2048, 384), dtype=np.float32)
b = np.random.default_rng(1).random((384, 1536), dtype=np.float32)
a @ b
best = 0.0
for _ in range(5):
    start = time.perf_counter()
    for _ in range(5):
        a @ b
    best = max(best, 5 * 2 * 2048 * 384 * 1536 / (time.perf_counter() - start))
print(best)
"""


def measured_peak_flops(threads: int) -> float:
    """fp32 matrix-product FLOP/s: numpy's BLAS on one core (best of five), times `threads`.

    One core is measured, in a child process pinned to one BLAS thread, because the other core
    may be busy with other work.
    """
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", PEAK_PROBE], capture_output=True, text=True,
                          check=True, env=env)
    return float(done.stdout.strip()) * threads


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# --- the stock llama-index pipeline -----------------------------------------------------------


def llama_index_embedding(embedder: Embedder) -> Any:
    """Our embedding model as a llama-index `BaseEmbedding`, so the baseline uses the same one."""
    from llama_index.core.embeddings import BaseEmbedding
    from pydantic import PrivateAttr

    class MiniLMEmbedding(BaseEmbedding):  # type: ignore[misc]
        _inner: Any = PrivateAttr()

        def __init__(self, inner: Embedder) -> None:
            super().__init__(model_name=inner.name, embed_batch_size=64)
            self._inner = inner

        @classmethod
        def class_name(cls) -> str:
            return "MiniLMEmbedding"

        def _get_query_embedding(self, query: str) -> list[float]:
            return [float(x) for x in self._inner.embed_query(query)]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._get_text_embeddings([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [[float(x) for x in v] for v in self._inner.embed_passages(texts)]

    return MiniLMEmbedding(embedder)


def build_stock(
    articles: list[dict[str, Any]], embedder: Embedder, path: Path
) -> tuple[Any, list[Chunk], dict]:
    """llama-index's stock pipeline: default `SentenceSplitter`, `VectorStoreIndex` over Chroma.

    Also returns its chunks (id, article id as source, title, text), for our hybrid retrieval on
    the very same chunks and vectors.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
    )
    vector_store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("stock"))
    documents = [
        Document(
            text=a["text"],
            metadata={"title": a["title"], "article_id": a["id"]},
            excluded_embed_metadata_keys=["article_id"],
            excluded_llm_metadata_keys=["article_id"],
        )
        for a in articles
    ]
    start = time.perf_counter()
    index = VectorStoreIndex.from_documents(
        documents,
        storage_context=StorageContext.from_defaults(vector_store=vector_store),
        embed_model=llama_index_embedding(embedder),
        show_progress=True,
    )
    seconds = time.perf_counter() - start
    stored: Any = client.get_collection("stock").get(include=["documents", "metadatas"])
    chunks = [
        Chunk(id=cid, source=str(meta["article_id"]), title=str(meta["title"]), date="",
              start=0, end=len(text), text=text)
        for cid, text, meta in zip(stored["ids"], stored["documents"], stored["metadatas"],
                                   strict=True)
    ]
    stats = {"chunks": len(chunks), "seconds": round(seconds, 1),
             "chunk_size": 1024, "chunk_overlap": 200}
    return index.as_retriever(similarity_top_k=CANDIDATES), chunks, stats


# --- one corpus size --------------------------------------------------------------------------


def run_size(
    label: str,
    articles: list[dict[str, Any]],
    questions: list[Question],
    root: Path,
    options: argparse.Namespace,
) -> dict[str, Any]:
    """Ingest, re-ingest, ask, score and compare at one corpus size; return the figures."""
    from qa.chunking import token_counter
    from qa.pipeline import Engine

    embedder = bundled_embedder()
    token_counter("cl100k_base")  # points tiktoken at its offline cache
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base")
    ids = {a["id"] for a in articles}
    asked = [q for q in questions if q.article_ids <= ids]
    corpus = write_subset(articles, root / "corpus")
    result: dict[str, Any] = {"size": label, "articles": len(articles), "questions": len(asked)}
    log.info("[%s] %d articles, %d answerable questions", label, len(articles), len(asked))

    settings = make_settings(corpus_dir=corpus, store_dir=root / "store", collection="bench")
    metered = MeteredEmbedder(embedder)
    engine = Engine(settings, embedder=metered)
    with PeakMemory() as memory:
        start = time.perf_counter()
        report = engine.ingest(progress=True)
        seconds = time.perf_counter() - start
    assert engine.retriever is not None
    chunk_texts = [c.text for c in engine.retriever.chunks.values()]
    tokens = embedder.count_tokens(chunk_texts)
    ingest: dict[str, Any] = {
        "chunks": len(chunk_texts),
        "embedded": report.embedded,
        "tokens": tokens,
        "seconds": round(seconds, 1),
        "chunks_per_s": round(len(chunk_texts) / seconds, 1),
        "tokens_per_s": round(tokens / seconds),
        "seconds_in_embedder": round(metered.seconds, 1),
        "overhead_in_run": round(seconds / metered.seconds, 3),
        "peak_rss_mb": round(memory.peak / 2**20),
    }
    ingest |= raw_embedder(embedder, chunk_texts, options.raw_sample, seconds, tokens)
    start = time.perf_counter()
    again = engine.ingest(progress=False)
    ingest["reingest_seconds"] = round(time.perf_counter() - start, 2)
    ingest["reingest_embedded"] = again.embedded
    result["ingest"] = ingest
    log.info("[%s] ingest %s", label, ingest)

    answers, latencies, ranked = ask_all(engine, asked)
    result["ask"] = percentiles(latencies)
    result["answers"] = answers
    result["retrieval"] = {name: retrieval_scores(r, encoding) for name, r in ranked.items()}
    result["cold_ask_s"] = cold_ask(settings, asked[0].question if asked else "Who won?")

    if options.stock:
        result["stock_pipeline"], stock_ranked = stock_rankings(articles, asked, embedder,
                                                                settings, root / "stock")
        result["retrieval"] |= {name: retrieval_scores(r, encoding)
                                for name, r in stock_ranked.items()}

    if options.server:
        result["server"] = server_mode(
            corpus, root / "chroma-server", MeteredEmbedder(embedder, stored_vectors(engine)),
            asked, answers["texts"],
        )
    answers.pop("texts")
    del engine, metered
    gc.collect()
    return result


def bundled_embedder() -> MiniLMEmbedder:
    """The bundled model, loaded in the process that measures it (`main` checked the setting)."""
    embedder = make_embedder(make_settings())
    if not isinstance(embedder, MiniLMEmbedder):
        raise TypeError("The benchmark measures the bundled MiniLM embedder")
    return embedder


def stored_vectors(engine: Any) -> dict[str, np.ndarray]:
    """Every stored passage's vector by its text, read back after the measured ingest (holding
    them during it would count in its peak memory)."""
    vectors: dict[str, np.ndarray] = {}
    offset = 0
    while True:
        page = engine.store.chunks.get(
            include=["documents", "embeddings"], limit=5000, offset=offset
        )
        if not page["ids"]:
            return vectors
        vectors.update(zip(page["documents"], page["embeddings"], strict=True))
        offset += len(page["ids"])


def stock_rankings(
    articles: list[dict[str, Any]],
    questions: list[Question],
    embedder: Embedder,
    settings: Settings,
    path: Path,
) -> tuple[dict[str, Any], dict[str, list[tuple[Question, list[Hit]]]]]:
    """The stock pipeline's ranking of each question, and our hybrid fusion (the same BM25 and
    RRF as the default) on the stock pipeline's own chunks and vectors, which separates what
    retrieval gains from what chunk size gains."""
    from qa.retrieve import bm25_ranking, build_bm25, fuse

    retriever, chunks, stock = build_stock(articles, embedder, path)
    by_id = {c.id: c for c in chunks}
    ids = list(by_id)
    bm25 = build_bm25(chunks)
    ranked: dict[str, list[tuple[Question, list[Hit]]]] = {"stock": [],
                                                            "hybrid-stock-chunks": []}
    latencies = []
    for q in tqdm(questions, desc="stock", unit="question", leave=False):
        start = time.perf_counter()
        nodes = retriever.retrieve(q.question)
        latencies.append(time.perf_counter() - start)
        dense = [(n.node.node_id, n.score or 0.0) for n in nodes]
        fused = fuse(by_id, dense, bm25_ranking(bm25, ids, q.question, CANDIDATES),
                     settings.rrf_k, settings.bm25_weight)
        ranked["stock"].append((q, [Hit(by_id[cid].source, by_id[cid].text)
                                    for cid, _ in dense]))
        ranked["hybrid-stock-chunks"].append((q, [Hit(s.chunk.source, s.chunk.text)
                                                  for s in fused]))
    stock["query"] = percentiles(latencies)
    return stock, ranked


def ingest_twice(engine: Any) -> tuple[Any, float, Any, float]:
    """Ingest, then ingest again unchanged: both reports and both times in seconds."""
    start = time.perf_counter()
    report = engine.ingest(progress=True)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    again = engine.ingest(progress=False)
    return report, seconds, again, time.perf_counter() - start


def scale_check(
    articles: list[dict[str, Any]], questions: list[Question], root: Path
) -> dict[str, Any]:
    """The store path at full size (stand-in passage vectors): re-ingest, ask latency, memory."""
    from qa.pipeline import Engine

    embedder = bundled_embedder()
    corpus = write_subset(articles, root / "corpus")
    settings = make_settings(corpus_dir=corpus, store_dir=root / "store", collection="scale")
    engine = Engine(settings, embedder=StandInEmbedder(embedder))
    with PeakMemory() as memory:
        report, seconds, again, reingest = ingest_twice(engine)
        engine.ask(questions[0].question)
        latencies = []
        for q in tqdm(questions, desc="scale ask", unit="question", leave=False):
            start = time.perf_counter()
            engine.ask(q.question)
            latencies.append(time.perf_counter() - start)
    result = {
        "articles": len(articles),
        "chunks": report.embedded,
        "ingest_seconds_without_model": round(seconds, 1),
        "reingest_seconds": round(reingest, 2),
        "reingest_embedded": again.embedded,
        "ask": percentiles(latencies),
        "peak_rss_mb": round(memory.peak / 2**20),
        "cold_load_s": cold_load(settings, embedder),
        "cold_load_rebuilt_s": cold_load(settings.model_copy(update={"cache_indexes": False}),
                                         embedder),
    }
    del engine
    gc.collect()
    return result


def cold_load(settings: Settings, embedder: Embedder) -> float:
    """Seconds for a new engine to serve an existing store: what a restarted process waits."""
    from qa.pipeline import Engine

    engine = Engine(settings, embedder=StandInEmbedder(embedder))
    start = time.perf_counter()
    engine.load()
    return round(time.perf_counter() - start, 2)


def raw_embedder(
    embedder: MiniLMEmbedder, texts: list[str], sample: int, seconds: float, tokens: int
) -> dict[str, Any]:
    """The embedder alone on the same chunk texts (every `step`-th when `sample` is smaller)."""
    step = max(1, len(texts) // sample) if sample else 1
    chosen = texts[::step]
    chosen_tokens = embedder.count_tokens(chosen)
    start = time.perf_counter()
    embedder.embed_passages(chosen)
    raw_seconds = time.perf_counter() - start
    raw_rate = chosen_tokens / raw_seconds
    return {
        "raw_chunks": len(chosen),
        "raw_tokens_per_s": round(raw_rate),
        "raw_chunks_per_s": round(len(chosen) / raw_seconds, 1),
        "overhead_vs_raw": round(seconds / (tokens / raw_rate), 3),
    }


def ask_all(
    engine: Any, questions: list[Question]
) -> tuple[dict[str, Any], list[float], dict[str, list[tuple[Question, list[Hit]]]]]:
    """Warm `ask()` on every question (timed, judged), then each retriever's ranking."""
    retriever = engine.retriever
    if questions:
        engine.ask(questions[0].question)  # warm-up: first-use imports and caches
    latencies: list[float] = []
    right = refused = 0
    texts: list[str] = []
    ranked: dict[str, list[tuple[Question, list[Hit]]]] = {"dense": [], "bm25": [], "hybrid": []}

    def hits(ids: list[str]) -> list[Hit]:
        return [Hit(article_id(retriever.chunks[i].source), retriever.chunks[i].text) for i in ids]

    for q in tqdm(questions, desc="ask", unit="question", leave=False):
        start = time.perf_counter()
        answer = engine.ask(q.question)
        latencies.append(time.perf_counter() - start)
        texts.append(answer.text)
        refused += answer.refused
        right += (not answer.refused) and judge(answer.text, q)
        dense = retriever.dense(q.question, CANDIDATES)
        ranked["dense"].append((q, hits([cid for cid, _ in dense])))
        ranked["bm25"].append((q, hits(retriever.sparse(q.question, CANDIDATES))))
        fused = retriever.retrieve(q.question, 2 * CANDIDATES)
        ranked["hybrid"].append(  # passages, which may be sections rather than stored chunks
            (q, [Hit(article_id(s.chunk.source), s.chunk.text) for s in fused])
        )
    n = max(len(questions), 1)
    answers = {
        "right": right,
        "refused": refused,
        "wrong": len(questions) - right - refused,
        "accuracy": round(right / n, 4),
        "accuracy_when_answered": round(right / max(len(questions) - refused, 1), 4),
        "texts": texts,
    }
    return answers, latencies, ranked


def cold_ask(settings: Settings, question: str) -> float:
    """Wall time of a fresh `qa ask` process on the built store (imports, load, answer)."""
    qa = Path(sys.executable).parent / "qa"
    command = [str(qa), "ask", "--corpus", str(settings.corpus_dir),
               "--store", str(settings.store_dir), question]
    env = {**os.environ, "QA_COLLECTION": settings.collection}
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        log.warning("qa ask exited with %d: %s", done.returncode, done.stderr[-1000:])
    return round(seconds, 2)


def server_mode(
    corpus: Path,
    path: Path,
    replay: MeteredEmbedder,
    questions: list[Question],
    embedded_answers: list[str],
) -> dict[str, Any]:
    """The same ingest and asks through a `chroma run` server that this starts and stops."""
    from qa.pipeline import Engine

    with chroma_server(path) as url:
        settings = make_settings(corpus_dir=corpus, chroma_url=url, collection="bench",
                                 store_dir=path.parent / "chroma-client")  # derived indexes
        engine = Engine(settings, embedder=replay)
        report, seconds, again, reingest = ingest_twice(engine)
        if questions:
            engine.ask(questions[0].question)
        latencies, same = [], 0
        pairs = zip(questions, embedded_answers, strict=True)
        for q, before in tqdm(pairs, total=len(questions), desc="server ask", leave=False):
            start = time.perf_counter()
            answer = engine.ask(q.question)
            latencies.append(time.perf_counter() - start)
            same += answer.text == before
    return {
        "ingest_seconds": round(seconds, 1),
        "ingest_seconds_in_embedder": round(replay.seconds, 1),
        "chunks_written": report.embedded,
        "passages_embedded_anew": replay.passages,
        "reingest_seconds": round(reingest, 2),
        "reingest_embedded": again.embedded,
        "ask": percentiles(latencies),
        "same_answers_as_embedded": f"{same}/{len(questions)}",
    }


# --- report -----------------------------------------------------------------------------------


def targets(report: dict[str, Any], total_articles: int) -> list[dict[str, Any]]:
    """The issue's targets. Ingest speed and hit@5 come from the largest size run; re-ingest,
    ask p95 and memory from the full corpus: that size when it ran, else the scale check."""
    results, scale = report["sizes"], report.get("scale")
    if not results:
        return []
    last = results[-1]
    real = f"{last['articles']:,} articles"
    if last["articles"] == total_articles or not scale:
        full, full_where = last["ingest"] | {"ask": last["ask"]}, real
        full_ok = last["articles"] == total_articles
    else:
        full, full_where = scale, f"{scale['articles']:,} articles, stand-in passage vectors"
        full_ok = True
    ingest, retrieval = last["ingest"], last["retrieval"]
    p95 = full["ask"].get("p95_ms", float("inf"))
    rows = [
        ("ingestion overhead ≤ 1.2× raw embedder", ingest["overhead_vs_raw"], real,
         ingest["overhead_vs_raw"] <= 1.2),
        ("unchanged re-ingest of the full corpus ≤ 5 s, 0 embedded",
         f"{full['reingest_seconds']} s, {full['reingest_embedded']} embedded", full_where,
         full_ok and full["reingest_seconds"] <= 5 and full["reingest_embedded"] == 0),
        ("warm ask() p95 ≤ 150 ms at the full corpus", f"{p95} ms", full_where,
         full_ok and p95 <= 150),
        ("peak memory ≤ 3 GB at the full corpus",
         f"{max(full['peak_rss_mb'], ingest['peak_rss_mb']):,} MB", full_where,
         full_ok and max(full["peak_rss_mb"], ingest["peak_rss_mb"]) <= 3072),
    ]
    if retrieval.get("stock") and retrieval.get("hybrid"):
        gain = retrieval["hybrid"]["hit@5"] - retrieval["stock"]["hit@5"]
        rows.append(("hybrid hit@5 ≥ stock llama-index + 5 points",
                     f"{100 * gain:+.1f} points", real, gain >= 0.05))
    if retrieval.get("stock") and retrieval.get("hybrid-stock-chunks"):
        gain = retrieval["hybrid-stock-chunks"]["hit@5"] - retrieval["stock"]["hit@5"]
        rows.append(("(same chunks) hybrid on stock's chunks hit@5 ≥ stock + 5 points",
                     f"{100 * gain:+.1f} points", real, gain >= 0.05))
    return [{"target": name, "value": value, "where": where, "met": bool(met)}
            for name, value, where, met in rows]


def write_markdown(report: dict[str, Any], path: Path) -> None:
    """The human-readable tables of a run."""
    lines = [
        f"# Benchmark: {report['corpus']}",
        "",
        f"Run {report['finished']} on {report['machine']['cpu']} ({report['machine']['cores']} "
        f"cores), embedder `{report['embedder']['name']}`. Command: `{report['command']}`",
        "",
        "## Ingestion, latency, answers",
        "",
        "| articles | questions | chunks | ingest s | chunks/s | tokens/s | raw embedder "
        "tokens/s | overhead vs raw | peak RSS MB | re-ingest s (embedded) | ask p50 / p95 ms "
        "| cold `qa ask` s | accuracy | refused |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["sizes"]:
        i, a, ans = r["ingest"], r["ask"], r["answers"]
        lines.append(
            f"| {r['articles']:,} | {r['questions']} | {i['chunks']:,} | {i['seconds']} | "
            f"{i['chunks_per_s']} | {i['tokens_per_s']:,} | {i['raw_tokens_per_s']:,} | "
            f"{i['overhead_vs_raw']}× | {i['peak_rss_mb']:,} | {i['reingest_seconds']} "
            f"({i['reingest_embedded']}) | {a.get('p50_ms')} / {a.get('p95_ms')} | "
            f"{r['cold_ask_s']} | {ans['accuracy']:.2f} ({ans['right']}/{r['questions']}) | "
            f"{ans['refused']} |"
        )
    lines += [
        "",
        "## Retrieval on the answerable questions (answer-bearing passages)",
        "",
        "| articles | system | hit@1 | hit@5 | hit@10 | MRR@10 | hit in 1,280 tok | "
        "hit in 2,560 tok |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["sizes"]:
        for name in SYSTEMS:
            m = r["retrieval"].get(name)
            if m:
                lines.append(
                    f"| {r['articles']:,} | {SYSTEM_NAMES.get(name, name)} | {m['hit@1']:.2f} | "
                    f"{m['hit@5']:.2f} | "
                    f"{m['hit@10']:.2f} | {m['mrr@10']:.2f} | {m['hit@1280tok']:.2f} | "
                    f"{m['hit@2560tok']:.2f} |"
                )
    stock_rows = [r for r in report["sizes"] if "stock_pipeline" in r]
    if stock_rows:
        lines += ["", "Stock llama-index pipeline (SentenceSplitter 1024/200, same MiniLM, "
                  "Chroma): ", ""]
        lines += [f"- {r['articles']:,} articles: {r['stock_pipeline']['chunks']:,} chunks, "
                  f"built in {r['stock_pipeline']['seconds']} s, query p50 "
                  f"{r['stock_pipeline']['query'].get('p50_ms')} ms" for r in stock_rows]
    server_rows = [r for r in report["sizes"] if "server" in r]
    if server_rows:
        lines += [
            "", "## Chroma server mode (`chroma run` on 127.0.0.1, started and stopped by the "
            "run; vectors replayed from the embedded ingest, so this is the store path)", "",
            "| articles | ingest s | re-ingest s (embedded) | ask p50 / p95 ms | same answers |",
            "|---|---|---|---|---|",
        ]
        for r in server_rows:
            s = r["server"]
            lines.append(
                f"| {r['articles']:,} | {s['ingest_seconds']} | {s['reingest_seconds']} "
                f"({s['reingest_embedded']}) | {s['ask'].get('p50_ms')} / "
                f"{s['ask'].get('p95_ms')} | {s['same_answers_as_embedded']} |"
            )
    scale = report.get("scale")
    if scale:
        lines += [
            "", "## Full-corpus scale check (store path: passages get stand-in vectors, questions "
            "the real model; the dense ranking is meaningless, the timings are not)", "",
            f"- {scale['articles']:,} articles, {scale['chunks']:,} chunks; ingest without the "
            f"model {scale['ingest_seconds_without_model']} s; unchanged re-ingest "
            f"{scale['reingest_seconds']} s ({scale['reingest_embedded']} embedded); warm ask "
            f"p50 / p95 {scale['ask'].get('p50_ms')} / {scale['ask'].get('p95_ms')} ms; peak RSS "
            f"{scale['peak_rss_mb']:,} MB.",
        ]
        if "cold_load_s" in scale:
            lines.append(
                f"- A new engine serving this store (a restarted chat window, a cold `qa ask` "
                f"after its imports): {scale['cold_load_s']} s with the saved indexes, "
                f"{scale['cold_load_rebuilt_s']} s reading every chunk back and rebuilding."
            )
        if "scale_command" in report:
            lines.append(f"- Measured by `{report['scale_command']}`.")
    e = report["embedder"]
    lines += [
        "", "## Embedder against the machine's arithmetic", "",
        f"- {e['flops_per_token'] / 1e6:.1f} MFLOP per word piece (mean passage "
        f"{e['mean_tokens']:.0f} word pieces); fp32 matrix-product peak "
        f"{e['peak_gflops']:.0f} GFLOP/s on {e['threads']} cores (numpy's BLAS on one core, "
        "times the cores).",
        f"- Raw embedder {e['tokens_per_s']:,} tokens/s = {e['gflops']:.0f} GFLOP/s, "
        f"{100 * e['utilisation']:.0f}% of that peak (ceiling {e['ceiling_tokens_per_s']:,} "
        "tokens/s).",
        "", "## Targets", "", "| target | value | met |", "|---|---|---|",
    ]
    lines += [f"| {t['target']} | {t['value']} ({t['where']}) | {'yes' if t['met'] else 'no'} |"
              for t in report["targets"]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_chart(report: dict[str, Any], path: Path) -> None:
    """Three panels: hit@5 and budget hits per system, ask latency, ingestion tokens/s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = report["sizes"]
    labels = [f"{r['articles']:,}" for r in sizes]
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.5))
    width = 0.8 / len(SYSTEMS)
    x = np.arange(len(sizes))
    for n, name in enumerate(SYSTEMS):
        values = [r["retrieval"].get(name, {}).get("hit@5", 0.0) for r in sizes]
        budget = [r["retrieval"].get(name, {}).get("hit@1280tok", 0.0) for r in sizes]
        bars = left.bar(x + n * width, values, width, label=f"{SYSTEM_NAMES.get(name, name)} hit@5")
        left.scatter(x + n * width, budget, color=bars.patches[0].get_facecolor(),
                     edgecolor="black", zorder=3, marker="D", s=22)
    left.set_xticks(x + 0.4 - width / 2, labels)
    left.set_ylim(0, 1.2)
    left.set_title("answer-bearing hit@5 (bars), hit in 1,280 tokens (◆)")
    left.set_xlabel("articles")
    left.legend(fontsize=7, loc="upper left", ncol=2)
    middle.plot(x, [r["ask"].get("p50_ms", 0) for r in sizes], marker="o", label="p50")
    middle.plot(x, [r["ask"].get("p95_ms", 0) for r in sizes], marker="o", label="p95")
    if any("server" in r for r in sizes):
        middle.plot(x, [r.get("server", {}).get("ask", {}).get("p95_ms", 0) for r in sizes],
                    marker="s", linestyle="--", label="p95, Chroma server")
    scale = report.get("scale")
    if scale:
        middle.plot([len(sizes)], [scale["ask"].get("p95_ms", 0)], marker="*", markersize=12,
                    linestyle="none", label=f"p95 at {scale['articles']:,} (scale check)")
        labels_mid = [*labels, f"{scale['articles']:,}"]
    else:
        labels_mid = labels
    middle.set_xticks(np.arange(len(labels_mid)), labels_mid)
    middle.axhline(150, color="grey", linestyle=":", label="target p95 150 ms")
    middle.set_title("warm ask() latency (ms)")
    middle.set_xlabel("articles")
    middle.legend(fontsize=8)
    right.bar(x - 0.2, [r["ingest"]["tokens_per_s"] for r in sizes], 0.4, label="pipeline")
    right.bar(x + 0.2, [r["ingest"]["raw_tokens_per_s"] for r in sizes], 0.4, label="raw embedder")
    right.axhline(report["embedder"]["ceiling_tokens_per_s"], color="grey", linestyle=":",
                  label="arithmetic ceiling")
    right.set_xticks(x, labels)
    right.set_title("ingestion word pieces / s")
    right.set_xlabel("articles")
    right.legend(fontsize=8)
    fig.suptitle(f"{report['corpus']}: {report['finished']}, {report['machine']['cores']} cores")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def embedder_figures(results: list[dict[str, Any]], threads: int) -> dict[str, Any]:
    """Raw embedder speed against what MiniLM's arithmetic allows on this machine."""
    last = results[-1]["ingest"]
    mean_tokens = last["tokens"] / max(last["chunks"], 1)
    flops = flops_per_token(mean_tokens)
    peak = measured_peak_flops(threads)
    rate = last["raw_tokens_per_s"]
    return {
        "flops_per_token": flops,
        "mean_tokens": round(mean_tokens, 1),
        "threads": threads,
        "peak_gflops": round(peak / 1e9, 1),
        "tokens_per_s": rate,
        "gflops": round(rate * flops / 1e9, 1),
        "utilisation": round(rate * flops / peak, 3),
        "ceiling_tokens_per_s": round(peak / flops),
    }


def write_report(report: dict[str, Any], out: Path) -> None:
    """bench.json, bench.md and bench.png, rewritten after every step."""
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_markdown(report, out / "bench.md")
    write_chart(report, out / "bench.png")


# --- command ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="qa bench", description="Benchmark ingestion, latency, retrieval and answers on a "
        "corpus with questions (RealTimeQA layout), against llama-index's stock pipeline, also "
        "through a Chroma server. Writes bench.json, bench.md and bench.png.",
    )
    parser.add_argument("--corpus", type=Path, required=True,
                        help="folder with articles.jsonl(.gz) and questions.jsonl")
    parser.add_argument("--questions", type=Path, help="default: <corpus>/questions.jsonl")
    parser.add_argument("--sizes", default="1000,3000,all",
                        help="comma-separated article counts, or 'all' (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "evals" / "bench",
                        help="where to write the results (default: evals/bench)")
    parser.add_argument("--work", type=Path, help="folder for stores (default: a temp folder, "
                        "removed at the end)")
    parser.add_argument("--raw-sample", type=int, default=1000,
                        help="chunks the raw embedder is timed on (0 = all; default %(default)s)")
    parser.add_argument("--no-stock", dest="stock", action="store_false",
                        help="skip the stock llama-index baseline")
    parser.add_argument("--no-server", dest="server", action="store_false",
                        help="skip Chroma server mode")
    parser.add_argument("--no-scale", dest="scale", action="store_false",
                        help="skip the full-corpus scale check (store path with stand-in passage "
                        "vectors) that runs when no size is the full corpus")
    parser.add_argument("--scale-only", action="store_true",
                        help="run only the scale check and add it to the bench.json in --out")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def start_process(verbose: bool) -> None:
    """Logging and the offline guard, in the benchmark's process and in each it starts."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(message)s")
    for noisy in ("bm25s", "httpx", "chromadb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    enforce_offline()


def in_fresh_process(
    verbose: bool, task: Callable[..., dict[str, Any]], *args: Any
) -> dict[str, Any]:
    """Run one measured part in a new process, so its peak memory is its own: what earlier
    sizes freed stays in the benchmark process's resident set, which counted in later peaks."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=start_process,
                             initargs=(verbose,)) as pool:
        return pool.submit(task, *args).result()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return 0, or 2 when the corpus or a size is unusable. With
    `--answers`, the answer benchmark (`qa.readbench`) runs instead; with `--calibrate`, the fit
    of the reader's confidence (`qa.calibrate`)."""
    if "--answers" in (sys.argv[1:] if argv is None else argv):
        from qa.readbench import main as answers_main

        return answers_main(argv)
    if "--calibrate" in (sys.argv[1:] if argv is None else argv):
        from qa.calibrate import main as calibrate_main

        return calibrate_main(argv)
    options = parse_args(argv)
    start_process(options.verbose)
    corpus = options.corpus
    questions_path = options.questions or corpus / "questions.jsonl"
    if not corpus.is_dir() or not questions_path.exists():
        log.error("Need a folder with articles.jsonl(.gz) and %s", questions_path.name)
        return 2
    articles = load_articles(corpus)
    questions = load_questions(questions_path)
    try:
        sizes = [len(articles) if s.strip() == "all" else min(int(s), len(articles))
                 for s in options.sizes.split(",")]
    except ValueError:
        log.error("--sizes takes article counts or 'all', e.g. 1000,3000,all")
        return 2
    settings = make_settings()
    if settings.embedder != "minilm-int8":
        log.error("The benchmark measures the bundled MiniLM embedder (QA_EMBEDDER=minilm-int8)")
        return 2
    options.out.mkdir(parents=True, exist_ok=True)
    work = options.work or Path(tempfile.mkdtemp(prefix="qa-bench-"))
    command = "python -m qa.bench " + " ".join(sys.argv[1:] if argv is None else argv)
    previous = options.out / "bench.json"
    if options.scale_only and not previous.exists():
        log.error("--scale-only adds to an existing %s; there is none", previous)
        return 2
    report: dict[str, Any] = json.loads(previous.read_text()) if options.scale_only else {
        "corpus": corpus.resolve().name,
        "command": command,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(),
                    "python": platform.python_version()},
        "settings": {"chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap,
                     "candidates": settings.candidates, "top_k": settings.top_k,
                     "embed_threads": settings.embed_threads},
        "sizes": [],
    }
    if options.scale_only:
        sizes, report["scale_command"] = [], command
    try:
        for size in sizes:
            label = "all" if size == len(articles) else str(size)
            root = work / f"size-{size}"
            shutil.rmtree(root, ignore_errors=True)
            started = time.perf_counter()
            result = in_fresh_process(options.verbose, run_size, label, articles[:size],
                                      questions, root, options)
            result["wall_seconds"] = round(time.perf_counter() - started, 1)
            report["sizes"].append(result)
            report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
            report["embedder"] = {"name": MiniLMEmbedder.name,
                                  **embedder_figures(report["sizes"], settings.embed_threads)}
            report["targets"] = targets(report, len(articles))
            write_report(report, options.out)
            log.info("[%s] done in %.0f s; wrote %s", label, result["wall_seconds"], options.out)
            shutil.rmtree(root, ignore_errors=True)
        if options.scale and max(sizes, default=0) < len(articles):
            root = work / "scale"
            report["scale"] = in_fresh_process(options.verbose, scale_check, articles,
                                               questions, root)
            report["targets"] = targets(report, len(articles))
            write_report(report, options.out)
            log.info("[scale] %s", report["scale"])
            shutil.rmtree(root, ignore_errors=True)
    finally:
        if options.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
