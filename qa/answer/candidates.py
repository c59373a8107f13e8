"""Candidate answers in a sentence: the spans that could answer a question, each with a kind.

Amounts, percentages, counts, lengths of time, dates and years by pattern; names (runs of
capitalised words) typed as a person, an organisation, a place, a nationality, a title or an
unknown name from the words around them, the country data, and how the same name is used in the
other retrieved sentences (news gives a person's full name, then the surname alone).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise

from qa.answer.lexicon import gazetteer, listed, type_kin, words
from qa.answer.text import _stopwords, head_terms, plain, terms

MONTHS = (
    r"January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
WEEKDAYS = r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
    r"ninety|hundred|thousand|million|billion|dozen|dozens|hundreds|thousands|millions"
)
NUMBER = rf"(?:\d(?:[\d,]*\d)?(?:\.\d+)?|(?:{NUMBER_WORDS})(?:[- ](?:{NUMBER_WORDS}))*)"
SCALED = r"(?:million|billion|trillion|thousand|bn|mn|m|k)\b"
SCALE = rf"(?:\s?{SCALED}|[MKB]\b)?"
"""A scale after a number: "2 million", "3bn", and the headline forms "$1M", "$5B"."""
WEEKDAY_ONLY = re.compile(rf"(?:(?:last|this|next) )?(?:{WEEKDAYS})", re.I)
"""A date that is only a day of the week ("Monday", "last Monday"): a weaker answer to "when"
than one that names the day ("Monday, April 8")."""
LETTERS = r"(?:[^\W\d_]|[\u0300-\u036f])"
"""A letter, or an accent written as its own character after one ("América" decomposed)."""
AMPERSAND_WORD = r"[A-Z]{1,3}&[A-Z]{1,3}\b"
"""A name written with "&" inside one word: "AT&T", "S&P", "H&M"."""
CAPWORD = (
    rf"(?:{AMPERSAND_WORD}|(?:[A-Z]\.){{2,}}|[A-Z]\.|[A-Z](?:{LETTERS}|[’'\-])*{LETTERS}|"
    r"[A-Z]|\d+(?:st|nd|rd|th|ers)?)"
)
CONNECTOR = r"(?:of|the|de|da|del|der|van|von|al|bin|le|la|du|&|for|y)"
NAME = re.compile(
    rf"(?<![\w’'.&])(?:{AMPERSAND_WORD}|(?:[A-Z]\.){{2,}}|[A-Z]\.|"
    rf"[A-Z](?:{LETTERS}|[’'\-])*{LETTERS}|[A-Z])"
    rf"(?:\s+(?:{CONNECTOR}\s+)?{CAPWORD})*(?!\d)"
)
QUOTED = re.compile(r"[“\"]([A-Z0-9][^”\"]{1,80})[”\"]")
CREDIT = re.compile(r"\s*[A-Z][A-Z .,'’-]{1,40}?\s*\([^)]{1,30}\)\s*[-–—]")
"""A wire credit opening a sentence ("LONDON (AP) —", "WASHINGTON (Reuters) -"): the agency
and the dateline's place say who reported, never what was asked."""


@dataclass(frozen=True)
class Candidate:
    """A span of a sentence that may answer the question; offsets are the sentence's."""

    text: str
    kind: str
    start: int
    end: int
    fit: float = 1.0
    """How well it fits the asked type beyond its kind: a common noun's likeness to the
    question's head noun ("sheep" for "which animal"); 1 for a typed name or number."""

    @property
    def key(self) -> str:
        """Variants of one answer share words: "Luke Humphries", "Humphries"."""
        return " ".join(plain(self.text).lower().replace("’", "'").split())


