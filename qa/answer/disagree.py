"""Sources that disagree: well-supported figures of the asked kind that differ between articles.

Only quantities are compared (amounts, counts, percentages, years): they can be read as numbers
and units, so "$100 million" and "100 million dollars" are one value, and "$100 million" against
"Sh14.5 billion" is the same sum in two currencies, shown as given, not a contradiction. Two
figures from articles of different dates are an update (the newer one answers, and the answer
says so); from articles of one date, or undated, a conflict. Names for a role are not compared:
two names in two articles are far more often two people than a contradiction, and a false alarm
is worse than none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.answer.lexicon import currency_signs, listed, words
from qa.answer.text import terms

QUANTITY_KINDS = frozenset({"amount", "count", "percent", "year"})
SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9,
          "bn": 1e9, "b": 1e9, "trillion": 1e12}
SMALL_NUMBERS = {word: n for n, word in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty"))}
NUMBER = re.compile(r"\d(?:[\d,]*\d)?(?:\.\d+)?")


@dataclass(frozen=True)
class Quantity:
    """A figure as a number and its unit (a currency's name, "%", or "" for a plain count), and
    what the words before it make of it: a lower bound ("more than"), an upper bound ("up
    to", "nearly") or an estimate ("around"); "nearly" is both of the last two."""

    value: float
    unit: str
    at_least: bool = False
    at_most: bool = False
    about: bool = False


def quantity(text: str, kind: str, after: str = "", before: str = "") -> Quantity | None:
    """The number and unit a candidate's words give, or None when they give no number. A count's
    unit is what it counts, the first informative word of `after` (the words that follow it in
    its sentence): "33,000 workers" and "30,000 workers" are two figures of one thing, "four
    cups" and "three games" are not one thing. `before`, the words before it in its sentence,
    says whether it is a bound or an estimate."""
    lowered = text.lower()
    match = NUMBER.search(text)
    if match:
        value = float(match.group().replace(",", ""))
    elif lowered.split()[0] in SMALL_NUMBERS:
        value = float(SMALL_NUMBERS[lowered.split()[0]])
    else:
        return None
    for word, factor in SCALES.items():
        if re.search(rf"(?<=[\d\s]){word}\b", lowered):
            value *= factor
            break
    unit = ""
    if kind == "percent":
        unit = "%"
    elif kind == "amount":
        unit = _currency(text) or "?"
    elif kind == "count":
        counted = terms(" ".join(after.split()[:2]))
        unit = f"#{counted[0]}" if counted else "#"
    qualifier = " " + " ".join(before.lower().split()[-3:])

    def said(name: str) -> bool:
        return any(qualifier.endswith(" " + w) for w in words()[name])

    return Quantity(value, unit, said("figure_at_least"), said("figure_at_most"),
                    said("figure_about"))


def _currency(text: str) -> str | None:
    """The currency's name from its sign, code or word ("$", "Sh", "dollars" → dollar...); a
    word that also weighs things ("432.3 million pounds" of turkey) names none without its
    sign, so it is never shown as the same sum in another currency."""
    lowered = text.lower()
    weights = words()["currency_words_also_weights"]
    for name, signs in currency_signs().items():
        if any(text.startswith(sign) for sign in sorted(signs, key=len, reverse=True)) or (
                name not in weights and re.search(rf"\b{name}s?\b", lowered)):
            return name
    prefixes = [p for p in listed("currency_prefixes") if text.startswith(p)]
    return max(prefixes, key=len) if prefixes else None


def is_currency(unit: str) -> bool:
    """Whether a quantity's unit is a currency (not a share, a counted noun or unknown)."""
    return unit not in ("", "%", "?") and not unit.startswith("#")


def _span(figure: Quantity, margin: float) -> tuple[float, float]:
    """The values a figure allows: itself, or from it up (a lower bound), up to it (an upper
    bound), and within `margin` of it either way (an estimate)."""
    low = high = figure.value
    if figure.about:
        low, high = low * (1 - margin), high * (1 + margin)
    if figure.at_least:
        high = float("inf")
    if figure.at_most:
        low = 0.0
    return low, high


def differ(a: Quantity, b: Quantity, margin: float) -> bool:
    """Two figures that cannot be one value: more than 1% apart, bounds and estimates (within
    `margin`) taken as ranges ("more than 30,000" allows 33,000)."""
    (a_low, a_high), (b_low, b_high) = _span(a, margin), _span(b, margin)
    slack = 0.01 * max(abs(a.value), abs(b.value), 1e-9)
    return a_low - b_high > slack or b_low - a_high > slack


def relation(a: Quantity, b: Quantity, date_a: str, date_b: str, margin: float) -> str | None:
    """How two figures of one question relate: None (the same, or compatible), "currencies",
    "update" or "conflict"."""
    if a.unit != b.unit:
        return "currencies" if is_currency(a.unit) and is_currency(b.unit) else None
    if not differ(a, b, margin):
        return None
    if date_a and date_b and date_a != date_b:
        return "update"
    return "conflict"
