"""The answer benchmark's judge: RealTimeQA's rule (the right choice and none of the others)."""

from __future__ import annotations

from datetime import date

from qa.readbench import Quiz, judge

QUIZ = Quiz(
    id="20240202_11",
    day=date(2024, 2, 2),
    question="The San Francisco 49ers will play the Kansas City Chiefs. Where will the game be?",
    choices=("Las Vegas", "Atlanta", "San Francisco", "Kansas City"),
    answer="Las Vegas",
    answerable=True,
    article_ids=frozenset(),
)


def test_an_answer_naming_another_choice_is_wrong() -> None:
    assert judge("Las Vegas", QUIZ)
    assert not judge("Las Vegas or Atlanta", QUIZ)
    assert not judge("Atlanta", QUIZ)


def test_a_choice_the_question_names_is_not_held_against_the_answer() -> None:
    assert judge("Las Vegas — The Kansas City Chiefs meet San Francisco in Las Vegas.", QUIZ)


def test_the_judge_compares_in_one_unicode_form() -> None:
    quiz = Quiz("x", date(2024, 1, 1), "Who sang?", ("Beyonce\u0301", "Adele"), "Beyonce\u0301",
                True, frozenset())
    assert judge("Beyoncé sang it.", quiz)
