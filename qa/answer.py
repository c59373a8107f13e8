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
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from qa.errors import QuestionError
from qa.settings import Settings
from qa.types import Answer, Chunk, Citation, ScoredChunk

REFUSAL_TEXT = "The articles don't cover this: I found nothing in them that answers the question."

WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.-]*[A-Za-z0-9]|[A-Za-z0-9]")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+(?=[\"“‘(\[A-Z0-9])|\n+")
ABBREVIATION = re.compile(
    r"(?:\b[A-Z]\.|\b(?:Mr|Mrs|Ms|Dr|Gen|Lt|Col|Capt|Sgt|Prof|St|Jr|Sr|No|Inc|Ltd|Co|vs|etc|"
    r"Rep|Sen|Gov|Maj|Adm|Brig|Hon)\.)$"
)
QUESTION_WORDS = {
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "much", "many",
    "did", "does", "do", "was", "were", "is", "are", "has", "have", "had", "according", "tell",
    "say", "said", "article", "articles", "name", "named", "kind", "type", "year", "date", "day",
}
COUNTRY_ALIASES = {"u.s": "usa", "u.s.": "usa", "us": "usa", "usa": "usa", "america": "usa",
                   "u.k": "uk", "u.k.": "uk", "uk": "uk", "britain": "uk", "british": "uk"}

MONTHS = (r"January|February|March|April|May|June|July|August|September|October|November|"
          r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
WEEKDAYS = r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
                r"forty|fifty|hundred|thousand|million|billion|dozen|dozens|hundreds|thousands")
ANSWER_PATTERNS = {
    "amount": re.compile(
        r"[$£€]\s?\d|\b(?:Sh|Ksh|KES|USD|US\$)\s?\d|\d[\d,.]*\s?(?:million|billion|trillion|"
        r"dollars|shillings|pounds|euros|bn|m)\b", re.IGNORECASE),
    "number": re.compile(rf"\b\d[\d,.]*\b|\b(?:{NUMBER_WORDS})\b", re.IGNORECASE),
    "date": re.compile(
        rf"\b(?:{MONTHS})\b|\b(?:{WEEKDAYS})\b|\b(?:19|20)\d\d\b|\b(?:yesterday|today|"
        r"last (?:week|month|year)|next (?:week|month|year))\b"),
    "person": re.compile(
        r"\b(?:President|Secretary|Minister|Gen|General|Dr|Mr|Ms|Mrs|CS|Chairman|Chief|"
        r"Spokesman|Colonel|Lieutenant)\b\.?|\b[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z]+"),
    "place": re.compile(r"\b(?:in|at|from|to|near|across|into)\s+(?:the\s+)?[A-Z][A-Za-z]+"),
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


def answer_type(question: str) -> str | None:
    """The kind of answer a question asks for: amount, number, date, person, place or None."""
    q = question.lower()
    if re.search(r"\bhow much\b|\bcost\b|\bworth\b|\bamount\b|\bprice\b|\bsum\b", q):
        return "amount"
    if re.search(r"\bhow many\b|\bnumber of\b|\bhow long\b|\bhow old\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (?:year|date|day|month|time)\b|\bwhich (?:year|date|day|month)",
                 q):
        return "date"
    if re.search(r"\bwho\b|\bwhom\b|\bwhose\b", q):
        return "person"
    if re.search(r"\bwhere\b|\bwhich (?:city|country|town|place|base)\b", q):
        return "place"
    return None


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) | QUESTION_WORDS


def terms(text: str) -> list[str]:
    """Stemmed informative words; U.S./US/America and U.K./UK/Britain fold to one token each."""
    out = []
    stop = _stopwords()
    for raw in WORD.findall(text):
        token = raw.strip(".'’-")
        alias = COUNTRY_ALIASES.get(raw.lower()) or COUNTRY_ALIASES.get(token.lower())
        if alias and (raw.isupper() or raw.lower() not in {"us"}):
            out.append(alias)
            continue
        word = token.lower().replace("’", "'")
        if word.endswith("'s"):
            word = word[:-2]
        if word and word not in stop and word != "us":
            out.append(word)
    return [str(s) for s in _stemmer().stemWords(out)]


def proper_nouns(question: str) -> set[str]:
    """Stems of the names in a question (capitalised words after its first word, acronyms)."""
    words = WORD.findall(question)
    names = [w for i, w in enumerate(words) if (i > 0 and w[:1].isupper()) or
             (len(w) > 1 and w.isupper())]
    return set(terms(" ".join(names)))