@lru_cache(maxsize=1)
def _patterns() -> dict[str, re.Pattern[str]]:
    prefixes = "|".join(re.escape(p) for p in sorted(listed("currency_prefixes"), key=len,
                                                         reverse=True))
    weight_words = "|".join(sorted(words()["currency_words_also_weights"], key=len,
                                   reverse=True))
    currency_words = "|".join(sorted(words()["currency_words"] - words()[
        "currency_words_also_weights"], key=len, reverse=True))
    units = "|".join(sorted(words()["time_units"], key=len, reverse=True))
    return {
        "amount": re.compile(
            rf"(?:(?<![\w$])(?:{prefixes})\s?\d[\d,]*(?:\.\d+)?{SCALE}|"
            rf"\b\d[\d,]*(?:\.\d+)?{SCALE}\s?(?:{currency_words})\b|"
            rf"\b\d[\d,]*(?:\.\d+)?\s?{SCALED}\s?(?:{weight_words})\b(?!\s+of\b))"
        ),
        "percent": re.compile(rf"\b{NUMBER}\s?(?:%|percent\b|per cent\b|percentage points?\b)",
                              re.I),
        "duration": re.compile(rf"\b{NUMBER}(?:[- ](?:and a half[- ])?)(?:{units})\b", re.I),
        "date": re.compile(
            rf"\b(?:(?:(?:on\s+)?(?:{WEEKDAYS}),?\s+)?(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?"
            rf"(?:,?\s+\d{{4}})?|"
            rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\.?(?:,?\s+\d{{4}})?|"
            rf"(?:{MONTHS})\.?\s+(?:of\s+)?\d{{4}}|(?:early |mid-|late )?(?:{MONTHS})\b|"
            rf"(?:last |this |next |on )?(?:{WEEKDAYS})|\d{{4}}-\d{{2}}-\d{{2}})\b"
        ),
        "score": re.compile(r"(?<![\w$£€.,/–-])\d{1,3}[-–]\d{1,3}(?![\w/]|[-–.,]\d)"),
        "year": re.compile(r"(?<![\d$£€.,])\b(?:1[5-9]|20)\d{2}\b(?![\d,.]\d)"),
        "count": re.compile(rf"(?<![\w$£€.,])(?:{NUMBER}){SCALE}(?![\d,.]\d|%)", re.I),
    }


def numeric_candidates(sentence: str) -> list[Candidate]:
    """Amounts, percentages, durations, dates, scores ("84-82"), years and counts, the more
    specific first: a number that is part of an amount, a date or a score is not also a
    count."""
    found: list[Candidate] = []
    taken: list[tuple[int, int]] = []
    for kind in ("amount", "percent", "duration", "date", "score", "year", "count"):
        for match in _patterns()[kind].finditer(sentence):
            span = (match.start(), match.end())
            overlaps = any(s < span[1] and span[0] < e for s, e in taken)
            if kind in ("score", "year", "count") and overlaps:
                continue
            text, start = match.group().strip(), match.start()
            if kind == "count" and text.lower() in ("one", "m", "k"):
                continue
            if kind == "date" and text.startswith("on "):  # "on Monday": the day is the date
                text, start = text[3:], start + 3
            named = "weekday" if kind == "date" and WEEKDAY_ONLY.fullmatch(text) else kind
            found.append(Candidate(text, named, start, start + len(text)))
            if kind != "date" or any(ch.isdigit() for ch in text):
                taken.append(span)
    return found


def counts(sentence: str, nouns: Iterable[str]) -> list[Candidate]:
    """The numbers in a sentence followed, within four words, by one of the counted nouns ("two
    pre-Election Day campaign debates"); a span of time counts its own unit ("366 days" for "how
    many days")."""
    wanted = set(nouns)
    out = []
    for candidate in numeric_candidates(sentence):
        if candidate.kind == "duration" and wanted & set(terms(candidate.text)):
            out.append(replace(candidate, kind="count"))
            continue
        if candidate.kind not in ("count", "amount"):
            continue
        following = sentence[candidate.end :].split()[:4]
        if not wanted or wanted & set(terms(" ".join(following))):
            out.append(candidate)
    return out


