"""The answer benchmark's judges: RealTimeQA's rule (the right choice and none of the others)
and the stricter one that judges the short answer alone."""

from __future__ import annotations

from datetime import date

from qa.readbench import Quiz, judge, judge_short

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


def test_the_short_answer_is_judged_alone_when_there_is_one() -> None:
    quote = " — The Kansas City Chiefs meet San Francisco in Las Vegas."
    assert judge_short("Las Vegas" + quote, "Las Vegas", QUIZ)
    assert not judge_short("Kansas City" + quote, "Kansas City", QUIZ)
    assert not judge_short("Nevada — The game is in Las Vegas.", "Nevada", QUIZ)
    assert judge("Nevada — The game is in Las Vegas.", QUIZ)  # the README's rule


def test_a_short_answer_within_the_choice_is_right_when_no_other_choice_holds_it() -> None:
    quiz = Quiz("y", date(2024, 6, 1), "Which city was covered in haze?",
                ("Athens, Greece", "Milan, Italy", "New York City", "York, England"),
                "Athens, Greece", True, frozenset())
    assert judge_short("Athens — ...", "Athens", quiz)
    assert not judge_short("York — ...", "York", quiz)  # held by two choices
    assert not judge_short("Ath — ...", "Ath", quiz)  # not a whole word of it


def test_every_part_of_a_compound_short_answer_must_match() -> None:
    quiz = Quiz("z", date(2024, 12, 1), "Which two automakers are discussing a merger?",
                ("Honda and Nissan", "Ford and Toyota"), "Honda and Nissan", True, frozenset())
    assert judge_short("Honda; Nissan — ...", "Honda; Nissan", quiz)
    assert not judge_short("Honda; Ford — ...", "Honda; Ford", quiz)


def test_the_short_answer_is_compared_without_accents_or_a_plural_ending() -> None:
    quiz = Quiz("v", date(2024, 6, 1), "Which volcano erupted?",
                ("Kīlauea", "Mauna Loa", "Etna", "Concussions"), "Kīlauea", True, frozenset())
    assert judge_short("Kilauea — ...", "Kilauea", quiz)
    assert not judge_short("concussion — ...", "concussion", quiz)


def test_a_long_name_around_the_choice_is_not_the_choice() -> None:
    quiz = Quiz("w", date(2024, 6, 1), "Which food item rose in price?",
                ("Eggs", "Milk", "Bread", "Butter"), "Eggs", True, frozenset())
    assert judge_short("Egg prices — ...", "Egg prices", quiz)
    assert not judge_short("Egg Price Current for Urner Barry — ...",
                           "Egg Price Current for Urner Barry", quiz)


def test_a_number_in_words_matches_the_choice_in_digits() -> None:
    quiz = Quiz("u", date(2024, 3, 15), "How many cups of coffee does an adult drink daily?",
                ("3", "5", "13", "1"), "3", True, frozenset())
    assert judge_short("three — ...", "three", quiz)
    assert not judge_short("thirteen — ...", "thirteen", quiz)
