"""The rule-based follow-up rewrite: which questions lean on the previous one, and what is added."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa.conversation import (
    FollowUp,
    Turn,
    informative_words,
    is_follow_up,
    resolve_follow_up,
    standalone_question,
)
from qa.pipeline import Engine
from qa.settings import PROJECT_ROOT, Settings

SIGNING = Turn("What did Kenya and the US sign in September 2023?")
SIGNED = Turn(
    "What did Kenya and the US sign in September 2023?",
    "U.S. Defence Secretary, Lloyd's Austin (L) with Kenya's Cabinet secretary for Defence, Aden "
    "Duale (R) sign copies of the Defence Cooperation Agreements at a joint press conference "
    "[1].",
)
"""A turn with its answer, as the chat window keeps it."""


def test_a_pointer_is_resolved_from_the_previous_answer_and_said_plainly() -> None:
    assert resolve_follow_up("And when was that agreement signed?", [SIGNED]) == FollowUp(
        "And when was the Defence Cooperation Agreements signed?",
        about="the Defence Cooperation Agreements",
    )
    assert standalone_question("Who signed that agreement?", [SIGNED]) == (
        "Who signed the Defence Cooperation Agreements?"
    )


def test_a_lower_case_phrase_keeps_its_modifiers_but_not_a_verb() -> None:
    turn = Turn("What did they agree?", "Kenya and the US signed a new defence framework [1].")
    assert resolve_follow_up("When did that framework start?", [turn]).about == (
        "the new defence framework"
    )
    verb = Turn("What happened?", "Kenya signed framework deals [1].")
    assert resolve_follow_up("Who drafted that framework?", [verb]).about is None


def test_a_pointer_to_nothing_in_the_last_turn_falls_back_to_its_topic_without_an_about() -> None:
    follow_up = resolve_follow_up("When was that mission approved?", [SIGNED])
    assert follow_up == FollowUp("When was that mission approved? (Kenya US sign September 2023)")
    assert resolve_follow_up("Who signed it?", [SIGNED]).about is None


def test_pronoun_follow_up_gets_the_previous_topic() -> None:
    assert standalone_question("Who signed it?", [SIGNING]) == (
        "Who signed it? (Kenya US sign September 2023)"
    )


@pytest.mark.parametrize(
    "question",
    ["What about the UK?", "And Somalia?", "how about Haiti?", "When?", "Who were they?",
     "What did he say there?", "Why was that?"],
)
def test_ellipsis_and_pronouns_are_follow_ups(question: str) -> None:
    assert is_follow_up(question)
    assert standalone_question(question, [SIGNING]).endswith("(Kenya US sign September 2023)")


@pytest.mark.parametrize(
    "question",
    [
        "Where in Kenya are U.S. forces hosted?",
        "Is there a US base at Manda Bay in Kenya?",
        "Who is Aden Duale?",
        "How much did the United States pledge for the Haiti mission in 2023?",
    ],
)
def test_standalone_questions_are_left_alone(question: str) -> None:
    assert standalone_question(question, [SIGNING]) == question


def test_no_history_no_change() -> None:
    assert standalone_question("Who signed it?", []) == "Who signed it?"


@pytest.mark.parametrize("question", ["", "   ", "???"])
def test_messages_without_words_reach_the_pipeline_check_unchanged(question: str) -> None:
    assert standalone_question(question, [SIGNING]) == question


def test_long_question_with_a_pronoun_is_standalone() -> None:
    question = "What did it say about the defence framework signed by Duale and Austin in Nairobi?"
    assert not is_follow_up(question)


def test_only_the_last_turn_counts_and_chains_keep_the_topic() -> None:
    first = Turn("How much did the US pledge for the Haiti mission?")
    second = Turn(standalone_question("Who pledged it?", [first]))
    assert second.question == "Who pledged it? (US pledge Haiti mission)"
    third = standalone_question("When was that?", [SIGNING, first, second])
    assert third == "When was that? (pledged US pledge Haiti mission)"


def test_words_already_in_the_question_are_not_repeated() -> None:
    assert standalone_question("And Kenya in 2023?", [SIGNING]) == (
        "And Kenya in 2023? (US sign September)"
    )


def test_carried_words_are_capped() -> None:
    long_turn = Turn(" ".join(f"topic{i}" for i in range(40)))
    rewritten = standalone_question("Who did it?", [long_turn])
    assert rewritten == "Who did it? (" + " ".join(f"topic{i}" for i in range(12)) + ")"


def test_informative_words_keep_acronyms_and_drop_asking_words() -> None:
    assert informative_words("Where in Kenya are U.S. forces hosted, and what's Kenya's role?") == [
        "Kenya", "U.S.", "forces", "hosted", "Kenya", "role"
    ]
    assert informative_words("Tell us about the UK") == ["UK"]


def test_rewrite_is_deterministic() -> None:
    runs = {standalone_question("Who signed it?", [SIGNING]) for _ in range(5)}
    assert len(runs) == 1


def test_the_engine_rewrites_a_follow_up_by_rule_with_the_extractive_answerer(
    tmp_path: Path,
) -> None:
    shutil.copytree(PROJECT_ROOT / "corpus", tmp_path / "corpus")
    engine = Engine(Settings(corpus_dir=tmp_path / "corpus", store_dir=tmp_path / "store"))
    engine.ingest(progress=False)
    history = [Turn("What did Kenya and the US sign in September 2023?", "A framework [1].")]
    question = engine.standalone_question("Who signed it?", history)
    assert question == "Who signed it? (Kenya US sign September 2023)"
    answer = engine.ask(question)
    assert "Austin" in answer.text
