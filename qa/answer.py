"""Stage 5: answers from retrieved passages, with citations whose quotes are exact article spans.

The extractive answerer picks the sentences that answer the question: those that hold the most
of the question's informative words (weighted by rarity in the corpus) and, for "how much",
"how many", "when", "who" and "where" questions, an amount, a number, a date, a name or a place.
Whether to answer at all is decided here, in code, from that evidence: below `min_support` the
answer is the refusal and cites nothing.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from qa.errors import QuestionError
from qa.retrieve import english_stemmer, split_question
from qa.settings import Settings
from qa.types import Answer, Chunk, Citation, ScoredChunk

REFUSAL_TEXT = "The articles don't cover this: I found nothing in them that answers the question."

WORD = re.compile(r"(?:[A-Za-z]\.){2,}|[A-Za-z][A-Za-z'’]*[A-Za-z]|\d[\d,.]*\d|[A-Za-z0-9]")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+(?=[\"“‘(\[A-Z0-9])|\n+")
ABBREVIATION = re.compile(
    r"(?:\b[A-Z]\.|\b(?:Mr|Mrs|Ms|Dr|Gen|Lt|Col|Capt|Sgt|Prof|St|Jr|Sr|No|Inc|Ltd|Co|vs|etc|"
    r"Rep|Sen|Gov|Maj|Adm|Brig|Hon)\.)$"
)
QUESTION_WORDS = {
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "much",
    "many",
    "did",
    "does",
    "do",
    "was",
    "were",
    "is",
    "are",
    "has",
    "have",
    "had",
    "according",
    "tell",
    "say",
    "said",
    "article",
    "articles",
    "name",
    "named",
    "kind",
    "type",
    "year",
    "date",
    "day",
}
ALIASES = {
    "u.s": "usa",
    "u.s.": "usa",
    "us": "usa",
    "usa": "usa",
    "america": "usa",
    "american": "usa",
    "americans": "usa",
    "u.k": "uk",
    "u.k.": "uk",
    "uk": "uk",
    "britain": "uk",
    "british": "uk",
    "kenyan": "kenya",
    "kenyans": "kenya",
    "haitian": "haiti",
    "somali": "somalia",
    "shilling": "sh",
    "shillings": "sh",
    "ksh": "sh",
    "kes": "sh",
}
TYPE_WORDS = ("where", "when", "which", "what", "who", "how", "much", "many")

MONTHS = (
    r"January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
WEEKDAYS = r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
NUMBER_WORDS = (
    r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|dozen|dozens|hundreds|thousands"
)
ANSWER_PATTERNS = {
    "amount": re.compile(
        r"[$£€]\s?\d|\b(?:Sh|Ksh|KES|USD|US\$)\s?\d|\d[\d,.]*\s?(?:million|billion|trillion|"
        r"dollars|shillings|pounds|euros|bn|m)\b",
        re.IGNORECASE,
    ),
    "number": re.compile(rf"\b\d[\d,.]*\b|\b(?:{NUMBER_WORDS})\b", re.IGNORECASE),
    "year": re.compile(r"\b(?:19|20)\d\d\b"),
    "date": re.compile(
        rf"\b(?:{MONTHS})\b|\b(?:{WEEKDAYS})\b|\b(?:19|20)\d\d\b|\b(?:yesterday|today|"
        r"last (?:week|month|year)|next (?:week|month|year))\b"
    ),
    "person": re.compile(
        r"\b(?:President|Secretary|Minister|Gen|General|Dr|Mr|Ms|Mrs|CS|Chairman|Chief|"
        r"Spokesman|Colonel|Lieutenant)\b\.?(?:\s+[A-Z][\w.]*)*|(?<=\w\s)[A-Z][a-z]+(?:\s+[A-Z]\.)?"
        r"(?:\s+[A-Z][a-z]+)+"
    ),
    "place": re.compile(r"(?<=\w\s)[A-Z][A-Za-z]+(?:\s+(?:of\s+)?[A-Z][A-Za-z]+)*"),
}


NOT_A_PLACE = rf"{MONTHS}|{WEEKDAYS}|Department|Ministry|Forces|Force|Council|Agency|Army|Unit|"
NOT_A_NAME = {
    "place": re.compile(rf"\b(?:{NOT_A_PLACE}Command|Mission|Operation|Office|Guard|Forum)\b"),
    "person": re.compile(
        rf"\b(?:{NOT_A_PLACE}Command|Mission|Operation|Office|Guard|Forum|Union|Nations|States|"
        r"Republic|Centre|Center)\b"
    ),
}


def check_question(question: object, settings: Settings) -> str:
    """The question, stripped; a `QuestionError` (a ValueError) saying what is wrong otherwise."""
    if not isinstance(question, str):
        raise QuestionError(f"The question must be text, not {type(question).__name__}.")
    text = " ".join(question.split())
    if not text:
        raise QuestionError("The question is empty: type a question about the articles.")
    if len(text) > settings.max_question_chars:
        raise QuestionError(
            f"The question is {len(text):,} characters long; the limit is "
            f"{settings.max_question_chars:,}. Ask it in fewer words."
        )
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("The question has no words in it: type a question about the articles.")
    return text


ROLE_NOUNS = (
    r"general|minister|secretary|official|officials|commander|president|leader|"
    r"spokesman|spokesperson|chief|person|officer|counterpart|chairman|head"
)
PLACE_NOUNS = r"city|country|countries|town|place|base|region|site|camp|port|nation"
TYPE_CUES = {
    "amount": r"\bhow much\b|\b(?:what|which)\s+(?:\w+\s+){0,2}(?:sum|amount|price|cost|figure)\b"
    r"|\bcost\b|\bworth\b|\bamount\b|\bprice\b|\bsum\b",
    "number": r"\bhow many\b|\b(?:what|which) number of\b|\bnumber of\b|\bhow long\b|"
    r"\bhow old\b",
    "year": r"\b(?:what|which) year\b|\buntil when\b|\bsince when\b",
    "date": r"\bwhen\b|\b(?:what|which) (?:date|day|month|time)\b",
    "person": rf"\bwho\b|\bwhom\b|\bwhose\b|\b(?:which|what)\s+(?:\w+\s+){{0,3}}(?:{ROLE_NOUNS})\b",
    "place": rf"\bwhere\b|\b(?:which|what)\s+(?:\w+\s+){{0,3}}(?:{PLACE_NOUNS})\b",
    "thing": r"\b(?:what|which)\b",
}


def answer_type(question: str) -> str | None:
    """The kind of answer a question asks for (amount, number, year, date, person, place or
    None), from its earliest cue: "What tragedy ... when ..." asks for a thing, not a date."""
    q = " ".join(_fix_type_word(w) for w in question.lower().split())
    found = [
        (m.start(), order, kind)
        for order, (kind, cue) in enumerate(TYPE_CUES.items())
        if (m := re.search(cue, q))
    ]
    kind = min(found)[2] if found else None
    return None if kind == "thing" else kind


def _fix_type_word(word: str) -> str:
    """'wher' → 'where', 'mch' → 'much': a misspelt question word still sets the answer type."""
    if word in TYPE_WORDS or len(word) < 3:
        return word
    close = difflib.get_close_matches(word, TYPE_WORDS, n=1, cutoff=0.75)
    return close[0] if close else word


def offers(kind: str | None, sentence: str, asked: set[str]) -> bool:
    """Whether the sentence holds an answer of the kind asked for that the question does not
    already name ("in Kenya" does not answer "where in Kenya ...")."""
    if kind is None:
        return True
    for match in ANSWER_PATTERNS[kind].finditer(sentence):
        if kind in NOT_A_NAME and NOT_A_NAME[kind].search(match.group()):
            continue
        words = set(terms(match.group()))
        if not words or words - asked:
            return True
    return False


def counted_nouns(question: str) -> set[str]:
    """For "how many X Y ...", the stems of X and Y: the number must count one of them."""
    match = re.search(r"\bhow many\s+(\S+)(?:\s+(\S+))?", question.lower())
    return set(terms(" ".join(g for g in match.groups() if g))) if match else set()


def counts(sentence: str, nouns: set[str]) -> bool:
    """Whether a number in the sentence is followed, within three words, by one of the nouns."""
    for match in ANSWER_PATTERNS["number"].finditer(sentence):
        following = sentence[match.end() :].split()[:3]
        if nouns & set(terms(" ".join(following))):
            return True
    return False


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) | QUESTION_WORDS


@lru_cache(maxsize=65536)
def terms(text: str) -> tuple[str, ...]:
    """Stemmed informative words; U.S./US/America and U.K./UK/Britain fold to one token each.

    Cached: the same passages and sentences come back question after question.
    """
    return tuple(stem for word in WORD.findall(text) if (stem := _term(word)))


@lru_cache(maxsize=2**18)
def _term(raw: str) -> str:
    """One word's stem, or "" for a stop word; cached, since a corpus repeats its words."""
    word = raw.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    alias = ALIASES.get(word) or ALIASES.get(word.strip("."))
    if alias and (word != "us" or raw.isupper()):
        word = alias
    elif word in _stopwords() or word == "us":
        return ""
    else:
        word = word.strip(".")
    return str(english_stemmer().stemWord(word))


