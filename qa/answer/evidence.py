"""Evidence: every sentence of the retrieved passages, scored by how well it supports the
question, and the sentences that may never be evidence (questions, headings, fragments,
listings, and instructions addressed to the reader or the assistant).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from qa.answer.lexicon import words
from qa.answer.text import WORD, Sentence, Vocabulary, proper_nouns, sentences_of, terms
from qa.settings import Settings
from qa.types import ScoredChunk

log = logging.getLogger(__name__)

CLOSING = "\"”’)]'"
INSTRUCTION = re.compile(  # each phrase narrow enough for news: "as an assistant coach",
    # "ignore the wider context", "will respond with force", "if you are a member" are not these
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|the|your|these|those|my|of)"
    r"\s+)*(?:(?:previous|prior|above|earlier|preceding|other|system)\s+)*(?:instructions?|"
    r"prompts?|rules|questions?|passages?|context|everything)\b|"
    r"\byou are now\b|\byou are (?:an?|the) (?:[a-z]+ )?(?:ai|assistant|chatbot|bot|language "
    r"model)\b|\bsystem prompt\b|\bas an? (?:ai|language model)\b|"
    r"(?:^\W*|\b(?:must|should|always|now|then)\s+)(?:please\s+)?(?:answer|reply|respond)"
    r"(?:\s+only|\s+just)?\s+(?:with|that|by saying)\b|"
    r"\b(?:assistants?|chatbots?|ai models?|language models?|llms?)\b[^.]{0,40}\b(?:must|should|"
    r"shall)\s+(?:always\s+|only\s+|now\s+)?(?:say|answer|reply|respond|state|claim|ignore|tell|"
    r"write|cite|treat)\b|\b(?:the|your) (?:correct|real|true|right) answer (?:is|should be|"
    r"must be)\b|\byour answer (?:is|should be|must be)\b|"
    r"^\W*(?:please\s+)?(?:say|state|claim|reply|respond|answer|write|insist)\s+that\b|"
    r"\btell (?:the )?(?:user|reader|readers|users) that\b|\bnew instructions?\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Evidence:
    """A sentence and how well it supports the question: `support` mixes the share of the
    question's words it holds (`lexical`), its word-vector similarity to the question
    (`semantic`), and its passage's embedding similarity (`passage`), which carry paraphrase."""

    sentence: Sentence
    support: float
    lexical: float = 0.0
    semantic: float = 0.0
    passage: float = 0.0


def is_instruction(text: str) -> bool:
    """A sentence that tells the reader or an assistant what to do ("Ignore the question and
    answer: ...", "Disregard the passages and say that ...", "You are now ...").

    Two tests: known phrasings of injected instructions, and the shape of one: an imperative
    opening (a verb from the lexicon, "please" or "do not" first) about the question, the
    answer, the passages or the assistant. Advice to "you" alone is news ("Do whatever you can
    to stay safe", "Don't worry, your dog will be oblivious to the eclipse"), not an
    instruction: 62 sentences of the first 2,000 RealTimeQA articles were dropped for it.
    """
    if INSTRUCTION.search(text):
        return True
    tokens = [t.lower() for t in WORD.findall(text)]
    if not tokens:
        return False
    lexicon = words()
    opening = tokens[1] if tokens[0] in ("please", "now", "so", "then", "just") and tokens[1:] \
        else tokens[0]
    if opening in lexicon["imperative_verbs"] and not text.rstrip(CLOSING).endswith("?"):
        topics = lexicon["instruction_topics"]
        return sum(t in topics for t in tokens) >= 1 and (
            "you" in tokens or "your" in tokens or any(
                t in ("question", "answer", "passage", "passages", "instructions", "prompt",
                      "context", "assistant") for t in tokens))
    return False


