"""Publication dates as data: an article's date normalised to ISO `YYYY-MM-DD`, or none.

The first source that reads as a whole date wins: the dates the file gives, in the order the
reader passes them (front matter `date`, a `.jsonl` line's `date`, HTML `article:published_time`,
`<time datetime>`, JSON-LD `datePublished`), then a dateline at the start of the text
("LISBON, Sept 25 (Reuters) - ...", "March 3, Porto, Portugal - ..."). A dateline without a
year takes the year the file gives (a `date` that is only a year, or a folder of its path named by
a year), else it gives no date: guessing the year would file the article under the wrong one.

ISO forms (`2024-01-05`, `2024/01/05`, `2024-01-05T10:00:00Z`) are read by rule, keeping the date
as the publisher wrote it (no time-zone shift); anything else goes to `dateparser` (English,
offline), which must find a day, a month and a year.
"""

from __future__ import annotations

import calendar
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from qa.types import Article

log = logging.getLogger(__name__)

ISO_DATE = re.compile(r"\s*(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?![\d])")
YEAR_ONLY = re.compile(r"\s*(?P<y>\d{4})\s*")
YEAR_FOLDER = re.compile(r"(?:^|/)(?P<y>(?:19|20)\d\d)/")

MONTHS: dict[str, int] = {
    **{name.lower(): n for n, name in enumerate(calendar.month_name) if name},
    **{name.lower(): n for n, name in enumerate(calendar.month_abbr) if name},
    "sept": 9,
}
"""English month names and abbreviations (the C locale's, which the standard library ships), and
the news agencies' "Sept"."""
MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")"

_MONTH_DAY = (
    rf"(?P<month>{MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,\s*|\s+)?(?P<year>\d{{4}})?"
)
_DAY_MONTH = (
    rf"(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<month>{MONTH})\.?(?:,?\s+(?P<year>\d{{4}}))?"
)
_PLACE = r"[A-Z][\w.'’-]*(?:[ ][A-Za-z][\w.'’-]*){0,3}"
_DASH = r"\s*(?:\([^)\n]{1,40}\)\s*)?[-–—:]"
DATELINES = [
    re.compile(rf"(?:{_PLACE},\s*){{1,2}}{form}{_DASH}", re.IGNORECASE)
    for form in (_MONTH_DAY, _DAY_MONTH)
] + [
    re.compile(rf"{form},?\s+(?:{_PLACE},?\s*){{1,2}}{_DASH}", re.IGNORECASE)
    for form in (_MONTH_DAY, _DAY_MONTH)
]
"""A dateline: place(s) then the date ("LISBON, Sept 25 (Reuters) -"), or the date then the
place(s) ("March 3, Porto, Portugal -"), ended by a dash or a colon, at the start of a line."""
DATELINE_LINES = 3
"""Non-empty lines at the start of the text searched for a dateline (a title may come first)."""


@dataclass(frozen=True)
class PublishedDate:
    """An article's publication date: `iso` is `YYYY-MM-DD` ("" when none could be read), `raw`
    is what it was read from, as written (a front-matter value, a meta tag, the dateline)."""

    iso: str = ""
    raw: str = ""

    @property
    def number(self) -> int:
        """The date as a number that sorts and filters like the date (20240105; 0 = none)."""
        return date_number(self.iso)


def date_number(iso: str) -> int:
    """`2024-01-05` as 20240105, the form Chroma compares with `$gte`/`$lte`; "" as 0."""
    return int(iso.replace("-", "")) if iso else 0


def from_number(number: int) -> date | None:
    """20240105 as a date; 0 (undated) as None."""
    return date(number // 10000, number // 100 % 100, number % 100) if number else None


def of_article(article: Article) -> PublishedDate:
    """The article's date as the corpus reader read it, or, when it was not read (an article
    built in code), read now from its `date` and text."""
    if article.published is not None:
        return PublishedDate(article.published, article.published_from)
    return publication_date([article.date], article.text, article.source)


def publication_date(given: Iterable[str], text: str, source: str = "") -> PublishedDate:
    """The article's date: the first of the `given` dates (in order of trust) that reads as a
    whole date, else the dateline of `text`; a dateline with no year takes the year of a `given`
    value that is only a year, or of a year folder in `source`."""
    year: int | None = None
    for raw in (g.strip() for g in given if g and g.strip()):
        iso = normalise(raw)
        if iso:
            return PublishedDate(iso, raw)
        only_year = YEAR_ONLY.fullmatch(raw)
        if only_year and year is None:
            year = int(only_year["y"])
    folder = YEAR_FOLDER.search(source)
    if year is None and folder:
        year = int(folder["y"])
    return dateline(text, year)


def normalise(raw: str) -> str:
    """A date string as ISO `YYYY-MM-DD`, or "" when it is not a whole date."""
    iso = ISO_DATE.match(raw)
    if iso:
        return _iso(int(iso["y"]), int(iso["m"]), int(iso["d"]))
    if YEAR_ONLY.fullmatch(raw) or not re.search(r"\d", raw):
        return ""
    parsed = _parser().get_date_data(raw[:100])
    return parsed.date_obj.date().isoformat() if parsed and parsed.date_obj else ""


def dateline(text: str, year: int | None = None) -> PublishedDate:
    """The date of a dateline in the first lines of `text` (the year from the dateline, else
    `year`, else none)."""
    for line in _first_lines(text, DATELINE_LINES):
        for pattern in DATELINES:
            found = pattern.match(line)
            if not found:
                continue
            day_year = found["year"] or year
            month = MONTHS[found["month"].lower()]
            iso = _iso(int(day_year), month, int(found["day"])) if day_year else ""
            return PublishedDate(iso, found.group(0).rstrip(" -–—:").strip())
    return PublishedDate()


def json_ld_date(blocks: Iterable[str]) -> str:
    """The first `datePublished` in JSON-LD script blocks (searching `@graph` and nested
    objects); "" when none holds one or a block is not JSON."""
    for block in blocks:
        try:
            data = json.loads(block)
        except ValueError:
            continue
        for found in _values(data, "datePublished"):
            if isinstance(found, str) and found.strip():
                return found.strip()
    return ""


def _values(data: Any, key: str) -> Iterator[Any]:
    if isinstance(data, dict):
        if key in data:
            yield data[key]
        for value in data.values():
            yield from _values(value, key)
    elif isinstance(data, list):
        for item in data:
            yield from _values(item, key)


def _iso(year: int, month: int, day: int) -> str:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return ""


def _first_lines(text: str, count: int) -> Iterator[str]:
    found = 0
    for line in text[:2000].splitlines():
        line = line.strip().lstrip("#*_> ").strip()
        if line:
            yield line
            found += 1
            if found == count:
                return


@lru_cache(maxsize=1)
def _parser() -> Any:
    """dateparser for whole dates in English (no language detection, so no model to fetch)."""
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=["en"],
        settings={
            "REQUIRE_PARTS": ["day", "month", "year"],
            "TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": False,
            "PREFER_DATES_FROM": "past",
        },
    )