def name_candidates(sentence: str, known_people: set[str],
                    known_names: Set[str] = frozenset()) -> list[Candidate]:
    """Runs of capitalised words, typed; a sentence's first word counts only when it is not a
    common word ("The", "Officials") and the run goes on, or it is a known place ("France made
    history"), or `known_people` or `known_names` (words seen capitalised inside sentences)
    name it."""
    lexicon = words()
    stop = _stopwords()
    titles = lexicon["person_titles"]
    found = []
    credit = CREDIT.match(sentence)
    for match in NAME.finditer(sentence, credit.end() if credit else 0):
        start, text = match.start(), match.group()
        tokens = text.split()
        organisation = tokens[-1].lower().strip(".,") in lexicon["organisation_words"]
        while tokens and (tokens[0].lower() in stop or re.fullmatch(NUMBER_WORDS, tokens[0].lower())
                          or (tokens[0].lower() in lexicon["locative_words"] and len(tokens) > 2)
                          or (tokens[0].lower() in titles and not organisation)):
            start += len(tokens[0]) + 1
            tokens = tokens[1:]
            while tokens and re.fullmatch(CONNECTOR, tokens[0]):
                start += len(tokens[0]) + 1
                tokens = tokens[1:]
        possessive = next((i for i, t in enumerate(tokens[:-1]) if t.endswith(("’s", "'s"))), None)
        if possessive is not None:  # "Donald Trump's Republican rivals": the name ends there
            tokens = tokens[: possessive + 1]
        if tokens and re.fullmatch(r"\S+-[a-z]+", tokens[-1]):  # "American-born", "Police-led"
            tokens = tokens[:-1]
        modifier = next((i for i, t in enumerate(tokens[:-1]) if "-" in t and t.rsplit(
            "-", 1)[1] in lexicon["name_modifiers"]), None)
        elected = False
        if modifier is not None:  # "Houston-based Intuitive Machines": the name follows
            elected = tokens[modifier].split("-")[0].lower() in titles  # "President-elect"
            start += len(" ".join(tokens[: modifier + 1])) + 1
            tokens = tokens[modifier + 1 :]
        inner_titles = [] if organisation else _inner_titles(tokens)
        if inner_titles:  # "U.S. Defense Secretary Lloyd Austin": the person follows the title
            cut = inner_titles[-1] + 1
            if cut + 2 < len(tokens) and re.fullmatch(CONNECTOR, tokens[cut]):
                cut += 2  # "Secretary of Defense Lloyd Austin": the title runs on
            start += len(" ".join(tokens[:cut])) + 1
            tokens = tokens[cut:]
            if tokens and re.fullmatch(CONNECTOR, tokens[0]):
                continue  # "Secretary of Defense for International Affairs": a title, no name
        if len(tokens) == 2 and tokens[1][0].isdigit() and tokens[0].lower().strip(
                ".") in lexicon["numbered_labels"]:
            continue  # "Chapter 11": a label and its number, no name
        while tokens and (re.fullmatch(CONNECTOR, tokens[-1])
                          or re.fullmatch(r"\d[\d,.]*(?:st|nd|rd|th)?", tokens[-1])  # not "49ers"
                          or tokens[-1] == "No"  # "... Health System the No. 1 hospital"
                          or re.fullmatch(rf"(?:{MONTHS}|{WEEKDAYS})\.?", tokens[-1])):
            tokens = tokens[:-1]
        if not tokens or (not organisation and is_title(_without_possessive(tokens[-1]))):
            continue  # "Democratic Sen.", "Prime Minister": a title, no name
        text = sentence[start : start + len(" ".join(tokens))]
        if " ".join(tokens) != " ".join(text.split()):
            text = " ".join(tokens)
        text = _without_possessive(text)
        if not text or re.fullmatch(rf"(?:{MONTHS}|{WEEKDAYS})\.?", text):
            continue
        lowered = text.lower()
        if _opens_sentence(sentence, start) and " " not in text and not (
            lowered in known_people or lowered in known_names or lowered in gazetteer().places
        ):
            continue
        before = sentence[:start].split()[-1:] if start else []
        titled = bool(inner_titles) or elected or _after_title(before, text)
        kind = _name_kind(text, titled, known_people)
        if kind == "name" and before and before[0].lower() in words()["locative_words"]:
            kind = "place"
        found.append(Candidate(text, kind, start, start + len(text)))
        place = _leading_place(text)
        if place and kind != "place":  # "Massachusetts National Guard": a place inside a name
            at = start + text.index(place)
            found.append(Candidate(place, "place", at, at + len(place)))
    for match in QUOTED.finditer(sentence):
        title = match.group(1).strip(" ,.")
        if 1 <= len(title.split()) <= 8 and not title.endswith(("?", "!")):
            found.append(Candidate(title, "work", match.start(1), match.start(1) + len(title)))
    return found


