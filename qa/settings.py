"""The one typed settings object: every tunable of the pipeline, read from `QA_*` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Settings for ingest, retrieval, answering and the front doors (env prefix `QA_`)."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="forbid", frozen=True)

    corpus_dir: Path = Field(
        PROJECT_ROOT / "corpus", description="Folder of articles (.txt, .md, .html, .jsonl)."
    )
    store_dir: Path = Field(
        PROJECT_ROOT / "store", description="Folder of the embedded Chroma store."
    )
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (e.g. http://127.0.0.1:8000); unset = embedded."
    )
    collection: str = Field("newsdesk", description="Name prefix of the Chroma collections.")

    embedder: Literal["minilm-int8", "openai"] = Field(
        "minilm-int8",
        description="Embedding backend: the bundled int8 all-MiniLM-L6-v2 (ONNX, offline) or an "
        "OpenAI-compatible /v1/embeddings endpoint.",
    )
    embed_base_url: str | None = Field(None, description="Base URL of the embedding endpoint.")
    embed_model: str = Field("text-embedding-3-small", description="Model name at that endpoint.")
    embed_api_key: str = Field("not-needed", description="API key for the embedding endpoint.")
    embed_batch_size: int = Field(32, ge=1, description="Passages embedded per model call.")
    embed_threads: int = Field(2, ge=1, description="CPU threads for the ONNX embedder.")
    embed_max_tokens: int = Field(
        256, ge=16, description="Word pieces the embedder reads per passage (MiniLM's limit)."
    )

    chunk_size: int = Field(
        192, ge=32, description="Chunk size in tiktoken tokens; fits MiniLM's 256 word pieces."
    )
    chunk_overlap: int = Field(32, ge=0, description="Tokens shared by neighbouring chunks.")
    tokenizer_encoding: str = Field(
        "cl100k_base", description="tiktoken encoding that counts chunk tokens (ships offline)."
    )

    top_k: int = Field(5, ge=1, le=50, description="Passages handed to the answerer.")
    candidates: int = Field(
        30, ge=1, description="Candidates each retriever (dense, BM25) returns before fusion."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")

    min_support: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Share of the question's informative words (weighted by rarity) that the "
        "best evidence must contain; below it the answer is a refusal.",
    )
    max_answer_sentences: int = Field(2, ge=1, description="Sentences in an extractive answer.")
    max_question_chars: int = Field(
        1000, ge=10, description="Longest question accepted, in characters."
    )

    answerer: Literal["extractive", "local", "openai"] = Field(
        "extractive", description="Answer backend: sentence extraction, local LLM, or endpoint."
    )
