"""Time in the question: the dates a question asks about, as a window of publication dates.

Read relative to an `as_of` date (today unless given):

- explicit dates with their year after a preposition: "in February 2024", "on 25 September
  2023", "before 2020", "since the election in 2022", "between March and May 2024", "from 2020
  to 2022" (a date without a year, "in May", is left alone: it is as often an event to come);
- periods relative to `as_of`: "today", "yesterday", "this week", "last month", "this year",
  "in the past 3 weeks", "two months ago";
- words asking for the newest evidence ("latest", "current", "still", ...): no filter, but the
  retriever ranks newer articles higher among the relevant ones.

The words are language data (`qa/lang/time.en.yaml`); `dateparser` reads each date phrase found
(with `as_of` as its base, preferring the past), and the rules here turn what it read, a day, a
month or a year, into a range. A range that ends at `as_of` reaches `time_slack_days` past it: an
article about a day is often dated the next day, and the benchmark's article dates are the day
its search was made, up to a day after the quiz. Ranges the question names by the calendar
("in February 2024") are exact.
"""

from __future__ import annotations

import calendar
import dataclasses
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from qa.dates import MONTH
from qa.settings import Settings
from qa.types import TimeWindow

log = logging.getLogger(__name__)

LANGUAGE_FILE = Path(__file__).parent / "lang" / "time.en.yaml"
YEAR = r"(?:19|20)\d\d"
DAY = r"\d{1,2}(?:st|nd|rd|th)?"
DATE_PHRASE = (
    rf"(?:{YEAR}-\d{{1,2}}-\d{{1,2}}"
    rf"|(?:{MONTH})\.?\s+{DAY}(?:,?\s+{YEAR})?"
    rf"|{DAY}\s+(?:of\s+)?(?:{MONTH})\.?(?:,?\s+{YEAR})?"
    rf"|(?:{MONTH})\.?,?\s+(?:of\s+)?{YEAR}"
    rf"|(?:{MONTH})"
    rf"|{YEAR})"
)
"""A date a question may name: ISO, a day, a month with or without its year, a year. A month
alone must be capitalised (checked after matching): "may" and "march" are also other words."""
MONTH_ALONE = re.compile(rf"(?:{MONTH})\.?", re.IGNORECASE)


@dataclass(frozen=True)
class Vocabulary:
    """The time words of one language, compiled."""

    recent: re.Pattern[str]
    recent_any_case: re.Pattern[str]
    periods: dict[str, str]
    period_pattern: re.Pattern[str]
    prepositions: dict[str, str]
    between: re.Pattern[str]
    bounded: re.Pattern[str]
    span: re.Pattern[str]
    ago: re.Pattern[str]
    units: dict[str, int]
    numbers: dict[str, int]


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    data = yaml.safe_load(LANGUAGE_FILE.read_text(encoding="utf-8"))
    lower = set(data["lower_case_only"])
    any_case = [w for w in data["recent"] if w not in lower]
    prepositions = {k.lower(): v for k, v in data["prepositions"].items()}
    qualifier = rf"(?:(?:{_alternatives(data['qualifiers'])})[\s-]+)?"
    gap = r"(?:(?:the|a|an|its|their|his|her|this)\s+[\w'’-]+(?:\s+[\w'’-]+)?\s+(?:in|of)\s+)?"
    number = rf"(?:\d+|{_alternatives(data['numbers'])})"
    unit = _alternatives(data["units"])
    joiners = _alternatives(data["range_joiners"])
    return Vocabulary(
        recent=_words(list(lower), re.NOFLAG),
        recent_any_case=_words(any_case, re.IGNORECASE),
        periods={k.lower(): v for k, v in data["periods"].items()},
        period_pattern=_words(list(data["periods"]), re.IGNORECASE),
        prepositions=prepositions,
        between=re.compile(
            rf"\b(?:{_alternatives(data['range_openers'])})\s+{qualifier}(?P<first>{DATE_PHRASE})"
            rf"\s+(?:{joiners}|-|–)\s+{qualifier}(?P<second>{DATE_PHRASE})\b",
            re.IGNORECASE,
        ),
        bounded=re.compile(
            rf"\b(?P<prep>{_alternatives(prepositions)})\s+{gap}{qualifier}(?P<date>{DATE_PHRASE})\b",
            re.IGNORECASE,
        ),
        span=re.compile(
            rf"\b(?:in\s+|over\s+|during\s+|within\s+)?(?:the\s+)?"
            rf"(?:{_alternatives(data['span_words'])})\s+(?P<n>{number})\s+(?P<unit>{unit})\b",
            re.IGNORECASE,
        ),
        ago=re.compile(rf"\b(?P<n>{number})\s+(?P<unit>{unit})\s+ago\b", re.IGNORECASE),
        units={k.lower(): int(v) for k, v in data["units"].items()},
        numbers={k.lower(): int(v) for k, v in data["numbers"].items()},
    )