def proper_nouns(question: str) -> set[str]:
    """Stems of the names in a question (capitalised words after its first word, acronyms)."""
    words = WORD.findall(question)
    names = [
        w
        for i, w in enumerate(words)
        if (i > 0 and w[:1].isupper()) or (len(w) > 1 and w.isupper())
    ]
    return set(terms(" ".join(names)))


class Vocabulary:
    """Document frequencies of stems over the chunks of the store: rare words weigh more."""

    def __init__(self, document_frequencies: dict[str, int], n: int) -> None:
        self.df = document_frequencies
        self.n = n
        self.words_by_initial: dict[str, list[str]] = {}
        for word in sorted(self.df):
            self.words_by_initial.setdefault(word[0], []).append(word)
        self._corrections: dict[str, str] = {}

    @classmethod
    def of(cls, chunks: Sequence[Chunk]) -> Vocabulary:
        """Count, for every stem, the chunks (title included) that hold it."""
        df: Counter[str] = Counter()
        for chunk in chunks:
            words = set(WORD.findall(chunk.title)) | set(WORD.findall(chunk.text))
            df.update({stem for word in words if (stem := _term(word))})
        return cls(dict(df), len(chunks))

    def idf(self, stem: str) -> float:
        return math.log(1 + (self.n + 1) / (self.df.get(stem, 0) + 0.5))

    def correct(self, stem: str) -> str:
        """A misspelt word mapped to the closest word of the corpus with the same first letter."""
        if stem in self.df or len(stem) < 5 or not stem.isalpha():
            return stem
        if stem not in self._corrections:
            self._corrections[stem] = self._closest(stem)
        return self._corrections[stem]

    def _closest(self, stem: str) -> str:
        """Compared only with words of the same initial: a 26th of the work at 100k words."""
        same_initial = self.words_by_initial.get(stem[0], [])
        close = difflib.get_close_matches(stem, same_initial, n=1, cutoff=0.85)
        return close[0] if close else stem