class Vocabulary:
    """Document frequencies of stems over the chunks of the store: rare words weigh more."""

    def __init__(self, chunks: Iterable[Chunk]) -> None:
        self.df: Counter[str] = Counter()
        self.n = 0
        for chunk in chunks:
            self.n += 1
            self.df.update(set(terms(f"{chunk.title} {chunk.text}")))
        self.words = sorted(self.df)

    def idf(self, stem: str) -> float:
        return math.log(1 + (self.n + 1) / (self.df.get(stem, 0) + 0.5))

    def correct(self, stem: str) -> str:
        """A misspelt word mapped to the closest word of the corpus (if one is close)."""
        if stem in self.df or len(stem) < 4 or stem.isdigit():
            return stem
        close = difflib.get_close_matches(stem, self.words, n=1, cutoff=0.8)
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
    sentence: Sentence
    support: float
    typed: bool


def sentences_of(passage: ScoredChunk, rank: int) -> list[Sentence]:
    """Split a chunk into sentences; offsets stay exact in the article."""
    chunk = passage.chunk
    out = []
    cursor = 0
    boundaries = [
        m for m in SENTENCE_END.finditer(chunk.text)
        if "\n" in m.group() or not ABBREVIATION.search(chunk.text[max(0, m.start() - 6) : m.start()])
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
        wanted = {vocab.correct(t) for t in terms(question)}
        names = {vocab.correct(t) for t in proper_nouns(question)}
        total = sum(vocab.idf(t) for t in wanted)
        kind = answer_type(question)
        scored = []
        for rank, passage in enumerate(passages):
            context = set(terms(f"{passage.chunk.title} {passage.chunk.text}"))
            if not names <= context:
                continue
            for sentence in sentences_of(passage, rank):
                own = set(terms(sentence.text))
                weight = sum(
                    vocab.idf(t) * (1.0 if t in own else 0.5 if t in context else 0.0)
                    for t in wanted
                )
                support = weight / total if total else 0.0
                typed = kind is None or bool(ANSWER_PATTERNS[kind].search(sentence.text))
                scored.append(Evidence(sentence, support, typed))
        return sorted(scored, key=lambda e: (-(e.support * (1.0 if e.typed else 0.6)),
                                             e.sentence.rank, e.sentence.start))

    def answer(self, question: str, passages: list[ScoredChunk],
               articles: dict[str, dict[str, str]]) -> Answer:
        """The answer text with [n] markers, or the refusal when the evidence is too weak."""
        ranked = [e for e in self.evidence(question, passages) if e.typed]
        if not ranked or ranked[0].support < self.settings.min_support:
            return Answer(question=question, text=REFUSAL_TEXT, refused=True, passages=passages,
                          answerer=self.name)
        chosen = [ranked[0]]
        for candidate in ranked[1:]:
            if len(chosen) >= self.settings.max_answer_sentences:
                break
            if candidate.support >= max(self.settings.min_support, 0.8 * chosen[0].support) and (
                all(_distinct(candidate.sentence, e.sentence) for e in chosen)
            ):
                chosen.append(candidate)
        return compose(question, [e.sentence for e in chosen], passages, articles, self.name)


def _distinct(a: Sentence, b: Sentence) -> bool:
    """Two sentences that say different things (not the same words in two articles)."""
    ta, tb = set(terms(a.text)), set(terms(b.text))
    overlap = len(ta & tb) / max(1, min(len(ta), len(tb)))
    return overlap < 0.6


def compose(question: str, sentences: list[Sentence], passages: list[ScoredChunk],
            articles: dict[str, dict[str, str]], answerer: str) -> Answer:
    """Sentences in reading order, each followed by its citation marker."""
    citations = []
    parts = []
    for n, sentence in enumerate(sentences, start=1):
        chunk = sentence.chunk.chunk
        meta = articles.get(chunk.source, {})
        citations.append(Citation(
            n=n, title=chunk.title, source=chunk.source, quote=sentence.text,
            start=sentence.start, end=sentence.end,
            publisher=meta.get("publisher", ""), date=meta.get("date", chunk.date),
        ))
        text = sentence.text
        parts.append(f"{text[:-1]} [{n}]{text[-1]}" if text[-1] in ".!?" else f"{text} [{n}]")
    return Answer(question=question, text=" ".join(parts), refused=False, citations=citations,
                  passages=passages, answerer=answerer)