def _alternatives(words: Any) -> str:
    ordered = sorted(words, key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in ordered)


def _words(words: list[str], flags: re.RegexFlag) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-])(?:{_alternatives(words)})(?![\w-])", flags)


@dataclass(frozen=True)
class _Bound:
    since: date | None
    until: date | None
    phrase: str
    start: int
    end: int


def window_for(
    question: str,
    settings: Settings,
    *,
    as_of: date | None = None,
    since: date | None = None,
    until: date | None = None,
) -> TimeWindow | None:
    """The publication dates to search for this question; None when nothing narrows it.

    `since` and `until` given here override what the question says, and leave out articles
    with no date. An `as_of` given here also bounds the search at `as_of` plus
    `time_slack_days` (what was published by then) when `time_as_of_bound` is on; alone, that
    bound leaves undated articles out too. A range read from the question also searches
    undated articles when `time_question_keeps_undated` is on.
    """
    base = as_of or date.today()
    read = read_time(question, base, settings)
    lower = since if since is not None else (read.since if read else None)
    upper = until if until is not None else (read.until if read else None)
    if as_of is not None and until is None and settings.time_as_of_bound:
        bound = as_of + timedelta(days=settings.time_slack_days)
        upper = bound if upper is None else min(upper, bound)
    recent = bool(read and read.prefer_recent)
    if lower is None and upper is None and not recent:
        return None
    return TimeWindow(
        since=lower,
        until=upper,
        prefer_recent=recent,
        as_of=base,
        phrase=read.phrase if read else "",
        spans=read.spans if read else (),
        relative=bool(read and read.relative),
        keep_undated=(
            since is None
            and until is None
            and bool(read and read.filters)
            and settings.time_question_keeps_undated
        ),
    )


def read_time(
    question: str, as_of: date, settings: Settings, relative: bool = True
) -> TimeWindow | None:
    """The time words of the question as a window relative to `as_of`; None when it has none.
    Without `relative`, periods relative to `as_of` ("this week") are not read."""
    words = vocabulary()
    around = _relative(question, as_of, settings, words) if relative else []
    bounds = _explicit(question, as_of, settings, words) + around
    recent = words.recent.search(question) or words.recent_any_case.search(question)
    if not bounds and not recent:
        return None
    lower = max((b.since for b in bounds if b.since), default=None)
    upper = min((b.until for b in bounds if b.until), default=None)
    if lower and upper and lower > upper:
        first = min(bounds, key=lambda b: b.start)
        lower, upper = first.since, first.until
    spans = tuple(sorted((b.start, b.end) for b in bounds))
    return TimeWindow(
        since=lower,
        until=upper,
        prefer_recent=bool(recent),
        as_of=as_of,
        phrase="; ".join(b.phrase for b in sorted(bounds, key=lambda b: b.start)),
        spans=spans,
        relative=bool(around),
    )


def without_relative(question: str, settings: Settings, empty: TimeWindow) -> TimeWindow:
    """The window to search instead when `empty`, read relative to today because no `as_of` was
    given, holds no article (an archive asked about "this week"): the question's other time
    words only, and a note of the range that was dropped."""
    kept = read_time(question, empty.as_of or date.today(), settings, relative=False)
    said = f" ({empty.phrase})" if empty.phrase else ""
    return dataclasses.replace(
        kept or TimeWindow(as_of=empty.as_of),
        keep_undated=kept is not None and settings.time_question_keeps_undated,
        instead=f"{empty.range_text}{said}",
    )


def without_time_words(question: str, window: TimeWindow | None) -> str:
    """The question with the phrases its range was read from taken out (for retrieval); words
    asking for the latest news stay, as they often belong to the subject ("next prime minister")."""
    if window is None or not window.spans:
        return question
    kept, cursor = [], 0
    for start, end in window.spans:
        if start >= cursor:
            kept.append(question[cursor:start])
            cursor = end
    kept.append(question[cursor:])
    return re.sub(r"\s+(?=[?.,;:!])", "", " ".join("".join(kept).split()))


