"""Time in the question: the dates a question asks about, as a window of publication dates.

Read relative to an `as_of` date (today unless given):

- explicit dates with their year after a preposition: "in February 2024", "on 25 September
  2023", "before 2020", "since the election in 2022", "between March and May 2024", "from 2020
  to 2022", and seasons and calendar quarters the same way: "in summer 2024", "in the winter of
  2023", "in Q3 2024", "since the third quarter of 2023", "from Q1 to Q3 2024" (a date without
  a year, "in May", "in the first quarter", "in summer", is left alone: it is as often an event
  to come, or a name, "summer camp");
- "as of March 2024": what was known then, so articles dated after it are left out;
- periods relative to `as_of`: "today", "yesterday", "this week", "last month", "this year",
  "this quarter", "last quarter", "this summer", "last spring", "in the past 3 weeks", "two
  months ago";
- words asking for the newest evidence ("latest", "current", "still", ...): no filter, but the
  retriever ranks newer articles higher among the relevant ones.

The words are language data (`qa/lang/time.en.yaml`); `dateparser` reads each date phrase found
(with `as_of` as its base, preferring the past), and the rules here turn what it read, a day, a
month or a year, into a range; seasons and quarters are read here, as three months from the
month the language file gives. Seasons are the northern hemisphere's meteorological ones
(spring = March to May, ..., winter = December to February), and a season's year is the one it
starts in: "winter 2023" is December 2023 to February 2024. A range that ends at `as_of` reaches
`time_slack_days` past it: an article about a day is often dated the next day, and the
benchmark's article dates are the day its search was made, up to a day after the quiz. Ranges
the question names by the calendar ("in February 2024", "in Q3 2024") are exact.
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
    named_parts: re.Pattern[str]
    """The season or the quarter in a phrase read as one (groups season, ordinal, number)."""
    seasons: dict[str, int]
    quarter_ordinals: dict[str, int]
    season_relative: re.Pattern[str]
    season_relations: dict[str, str]


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    data = yaml.safe_load(LANGUAGE_FILE.read_text(encoding="utf-8"))
    lower = set(data["lower_case_only"])
    any_case = [w for w in data["recent"] if w not in lower]
    prepositions = {k.lower(): v for k, v in data["prepositions"].items()}
    qualifier = rf"(?:(?:{_alternatives(data['qualifiers'])})[\s-]+)?"
    determiner = rf"(?:{_alternatives(data['determiners'])})"
    season = _alternatives(data["seasons"])
    ordinal = _alternatives(data["quarter_ordinals"])
    quarter_word = _alternatives(data["quarter_words"])
    prefix = _alternatives(data["quarter_prefixes"])
    named = (
        rf"(?:{determiner}\s+)?{qualifier}"
        rf"(?:{season}|(?:{ordinal})\s+(?:{quarter_word})|(?:{prefix})[1-4])"
    )
    named_dated = rf"{named}(?:\s+of|,)?\s+{YEAR}"
    # A season or a quarter with its year is tried first, and the words between a preposition
    # and its date may not be one ("in the winter of 2023" is not "in ... 2023").
    phrase = rf"(?:{named_dated}|{DATE_PHRASE}|{named})"
    gap = (
        rf"(?:(?!{named_dated}){determiner}\s+[\w'’-]+(?:\s+[\w'’-]+)?\s+(?:in|of)\s+)?"
    )
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
            rf"\b(?:{_alternatives(data['range_openers'])})\s+{qualifier}(?P<first>{phrase})"
            rf"\s+(?:{joiners}|-|–)\s+{qualifier}(?P<second>{phrase})\b",
            re.IGNORECASE,
        ),
        bounded=re.compile(
            rf"\b(?P<prep>{_alternatives(prepositions)})\s+{gap}{qualifier}(?P<date>{phrase})\b",
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
        named_parts=re.compile(
            rf"\b(?:(?P<season>{season})|(?P<ordinal>{ordinal})\s+(?:{quarter_word})"
            rf"|(?:{prefix})(?P<number>[1-4]))\b",
            re.IGNORECASE,
        ),
        seasons={k.lower(): int(v) for k, v in data["seasons"].items()},
        quarter_ordinals={k.lower(): int(v) for k, v in data["quarter_ordinals"].items()},
        season_relative=re.compile(
            rf"(?<![\w-])(?P<relation>{_alternatives(data['season_relations'])})\s+"
            rf"(?P<season>{season})(?![\w-])",
            re.IGNORECASE,
        ),
        season_relations={k.lower(): v for k, v in data["season_relations"].items()},
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
    recent = bool(read and read.prefer_recent) or (
        as_of is not None and settings.time_as_of_prefers_recent
    )
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
    Without `relative`, periods relative to `as_of` ("this week") are not read. Words read as a
    named time are not read again relative to `as_of`: "the last quarter of 2023" is not also
    "last quarter"."""
    words = vocabulary()
    named = _explicit(question, as_of, settings, words)
    around = [
        b
        for b in (_relative(question, as_of, settings, words) if relative else [])
        if not any(b.start < n.end and n.start < b.end for n in named)
    ]
    bounds = named + around
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
    start after `as_of` bounds nothing (an event to come is previewed before it); seasons and
    quarters are named times like months. "As of March 2024" ends the search at that date
    either way: it names no event but what was known then, a bound on publication itself."""
    strict = settings.time_ranges_bound_publication
    bounds: list[_Bound] = []
    taken: list[tuple[int, int]] = []
    for found in words.between.finditer(question):
        second = _period(found["second"], as_of, words)
        first = _period(found["first"], as_of, words, year_of=second)
        if first and second:
            taken.append(found.span())
            if strict:
                bounds.append(_Bound(first[0], second[1], found.group(0), *found.span()))
            elif first[0] <= as_of:
                bounds.append(_Bound(first[0], None, found.group(0), *found.span()))
    for found in words.bounded.finditer(question):
        if any(s <= found.start() < e for s, e in taken):
            continue
        period = _period(found["date"], as_of, words)
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
            "known_by": (None, end),
        }[kind]
        if not strict and kind != "known_by":
            since, until = (since if since is not None and since <= as_of else None), None
        if since is not None or until is not None:
            bounds.append(_Bound(since, until, found.group(0), *found.span()))
    return bounds


def _period(
    phrase: str, as_of: date, words: Vocabulary, year_of: tuple[date, date] | None = None
) -> tuple[date, date] | None:
    """The first and last day of the date a phrase names (a day, a month, a season, a quarter or
    a year) relative to `as_of`. A date without a year names nothing ("in May" may be any May,
    and is as often an event to come as a time to search; so are "in summer" and "in the first
    quarter"), unless `year_of` gives it one: the year of the range it starts ("between March
    and May 2024"), or the year before when it would fall after that range."""
    text = " ".join(phrase.replace(" of ", " ").split())
    if MONTH_ALONE.fullmatch(text) and not text[0].isupper():
        return None
    if re.search(YEAR, text) is not None:
        return _read(text, as_of, words)
    if year_of is None:
        return None
    period = _read(f"{text} {year_of[1].year}", as_of, words)
    if period is not None and period[0] > year_of[1]:
        period = _read(f"{text} {year_of[1].year - 1}", as_of, words)
    return period


def _read(text: str, as_of: date, words: Vocabulary) -> tuple[date, date] | None:
    """The first and last day of a date phrase with its year: a season or a quarter by the
    language file's words, a day, a month or a year by dateparser."""
    named = words.named_parts.search(text)
    year = re.search(YEAR, text)
    if named is not None and year is not None:
        if named["season"]:
            first_month = words.seasons[named["season"].lower()]
        else:
            number = named["number"] or words.quarter_ordinals[named["ordinal"].lower()]
            first_month = 3 * (int(number) - 1) + 1  # quarter n starts 3 months after n - 1
        return _three_months(int(year.group(0)), first_month)
    parsed = _parser(as_of).get_date_data(text)
    if not parsed or not parsed.date_obj:
        return None
    day = parsed.date_obj.date()
    if parsed.period == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    if parsed.period == "month":
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    return day, day


def _three_months(year: int, first_month: int) -> tuple[date, date]:
    """The first and last day of the three months from `first_month` of `year`: a quarter, or a
    season (winter runs into the next year)."""
    last_year, last_month = divmod(year * 12 + first_month + 1, 12)  # months from year 0
    last_month += 1
    return date(year, first_month, 1), date(
        last_year, last_month, calendar.monthrange(last_year, last_month)[1]
    )


def _quarter_of(day: date) -> tuple[date, date]:
    """The first and last day of the calendar quarter holding `day`."""
    return _three_months(day.year, day.month - (day.month - 1) % 3)


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
    for found in words.season_relative.finditer(question):
        relation = words.season_relations[" ".join(found["relation"].lower().split())]
        first_month = words.seasons[found["season"].lower()]
        season = _relative_season(relation, first_month, as_of, slack)
        if season is not None:
            bounds.append(_Bound(*season, found.group(0), *found.span()))
    return bounds


def _relative_period(kind: str, as_of: date, week: timedelta, slack: timedelta
                     ) -> tuple[date, date]:
    """The range of a period kind named in the language file, relative to `as_of`."""
    end = as_of + slack
    first_of_month = as_of.replace(day=1)
    previous_month_end = first_of_month - timedelta(days=1)
    first_of_quarter = _quarter_of(as_of)[0]
    periods = {
        "today": (as_of, end),
        "yesterday": (as_of - timedelta(days=1), end),
        "week": (as_of - week, end),
        "previous_week": (as_of - 2 * week, end),
        "month_to_date": (first_of_month, end),
        "past_month": (as_of - timedelta(days=30), end),
        "previous_month": (previous_month_end.replace(day=1), previous_month_end),
        "quarter_to_date": (first_of_quarter, end),
        "previous_quarter": _quarter_of(first_of_quarter - timedelta(days=1)),
        "year_to_date": (date(as_of.year, 1, 1), end),
        "past_year": (as_of - timedelta(days=365), end),
        "previous_year": (date(as_of.year - 1, 1, 1), date(as_of.year - 1, 12, 31)),
    }
    return periods[kind]


def _relative_season(
    relation: str, first_month: int, as_of: date, slack: timedelta
) -> tuple[date, date] | None:
    """The range of "this summer" or "last spring" relative to `as_of`. The previous one is the
    latest season of that name over by `as_of` (in October "last summer" is the one just gone,
    like "last month"). This one is the one holding `as_of`, up to it (like "this month"), else
    the one starting in `as_of`'s year: whole when over, nothing when still to come (an event to
    come is previewed before it, as with a named time starting after `as_of`)."""
    year = as_of.year if as_of.month >= first_month else as_of.year - 1
    latest = _three_months(year, first_month)
    holds = latest[1] >= as_of
    this = (latest[0], as_of + slack) if holds else (latest if year == as_of.year else None)
    previous = _three_months(year - 1, first_month) if holds else latest
    return {"this": this, "previous": previous}[relation]


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