@dataclass(frozen=True)
class Sentence:
    """A sentence of a retrieved chunk, with its offsets in the article text."""

    chunk: ScoredChunk
    rank: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Evidence:
    """A sentence and how well it supports the question: `support` mixes the share of the
    question's words it holds (`lexical`), its word-vector similarity to the question
    (`semantic`), and its passage's embedding similarity (`passage`), which carry paraphrase."""

    sentence: Sentence
    support: float
    typed: bool
    lexical: float = 0.0
    semantic: float = 0.0
    passage: float = 0.0


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


def sentences_of(passage: ScoredChunk, rank: int) -> list[Sentence]:
    """Split a chunk into sentences; offsets stay exact in the article."""
    chunk = passage.chunk
    out = []
    cursor = 0
    boundaries = [
        m
        for m in SENTENCE_END.finditer(chunk.text)
        if "\n" in m.group()
        or not ABBREVIATION.search(chunk.text[max(0, m.start() - 6) : m.start()])
    ]
    for match in [*boundaries, None]:
        end = match.start() if match else len(chunk.text)
        piece = chunk.text[cursor:end]
        lead = len(piece) - len(piece.lstrip())
        piece = piece.strip()
        if len(WORD.findall(piece)) >= 4:
            begin = chunk.start + cursor + lead
            out.append(Sentence(passage, rank, piece, begin, begin + len(piece)))
        if match:
            cursor = match.end()
    return out