def _explicit(
    question: str, as_of: date, settings: Settings, words: Vocabulary
) -> list[_Bound]:
    """The bounds of the dates the question names. Unless `time_ranges_bound_publication`, a
    named time bounds the publication dates searched only from its start: an article reports
    an event during or after it ("the first mammal cloned in 1996" is told in 2024), and a
    start after `as_of` bounds nothing (an event to come is previewed before it)."""
    strict = settings.time_ranges_bound_publication
    bounds: list[_Bound] = []
    taken: list[tuple[int, int]] = []
    for found in words.between.finditer(question):
        second = _period(found["second"], as_of)
        first = _period(found["first"], as_of, year_of=second)
        if first and second:
            taken.append(found.span())
            if strict:
                bounds.append(_Bound(first[0], second[1], found.group(0), *found.span()))
            elif first[0] <= as_of:
                bounds.append(_Bound(first[0], None, found.group(0), *found.span()))
    for found in words.bounded.finditer(question):
        if any(s <= found.start() < e for s, e in taken):
            continue
        period = _period(found["date"], as_of)
        if period is None:
            continue
        kind = words.prepositions[" ".join(found["prep"].lower().split())]
        start, end = period
        since, until = {
            "during": (start, end),
            "since": (start, None),
            "after": (end + timedelta(days=1), None),
            "before": (None, start - timedelta(days=1)),
            "until": (None, end),
        }[kind]
        if not strict:
            since, until = (since if since is not None and since <= as_of else None), None
        if since is not None or until is not None:
            bounds.append(_Bound(since, until, found.group(0), *found.span()))
    return bounds


def _period(phrase: str, as_of: date, year_of: tuple[date, date] | None = None
            ) -> tuple[date, date] | None:
    """The first and last day of the date a phrase names (a day, a month or a year), read by
    dateparser relative to `as_of`. A date without a year names nothing ("in May" may be any
    May, and is as often an event to come as a time to search), unless `year_of` gives it one:
    the year of the range it starts ("between March and May 2024"), or the year before when it
    would fall after that range."""
    text = " ".join(phrase.replace(" of ", " ").split())
    if MONTH_ALONE.fullmatch(text) and not text[0].isupper():
        return None
    has_year = re.search(YEAR, text) is not None
    if not has_year and year_of is None:
        return None
    if year_of is not None and not has_year:
        text = f"{text} {year_of[1].year}"
    parsed = _parser(as_of).get_date_data(text)
    if not parsed or not parsed.date_obj:
        return None
    day = parsed.date_obj.date()
    if parsed.period == "year":
        first, last = date(day.year, 1, 1), date(day.year, 12, 31)
    elif parsed.period == "month":
        first = day.replace(day=1)
        last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    else:
        first = last = day
    if year_of is not None and not has_year and first > year_of[1]:
        first, last = first.replace(year=first.year - 1), last.replace(year=last.year - 1)
    return first, last


def _relative(question: str, as_of: date, settings: Settings, words: Vocabulary) -> list[_Bound]:
    slack = timedelta(days=settings.time_slack_days)
    week = timedelta(days=settings.time_week_days)
    bounds = []
    for found in words.period_pattern.finditer(question):
        kind = words.periods[" ".join(found.group(0).lower().split())]
        since, until = _relative_period(kind, as_of, week, slack)
        bounds.append(_Bound(since, until, found.group(0), *found.span()))
    for found in words.span.finditer(question):
        days = _count(found["n"], words) * words.units[found["unit"].lower()]
        since = as_of - timedelta(days=days)
        bounds.append(_Bound(since, as_of + slack, found.group(0), *found.span()))
    for found in words.ago.finditer(question):
        unit = words.units[found["unit"].lower()]
        centre = as_of - timedelta(days=_count(found["n"], words) * unit)
        half = timedelta(days=max(unit, 1))
        bounds.append(_Bound(centre - half, centre + half, found.group(0), *found.span()))
    return bounds


def _relative_period(kind: str, as_of: date, week: timedelta, slack: timedelta
                     ) -> tuple[date, date]:
    """The range of a period kind named in the language file, relative to `as_of`."""
    end = as_of + slack
    first_of_month = as_of.replace(day=1)
    previous_month_end = first_of_month - timedelta(days=1)
    periods = {
        "today": (as_of, end),
        "yesterday": (as_of - timedelta(days=1), end),
        "week": (as_of - week, end),
        "previous_week": (as_of - 2 * week, end),
        "month_to_date": (first_of_month, end),
        "past_month": (as_of - timedelta(days=30), end),
        "previous_month": (previous_month_end.replace(day=1), previous_month_end),
        "year_to_date": (date(as_of.year, 1, 1), end),
        "past_year": (as_of - timedelta(days=365), end),
        "previous_year": (date(as_of.year - 1, 1, 1), date(as_of.year - 1, 12, 31)),
    }
    return periods[kind]


def _count(text: str, words: Vocabulary) -> int:
    return int(text) if text.isdigit() else words.numbers[text.lower()]


def _parser(as_of: date) -> Any:
    """dateparser in English with `as_of` as the base of relative and partial dates."""
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=["en"],
        settings={
            "RELATIVE_BASE": datetime(as_of.year, as_of.month, as_of.day),
            "PREFER_DATES_FROM": "past",
            "PREFER_DAY_OF_MONTH": "first",
            "TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )


def as_day(value: date | str | None, name: str = "date") -> date | None:
    """A date option given as a date or an ISO `YYYY-MM-DD` string ("" or None = not given)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError as err:
        raise ValueError(f"{name} must be a date as YYYY-MM-DD, not {value!r}") from err
