"""Answers on the seed corpus: the right passage, exact quotes, refusals decided in code."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa import ask
from qa.answer import REFUSAL_TEXT
from qa.corpus import load_corpus
from qa.pipeline import Engine, engine_for
from qa.settings import PROJECT_ROOT, Settings

ANADOLU = "anadolu-us-kenya-sign-defense-cooperation-pact.md"


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    root = tmp_path_factory.mktemp("seed")
    shutil.copytree(PROJECT_ROOT / "corpus", root / "corpus")
    yield Settings(corpus_dir=root / "corpus", store_dir=root / "store")


@pytest.fixture(scope="module")
def engine(seed: Settings) -> Engine:
    return engine_for(seed)


@pytest.fixture(scope="module")
def ungated(seed: Settings, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The same corpus with the calibrated gate off: what the reader answers and how it cites,
    whichever side of `min_confidence` a refit of the model puts each question (the eval files
    measure the gate)."""
    store = tmp_path_factory.mktemp("ungated") / "store"
    return engine_for(seed.model_copy(update={"min_confidence": 0.0, "store_dir": store}))


@pytest.fixture(scope="module")
def texts(seed: Settings) -> dict[str, str]:
    return {a.source: a.text for a in load_corpus(seed.corpus_dir).articles}


def test_where_us_forces_are_hosted_is_manda_bay_from_anadolu(engine: Engine) -> None:
    answer = engine.ask("Where in Kenya are U.S. forces hosted?")
    assert not answer.refused
    assert "Manda Bay" in answer.text
    assert answer.citations[0].source == ANADOLU
    assert answer.citations[0].publisher == "Anadolu Agency"


def test_how_much_the_us_pledged_is_an_amount(engine: Engine) -> None:
    answer = engine.ask("How much did the US pledge for the Haiti mission?")
    assert "$100 million" in answer.text or "Sh14.5 billion" in answer.text


def test_who_signed_the_framework_names_both_ministers(ungated: Engine) -> None:
    answer = ungated.ask("Who signed the defence framework?")
    assert "Austin" in answer.text and ("Aden" in answer.text or "Duale" in answer.text)


def test_what_is_an_acronym_gives_its_long_form_and_who_is_a_name_gives_no_other_name(
    ungated: Engine,
) -> None:
    assert ungated.ask("What is BATUK?").short == "British Army Training Unit in Kenya"
    assert ungated.ask("Who is Aden Duale?").short is None  # was "Lloyd Austin"


def test_a_compound_question_is_answered_from_two_articles(ungated: Engine) -> None:
    answer = ungated.ask(
        "Which US defense secretary did Aden Duale meet at the Pentagon, and which UK minister "
        "did Duale host in Nairobi?"
    )
    assert answer.short == "Lloyd J. Austin; James Heapey"  # not "Defense Lloyd J. Austin"
    assert len({c.source for c in answer.citations}) == 2


@pytest.mark.parametrize(
    "question",
    [
        "What is the price of bitcoin?",
        "Who won the 2022 World Cup?",
        "How many British troops are stationed at BATUK?",
        "How many US soldiers were deployed to Haiti?",
    ],
)
def test_questions_the_corpus_cannot_answer_are_refused_without_citations(
    engine: Engine, question: str
) -> None:
    answer = engine.ask(question)
    assert answer.refused and answer.text == REFUSAL_TEXT and answer.citations == []


@pytest.mark.parametrize(
    "question",
    [
        "Where in Kenya are U.S. forces hosted?",
        "How much did the US pledge for the Haiti mission?",
        "When did KDF troops go to Somalia?",
        "Who was the Department of Defense spokesman?",
        "Which Somali town was hit by a truck bombing?",
        "What does the framework emphasise?",
    ],
)
def test_every_quote_is_the_article_text_at_its_offsets_and_markers_match(
    ungated: Engine, texts: dict[str, str], question: str
) -> None:
    answer = ungated.ask(question)
    assert answer.citations
    for citation in answer.citations:
        assert texts[citation.source][citation.start : citation.end] == citation.quote
        assert ungated.article_text(citation.source) == texts[citation.source]
    markers = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", answer.text)))
    assert markers == [c.n for c in answer.citations] == list(range(1, len(markers) + 1))


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("?!?", "no words"),
        ("why " * 400, "limit"),
        (None, "must be text"),
    ],
)
def test_bad_questions_raise_a_value_error_that_says_why(
    engine: Engine, question: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        engine.ask(question)  # type: ignore[arg-type]


def test_ask_builds_the_store_itself_and_a_second_call_reloads_nothing(tmp_path: Path) -> None:
    shutil.copytree(PROJECT_ROOT / "corpus", tmp_path / "corpus")
    first = ask(
        "Where in Kenya are U.S. forces hosted?",
        corpus=tmp_path / "corpus",
        store=tmp_path / "store",
        top_k=3,
    )
    assert "Manda Bay" in first.text and len(first.passages) <= 3
    engine = engine_for(Settings(corpus_dir=tmp_path / "corpus", store_dir=tmp_path / "store"))
    retriever = engine.retriever
    second = ask(
        "Where in Kenya are U.S. forces hosted?",
        corpus=tmp_path / "corpus",
        store=tmp_path / "store",
        top_k=3,
    )
    assert engine.retriever is retriever
    assert second.text == first.text


def test_passages_are_sections_of_consecutive_chunks_with_their_scored_parts(
    engine: Engine, texts: dict[str, str]
) -> None:
    passages = engine.ask("Where in Kenya are U.S. forces hosted?").passages
    assert 1 <= len(passages) <= engine.settings.top_k
    for passage in passages:
        section = passage.chunk
        assert section.text == texts[section.source][section.start : section.end]
        assert 1 <= len(passage.parts) <= engine.settings.section_chunks
        assert section.start == passage.parts[0].chunk.start
        assert section.end == passage.parts[-1].chunk.end
        assert max(p.similarity for p in passage.parts) == passage.similarity > 0


def test_with_one_chunk_a_section_passages_are_the_chunks_themselves(seed: Settings) -> None:
    engine = Engine(seed.model_copy(update={"section_chunks": 1}))
    answer = engine.ask("Where in Kenya are U.S. forces hosted?")
    assert "Manda Bay" in answer.text
    assert all(not p.parts for p in answer.passages)
    assert len(answer.passages) == seed.top_k