COMMON_WORD = re.compile(r"(?<![\w’'-])[a-z][a-z’'-]*[a-z](?![\w’'-])")


def common_nouns(sentence: str, head: str) -> list[Candidate]:
    """Lower-case words and two-word runs of a sentence that may be a common noun answering
    "which <head>" ("sheep", "razor wire"): every word that is not a stopword nor the head
    itself, and a capitalised first word too ("Cicadas are ..."). Their likeness to the head
    noun types them (`fit`, set by the reader)."""
    stop = _stopwords()
    head_stems = head_terms(head)
    words_ = [m for m in COMMON_WORD.finditer(sentence[:1].lower() + sentence[1:])
              if m.group() not in stop and not set(terms(m.group())) & head_stems]
    found = [Candidate(sentence[m.start():m.end()], "thing", m.start(), m.end()) for m in words_]
    for first, second in pairwise(words_):
        if sentence[first.end():second.start()] == " ":
            found.append(Candidate(sentence[first.start():second.end()], "thing", first.start(),
                                   second.end()))
    return found


def fits_place(text: str, head: str | None, within: Set[str] = frozenset()) -> bool:
    """Whether a candidate can answer a place question by its head noun: a country for "which
    country", a state or province the country data knows for "which state" (one of the
    countries' `within`, the keys of those the question names, when the data lists theirs:
    "which US state"), anything but a country (a capital named like one aside) for "which
    city"; any candidate for other heads."""
    noun = _without_possessive(head or "")
    places = gazetteer()
    if text.lower() in words()["compass_words"]:
        return noun not in words()["place_heads_country"] | words()["place_heads_inside_country"]
    if noun in words()["place_heads_country"]:
        return places.is_country(text)
    if noun in words()["place_heads_province"]:
        name = text.lower().removeprefix("the ")
        listed_ = [places.provinces[key] for key in within if places.provinces.get(key)]
        return any(name in own for own in listed_) if listed_ else name in places.regions
    if noun in words()["place_heads_inside_country"]:
        if text.lower() in places.regions:
            return True
        return not places.is_country(text) and not places.is_demonym(text)
    return True


def names_other_body(text: str, head: str | None) -> bool:
    """Whether a name says it is another kind of body than the head noun asks for: "University
    of Cincinnati" for "which team", "Department of Transportation" for "which airline" (its
    words of `organisation_types`, none of them the head, its kin or a generic head)."""
    lexicon = words()
    if not head or head in lexicon["organisation_generic_heads"]:
        return False
    kinds = [w.lower().strip(".,") for w in text.split()]
    kinds = [w for w in kinds if w in lexicon["organisation_types"]]
    if not kinds:
        return False
    accepted = head_terms(head) | {stem for kin in type_kin().get(head, ()) for stem in terms(kin)}
    return not any(set(terms(kind)) & accepted for kind in kinds)


def _leading_place(text: str) -> str | None:
    """The place a longer name starts with ("Texas" in "Texas Department of Safety"), or is
    after a compass word ("Democratic Republic of Congo" in "Eastern Democratic Republic of
    Congo"); a compass word alone is none, though some country calls a province so."""
    tokens = text.split()
    places = gazetteer().places
    compass = words()["compass_words"]
    if len(tokens) > 1 and tokens[0].lower() in compass:
        rest = " ".join(tokens[1:])
        if rest.lower() in places:
            return rest
    for n in (3, 2, 1):
        lead = " ".join(tokens[:n])
        if len(tokens) > n and lead.lower() in places and lead.lower() not in compass:
            return lead
    return None


