"""Fit the reader's calibrated confidence (`qa.answer.calibration`) on dated quizzes.

    qa bench --calibrate --corpus ../shared/bench/realtimeqa-2024 --stores /work/rtqa \
        --size all --until 2024-04-30 --seed-questions evals/questions.yaml

Every answer the reader picks is one example, labelled right or wrong by the rule its benchmark
judges with: RealTimeQA's questions dated up to `--until` (answerable or not, each asked as of
today and as of its own date: its short answer is the right choice and none of the others, the
benchmark's stricter judge, `judge_short`, as the model says how likely the answer shown first
is right), and the
seed calibration file's questions on the bundled corpus (every expected fact present; never, for
a question the corpus cannot answer). The model says how likely a pick is right; it does not
change which answer is picked. Questions dated later are never seen here: the answer benchmark
reports on them (`--tuned-until`). The fitted model is written to
`qa/answer/data/calibration.json` with what it was fitted on.

On a corpus of one's own, without RealTimeQA: point `QA_CORPUS_DIR` and `QA_STORE_DIR` at it,
write a question file of it in the eval format (answerable questions with their expected facts,
and questions it cannot answer), and fit on that alone:

    QA_CORPUS_DIR=... QA_STORE_DIR=... qa bench --calibrate --seed-questions mine.yaml \
        --out mine.json
    QA_CALIBRATION_FILE=mine.json qa chat
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from qa.answer import calibration
from qa.answer.reader import ExtractiveAnswerer, Reading, self_contained
from qa.bench import load_articles, make_settings
from qa.evaluation import Question, load_questions, missing_facts
from qa.readbench import Quiz, ensure_store, judge_short, load_quizzes, start_logging
from qa.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from qa.pipeline import Engine

log = logging.getLogger("qa.calibrate")

Example = tuple[dict[str, float], bool]


def answer_text(reading: Reading) -> str:
    """What the answer says with the reading's pick: its short answer, then its quote (and the
    quote that names it in full, when another does)."""
    pick = reading.pick
    assert pick is not None
    quotes = []
    for evidence in (pick.evidence, pick.named_in):
        if evidence is not None:
            start, end = self_contained(evidence.sentence)
            chunk = evidence.sentence.chunk.chunk
            quotes.append(chunk.text[start - chunk.start : end - chunk.start])
    quote = " ".join(quotes)
    return f"{pick.short} — {quote}" if pick.short else quote


def read_examples(
    engine: Engine, asks: Iterable[tuple[str, date | None, Callable[[str, str | None], bool]]]
) -> list[Example]:
    """Each question asked (as of its date) of the engine's store, its pick's features labelled
    by its judge; a question with no pick (a refusal whatever the model says) gives none."""
    assert engine.indexes is not None
    reader = engine.indexes.answerer
    assert isinstance(reader, ExtractiveAnswerer), "the calibration weighs the extractive reader"
    reader.model = calibration.neutral()
    examples: list[Example] = []
    for question, as_of, right in asks:
        text, passages = engine.passages(question, as_of=as_of)
        reading = reader.read(text, passages) if passages else None
        if reading is not None and reading.pick is not None:
            examples.append((reading.features, right(answer_text(reading), reading.pick.short)))
    return examples


def quiz_examples(settings: Settings, quizzes: list[Quiz]) -> list[Example]:
    """Each quiz asked as of today and as of its own date."""
    from qa.pipeline import Engine

    engine = Engine(settings)
    engine.load()
    return read_examples(engine, (
        (quiz.question, as_of, partial(judge_short, quiz=quiz))
        for quiz in tqdm(quizzes, desc="read quizzes", unit="question")
        for as_of in (None, quiz.day)
    ))


def seed_examples(questions_file: Path) -> list[Example]:
    """A question file's questions on the configured corpus (the bundled one by default)."""
    from qa.pipeline import Engine

    engine = Engine(make_settings())
    engine.ingest(progress=False)
    questions, _ = load_questions(questions_file)
    return read_examples(engine, (
        (question.question, question.as_of, partial(_has_every_fact, question))
        for question in questions
    ))


def _has_every_fact(question: Question, said: str, short: str | None = None) -> bool:
    """Right, for the eval's questions: answerable, and every expected fact said (in the short
    answer or its quote: the eval's own rule)."""
    return question.answerable and not missing_facts(question, said)


