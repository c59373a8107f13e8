"""What a question asks for: the kind of answer, from its wording and its head noun.

"How much" asks for an amount, "when" for a date, "which company" for an organisation, "which
film" for a title, "what does X stand for" for an acronym's long form. Rules, not a model: a
question is a dozen words, the cues are few and closed, and rules run in microseconds where
spaCy's small English pipeline (measured at about 2,500 words/s here) would cost more than the
whole retrieval; the head nouns are data (`data/lexicon.yaml`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from itertools import zip_longest

from qa.answer.lexicon import words
from qa.answer.text import _stopwords, terms
from qa.retrieve import english_stemmer

TYPE_WORDS = ("where", "when", "which", "what", "who", "how", "much", "many")
EXPANSION = re.compile(
    r"\bwhat (?:does|do|did) (?:the )?(?:acronym |abbreviation |initials? )?"
    r"(?P<a>[A-Z][A-Za-z&.]{1,9}) (?:stand|stands) for\b|"
    r"\bwhat (?:is|was) (?:the )?(?P<b>[A-Z][A-Za-z&.]{1,9}) (?:short|an acronym|an abbreviation)"
    r" for\b|\b(?:full (?:name|form)|long form|expansion) of (?:the )?(?P<c>[A-Z][A-Za-z&.]{1,9})"
    r"\b|\bwhat is (?P<d>[A-Z]{2,9}) (?:in full|spelled out)\b"
)
DEFINITION = re.compile(
    r"(?:(?i:what) (?i:is|are|was|were) (?:(?i:the) )?|(?i:who) (?i:is|are|was|were) )"
    r"(?P<name>[A-Z][\w&.'’-]*(?: (?:[A-Z][\w&.'’-]*|of|the|and|for|in|de))*)\s*\??"
)
"""A question that only asks what or who a name is ("What is BATUK?", "Who is Aden Duale?"):
what the articles say of it answers it, not another name. The name must be capitalised; the
question words may not be. "Who is the Prime Minister of Haiti?" asks for a person: a name
takes no "the"."""
LISTING = re.compile(
    r"\b(?:what|which) (?:kinds|types|sorts|forms|areas?|topics?|issues?|fields?) of\b|"
    r"\bin (?:what|which) (?:areas|fields|ways)\b|\bwhat (?:will|did|does|do) .{3,60}\binclude\b|"
    r"\b(?:what|which) (?:topics|areas|issues|regions|countries|fields|things)\b|\bname the\b|"
    r"\blist\b"
)
SORT_OF = frozenset({"type", "kind", "sort", "form"})
"""Singular: "which type of bug" asks for one thing ("cicadas"); "what kinds of support" lists."""
NUMBER_WORDS = {"two": 2, "both": 2, "three": 3, "four": 4, "five": 5}
SEVERAL = re.compile(
    r"\b(?:which|what|who|whom|name)\s+(?:(?:are|were|is|was)\s+)?(?:the\s+)?"
    r"(?P<a>two|three|four|five|both)\b|"
    r"\b(?P<b>two|three|four|five)\b[^.?!]*[.!]\s+[^?]*\b(?:they|them)\b[^?]*\?"
)
"""A question asking for several answers: by its own number ("which two teams"), or by a
number in the sentence before it that its "they" points back to ("There were two attempts.
Where did they take place?")."""
CUES = (  # earliest cue wins: "What tragedy ... when ..." asks for a thing, not a date
    ("amount", r"\bhow much\b(?! (?:time|longer)\b)"),
    ("percent", r"\b(?:what|which) (?:percentage|percent|share|proportion)\b|\bhow many percent"),
    ("count", r"\bhow many\b|\b(?:what|which) number of\b|\bhow old\b"),
    ("duration", r"\bhow long\b|\bhow much (?:time|longer)\b"),
    ("year", r"\b(?:what|which) year\b|\buntil when\b|\bsince when\b"),
    ("date", r"\bwhen\b|\b(?:what|which) (?:date|day|month)\b|\bon what date\b"),
    ("who", r"\bwho\b|\bwhom\b|\bwhose\b"),
    ("place", r"\bwhere\b"),
    ("head", r"\b(?:which|what)\b"),
)


@dataclass(frozen=True)
class Asked:
    """The kind of answer a question wants; None when it asks for an explanation or a phrase
    (why, how, what did X do), which a sentence answers; "list" when it asks for several
    things ("what kinds of support"), which a sentence that enumerates them answers."""

    kind: str | None
    head: str | None = None
    """The head noun that set the kind ("company" in "which company ...")."""
    counted: frozenset[str] = field(default_factory=frozenset)
    """For "how many X", the stems of X: the number must count it."""
    acronym: str | None = None
    """For "what does X stand for", X."""
    defines: bool = False
    """An expansion asked as "what is X?": with no long form found, a sentence on X answers."""
    several: int = 1
    """How many answers it asks for ("which two teams", "two attempts ... where did they take
    place?": 2); one of them does not answer it."""
    verb: str | None = None
    """The stem of the verb whose subject is asked for ("recall" in "which automaker recalled
    ...", "beat" in "who beat ..."): the answer is the name that does it."""


def asked(question: str) -> Asked:
    """What the question asks for (see the module docstring)."""
    wanted = _asked(question)
    several = SEVERAL.search(question.lower())
    if several is None:
        return wanted
    return replace(wanted, several=NUMBER_WORDS[several.group("a") or several.group("b")])


def _asked(question: str) -> Asked:
    expansion = EXPANSION.search(question[:1].lower() + question[1:])
    if expansion:
        return Asked("expansion", acronym=next(g for g in expansion.groups() if g).strip("."))
    defined = DEFINITION.fullmatch(question.strip())
    if defined:  # "What is BATUK?": its long form; "Who is Aden Duale?": a sentence on them
        named = defined.group("name")
        if re.fullmatch(r"[A-Z][A-Z&]{1,9}", named):
            return Asked("expansion", acronym=named, defines=True)
        return Asked(None)
    q = " ".join(_fix_type_word(w) for w in question.lower().split())
    if LISTING.search(q):
        return Asked("list", _listed_noun(q))
    found = [
        (m.start(), order, m.end(), kind)
        for order, (kind, cue) in enumerate(CUES)
        if (m := re.search(cue, q))
    ]
    if not found:
        return Asked(None)
    start, _, end, kind = min(found)
    if kind == "count":
        return Asked("count", counted=_counted(q[end:]))
    if kind == "date" and re.search(r"\b(?:what|which) month\b", q):
        return Asked("date", head="month")
    if kind in ("who", "head"):
        head, head_kind = _head(q[end:], q[start:end])
        verb = _subject_verb(q[end:], q[start:end])
        if kind == "who":
            return Asked("person" if head_kind == "person" else "who", head, verb=verb)
        return Asked(head_kind, head, verb=verb)
    return Asked(kind)


def _listed_noun(question: str) -> str | None:
    """What a listing question lists: "support" in "what kinds of support ..." and in "what
    will the US support for the mission include?" (the last word before a preposition)."""
    kinds = re.search(r"\b(?:kinds|types|sorts|forms) of (?:the )?([a-z][a-z'’-]*)", question)
    if kinds:
        return kinds.group(1)
    included = re.search(r"\bwhat (?:will|did|does|do) (.{3,60}?) include\b", question)
    if not included:
        return None
    subject = re.split(r"\b(?:for|of|to|in|on|at|with|from|by)\b", included.group(1))[0].split()
    return subject[-1] if subject else None


def _fix_type_word(word: str) -> str:
    """'wher' → 'where', 'mch' → 'much': a misspelt question word still sets the kind."""
    if (word in TYPE_WORDS or len(word) < 3 or not word.isalpha() or word in _stopwords()
            or word in words()["auxiliaries"]):  # "may" is no misspelt "many"
        return word  # a common word ("that", "then") is itself, not a misspelt "what"/"when"
    close = difflib.get_close_matches(word, TYPE_WORDS, n=1, cutoff=0.75)
    return close[0] if close and close[0][0] == word[0] else word  # "show" is no "how"


def _counted(rest: str) -> frozenset[str]:
    skipped = words()["head_skipped"]
    following = [w for w in re.findall(r"[a-z][a-z'-]*", rest)[:3] if w not in skipped]
    return frozenset(terms(" ".join(following[:2])))


def _singular(word: str) -> str:
    for ending, repl in (("ies", "y"), ("ses", "s"), ("es", "e"), ("s", "")):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            return word[: -len(ending)] + repl
    return word


def _kind_of_noun(word: str) -> str | None:
    lexicon = words()
    for form in (word, _singular(word), word.rstrip("'s’")):
        for kind in ("person", "organisation", "place", "work", "amount", "count", "score",
                     "event"):
            if form in lexicon[f"head:{kind}"]:
                return kind
    return None


def _noun_phrase(rest: str) -> list[str]:
    """The words of the noun phrase after "which"/"what", whose last noun is its head: "which
    Supreme Court justice is" → justice, "which US dam is" → dam. It ends at punctuation, an
    auxiliary, a preposition or determiner, a word like a verb ("-ed") or after five
    words; a possessive ends it and is the head ("which university's president" asks for the
    university)."""
    lexicon = words()
    rest = re.sub(r"\b(?:[a-z]\.){2,}", lambda m: m.group(0).replace(".", ""), rest)  # u.s.
    clause = re.split(r"[,;:?!.()\"“”]", rest, maxsplit=1)[0]
    phrase: list[str] = []
    tokens = re.findall(r"[a-z][a-z'’-]*", clause)
    modifier = False
    for token, following in zip_longest(tokens, tokens[1:], fillvalue=""):
        if not phrase and token in lexicon["head_skipped"]:
            continue  # "which of the following politicians"
        if modifier or (token.endswith("ly") and following.endswith("ed")):
            modifier = not modifier  # "which sexually transmitted disease", "newly elected"
            continue
        if _breaks_phrase(token) or (
            phrase and len(token) > 4 and token.endswith("ed")
            and not _modifies_ahead(phrase, tokens[len(phrase) + 1:])  # "armed forces chief"
        ) or (phrase and _verb_after_noun(phrase[-1], token)):
            break
        if token.endswith(("'s", "’s")):
            phrase.append(token[:-2])
            break
        phrase.append(token)
        if len(phrase) == 5:
            break
    return phrase


def _breaks_phrase(word: str) -> bool:
    """A word that ends the noun phrase after "which": an auxiliary, one of the lexicon's
    `phrase_breaks`, or a past tense with no "-ed" ("won")."""
    lexicon = words()
    return (word in lexicon["auxiliaries"] or word in lexicon["phrase_breaks"]
            or word in lexicon["irregular_past"])


def _modifies_ahead(phrase: list[str], words_after: list[str]) -> bool:
    """Whether an "-ed" word modifies a noun after it rather than being the phrase's verb: no
    noun of a known kind yet, and one within two words ("which Kenyan armed forces commander
    held talks"); "which company reported record losses" has its noun already."""
    if any(_kind_of_noun(word) for word in phrase):
        return False
    for word in words_after[:2]:
        if _breaks_phrase(word):
            return False
        if _kind_of_noun(word):
            return True
    return False


def _subject_verb(rest: str, cue: str) -> str | None:
    """The stem of the verb right after "who" or after the noun phrase of "which" ("which
    automaker recalled", "who beat"), when it is one: a past tense ("-ed" or an irregular one
    the lexicon lists) or an "-s" word after the head noun. None when an auxiliary follows
    ("who is", "which team did ... beat": the answer is no subject there)."""
    lexicon = words()
    tokens = re.findall(r"[a-z][a-z'’-]*", rest)
    if cue.startswith("who"):
        verb = tokens[0] if tokens else ""
        noun = ""
    else:
        phrase = _noun_phrase(rest)
        if not phrase or tokens[: len(phrase)] != phrase or len(tokens) <= len(phrase):
            return None
        verb, noun = tokens[len(phrase)], phrase[-1]
    if verb in lexicon["auxiliaries"] or verb in lexicon["head_skipped"]:
        return None
    if not (verb in lexicon["irregular_past"] or (len(verb) > 4 and verb.endswith("ed"))
            or (noun and _verb_after_noun(noun, verb))
            or (not noun and verb.endswith("s") and not verb.endswith("ss"))):
        return None
    return str(english_stemmer().stemWord(verb))


def _verb_after_noun(noun: str, word: str) -> bool:
    """"which base hosts": a word in -s right after a known singular noun is its verb."""
    return (word.endswith("s") and not word.endswith("ss") and not noun.endswith("s")
            and _kind_of_noun(noun) is not None)


def _described(rest: str) -> tuple[str | None, str | None]:
    """"What is the estimated cost of ...", "what was the settlement amount that ...": the noun
    just before the first preposition or relative word names the kind, when it names an amount,
    a number ("the minimum age"), a place, a person or an organisation (a reason, a purpose or a
    plan is a phrase answer)."""
    described = re.match(r"\s*(?:is|was|are|were) the ((?:[a-z][a-z'’-]* ){0,3}?([a-z]+))"
                         r"(?: (?:of|for|that|which|who|in|on|by|to|at|from|with)\b|\W*$)", rest)
    if not described:
        return None, None
    noun = described.group(2)
    kind = _kind_of_noun(noun)
    known = ("amount", "count", "score", "place", "person", "organisation")
    return (noun, kind) if kind in known else (None, None)


def _head(rest: str, cue: str) -> tuple[str | None, str | None]:
    """The head noun after "which"/"what"/"who" and the kind it names.

    "Which of the following politicians" → politicians → person; "which beer" → an unknown
    noun after "which", a named thing; "what did ..." → no head, a phrase answer.
    """
    tokens = re.findall(r"[a-z][a-z'’-]*", rest)
    if cue.startswith("who"):  # "who is the UK defence minister ...": the role is the head
        role = re.match(r"\s*(?:is|was|are|were) (?:the |a |an )(.*)", rest)
        return _head(role.group(1), "which") if role else (None, None)
    if tokens and tokens[0] in words()["auxiliaries"]:
        named = re.search(r"\b(?:name|title) of (?:the |this |that |a )?(.*)", rest) or re.search(
            r"^\s*(?:is|was|are|were) (?:the |this |that |a )?(.*?) (?:called|named|known as)\b",
            rest,
        )
        if named:
            head, kind = _head(named.group(1), "which")
            return head, kind or "name"
        return _described(rest)
    phrase = _noun_phrase(rest)
    for token in reversed(phrase):
        kind = _kind_of_noun(token)
        if kind:
            return token, kind
    if cue == "which" and phrase:
        return phrase[-1], "name"
    if len(tokens) > 2 and tokens[0] in SORT_OF and tokens[1] == "of":
        return tokens[2], "name"  # "which type of bug": one thing of a sort
    return None, None
