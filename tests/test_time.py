"""Dates as data, time in the question, and the time options of the front doors.

A made-up corpus of dated articles (front matter, .jsonl, HTML meta, a dateline, one undated),
a real store (Chroma in tmp_path, the bundled embedder) and the real pipeline.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from qa.api import ask
from qa.cli import main
from qa.corpus import load_corpus
from qa.dates import dateline, json_ld_date, normalise, of_article, publication_date
from qa.evaluation import load_questions
from qa.pipeline import Engine
from qa.settings import PROJECT_ROOT, Settings
from qa.store import Store
from qa.timeframe import as_day, read_time, window_for, without_time_words
from qa.types import Article, ScoredChunk, TimeWindow
from qa.ui import respond

AS_OF = date(2024, 3, 15)
SETTINGS = Settings()
STRICT = Settings(time_ranges_bound_publication=True)

TOLL_2023 = """---
title: Harbour board sets the first cargo toll
publisher: Coastal Courier
date: 2023-05-10
---
The Velmora harbour board set its first cargo toll at 12 crowns a ship on Wednesday.
Board chair Anselm Tigrani said the toll would pay for dredging the outer channel.
"""
TOLL_JANUARY = {
    "id": "toll-jan",
    "title": "Harbour board raises the cargo toll",
    "date": "2024/01/05",
    "text": "The Velmora harbour board raised the cargo toll to 15 crowns a ship on Friday.\n"
    "Board chair Anselm Tigrani said dredging the outer channel had cost more than planned.",
}
FESTIVAL = {
    "id": "festival",
    "title": "Lantern festival draws crowds",
    "date": "2024/03/02",
    "text": "The Velmora lantern festival drew twenty thousand visitors to the old quay.",
}
TOLL_FEBRUARY = """<html><head>
<meta property="og:title" content="Harbour board cuts the cargo toll">
<meta property="article:published_time" content="2024-02-20T09:30:00+01:00">
</head><body><article>
<p>The Velmora harbour board cut the cargo toll to 9 crowns a ship on Tuesday.</p>
<p>Board chair Anselm Tigrani said the outer channel dredging was finished early.</p>
</article></body></html>
"""
JSON_LD_PAGE = """<html><head><title>Ferry timetable changes</title>
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [{"@type": "WebPage"},
 {"@type": "NewsArticle", "datePublished": "2023-11-03T08:00:00Z"}]}
