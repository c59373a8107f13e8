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
POINTER = re.compile(r"\b(?:that|this|those|these)\s+([A-Za-z][A-Za-z-]+)", re.IGNORECASE)
"""A demonstrative and the noun it points with: "that agreement", "these troops"."""
DETERMINERS = frozenset({"a", "an", "the", "its", "their", "his", "her", "this", "that",
                         "these", "those", "of", "for", "on"})
"""Words that open a noun phrase in the text pointed back to."""
MAX_PHRASE_WORDS = 4
"""Longest phrase a pointer is resolved to ("the Defence Cooperation Agreements")."""


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: the question as it was searched (already standalone) and the answer.

    Storing the standalone form lets a chain of follow-ups keep its topic; the answer text is
    unused by the rule-based rewrite but is what a model-based rewrite will need.
    """

    question: str
    answer: str = ""


@dataclass(frozen=True)
class FollowUp:
    """A question as it is searched, and what it points to when that could be named."""

    question: str
    about: str | None = None
    """The phrase of the previous answer or question a pointer ("that agreement") refers to,
    with its article ("the Defence Cooperation Agreements"); None when nothing was resolved."""


def resolve_follow_up(question: str, history: Sequence[Turn]) -> FollowUp:
    """The question made standalone: a pointer replaced by the phrase it names in the previous
    answer (or question), else the previous question's informative words added."""
    if not history or not is_follow_up(question):
        return FollowUp(question)
    pointer = POINTER.search(question)
    if pointer is not None:
        last = history[-1]
        for text in (last.answer, last.question):
            phrase = phrase_ending_with(pointer.group(1), text)
            if phrase is not None:
                about = f"the {phrase}"
                resolved = question[: pointer.start()] + about + question[pointer.end() :]
                return FollowUp(resolved.strip(), about)
    return FollowUp(with_previous_topic(question, history[-1]))


def phrase_ending_with(noun: str, text: str) -> str | None:
    """The noun phrase of `text` whose head is `noun` (or its plural), with the modifiers just
    before it: capitalised words before a capitalised head, topic words before a lower-case one.
    None when the head does not occur or is not used as a noun (after a determiner or a name)."""
    found = WORD.findall(re.sub(r"\[\d+\]", " ", text))
    forms = {noun.lower(), f"{noun.lower()}s", f"{noun.lower()}es", noun.lower().rstrip("s")}
    for index, word in enumerate(found):
        if word.lower() not in forms or not is_informative(word):
            continue
        begin = index
        while begin > 0 and index - begin + 1 < MAX_PHRASE_WORDS and is_modifier(
            found[begin - 1], capitalised=word[0].isupper()
        ):
            begin -= 1
        opener = found[begin - 1].lower() if begin > 0 else ""
        if begin < index or opener in DETERMINERS or word[0].isupper():
            return " ".join(found[begin : index + 1])
    return None


def is_modifier(word: str, capitalised: bool) -> bool:
    """A word that can stand before the head of a noun phrase: a topic word that is not a verb
    form (-ed, -ing), capitalised like the head when the head is."""
    if not is_informative(word) or word.lower().endswith(("ed", "ing")):
        return False
    return word[0].isupper() if capitalised else word.islower()


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """The question as it is searched (see `resolve_follow_up`)."""
    return resolve_follow_up(question, history).question


def with_previous_topic(question: str, last: Turn) -> str:
    """The question with the previous question's informative words added."""
    seen = {word.lower() for word in words(question)}
    carried: list[str] = []
    for word in informative_words(last.question):
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
