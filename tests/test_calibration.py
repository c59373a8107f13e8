"""The reader's calibrated confidence: a probability fitted on labelled answers, shipped as data,
that ranks a question's candidate answers and decides, in code, when to refuse."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from qa.answer import calibration
from qa.answer.reader import ExtractiveAnswerer, Reading
from qa.pipeline import Engine
from qa.settings import PROJECT_ROOT, Settings


def test_the_fit_learns_which_evidence_makes_an_answer_right() -> None:
    draw = random.Random(7)
    rows, labels = [], []
    for _ in range(600):
        support = draw.random()
        rows.append({"support": support, "named": draw.random()})
        labels.append(draw.random() < support)  # right as often as the support says
    model = calibration.fit(rows, labels, l2=1.0, fitted_on={})
    low, high = model.probability({"support": 0.1}), model.probability({"support": 0.9})
    assert low < 0.3 < 0.7 < high
    assert abs(model.probability({"support": 0.5, "named": 0.0})
               - model.probability({"support": 0.5, "named": 1.0})) < 0.1


def test_more_evidence_never_lowers_the_fitted_probability() -> None:
    draw = random.Random(11)
    rows, labels = [], []
    for _ in range(600):  # one source: high overlap, rarely right; the other: the reverse
        easy = draw.random() < 0.5
        lexical = draw.uniform(0.6, 1.0) if easy else draw.uniform(0.0, 0.4)
        support = draw.random()
        rows.append({"lexical": lexical, "support": support})
        labels.append(draw.random() < (0.2 if easy else 0.8) * support)
    model = calibration.fit(rows, labels, l2=1.0, fitted_on={})
    lexical = calibration.FEATURES.index("lexical")
    assert model.weights[lexical] == 0.0
    assert model.weights[calibration.FEATURES.index("support")] > 0
    assert model.probability({"lexical": 0.9, "support": 0.5}) == pytest.approx(
        model.probability({"lexical": 0.1, "support": 0.5}))


def test_the_shipped_model_keeps_each_weight_on_its_declared_side() -> None:
    model = calibration.load()
    for name, side in calibration.DIRECTION.items():
        assert side * model.weights[calibration.FEATURES.index(name)] >= 0, name


def test_the_shipped_model_reads_the_features_the_reader_computes() -> None:
    model = calibration.load()
    assert len(model.weights) == len(calibration.FEATURES)
    assert model.fitted_on["realtimeqa_questions"] > 0
    assert model.fitted_on["seed_examples"] > 0


def test_a_model_fitted_on_other_features_is_refused(tmp_path: Path) -> None:
    data = json.loads(calibration.DATA.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="other features"):
        calibration.load(other)


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root = tmp_path_factory.mktemp("calibration-seed")
    engine = Engine(Settings(corpus_dir=PROJECT_ROOT / "corpus", store_dir=root / "store"))
    engine.ingest(progress=False)
    return engine


QUESTION = "In which city was the Kenya-US defence cooperation framework signed?"


def reading_of(engine: Engine, question: str) -> Reading:
    """How the engine's reader reads a question, from the passages `ask` would use."""
    text, passages = engine.passages(question)
    assert engine.indexes is not None
    reader = engine.indexes.answerer
    assert isinstance(reader, ExtractiveAnswerer)
    return reader.read(text, passages)


def test_the_answer_carries_the_probability_the_model_gives_its_evidence(seed: Engine) -> None:
    reading = reading_of(seed, QUESTION)
    assert reading.pick is not None
    chance = calibration.load().probability(reading.features)
    assert reading.pick.confidence == pytest.approx(chance)
    answer = seed.ask(QUESTION)
    assert answer.short == "Nairobi"
    assert answer.confidence == pytest.approx(chance)
    assert chance >= seed.settings.min_confidence


def test_an_answer_below_the_confidence_it_needs_is_a_refusal(seed: Engine) -> None:
    confident = seed.ask(QUESTION)
    strict = Engine(seed.settings.model_copy(update={"min_confidence": 0.999}))
    strict.load()
    refused = strict.ask(QUESTION)
    assert not confident.refused and refused.refused and not refused.citations


def test_a_question_written_for_choices_it_was_not_given_is_refused(seed: Engine) -> None:
    answer = seed.ask("Which of the following officials did not attend the signing?")
    assert answer.refused and not answer.citations


def test_a_corpus_of_ones_own_is_calibrated_on_its_own_question_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.calibrate import main

    monkeypatch.setenv("QA_CORPUS_DIR", str(PROJECT_ROOT / "corpus"))
    monkeypatch.setenv("QA_STORE_DIR", str(tmp_path / "store"))
    model_file = tmp_path / "mine.json"
    questions = PROJECT_ROOT / "evals" / "heldout.yaml"
    assert main(["--calibrate", "--seed-questions", str(questions), "--out", str(model_file)]) == 0
    mine = calibration.load(model_file)
    assert mine.fitted_on["seed_file"] == "heldout.yaml" and mine.fitted_on["seed_examples"] > 0
    assert mine.fitted_on["realtimeqa_examples"] == 0
    engine = Engine(Settings(corpus_dir=PROJECT_ROOT / "corpus", store_dir=tmp_path / "store",
                             calibration_file=model_file))
    reading = reading_of(engine, QUESTION)
    assert engine.ask(QUESTION).confidence == pytest.approx(mine.probability(reading.features))