class ExtractiveAnswerer:
    """Answers with the best-supported sentences of the retrieved passages, or refuses."""

    name = "extractive"

    def __init__(self, settings: Settings, vocabulary: Vocabulary) -> None:
        self.settings = settings
        self.vocabulary = vocabulary

    def evidence(self, question: str, passages: list[ScoredChunk]) -> list[Evidence]:
        """Every sentence of the passages, scored by how much of the question it supports."""
        vocab = self.vocabulary
        names = set(proper_nouns(question))
        weights = {
            vocab.correct(t): vocab.idf(t) * (2.0 if t in names else 1.0) for t in terms(question)
        }
        total = sum(weights.values())
        kind = answer_type(question)
        nouns = counted_nouns(question) if kind == "number" else set()
        asked = set(weights)
        contexts = {  # each part's words, built once, not once per sentence it holds
            part.chunk.id: frozenset(terms(f"{part.chunk.title} {part.chunk.text}"))
            for passage in passages
            for part in passage.parts or (passage,)
        }
        candidates = [
            (sentence, part, contexts[part.chunk.id])
            for rank, passage in enumerate(passages)
            for sentence in sentences_of(passage, rank)
            for part in [passage.part_at(sentence.start)]
        ]
        settings = self.settings
        similarities = sentence_similarity(question, [s.text for s, _, _ in candidates])
        scored = []
        for (sentence, part, context), similarity in zip(candidates, similarities, strict=True):
            own = set(terms(sentence.text))
            weight = sum(
                w * (1.0 if t in own else 0.5 if t in context else 0.0) for t, w in weights.items()
            )
            lexical = weight / total if total else 0.0
            semantic = _above(similarity, settings.sentence_floor)
            passage = _above(part.similarity, settings.passage_floor)
            support = (
                settings.lexical_weight * lexical
                + settings.sentence_weight * semantic
                + settings.passage_weight * passage
            )
            typed = counts(sentence.text, nouns) if nouns else offers(kind, sentence.text, asked)
            scored.append(Evidence(sentence, support, typed, lexical, semantic, passage))
        return sorted(
            scored,
            key=lambda e: (
                -(e.support * (1.0 if e.typed else 0.6)),
                e.sentence.rank,
                e.sentence.start,
            ),
        )

    def answer(
        self, question: str, passages: list[ScoredChunk], articles: dict[str, dict[str, str]]
    ) -> Answer:
        """The answer text with [n] markers, or the refusal when the evidence is too weak.

        Each part of a compound question is answered from its own best sentence.
        """
        parts = split_question(question)
        limit = self.settings.max_answer_sentences if len(parts) == 1 else 1
        chosen: list[Evidence] = []
        for part in parts:
            ranked = [e for e in self.evidence(part, passages) if e.typed]
            if not ranked or ranked[0].support < self.settings.min_support:
                continue
            picked = [ranked[0]]
            for candidate in ranked[1 : limit * 4]:
                if len(picked) >= limit:
                    break
                if candidate.support >= max(self.settings.min_support, 0.9 * picked[0].support):
                    picked.append(candidate)
            chosen.extend(
                e for e in picked if all(_distinct(e.sentence, c.sentence) for c in chosen)
            )
        if not chosen:
            return Answer(
                question=question,
                text=REFUSAL_TEXT,
                refused=True,
                passages=passages,
                answerer=self.name,
            )
        return compose(question, [e.sentence for e in chosen], passages, articles, self.name)


    def stream(
        self, question: str, passages: list[ScoredChunk], articles: dict[str, dict[str, str]]
    ) -> Iterator[str | Answer]:
        """The whole answer text at once (extraction has nothing to stream), then the Answer."""
        answer = self.answer(question, passages, articles)
        yield answer.text
        yield answer


def _distinct(a: Sentence, b: Sentence) -> bool:
    """Two sentences that say different things (not the same words in two articles)."""
    ta, tb = set(terms(a.text)), set(terms(b.text))
    overlap = len(ta & tb) / max(1, min(len(ta), len(tb)))
    return overlap < 0.6


def compose(
    question: str,
    sentences: list[Sentence],
    passages: list[ScoredChunk],
    articles: dict[str, dict[str, str]],
    answerer: str,
) -> Answer:
    """Sentences in reading order, each followed by its citation marker."""
    citations = []
    parts = []
    for n, sentence in enumerate(sentences, start=1):
        chunk = sentence.chunk.chunk
        meta = articles.get(chunk.source, {})
        citations.append(
            Citation(
                n=n,
                title=chunk.title,
                source=chunk.source,
                quote=sentence.text,
                start=sentence.start,
                end=sentence.end,
                publisher=meta.get("publisher", ""),
                date=meta.get("date", chunk.date),
                url=meta.get("url", ""),
            )
        )
        text = sentence.text
        parts.append(f"{text[:-1]} [{n}]{text[-1]}" if text[-1] in ".!?" else f"{text} [{n}]")
    return Answer(
        question=question,
        text=" ".join(parts),
        refused=False,
        citations=citations,
        passages=passages,
        answerer=answerer,
    )