</script></head><body><main><p>The Velmora ferry will sail hourly from November.</p></main>
</body></html>
"""
DATELINE = """ORVANE, Sept 25, 2023 (Wire) - The Orvane dock workers' union signed a wage deal.
The deal raises pay by four percent over two years.
"""
UNDATED = """The Velmora lighthouse keeper retired after forty years of service at the point.
"""


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "toll-2023.md").write_text(TOLL_2023, encoding="utf-8")
    (folder / "wire.jsonl").write_text(
        "\n".join(json.dumps(record) for record in (TOLL_JANUARY, FESTIVAL)) + "\n",
        encoding="utf-8",
    )
    (folder / "toll-february.html").write_text(TOLL_FEBRUARY, encoding="utf-8")
    (folder / "ferry.html").write_text(JSON_LD_PAGE, encoding="utf-8")
    (folder / "dock-deal.txt").write_text(DATELINE, encoding="utf-8")
    (folder / "lighthouse.txt").write_text(UNDATED, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def strict(dated: Engine) -> Engine:
    """The same store, with named times bounding publication dates on both sides."""
    engine = Engine(dated.settings.model_copy(update={"time_ranges_bound_publication": True}))
    engine.load()
    return engine


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root = tmp_path_factory.mktemp("dated")
    engine = Engine(Settings(corpus_dir=write_corpus(root / "corpus"), store_dir=root / "store"))
    engine.ingest(progress=False)
    return engine


# Dates as data.


def test_dates_normalise_iso_slashed_and_written_forms() -> None:
    assert normalise("2024/01/05") == "2024-01-05"
    assert normalise("2024-01-05T23:30:00-05:00") == "2024-01-05"  # the publisher's own day
    assert normalise("Fri, 05 Jan 2024 10:00:00 GMT") == "2024-01-05"
    assert normalise("January 5, 2024") == "2024-01-05"
    assert normalise("2024") == ""  # a year is not a date
    assert normalise("2024-02-30") == ""
    assert normalise("soon") == ""


def test_the_first_readable_given_date_wins_and_the_raw_form_is_kept() -> None:
    found = publication_date(["", "not a date", "2024/01/05"], "text")
    assert (found.iso, found.raw, found.number) == ("2024-01-05", "2024/01/05", 20240105)


def test_a_dateline_dates_an_article_the_file_leaves_undated() -> None:
    assert publication_date([], DATELINE).iso == "2023-09-25"
    assert dateline("WEST HALM, March 3 2022 (Agency) - text").iso == "2022-03-03"
    assert dateline("Title first\n\nMarch 3, Porto, Portugal – text", 2021).iso == "2021-03-03"
    assert dateline("The harbour board met on March 3 - no dateline.").iso == ""


def test_a_dateline_without_a_year_takes_the_files_year_or_none() -> None:
    text = "ORVANE, Sept 25 (Wire) - The union signed."
    assert publication_date([], text).iso == ""
    assert publication_date([], text).raw == "ORVANE, Sept 25 (Wire)"
    assert publication_date(["2023"], text).iso == "2023-09-25"
    assert publication_date([], text, "archive/2022/dock.txt").iso == "2022-09-25"


def test_json_ld_date_published_is_found_inside_a_graph() -> None:
    assert json_ld_date(["not json", '{"@graph": [{"datePublished": "2023-11-03"}]}']) == (
        "2023-11-03"
    )
    assert json_ld_date(['{"headline": "x"}']) == ""


def test_every_reader_gives_its_articles_a_normalised_date(tmp_path: Path) -> None:
    articles = {a.source: a for a in load_corpus(write_corpus(tmp_path / "corpus")).articles}
    dates = {source: of_article(article).iso for source, article in articles.items()}
    assert dates == {
        "toll-2023.md": "2023-05-10",
        "wire.jsonl#toll-jan": "2024-01-05",
        "wire.jsonl#festival": "2024-03-02",
        "toll-february.html": "2024-02-20",
        "ferry.html": "2023-11-03",
        "dock-deal.txt": "2023-09-25",
        "lighthouse.txt": "",
    }
    assert articles["wire.jsonl#toll-jan"].date == "2024/01/05"  # the raw form stays
    assert articles["ferry.html"].published_from == "2023-11-03T08:00:00Z"


# Time in the question.


@pytest.mark.parametrize(
    ("question", "since", "until"),
    [
        ("What did the board decide in February 2024?", date(2024, 2, 1), date(2024, 2, 29)),
        ("What was signed in September 2023?", date(2023, 9, 1), date(2023, 9, 30)),
        ("What happened between March and May 2023?", date(2023, 3, 1), date(2023, 5, 31)),
        ("Who ruled from 2020 to 2022?", date(2020, 1, 1), date(2022, 12, 31)),
        ("What did the board do before 2020?", None, date(2019, 12, 31)),
        ("What changed after 2022?", date(2023, 1, 1), None),
        ("What changed since the election in 2022?", date(2022, 1, 1), None),
        ("Who won on 25 September 2023?", date(2023, 9, 25), date(2023, 9, 25)),
        ("What happened this week?", date(2024, 3, 8), date(2024, 3, 17)),
        ("Who was arrested yesterday?", date(2024, 3, 14), date(2024, 3, 17)),
        ("What did they say last month?", date(2024, 2, 1), date(2024, 2, 29)),
        ("What happened last week?", date(2024, 3, 1), date(2024, 3, 17)),
        ("How many visitors came this year?", date(2024, 1, 1), date(2024, 3, 17)),
        ("What happened in the past 3 weeks?", date(2024, 2, 23), date(2024, 3, 17)),
    ],
)
def test_time_words_become_a_range_relative_to_as_of(
    question: str, since: date | None, until: date | None
) -> None:
    window = read_time(question, AS_OF, STRICT)
    assert window is not None
    assert (window.since, window.until) == (since, until)
    assert not window.prefer_recent


@pytest.mark.parametrize(
    ("question", "since"),
    [
        ("What did the board decide in February 2024?", date(2024, 2, 1)),
        ("What happened between March and May 2023?", date(2023, 3, 1)),
        ("What changed after 2022?", date(2023, 1, 1)),
        ("What changed since the election in 2022?", date(2022, 1, 1)),
        ("What happened this week?", date(2024, 3, 8)),
    ],
)
def test_a_named_time_bounds_publication_only_from_its_start_by_default(
    question: str, since: date
) -> None:
    window = read_time(question, AS_OF, SETTINGS)
    assert window is not None and window.since == since
    assert window.until is None or window.until == date(2024, 3, 17)  # only relative ones end


@pytest.mark.parametrize(
    "question",
    ["What did the board do before 2020?", "Who will play from August 15 to August 18, 2024?"],
)
def test_a_time_before_or_after_as_of_bounds_nothing_by_default(question: str) -> None:
    assert read_time(question, AS_OF, SETTINGS) is None


@pytest.mark.parametrize(
    "question",
    [
        "What is the latest toll?",
        "Who is the current board chair?",
        "Is the ferry still sailing?",
        "Who will be the next chair?",
        "What is the most recent figure?",
    ],
)
def test_words_asking_for_the_newest_evidence_prefer_recent_without_a_filter(
    question: str,
) -> None:
    window = read_time(question, AS_OF, SETTINGS)
    assert window is not None and window.prefer_recent and not window.filters


@pytest.mark.parametrize(
    "question",
    [
        "Who chairs the harbour board?",
        "What did the New Harbour board decide?",
        "What did the march achieve?",
        "Who may attend the festival?",
        "Where will the board meet again in May?",
        "What happened between March and May?",
    ],
)
def test_a_question_without_time_words_has_no_window(question: str) -> None:
    assert read_time(question, AS_OF, SETTINGS) is None
    assert window_for(question, SETTINGS) is None


def test_this_week_tolerance_and_week_length_are_settings() -> None:
    wider = SETTINGS.model_copy(update={"time_slack_days": 0, "time_week_days": 10})
    window = read_time("What happened this week?", AS_OF, wider)
    assert window is not None and (window.since, window.until) == (date(2024, 3, 5), AS_OF)


def test_explicit_bounds_override_the_question_and_as_of_bounds_the_search() -> None:
    question = "What did the board decide in February 2024?"
    window = window_for(question, STRICT, since=date(2024, 1, 1))
    assert window is not None
    assert (window.since, window.until) == (date(2024, 1, 1), date(2024, 2, 29))
    asked_then = window_for("Who chairs the board?", SETTINGS, as_of=date(2024, 1, 5))
    assert asked_then is not None
    assert (asked_then.since, asked_then.until) == (None, date(2024, 1, 7))
    assert asked_then.prefer_recent
    unbounded = SETTINGS.model_copy(
        update={"time_as_of_bound": False, "time_as_of_prefers_recent": False}
    )
    assert window_for("Who chairs the board?", unbounded, as_of=date(2024, 1, 5)) is None


def test_the_window_note_says_what_was_searched() -> None:
    window = window_for("What was signed in September 2023?", SETTINGS)
    assert window is not None
    assert window.note == (
        "Searched articles dated 2023-09-01 or later (in September 2023), and those with no date."
    )
    strict = window_for("What was signed in September 2023?", STRICT)
    assert strict is not None
    assert strict.note.startswith("Searched articles dated 2023-09-01 to 2023-09-30 (in Sept")
    options = window_for("What was signed?", SETTINGS, since=date(2023, 9, 1))
    assert options is not None
    assert options.note == "Searched articles dated 2023-09-01 or later."
    assert TimeWindow(until=date(2019, 12, 31)).note == "Searched articles dated up to 2019-12-31."
    assert TimeWindow(prefer_recent=True).note == "Newer articles were ranked higher."


def test_time_words_can_be_taken_out_of_the_retrieval_text() -> None:
    question = "What did the board decide in February 2024?"
    assert without_time_words(question, read_time(question, AS_OF, SETTINGS)) == (
        "What did the board decide?"
    )
    recent = "Who is the next chair?"
    assert without_time_words(recent, read_time(recent, AS_OF, SETTINGS)) == recent


@pytest.mark.parametrize(
    ("question", "since", "until"),
    [
        ("What did the board decide in summer 2023?", date(2023, 6, 1), date(2023, 8, 31)),
        ("What happened in the winter of 2023?", date(2023, 12, 1), date(2024, 2, 29)),
        ("What was sold in the fall of 2022?", date(2022, 9, 1), date(2022, 11, 30)),
        ("What changed since early spring 2023?", date(2023, 3, 1), None),
        ("What did the board report in Q3 2023?", date(2023, 7, 1), date(2023, 9, 30)),
        ("What did the board say in its Q3 2023 earnings?", date(2023, 7, 1), date(2023, 9, 30)),
        ("What happened in the third quarter of 2023?", date(2023, 7, 1), date(2023, 9, 30)),
        ("What happened in the last quarter of 2023?", date(2023, 10, 1), date(2023, 12, 31)),
        ("What did the board do before the second quarter of 2020?", None, date(2020, 3, 31)),
        ("What happened from Q1 to Q3 2023?", date(2023, 1, 1), date(2023, 9, 30)),
        ("What happened between winter and spring 2023?", date(2022, 12, 1), date(2023, 5, 31)),
    ],
)
def test_seasons_and_quarters_with_their_year_are_three_month_ranges(
    question: str, since: date | None, until: date | None
) -> None:
    window = read_time(question, AS_OF, STRICT)
    assert window is not None
    assert (window.since, window.until) == (since, until)
    assert not window.relative


@pytest.mark.parametrize(
    ("question", "since"),
    [
        ("What happened in the winter of 2023?", date(2023, 12, 1)),
        ("What did the board report in Q3 2023?", date(2023, 7, 1)),
        ("What happened from Q1 to Q3 2023?", date(2023, 1, 1)),
    ],
)
def test_a_named_season_or_quarter_bounds_publication_only_from_its_start_by_default(
    question: str, since: date
) -> None:
    window = read_time(question, AS_OF, SETTINGS)
    assert window is not None and (window.since, window.until) == (since, None)


@pytest.mark.parametrize(
    ("question", "as_of", "since", "until"),
    [
        ("What happened last spring?", AS_OF, date(2023, 3, 1), date(2023, 5, 31)),
        ("What happened last winter?", AS_OF, date(2023, 12, 1), date(2024, 2, 29)),
        ("What happened this spring?", AS_OF, date(2024, 3, 1), date(2024, 3, 17)),
        ("What happened this autumn?", date(2024, 10, 20), date(2024, 9, 1), date(2024, 10, 22)),
        ("What happened this fall?", date(2024, 12, 10), date(2024, 9, 1), date(2024, 11, 30)),
        ("What happened last summer?", date(2024, 10, 20), date(2024, 6, 1), date(2024, 8, 31)),
        ("What happened this past summer?", AS_OF, date(2023, 6, 1), date(2023, 8, 31)),
        ("What happened this quarter?", AS_OF, date(2024, 1, 1), date(2024, 3, 17)),
        ("What happened last quarter?", AS_OF, date(2023, 10, 1), date(2023, 12, 31)),
        ("What happened in the last quarter?", date(2024, 5, 2), date(2024, 1, 1),
         date(2024, 3, 31)),
    ],
)
def test_seasons_and_quarters_relative_to_as_of_keep_both_ends(
    question: str, as_of: date, since: date, until: date
) -> None:
    window = read_time(question, as_of, SETTINGS)
    assert window is not None and window.relative
    assert (window.since, window.until) == (since, until)


@pytest.mark.parametrize(
    "question",
    [
        "Who ran the summer camp?",
        "What did the board decide in summer?",
        "What did the board decide in the first quarter?",
        "What were the Q3 earnings?",
        "How much does the Q3 2024 model cost?",
        "What will the board do this autumn?",
        "Who chaired the board as of May?",
    ],
)
def test_a_season_or_quarter_without_its_year_or_yet_to_come_has_no_window(
    question: str,
) -> None:
    assert read_time(question, AS_OF, STRICT) is None
    assert window_for(question, SETTINGS, as_of=AS_OF) == window_for(
        "Who chairs the harbour board?", SETTINGS, as_of=AS_OF
    )


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("Who ran the summer camp in 2023?", "in 2023"),
        ("Why did the toll fall this week?", "this week"),
        ("What did the Arab Spring of 2011 change?", "of 2011"),
    ],
)
def test_season_words_in_other_senses_are_not_read_as_seasons(question: str, phrase: str) -> None:
    window = read_time(question, AS_OF, STRICT)
    assert (window.phrase if window else "") == phrase


@pytest.mark.parametrize("settings", [SETTINGS, STRICT])
@pytest.mark.parametrize(
    ("question", "since", "until"),
    [
        ("Who chaired the board as of March 2024?", None, date(2024, 3, 31)),
        ("Who chaired the board as of 1 May 2023?", None, date(2023, 5, 1)),
        ("Who chaired the board as of Q3 2023?", None, date(2023, 9, 30)),
        ("What toll was set in 2023, as of 1 May 2023?", date(2023, 1, 1), date(2023, 5, 1)),
    ],
)
def test_as_of_in_the_question_ends_the_search_at_that_date(
    settings: Settings, question: str, since: date | None, until: date
) -> None:
    window = read_time(question, AS_OF, settings)
    assert window is not None and (window.since, window.until) == (since, until)


def test_as_of_in_the_question_and_as_of_given_bound_the_search_at_the_earlier() -> None:
    question = "Who chaired the board as of 1 May 2023?"
    window = window_for(question, SETTINGS, as_of=date(2024, 1, 5))
    assert window is not None
    assert window.note == (
        "Searched articles dated up to 2023-05-01 (as of 1 May 2023), and those with no date. "
        "Newer articles were ranked higher."
    )
    later = window_for("Who chaired the board as of 2024?", SETTINGS, as_of=date(2024, 1, 5))
    assert later is not None and (later.since, later.until) == (None, date(2024, 1, 7))


def test_date_options_accept_dates_and_iso_strings_only() -> None:
    assert as_day("2024-02-01") == as_day(date(2024, 2, 1)) == date(2024, 2, 1)
    assert as_day("") is None
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        as_day("01/02/2024", "since")


# Through the pipeline.


UNDATED_SOURCES = {"lighthouse.txt"}


def sources(passages: list[ScoredChunk]) -> set[str]:
    return {p.chunk.source for p in passages}


def dated_sources(passages: list[ScoredChunk]) -> set[str]:
    return sources(passages) - UNDATED_SOURCES


def test_a_named_time_leaves_out_articles_published_before_it(dated: Engine) -> None:
    answer = dated.ask("What cargo toll did the Velmora harbour board set in January 2024?")
    assert "toll-2023.md" not in sources(answer.passages)
    assert "wire.jsonl#toll-jan" in sources(answer.passages)
    assert answer.window is not None and answer.window.note == (
        "Searched articles dated 2024-01-01 or later (in January 2024), and those with no date."
    )


def test_the_question_time_changes_which_article_answers(strict: Engine) -> None:
    may = strict.ask("What cargo toll did the Velmora harbour board set in May 2023?")
    january = strict.ask("What cargo toll did the Velmora harbour board set in January 2024?")
    assert dated_sources(may.passages) == {"toll-2023.md"}
    assert dated_sources(january.passages) == {"wire.jsonl#toll-jan"}
    assert not may.refused and "12 crowns" in may.text
    assert may.citations[0].source == "toll-2023.md"
    assert not january.refused and "15 crowns" in january.text
    assert january.citations[0].source == "wire.jsonl#toll-jan"
    assert may.window is not None and may.window.note == (
        "Searched articles dated 2023-05-01 to 2023-05-31 (in May 2023), and those with no date."
    )


def test_since_and_until_override_the_question(dated: Engine) -> None:
    answer = dated.ask(
        "What cargo toll did the Velmora harbour board set in May 2023?",
        since=date(2024, 2, 1),
        until=date(2024, 2, 29),
    )
    assert sources(answer.passages) == {"toll-february.html"}
    assert "9 crowns" in answer.text
    assert answer.citations[0].date == "2024-02-20"


def test_no_time_words_search_every_article_dated_or_not(dated: Engine) -> None:
    answer = dated.ask("How long did the Velmora lighthouse keeper serve at the point?")
    assert answer.window is None
    assert "lighthouse.txt" in sources(answer.passages)
    assert "forty years" in answer.text


def test_the_dense_side_finds_the_same_chunks_by_each_of_its_three_ways(dated: Engine) -> None:
    window = TimeWindow(since=date(2024, 1, 1), until=date(2024, 2, 29))
    question = "What cargo toll did the Velmora harbour board set?"
    found = {}
    for way, update in {
        "stored vectors": {},
        "deeper unfiltered": {"dense_window_exact": 0},
        "chroma where": {"dense_window_exact": 0, "dense_window_fetch": 1},
    }.items():
        engine = Engine(dated.settings.model_copy(update=update))
        engine.load()
        assert engine.retriever is not None
        hits = engine.retriever.dense(question, 30, window)
        found[way] = [cid for cid, _ in hits]
        assert [round(sim, 4) for _, sim in hits] == sorted(
            (round(sim, 4) for _, sim in hits), reverse=True
        )
    assert found["stored vectors"] == found["deeper unfiltered"] == found["chroma where"]
    retriever = dated.retriever
    assert retriever is not None
    assert {retriever.chunks[cid].source for cid in found["stored vectors"]} == {
        "wire.jsonl#toll-jan", "toll-february.html"
    }


def test_a_season_or_as_of_in_the_question_bounds_the_articles_retrieved(strict: Engine) -> None:
    retriever = strict.retriever
    assert retriever is not None

    def tolls(when: str) -> set[str]:
        question = f"What cargo toll did the Velmora harbour board set {when}?"
        window = window_for(question, strict.settings, as_of=AS_OF)
        return {s for s in dated_sources(retriever.retrieve(question, 10, window)) if "toll" in s}

    assert tolls("in the winter of 2023") == {"wire.jsonl#toll-jan", "toll-february.html"}
    assert tolls("in Q2 2023") == {"toll-2023.md"}
    assert tolls("as of 1 February 2024") == {"toll-2023.md", "wire.jsonl#toll-jan"}


def test_since_and_until_leave_undated_articles_out(dated: Engine) -> None:
    question = "How long did the Velmora lighthouse keeper serve at the point?"
    answer = dated.ask(question, until=date(2030, 1, 1))
    assert answer.passages and "lighthouse.txt" not in sources(answer.passages)


def test_a_range_from_the_question_also_searches_undated_articles_unless_set_not_to(
    strict: Engine,
) -> None:
    question = "How long did the Velmora lighthouse keeper serve at the point in 2019?"
    answer = strict.ask(question)
    assert sources(answer.passages) == {"lighthouse.txt"}
    assert answer.window is not None and answer.window.note == (
        "Searched articles dated 2019-01-01 to 2019-12-31 (in 2019), and those with no date."
    )
    dated_only = Engine(strict.settings.model_copy(update={"time_question_keeps_undated": False}))
    assert dated_only.ask(question).text == (
        "No article is dated 2019-01-01 to 2019-12-31, so none can answer this."
    )


def test_a_range_holding_no_article_is_refused_saying_so(dated: Engine) -> None:
    answer = dated.ask("What cargo toll was set?", since=date(2019, 1, 1), until=date(2019, 12, 31))
    assert answer.refused and not answer.citations and not answer.passages
    assert answer.text == "No article is dated 2019-01-01 to 2019-12-31, so none can answer this."
    streamed = list(dated.ask_stream("What toll was set?", until=date(2019, 12, 31)))
    assert streamed[0] == "No article is dated up to 2019-12-31, so none can answer this."
    final = streamed[-1]
    assert not isinstance(final, str) and final.refused and final.window is not None


def toll_order(engine: Engine, question: str, as_of: date | None = None) -> list[str]:
    ranked = [p.chunk.source for p in engine.ask(question, as_of=as_of).passages]
    return [s for s in ranked if "toll" in s]


def test_latest_ranks_newer_relevant_articles_higher(dated: Engine) -> None:
    plain = toll_order(dated, "What cargo toll did the Velmora harbour board set?")
    assert plain[0] != "toll-february.html"
    latest = toll_order(dated, "What is the latest cargo toll the Velmora harbour board set?")
    assert latest[0] == "toll-february.html"
    assert sorted(latest) == sorted(plain)


def test_a_question_asked_as_of_a_day_ranks_the_news_nearest_it_higher(dated: Engine) -> None:
    question = "What cargo toll did the Velmora harbour board set?"
    assert toll_order(dated, question, as_of=AS_OF)[0] == "toll-february.html"
    answer = dated.ask(question, as_of=date(2024, 1, 10))
    assert toll_order(dated, question, as_of=date(2024, 1, 10))[0] == "wire.jsonl#toll-jan"
    assert answer.window is not None and answer.window.prefer_recent
    assert "Newer articles were ranked higher." in answer.window.note


def test_as_of_reads_this_week_and_leaves_out_later_articles(dated: Engine) -> None:
    answer = dated.ask(
        "What cargo toll did the Velmora harbour board set this week?", as_of=date(2024, 1, 6)
    )
    assert dated_sources(answer.passages) == {"wire.jsonl#toll-jan"}
    assert answer.window is not None
    assert (answer.window.since, answer.window.until) == (date(2023, 12, 30), date(2024, 1, 8))


def test_this_week_read_from_today_in_an_archive_searches_every_article_saying_so(
    dated: Engine, strict: Engine
) -> None:
    answer = dated.ask("What cargo toll did the Velmora harbour board set this week?")
    assert {"toll-2023.md", "toll-february.html"} <= sources(answer.passages)
    assert answer.window is not None and not answer.window.filters
    today = date.today()
    since = (today - timedelta(days=7)).isoformat()
    until = (today + timedelta(days=2)).isoformat()
    assert answer.window.note == (
        f"No article is dated {since} to {until} (this week): that range was read from today. "
        "Searched articles of any date."
    )
    in_may = strict.ask("What cargo toll did the Velmora harbour board set this week in May 2023?")
    assert dated_sources(in_may.passages) == {"toll-2023.md"}
    asked_then = dated.ask("What cargo toll was set this week?", as_of=date(2019, 6, 1))
    assert asked_then.window is not None and asked_then.window.filters  # as_of given: kept
    assert not dated_sources(asked_then.passages)


def test_the_api_and_the_cli_take_the_time_options(
    dated: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, store = dated.settings.corpus_dir, dated.settings.store_dir
    answer = ask(
        "What cargo toll did the Velmora harbour board set?",
        corpus=corpus, store=store, since="2024-02-01", until="2024-02-29",
    )
    assert sources(answer.passages) == {"toll-february.html"}
    code = main(["ask", "What cargo toll did the Velmora harbour board set?", "--corpus",
                 str(corpus), "--store", str(store), "--until", "2023-12-31", "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert printed["window"]["until"] == "2023-12-31"
    assert printed["window"]["note"] == "Searched articles dated up to 2023-12-31."
    main(["ask", "What cargo toll did the Velmora harbour board set in May 2023?", "--corpus",
          str(corpus), "--store", str(store)])
    printed_text = capsys.readouterr().out
    assert "(Searched articles dated 2023-05-01 or later (in May 2023), and those with no" in (
        printed_text
    )


def test_the_chat_window_searches_the_time_boxes_range_and_says_so(dated: Engine) -> None:
    question = {"text": "What cargo toll did the Velmora harbour board set?", "files": []}
    *_, (history, _) = respond(dated, question, [], [], since="2024-02-01", until="2024-02-29")
    reply = str(history[-1]["content"])
    assert "9 crowns" in reply
    assert "Searched articles dated 2024-02-01 to 2024-02-29." in reply
    *_, (history, _) = respond(dated, question, [], [], as_of="1 March")
    assert "As of must be a date as YYYY-MM-DD" in str(history[-1]["content"])


# Stores written before dates were stored.


def strip_dates(store: Store) -> None:
    """Make the store look as the code before dates wrote it: no date fields anywhere."""
    chunks = store.chunks.get(include=[])["ids"]
    store.chunks.update(ids=chunks, metadatas=[{"date_num": None}] * len(chunks))
    records = store.articles.get(include=[])["ids"]
    empty = {"published": None, "published_from": None, "date_num": None}
    store.articles.update(ids=records, metadatas=[empty] * len(records))


def test_an_old_store_gets_its_dates_without_re_embedding(tmp_path: Path) -> None:
    settings = Settings(corpus_dir=write_corpus(tmp_path / "corpus"), store_dir=tmp_path / "store")
    first = Engine(settings)
    first.ingest(progress=False)
    ids_before = sorted(first.store.chunks.get(include=[])["ids"])
    strip_dates(first.store)
    assert all("date_num" not in m for m in first.store.chunks.get(include=["metadatas"])[
        "metadatas"
    ])

    reopened = Engine(settings)
    report = reopened.ingest(progress=False)
    assert (report.embedded, report.redated, report.changed) == (0, 7, False)
    assert sorted(reopened.store.chunks.get(include=[])["ids"]) == ids_before
    answer = reopened.ask(
        "What cargo toll did the Velmora harbour board set?",
        since=date(2024, 1, 1), until=date(2024, 1, 31),
    )
    assert sources(answer.passages) == {"wire.jsonl#toll-jan"}
    assert reopened.ingest(progress=False).redated == 0


def test_an_old_store_served_without_its_corpus_is_dated_from_what_it_holds(
    tmp_path: Path,
) -> None:
    settings = Settings(corpus_dir=write_corpus(tmp_path / "corpus"), store_dir=tmp_path / "store")
    Engine(settings).ingest(progress=False)
    strip_dates(Store(settings, Engine(settings).embedder))
    served = Engine(settings)
    served.load()
    assert served.records["dock-deal.txt"].published == "2023-09-25"  # from the stored text
    assert served.records["lighthouse.txt"].published == ""
    answer = served.ask("What did the dock workers' union sign?", since=date(2023, 9, 1),
                        until=date(2023, 9, 30))
    assert sources(answer.passages) == {"dock-deal.txt"}


def test_an_article_built_in_code_is_dated_from_its_date_and_text() -> None:
    article = Article(source="pasted", title="t", text="x", date="March 3, 2022")
    assert of_article(article).iso == "2022-03-03"


# Question files.


def test_question_files_carry_as_of_since_and_until(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(
        "questions:\n"
        "  - id: a\n    question: What happened this week?\n    as_of: 2024-03-15\n"
        "    since: '2024-03-01'\n    until: 2024-03-31\n    expect: [[x]]\n",
        encoding="utf-8",
    )
    (question,), _ = load_questions(path)
    assert (question.as_of, question.since, question.until) == (
        date(2024, 3, 15), date(2024, 3, 1), date(2024, 3, 31)
    )


def test_the_seed_time_questions_name_real_articles() -> None:
    questions, _ = load_questions(PROJECT_ROOT / "evals" / "time.yaml")
    corpus = {a.source for a in load_corpus(PROJECT_ROOT / "corpus").articles}
    assert len(questions) >= 3
    assert all(set(q.articles) <= corpus for q in questions)
    assert any(not q.answerable and q.until for q in questions)
    for q in questions:
        text = " ".join(
            (PROJECT_ROOT / "corpus" / article).read_text(encoding="utf-8").lower()
            for article in q.articles
        )
        assert all(any(alt.lower() in text for alt in group) for group in q.expect), q.id