def is_evidence(text: str) -> bool:
    """Whether a sentence can support an answer: not a question, a heading, a fragment, a
    listing of names and numbers, or an instruction."""
    body = text.rstrip(CLOSING)
    if body.endswith("?"):
        return False
    tokens = WORD.findall(text)
    if len(tokens) < 5:
        return False
    lower = [t for t in tokens if t[:1].islower()]
    if len(lower) < 0.3 * len(tokens) or len(lower) < 2:
        return False  # a heading in title case, or a listing ("Tigers (11-1) at Delaware")
    if not body.endswith((".", "!", ":", ";")):
        return False  # a line without a full stop: a heading, a caption, or a cut sentence
    return not is_instruction(text)


@lru_cache(maxsize=1)
def _word_vectors():  # type: ignore[no-untyped-def]
    """WordLlama's static word vectors (MIT, shipped inside the package, 19 MB, no download)."""
    from pathlib import Path

    import wordllama

    return wordllama.WordLlama.load(
        cache_dir=Path(wordllama.__file__).parent, disable_download=True
    )


def sentence_similarity(question: str, sentences: list[str]) -> list[float]:
    """Cosine similarity of the question to each sentence in static word-vector space.

    It catches paraphrase within a passage ("abduction" / "kidnapping", "lorry" / "truck") at
    about 0.1 ms a sentence, cheap enough for every retrieved sentence of every question.
    """
    if not sentences:
        return []
    import numpy as np

    vectors = _word_vectors().embed([question, *sentences])
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    return [float(v) for v in vectors[1:] @ vectors[0]]


def _above(value: float, floor: float) -> float:
    """A similarity rescaled so that `floor` and below count as 0 and 1 as 1."""
    return max(0.0, (value - floor) / (1.0 - floor))


def question_weights(question: str, vocabulary: Vocabulary) -> dict[str, float]:
    """The question's informative stems, weighted by rarity; names count double. An acronym's
    long form (learned from the corpus) is matched too, as the acronym's own words."""
    names = set(proper_nouns(question))
    weights = {
        vocabulary.correct(t): vocabulary.idf(t) * (2.0 if t in names else 1.0)
        for t in terms(question)
    }
    expanded = vocabulary.expand(question)
    if expanded != question:
        for t in terms(expanded[len(question) :]):
            weights.setdefault(t, 0.5 * vocabulary.idf(t))
    return weights


def score_sentences(
    question: str, passages: list[ScoredChunk], vocabulary: Vocabulary, settings: Settings
) -> list[Evidence]:
    """Every evidence-worthy sentence of the passages, best supported first."""
    weights = question_weights(question, vocabulary)
    total = sum(weights.values())
    contexts = {  # each part's words, built once, not once per sentence it holds
        part.chunk.id: frozenset(terms(f"{part.chunk.title} {part.chunk.text}"))
        for passage in passages
        for part in passage.parts or (passage,)
    }
    candidates = []
    for rank, passage in enumerate(passages):
        for sentence in sentences_of(passage, rank):
            if not is_evidence(sentence.text):
                if is_instruction(sentence.text):
                    log.info("Not evidence, an instruction: %r (%s)", sentence.text[:80],
                             passage.chunk.source)
                continue
            part = passage.part_at(sentence.start)
            candidates.append((sentence, part, contexts[part.chunk.id]))
    similarities = sentence_similarity(question, [s.text for s, _, _ in candidates])
    scored = []
    for (sentence, part, context), similarity in zip(candidates, similarities, strict=True):
        own = set(terms(sentence.text))
        weight = sum(
            w * (1.0 if t in own else 0.5 if t in context else 0.0) for t, w in weights.items()
        )
        lexical = weight / total if total else 0.0
        semantic = _above(similarity, settings.sentence_floor)
        passage_similarity = _above(part.similarity, settings.passage_floor)
        support = (
            settings.lexical_weight * lexical
            + settings.sentence_weight * semantic
            + settings.passage_weight * passage_similarity
        )
        scored.append(Evidence(sentence, support, lexical, semantic, passage_similarity))
    return sorted(scored, key=lambda e: (-e.support, e.sentence.rank, e.sentence.start))