def _name_kind(text: str, titled: bool, known_people: set[str]) -> str:
    places = gazetteer()
    lowered = text.lower()
    tokens = lowered.replace("’", "'").split()
    if lowered in places.places or lowered.removeprefix("the ") in places.places or (
            lowered.removeprefix("the ") in words()["countries_beyond_data"]):
        return "place"
    if places.is_demonym(text):
        return "nationality"
    if text.replace(".", "") in places.codes or lowered in places.aliases:
        return "place"
    if any(t.strip(".,") in words()["organisation_words"] for t in tokens):
        return "organisation"
    if titled or lowered in known_people:
        return "person"
    if text.isupper() and 2 <= len(text) <= 6:
        return "organisation"
    return "name"


def _acronym(text: str) -> bool:
    """One word in capitals ("GOP", "NATO"): no person's name, even after a title word ("a
    major GOP donor") or as the last word of a run ("the Iowa GOP")."""
    return " " not in text and text.isupper() and len(text) > 1


def _after_title(before: list[str], name: str) -> bool:
    """Whether the word before a name (`before`: it, or nothing) is a person's title ("Minister
    James Heapey"); an acronym after one is no person ("a major GOP donor")."""
    return bool(before) and is_title(before[0]) and not _acronym(name)


def is_title(word: str) -> bool:
    """Whether a word is a person's title ("Minister", "Sen.", "president,")."""
    return word.lower().strip(".,") in words()["person_titles"]


def _inner_titles(tokens: list[str]) -> list[int]:
    """Where title words stand in a run of capitals, but last ("U.S. Defense Secretary Lloyd
    Austin": the person follows the last of them)."""
    return [i for i, t in enumerate(tokens[:-1]) if is_title(t)]


def _opens_sentence(sentence: str, start: int) -> bool:
    """Whether nothing but spaces, quotes or a bracket stands before `start`."""
    return not sentence[:start].strip(" “\"‘'(")


def _without_possessive(word: str) -> str:
    """"Duale's" → "Duale" (either apostrophe)."""
    return word.removesuffix("’s").removesuffix("'s")


def names_inside(sentences: Iterable[str]) -> set[str]:
    """Single capitalised words inside the sentences, not first (lower case): "Ford" in
    "Analysts said Ford would recover" makes "Ford and other automakers ..." begin with a
    name."""
    found = set()
    for sentence in sentences:
        for match in NAME.finditer(sentence):
            if " " not in match.group() and not _opens_sentence(sentence, match.start()):
                found.add(_without_possessive(match.group()).lower())
    return found


def people_in(sentences: Iterable[str]) -> set[str]:
    """Names used as people across the sentences: a capitalised run after a person's title,
    and a two- or three-word name whose last word is also used alone (then both forms)."""
    runs: list[str] = []
    singles: set[str] = set()
    people: set[str] = set()
    stop = _stopwords() - {"the"}  # "the Chiefs" below says a team, not a surname
    for sentence in sentences:
        for match in NAME.finditer(sentence):
            tokens = [_without_possessive(t) for t in match.group().split()]
            while len(tokens) > 1 and tokens[0].lower() in stop:  # "Some Verizon customers"
                tokens = tokens[1:]
            before = sentence[: match.start()].split()[-1:]
            if tokens and _after_title(before, " ".join(tokens)):
                people.add(" ".join(tokens).lower())
                people.add(tokens[-1].lower())
            inner = _inner_titles(tokens)
            if inner:
                tokens = tokens[inner[-1] + 1 :]
                people.add(" ".join(tokens).lower())
                people.add(tokens[-1].lower())
            if len(tokens) == 1 and not (before and before[0].lower() == "the"):
                singles.add(tokens[0].lower())  # "the Chiefs" is a team's short name, no surname
            elif 2 <= len(tokens) <= 3 and all(t[:1].isupper() for t in tokens) and not _acronym(
                    tokens[-1]):  # "Iowa GOP" is no first name and surname
                runs.append(" ".join(tokens).lower())
    places = gazetteer().places
    for run in runs:
        last = run.split()[-1]
        if last in singles and last not in places and run not in places:
            people.add(run)
            people.add(last)
    return people