def read_quizzes(options: argparse.Namespace) -> tuple[list[Example], int]:
    """The examples of every slice's quizzes dated up to `--until`, and how many quizzes."""
    articles = load_articles(options.corpus)
    quizzes = load_quizzes(options.corpus / "questions.jsonl")
    examples: list[Example] = []
    asked = 0
    for size in options.sizes.split(","):
        label = size.strip()
        part = articles if label == "all" else articles[: int(label)]
        ids = {a["id"] for a in part}
        first = min(a["date"].replace("-", "/") for a in part)
        chosen = [q for q in quizzes if first <= q.day.strftime("%Y/%m/%d")
                  and q.day <= options.until and q.article_ids <= ids]
        settings = ensure_store(part, options.stores / f"size-{label}")
        examples += quiz_examples(settings, chosen)
        asked += len(chosen)
    return examples, asked


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="qa bench --calibrate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calibrate", action="store_true", help="(selects this command)")
    parser.add_argument("--corpus", type=Path,
                        help="RealTimeQA 2024 folder (without it, the question file alone)")
    parser.add_argument("--stores", type=Path,
                        help="folder of the benchmark's stores (one per size, reused)")
    parser.add_argument("--sizes", default="1000,all",
                        help="article counts of the slices read (each with its own store), or "
                        "'all': the same questions read among more articles teach the model "
                        "what more near misses do")
    parser.add_argument("--until", type=date.fromisoformat,
                        help="last RealTimeQA question date fitted on (YYYY-MM-DD)")
    parser.add_argument("--seed-questions", type=Path,
                        default=PROJECT_ROOT / "evals" / "questions.yaml",
                        help="question file of the configured corpus fitted on too (the seed "
                        "calibration file by default)")
    parser.add_argument("--l2", type=float, default=1.0, help="L2 penalty of the fit")
    parser.add_argument("--seed-share", type=float, default=1.0,
                        help="weight of the seed file's examples in all, relative to the "
                        "quizzes' (1: the two count alike, however many examples each has)")
    parser.add_argument("--out", type=Path, default=calibration.DATA)
    parser.add_argument("--examples", type=Path,
                        help="JSON file of the read examples: written after reading, and read "
                        "instead of reading again when it exists (to refit with another --l2 or "
                        "--seed-share)")
    options = parser.parse_args(argv)
    if options.corpus and not (options.stores and options.until):
        parser.error("--corpus needs --stores and --until")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    start_logging()
    if options.examples and options.examples.exists():
        saved = json.loads(options.examples.read_text(encoding="utf-8"))
        examples = [(f, bool(y)) for f, y in saved["realtimeqa"]]
        seed = [(f, bool(y)) for f, y in saved["seed"]]
        questions = int(saved["questions"])
    else:
        examples, questions = read_quizzes(options) if options.corpus else ([], 0)
        seed = seed_examples(options.seed_questions)
        if options.examples:
            options.examples.write_text(json.dumps(
                {"realtimeqa": examples, "seed": seed, "questions": questions}), encoding="utf-8")
    rows = [f for f, _ in examples + seed]
    labels = [y for _, y in examples + seed]
    seed_weight = options.seed_share * len(examples) / len(seed) if examples and seed else 1.0
    weights = [1.0] * len(examples) + [seed_weight] * len(seed)
    model = calibration.fit(rows, labels, options.l2, sample_weights=weights, fitted_on={
        "command": "qa bench " + " ".join(sys.argv[2:] if argv is None else argv),
        "fitted": datetime.now(UTC).isoformat(timespec="seconds"),
        "realtimeqa_questions": questions,
        "realtimeqa_sizes": options.sizes,
        "realtimeqa_until": options.until and options.until.isoformat(),
        "realtimeqa_examples": len(examples),
        "realtimeqa_right": sum(y for _, y in examples),
        "seed_file": options.seed_questions.name,
        "seed_examples": len(seed),
        "seed_right": sum(y for _, y in seed),
        "seed_weight": round(seed_weight, 4),
        "l2": options.l2,
    })
    options.out.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
    log.info("Fitted on %d examples (%d right); wrote %s", len(rows), sum(labels), options.out)
    for name, weight in sorted(zip(calibration.FEATURES, model.weights, strict=True),
                               key=lambda p: -abs(p[1])):
        log.info("  %-16s %+.3f", name, weight)
    return 0
