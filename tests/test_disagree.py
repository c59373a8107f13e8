"""Sources that disagree: planted conflicts, updates and currencies are found, and no false
alarm is raised when sources agree or speak of different things."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qa.answer.disagree import Quantity, quantity, relation
from qa.pipeline import Engine
from qa.settings import Settings

ARTICLES = {
    # two articles of one day that disagree on a figure
    "dam-a.md": ("2024-03-04", "Dam contract signed",
                 "The Oruma dam contract was signed in Lodwar on Monday. The regional "
                 "government will pay $80 million for the Oruma dam, the water minister said."),
    "dam-b.md": ("2024-03-04", "Oruma dam deal",
                 "Officials in Lodwar signed the Oruma dam contract. The regional government "
                 "will pay $95 million for the Oruma dam, according to the contract."),
    # a figure that changed between two days
    "flood-a.md": ("2024-05-06", "Floods hit Mbeya valley",
                   "Floods swept through the Mbeya valley villages on Sunday. The floods in the "
                   "Mbeya valley have killed 12 people, the police said."),
    "flood-b.md": ("2024-05-08", "Mbeya valley flood toll rises",
                   "Rescue teams searched the Mbeya valley on Wednesday. The floods in the Mbeya "
                   "valley have killed 15 people, the police said."),
    # one sum in two currencies
    "grant-a.md": ("2024-07-01", "Solar grant for Tirana schools",
                   "The Tirana schools solar grant was announced on Monday. Donors will give "
                   "€10 million for solar panels on Tirana schools."),
    "grant-b.md": ("2024-07-01", "Tirana schools to get solar panels",
                   "Solar panels are coming to Tirana schools. Donors will give £8.6 million "
                   "for solar panels on Tirana schools, officials said."),
    # two articles that agree: no alarm
    "bridge-a.md": ("2024-09-02", "Kisumu bridge opens",
                    "The new Kisumu bridge opened on Monday. The Kisumu bridge cost $30 million "
                    "to build, the roads agency said."),
    "bridge-b.md": ("2024-09-03", "Traffic flows on Kisumu bridge",
                    "Traffic now flows across the Kisumu bridge. The Kisumu bridge cost 30 "
                    "million dollars to build, engineers said."),
    # a sum in another currency on the same topic, but not the sum asked about
    "bridge-c.md": ("2024-09-04", "Kisumu bridge boosts bus plans",
                    "Drivers on the Kisumu bridge praised the roads agency. The roads agency "
                    "also spent KSh 500 million on new buses to cross the Kisumu bridge, the "
                    "agency said."),
    # one figure for a county, another for the whole country: two subjects, not a conflict
    "dose-a.md": ("2024-10-07", "Nakuru vaccination drive",
                  "Health workers went door to door last week. In Nakuru, 45% of adults have "
                  "received at least one dose of the measles vaccine, officials said."),
    "dose-b.md": ("2024-10-08", "Measles vaccine drive",
                  "The drive goes on. In Kenya, 70% of adults have received at least one dose "
                  "of the measles vaccine, officials said."),
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    root = tmp_path_factory.mktemp("disagree")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, (day, title, text) in ARTICLES.items():
        (corpus / name).write_text(f"---\ntitle: {title}\ndate: {day}\n---\n{text}\n",
                                   encoding="utf-8")
    engine = Engine(Settings(corpus_dir=corpus, store_dir=root / "store"))
    engine.ingest(progress=False)
    yield engine


def test_two_sources_of_one_day_with_different_figures_are_a_conflict(engine: Engine) -> None:
    answer = engine.ask("How much will the regional government pay for the Oruma dam?")
    assert [d.kind for d in answer.disagreements] == ["conflict"]
    values = {v.value for v in answer.disagreements[0].values}
    assert values == {"$80 million", "$95 million"}
    assert "disagree" in answer.text


def test_a_figure_that_changed_between_days_is_an_update_led_by_the_newest(
    engine: Engine,
) -> None:
    answer = engine.ask("How many people have the floods in the Mbeya valley killed?")
    assert [d.kind for d in answer.disagreements] == ["update"]
    newest, older = answer.disagreements[0].values
    assert (newest.value, newest.date) == ("15", "2024-05-08")
    assert (older.value, older.date) == ("12", "2024-05-06")
    assert answer.short == "15"


def test_one_sum_in_two_currencies_is_shown_as_given_not_as_a_conflict(engine: Engine) -> None:
    answer = engine.ask("How much will donors give for solar panels on Tirana schools?")
    assert [d.kind for d in answer.disagreements] == ["currencies"]
    assert {v.value for v in answer.disagreements[0].values} == {"€10 million", "£8.6 million"}
    for value in answer.disagreements[0].values:
        cited = next(c for c in answer.citations if c.n == value.n)
        assert value.value in cited.quote


def test_sources_that_agree_raise_no_alarm(engine: Engine) -> None:
    answer = engine.ask("How much did the Kisumu bridge cost to build?")
    assert not answer.refused
    assert answer.disagreements == []


def test_one_value_written_two_ways_is_the_same_figure() -> None:
    a, b = quantity("$30 million", "amount"), quantity("30 million dollars", "amount")
    assert a is not None and b is not None
    assert relation(a, b, "2024-09-02", "2024-09-03", 0.1) is None


def test_questions_without_figures_never_carry_disagreements(engine: Engine) -> None:
    answer = engine.ask("Where was the Oruma dam contract signed?")
    assert answer.disagreements == []


def test_counts_of_different_things_are_not_compared() -> None:
    cups = quantity("four", "count", " cups of coffee a day")
    games = quantity("three", "count", " games in a row")
    assert cups is not None and games is not None
    assert relation(cups, games, "2024-01-02", "2024-01-09", 0.1) is None


def test_pounds_without_their_sign_are_no_currency_to_compare() -> None:
    weight, dollars, sterling = (quantity(t, "amount") for t in
                                 ("432.3 million pounds", "$25.67", "£400"))
    assert weight is not None and dollars is not None and sterling is not None
    assert relation(weight, dollars, "", "", 0.1) is None  # turkey by weight, not by price
    assert relation(sterling, dollars, "", "", 0.1) == "currencies"


def test_a_bound_or_an_estimate_agrees_with_a_figure_it_allows() -> None:
    def workers(figure: str, before: str) -> Quantity:
        found = quantity(figure, "count", " workers went on strike", before)
        assert found is not None
        return found

    exact = workers("33,000", "A strike by ")
    assert relation(workers("30,000", "A strike by more than "), exact, "", "", 0.1) is None
    assert relation(workers("31,000", "Around "), exact, "", "", 0.1) is None
    assert relation(workers("35,000", "nearly "), exact, "", "", 0.1) is None
    assert relation(workers("30,000", "A strike by "), exact, "", "", 0.1) == "conflict"
    assert relation(workers("40,000", "more than "), exact, "", "", 0.1) == "conflict"
    assert relation(workers("25,000", "Around "), exact, "", "", 0.1) == "conflict"


def test_a_sum_in_another_currency_about_something_else_is_not_paired(engine: Engine) -> None:
    answer = engine.ask("How much did the Kisumu bridge cost to build?")
    assert all(d.kind != "currencies" for d in answer.disagreements)


def test_figures_for_two_different_named_subjects_are_not_a_conflict(engine: Engine) -> None:
    answer = engine.ask("What percentage of adults have received at least one dose of the "
                        "measles vaccine?")
    assert answer.disagreements == []
