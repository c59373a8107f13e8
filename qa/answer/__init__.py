"""Stage 5: the reader. Answers from the retrieved passages, as a short span and the sentence
that supports it, each citation an exact article span; or the refusal, decided in code.

Its parts, in the order they run: `asked` (what the question asks for), `evidence` (sentences
scored, non-evidence dropped), `candidates` (typed spans), `reader` (votes, the pick, the
composed answer); `text` and `lexicon` are what they all read with.
"""

from qa.answer.candidates import MONTHS, NUMBER_WORDS, WEEKDAYS
from qa.answer.evidence import Evidence, is_instruction
from qa.answer.reader import ExtractiveAnswerer
from qa.answer.text import (
    ABBREVIATION,
    REFUSAL_TEXT,
    SENTENCE_END,
    WORD,
    Vocabulary,
    check_question,
    terms,
)

__all__ = [
    "ABBREVIATION",
    "MONTHS",
    "NUMBER_WORDS",
    "REFUSAL_TEXT",
    "SENTENCE_END",
    "WEEKDAYS",
    "WORD",
    "Evidence",
    "ExtractiveAnswerer",
    "Vocabulary",
    "check_question",
    "is_instruction",
    "terms",
]
