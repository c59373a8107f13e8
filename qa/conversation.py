"""Follow-up questions made standalone, so retrieval still finds the articles a chat is about.

"Who signed it?" alone tells the retriever nothing about which agreement; after "What did Kenya
and the US sign in September 2023?" it should be searched as "Who signed it? (Kenya US sign
September 2023)". The rewrite here is rule-based and deterministic; a language-model rewrite can
later replace it behind `standalone_question` without the front doors changing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

WORD = re.compile(r"(?:[A-Za-z]\.){2,}|[A-Za-z0-9][A-Za-z0-9'\u2019-]*[A-Za-z0-9]|[A-Za-z0-9]")
"""A word: an acronym with dots (U.S.), a word with inner apostrophes or hyphens, a digit."""
ASKING_WORDS = frozenset({
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "much", "many",
    "did", "does", "do", "was", "were", "is", "are", "has", "have", "had", "tell", "say", "said",
    "according", "article", "articles", "about", "us", "we", "you", "me",
})
"""Words of asking and of the people talking, not of the topic: never carried over."""
KEPT_SHORT_WORDS = frozenset({"us", "uk", "un", "eu", "au"})
"""Country and union acronyms that look like stop words once lower-cased ("US" vs "us")."""
REFERRING_WORDS = frozenset({
    "it", "its", "they", "them", "their", "theirs", "that", "those", "this", "these",
    "he", "him", "his", "she", "her", "hers", "there", "then", "one",
})
"""Pronouns and pointers that make a short question lean on the previous one."""
ELLIPSIS_OPENER = re.compile(r"^\s*(?:and|what\s+about|how\s+about|what\s+of)\b", re.IGNORECASE)
"""Openers of elliptical follow-ups: "What about the UK?", "And Somalia?"."""
MAX_FOLLOW_UP_WORDS = 8
"""Longer questions are taken as standalone: they carry their own context."""
MAX_OWN_TERMS = 2
"""A pronoun in a question with more informative words than this is not a reference back."""
MAX_CARRIED_WORDS = 12
"""Cap on the words carried over, so chains of follow-ups stay short."""


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: the question as it was searched (already standalone) and the answer.

    Storing the standalone form lets a chain of follow-ups keep its topic; the answer text is
    unused by the rule-based rewrite but is what a model-based rewrite will need.
    """

    question: str
    answer: str = ""


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """The question, with the previous question's informative words added if it leans on them."""
    if not history or not is_follow_up(question):
        return question
    seen = {word.lower() for word in words(question)}
    carried: list[str] = []
    for word in informative_words(history[-1].question):
        if word.lower() not in seen:
            seen.add(word.lower())
            carried.append(word)
    if not carried:
        return question
    return f"{question.strip()} ({' '.join(carried[:MAX_CARRIED_WORDS])})"


def is_follow_up(question: str) -> bool:
    """A short question that opens with an ellipsis, has no topic, or points back with a pronoun.

    A message with no words at all is not one: it must reach the pipeline's own check as it is.
    """
    found = words(question)
    if not found or len(found) > MAX_FOLLOW_UP_WORDS:
        return False
    if ELLIPSIS_OPENER.match(question):
        return True
    own_terms = [w for w in found if is_informative(w)]
    refers = any(w.lower() in REFERRING_WORDS for w in found)
    return not own_terms or (refers and len(own_terms) <= MAX_OWN_TERMS)


def informative_words(text: str) -> list[str]:
    """The words of a text that name its topic (no stop words, no question words), in order."""
    return [w for w in words(text) if is_informative(w)]


def words(text: str) -> list[str]:
    """The words of a text, without a possessive 's."""
    return [re.sub(r"['\u2019]s$", "", w) for w in WORD.findall(text)]


def is_informative(word: str) -> bool:
    """Not a stop word; acronyms (US, U.S., UK) count even when they look like one."""
    lower = word.lower()
    if word.isupper() and (lower in KEPT_SHORT_WORDS or "." in word):
        return True
    if lower in REFERRING_WORDS or lower in _stopwords():
        return False
    return len(word) > 1 or word.isdigit()


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    """BM25's English stop words (what the retriever ignores) plus the asking words."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) | ASKING_WORDS
