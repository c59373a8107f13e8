"""`qa eval`: scores computed in code, reports written, thresholds gate the exit code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa.evaluation import compare, load_questions, run_eval, write_report
from qa.settings import PROJECT_ROOT, Settings

QA = Path(sys.executable).parent / "qa"
QUESTIONS = """
thresholds:
  answer_accuracy: {accuracy}
  quote_faithfulness: 1.0
questions:
  - id: manda
    question: Where in Kenya are U.S. forces hosted?
    category: single-fact
    expect: [["Manda Bay"]]
    articles: [anadolu-us-kenya-sign-defense-cooperation-pact.md]
  - id: pledge
    question: How much did the US pledge for the Haiti mission?
    category: single-fact
    expect: [["$100 million", "Sh14.5 billion"]]
    articles: [anadolu-us-kenya-sign-defense-cooperation-pact.md,
               kenya-us-defence-framework-haiti-support.md]
  - id: bitcoin
    question: What is the price of bitcoin?
    category: unanswerable
    expect: []
    articles: []
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval")
    shutil.copytree(PROJECT_ROOT / "corpus", root / "corpus")
    return root


def test_the_bundled_question_set_is_large_and_balanced() -> None:
    questions, thresholds = load_questions(PROJECT_ROOT / "evals/questions.yaml")
    assert len(questions) >= 40
    assert sum(not q.answerable for q in questions) >= 8
    assert len({q.id for q in questions}) == len(questions)
    assert thresholds["quote_faithfulness"] == 1.0


@pytest.mark.parametrize("name", ["questions.yaml", "heldout.yaml", "paraphrase.yaml"])
def test_every_expected_answer_occurs_in_a_listed_article(name: str) -> None:
    questions, _ = load_questions(PROJECT_ROOT / "evals" / name)
    for q in questions:
        text = " ".join(
            (PROJECT_ROOT / "corpus" / article).read_text(encoding="utf-8").lower()
            for article in q.articles
        )
        for group in q.expect:
            assert any(alt.lower() in text for alt in group), (q.id, group)


@pytest.mark.parametrize("name", ["heldout.yaml", "paraphrase.yaml"])
def test_a_held_out_set_shares_no_question_with_the_calibration_set(name: str) -> None:
    calibration, _ = load_questions(PROJECT_ROOT / "evals/questions.yaml")
    held_out, _ = load_questions(PROJECT_ROOT / "evals" / name)
    assert not {q.id for q in calibration} & {q.id for q in held_out}
    assert not {q.question.lower() for q in calibration} & {q.question.lower() for q in held_out}


def test_a_run_scores_answers_refusals_quotes_and_retrieval(workspace: Path) -> None:
    questions = workspace / "q.yaml"
    questions.write_text(QUESTIONS.format(accuracy=0.5), encoding="utf-8")
    settings = Settings(corpus_dir=workspace / "corpus", store_dir=workspace / "store")
    report = run_eval(questions, settings)
    assert [r.passed for r in report.results] == [True, True, True]
    metrics = report.metrics
    assert metrics["answer_accuracy"] == 1.0 and metrics["refusal_recall"] == 1.0
    assert metrics["quote_faithfulness"] == 1.0 and metrics["retrieval_hit_at_k"] == 1.0
    assert report.failed_thresholds == []
    path = write_report(report, workspace / "reports")
    assert path.with_suffix(".md").read_text().startswith("# Eval run")
    assert path.with_suffix(".png").stat().st_size > 5000
    changed = json.loads(path.read_text())
    changed["metrics"]["answer_accuracy"] = 0.5
    changed["results"][0]["passed"] = False
    old = workspace / "old.json"
    old.write_text(json.dumps(changed))
    diff = compare(old, path)
    assert "answer_accuracy" in diff and "better" in diff and "manda: now passes" in diff


def test_qa_eval_exits_nonzero_below_a_threshold(workspace: Path) -> None:
    questions = workspace / "strict.yaml"
    questions.write_text(QUESTIONS.format(accuracy=1.01), encoding="utf-8")
    result = subprocess.run(
        [
            str(QA),
            "eval",
            "--questions",
            str(questions),
            "--corpus",
            str(workspace / "corpus"),
            "--store",
            str(workspace / "store"),
            "--reports",
            str(workspace / "reports"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "gate FAILED, below threshold: answer_accuracy" in result.stdout


def test_qa_eval_reports_expected_misses_as_a_passed_gate(workspace: Path) -> None:
    questions = workspace / "lenient.yaml"
    questions.write_text(
        QUESTIONS.format(accuracy=0.5).replace('[["Manda Bay"]]', '[["Mombasa"]]'),
        encoding="utf-8")
    result = subprocess.run(
        [str(QA), "eval", "--questions", str(questions), "--corpus", str(workspace / "corpus"),
         "--store", str(workspace / "store"), "--reports", str(workspace / "reports")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 expected miss, gate passed" in result.stdout
    assert "FAIL" not in result.stdout and "manda" not in result.stdout
