"""Words, sentences and the corpus vocabulary: what every part of the reader reads text with.

Offsets are article offsets everywhere: a sentence's `text == article_text[start:end]`.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from qa.answer.lexicon import gazetteer
from qa.answer.lexicon import words as word_lists
from qa.errors import QuestionError
from qa.retrieve import english_stemmer
from qa.settings import Settings
from qa.types import Chunk, ScoredChunk

REFUSAL_TEXT = "The articles don't cover this: I found nothing in them that answers the question."

WORD = re.compile(r"(?:[A-Za-z]\.){2,}|[A-Za-z][A-Za-z'’]*[A-Za-z]|\d[\d,.]*\d|[A-Za-z0-9]")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+(?=[\"“‘(\[A-Z0-9])|\n+")
ABBREVIATION = re.compile(
    r"(?:\b[A-Z]\.|\b(?:Mr|Mrs|Ms|Dr|Gen|Lt|Col|Capt|Sgt|Prof|St|Jr|Sr|No|Inc|Ltd|Co|vs|etc|"
    r"Rep|Sen|Gov|Maj|Adm|Brig|Hon)\.)$"
)
MONTH_ABBREVIATION = re.compile(r"\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.$")
"""A month cut short before a day ("Aug. 23, 2044"): no sentence ends there."""
ACRONYM_AFTER = re.compile(r"\(([A-Z][A-Za-z&]{1,9})\)")
ACRONYM_BEFORE = re.compile(r"\b([A-Z][A-Z&]{1,9})\s+\(([A-Z][^()]{3,120})\)")


def check_question(question: object, settings: Settings) -> str:
    """The question, cleaned; a `QuestionError` (a ValueError) saying what is wrong otherwise.

    Lone surrogates (a non-UTF-8 byte decoded with `surrogateescape`, as argv does) and control
    characters become a replacement character or a space: no input crashes what comes after.
    """
    if isinstance(question, bytes):
        question = question.decode("utf-8", "replace")
    if not isinstance(question, str):
        raise QuestionError(f"The question must be text, not {type(question).__name__}.")
    question = question.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    question = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in question
    )
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


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) | word_lists()["question_words"]


@lru_cache(maxsize=65536)
def terms(text: str) -> tuple[str, ...]:
    """Stemmed informative words; a country's names, codes and demonym fold to one token
    ("United States", "U.S.", "American" → usa), from the countryinfo data.

    Cached: the same passages and sentences come back question after question.
    """
    found = WORD.findall(plain(text))
    phrases = gazetteer().phrases_by_first_word
    lowered = [w.lower() for w in found]
    stems = []
    i = 0
    while i < len(found):
        for name_words, key in phrases.get(lowered[i], ()):
            if tuple(lowered[i : i + len(name_words)]) == name_words:
                stems.append(key)
                i += len(name_words)
                break
        else:
            if stem := _term(found[i]):
                stems.append(stem)
            i += 1
    return tuple(stems)


GENDERED = re.compile(r"(?<=\w\w\w)(?:person|woman|man|people|women|men)$")


def head_terms(head: str) -> set[str]:
    """The stems of a head noun and of its other gendered forms: "spokesperson" is also
    "spokesman" and "spokeswoman", "chairman" also "chairperson" (what a question calls a
    role, an article may call otherwise)."""
    stems = set(terms(head))
    if GENDERED.search(head):
        stems |= {stem for ending in ("person", "woman", "man")
                  for stem in terms(GENDERED.sub(ending, head))}
    return stems


def plain(text: str) -> str:
    """The text with its letters' accents dropped, for matching words: "Jokić" and "Jokic", and
    "América" written with a combining accent (800 of RealTimeQA's 8,789 articles are), read
    as the same word. Never for offsets: the length changes."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=2**18)
def _term(raw: str) -> str:
    """One word's stem, or "" for a stop word; cached, since a corpus repeats its words."""
    word = raw.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    places = gazetteer()
    code = places.codes.get(raw.replace(".", ""))
    alias = code or (places.aliases.get(word) if word.isalpha() else None)
    if alias:
        return alias
    if word in _stopwords() or word == "us":
        return ""
    return str(english_stemmer().stemWord(word.strip(".")))


def proper_nouns(question: str) -> set[str]:
    """Stems of the names in a question (capitalised words after its first word, acronyms)."""
    words = WORD.findall(plain(question))
    names = [
        w
        for i, w in enumerate(words)
        if (i > 0 and w[:1].isupper()) or (len(w) > 1 and w.isupper())
    ]
    return set(terms(" ".join(names)))


def harvest_acronyms(text: str) -> list[tuple[str, str]]:
    """The acronyms a text defines, as (acronym, long form) pairs: "British Army Training Unit
    in Kenya (BATUK)" and "BATUK (British Army Training Unit in Kenya)" both give one."""
    found = []
    for match in ACRONYM_AFTER.finditer(text):
        acronym = match.group(1)
        long_form = _long_form_before(text[max(0, match.start() - 200) : match.start()], acronym)
        if long_form:
            found.append((acronym, long_form))
    for match in ACRONYM_BEFORE.finditer(text):
        acronym, long_form = match.group(1), match.group(2).strip()
        if _fits(acronym, long_form.split()):
            found.append((acronym, long_form))
    return found


def _letters(acronym: str) -> str:
    return "".join(ch for ch in acronym if ch.isupper())


def _fits(acronym: str, words: list[str]) -> bool:
    """The long form starts with the acronym's first letter and has about as many capitalised
    words as the acronym has capitals (small words like "of" and "in" may sit between)."""
    capitals = [w for w in words if w[:1].isupper()]
    letters = _letters(acronym)
    return (
        bool(capitals)
        and words[0][:1] == letters[:1]
        and len(letters) - 2 <= len(capitals) <= len(letters) + 1
        and all(w[:1].isupper() or w.lower() in word_lists()["small_words"] for w in words)
        and sum(w[:1] in letters for w in capitals) >= len(capitals) - 1
    )


def _long_form_before(before: str, acronym: str) -> str | None:
    """The shortest run of words just before "(ACR)" that spells it out, or None."""
    words = before.split()
    letters = _letters(acronym)
    if len(letters) < 2:
        return None
    run: list[str] = []
    for word in reversed(words[-14:]):
        clean = word.strip(",;:\"“”'")
        if clean != word and run:
            break
        if not (clean[:1].isupper() or clean.lower() in word_lists()["small_words"]):
            break
        run.insert(0, clean)
        if clean[:1] == letters[0] and _fits(acronym, run):
            return " ".join(run)
    return None


@dataclass
class Vocabulary:
    """What the reader knows of the whole corpus: document frequencies of stems (rare words
    weigh more) and the acronyms its articles define."""

    df: dict[str, int]
    n: int
    acronyms: dict[str, str] = field(default_factory=dict)
    """Acronym → its most frequent long form in the corpus ("KDF" → "Kenya Defence Forces")."""

    def __post_init__(self) -> None:
        self.words_by_initial: dict[str, list[str]] = {}
        for word in sorted(self.df):
            self.words_by_initial.setdefault(word[0], []).append(word)
        self._corrections: dict[str, str] = {}
        self._expanded = lru_cache(maxsize=4096)(self._expansion)

    @classmethod
    def of(cls, chunks: Sequence[Chunk]) -> Vocabulary:
        """Count, for every stem, the chunks (title included) that hold it; collect acronyms."""
        df: Counter[str] = Counter()
        definitions: Counter[tuple[str, str]] = Counter()
        for chunk in chunks:
            words = set(WORD.findall(plain(chunk.title))) | set(WORD.findall(plain(chunk.text)))
            df.update({stem for word in words if (stem := _term(word))})
            if "(" in chunk.text:
                definitions.update(harvest_acronyms(chunk.text))
        acronyms: dict[str, str] = {}
        for (acronym, long_form), _ in definitions.most_common():
            acronyms.setdefault(acronym, long_form)
        return cls(dict(df), len(chunks), acronyms)

    def to_json(self) -> dict[str, object]:
        return {"df": self.df, "acronyms": self.acronyms}

    @classmethod
    def from_json(cls, data: dict[str, object], n: int) -> Vocabulary:
        df, acronyms = data["df"], data.get("acronyms", {})
        assert isinstance(df, dict) and isinstance(acronyms, dict)
        return cls(df, n, acronyms)

    def idf(self, stem: str) -> float:
        return math.log(1 + (self.n + 1) / (self.df.get(stem, 0) + 0.5))

    def rarity(self, stem: str) -> float:
        """The stem's idf over an unseen stem's: near 0 in every chunk, 1 never seen; comparable
        across corpora of any size, as the idf itself is not."""
        return self.idf(stem) / math.log(1 + (self.n + 1) / 0.5)

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

    def expand(self, question: str) -> str:
        """The question with the long form of each acronym it uses and the acronym of each long
        form, for matching and retrieval ("What does BATUK do?" also finds "British Army
        Training Unit in Kenya", and "Kenya Defence Forces" finds "KDF")."""
        return self._expanded(question)

    def _expansion(self, question: str) -> str:
        """`expand` uncached: every acronym of the corpus is tried against the question, and
        a question is expanded three or four times (retrieval, evidence, votes)."""
        lowered = question.lower()
        extra = [
            self.acronyms[w]
            for w in dict.fromkeys(re.findall(r"\b[A-Z][A-Za-z&]{1,9}\b", question))
            if w in self.acronyms and self.acronyms[w].lower() not in lowered
        ]
        extra += [
            acronym
            for acronym, long_form in self.acronyms.items()
            if long_form.lower() in lowered and acronym not in question
        ]
        return f"{question} ({'; '.join(extra)})" if extra else question


@dataclass(frozen=True)
class Sentence:
    """A sentence of a retrieved passage, with its offsets in the article text."""

    chunk: ScoredChunk
    rank: int
    text: str
    start: int
    end: int


def sentences_of(passage: ScoredChunk, rank: int) -> list[Sentence]:
    """Split a passage into sentences of four words or more; offsets stay exact."""
    chunk = passage.chunk
    out = []
    for begin, end in sentence_spans(chunk.text):
        piece = chunk.text[begin:end]
        if len(WORD.findall(piece)) >= 4:
            out.append(Sentence(passage, rank, piece, chunk.start + begin, chunk.start + end))
    return out


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a text, whitespace trimmed."""
    spans = []
    cursor = 0

    def abbreviated(m: re.Match[str]) -> bool:
        """Whether the full stop ends an abbreviation ("Gen.", "Aug." before a day)."""
        before = text[max(0, m.start() - 6) : m.start()]
        return bool(ABBREVIATION.search(before)) or bool(
            MONTH_ABBREVIATION.search(before) and text[m.end() : m.end() + 1].isdigit())

    boundaries = [m for m in SENTENCE_END.finditer(text) if "\n" in m.group() or not abbreviated(m)]
    for match in [*boundaries, None]:
        end = match.start() if match else len(text)
        piece = text[cursor:end]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        if piece.strip():
            spans.append((cursor + lead, end - trail))
        if match:
            cursor = match.end()
    return spans
