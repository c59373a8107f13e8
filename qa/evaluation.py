"""Scripted eval runs: every question of a question file through `ask()`, scored in code.

No LLM judge: answers are checked against expected facts (all-of groups of any-of strings),
refusals against the questions the corpus cannot answer, citations against the articles that hold
the answer, and every quote against its article's text at its offsets.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from qa.corpus import load_corpus
from qa.errors import QAError
from qa.pipeline import Engine
from qa.settings import Settings
from qa.types import Answer

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 10.0
"""Seconds between progress lines of a run with no bar (stderr not a terminal)."""


@dataclass(frozen=True)
class Question:
    """One hand-written question and what a right answer holds."""

    id: str
    question: str
    category: str
    expect: list[list[str]]
    articles: list[str]
    as_of: date | None = None
    """The day the question is asked on (its "this week" is read from it); None = today."""
    since: date | None = None
    """Search only articles dated on or after this day (overrides the question's words)."""
    until: date | None = None
    """Search only articles dated on or before this day (overrides the question's words)."""

    @property
    def answerable(self) -> bool:
        return bool(self.expect)


@dataclass
class QuestionResult:
    """How one question went, and why it failed when it did."""

    id: str
    category: str
    question: str
    answerable: bool
    passed: bool
    why: str
    answer: str
    refused: bool
    cited: list[str]
    quotes_faithful: int
    quotes_total: int
    hit: float
    reciprocal_rank: float
    latency_ms: float
    answered_by: str
    """The backend whose answer this is: an LLM run falls back to `extractive` per question."""


@dataclass
class Report:
    """An eval run: overall metrics, thresholds, and the per-question results."""

    created: str
    questions_file: str
    corpus: str
    answerer: str
    top_k: int
    metrics: dict[str, float]
    thresholds: dict[str, float]
    failed_thresholds: list[str]
    by_category: dict[str, float]
    results: list[QuestionResult] = field(default_factory=list)


def load_questions(path: Path) -> tuple[list[Question], dict[str, float]]:
    """Read a question file (YAML) and its thresholds."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise QAError(f"Question file not found: {path}") from err
    except yaml.YAMLError as err:
        raise QAError(f"Question file {path} is not valid YAML: {err}") from err
    questions = [
        Question(
            id=str(q["id"]),
            question=str(q["question"]),
            category=str(q.get("category", "uncategorised")),
            expect=[[str(alt) for alt in group] for group in q.get("expect") or []],
            articles=[str(a) for a in q.get("articles") or []],
            as_of=_day(q.get("as_of")),
            since=_day(q.get("since")),
            until=_day(q.get("until")),
        )
        for q in data.get("questions", [])
    ]
    thresholds = {str(k): float(v) for k, v in (data.get("thresholds") or {}).items()}
    return questions, thresholds


def _day(value: object) -> date | None:
    """A question file's date (YAML reads 2024-02-01 as a date; quoted, it is text)."""
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def missing_facts(question: Question, answer_text: str) -> list[list[str]]:
    """The expected fact groups that the answer does not contain (case-insensitive)."""
    text = answer_text.lower()
    return [group for group in question.expect if not any(a.lower() in text for a in group)]


def score(
    question: Question,
    answer: Answer,
    texts: dict[str, str],
    latency_ms: float,
) -> QuestionResult:
    """Judge one answer: facts, refusal, citations, quotes and retrieval."""
    from llama_index.core.evaluation.retrieval.metrics import MRR, HitRate

    cited = [c.source for c in answer.citations]
    faithful = sum(
        1 for c in answer.citations if texts.get(c.source, "")[c.start : c.end] == c.quote
    )
    retrieved = list(dict.fromkeys(p.chunk.source for p in answer.passages))
    hit = rr = 0.0
    if question.answerable and retrieved:
        hit = HitRate().compute(expected_ids=question.articles, retrieved_ids=retrieved).score
        rr = MRR().compute(expected_ids=question.articles, retrieved_ids=retrieved).score
    if not question.answerable:
        passed = answer.refused and not answer.citations
        why = "refused" if passed else "answered a question the corpus cannot answer"
    elif answer.refused:
        passed, why = False, "refused an answerable question"
    else:
        missing = missing_facts(question, answer.text)
        passed = not missing
        why = "all expected facts present" if passed else f"missing {missing}"
    if faithful < len(answer.citations):
        passed, why = False, f"{len(answer.citations) - faithful} quote(s) not found at offsets"
    return QuestionResult(
        id=question.id,
        category=question.category,
        question=question.question,
        answerable=question.answerable,
        passed=passed,
        why=why,
        answer=answer.text,
        refused=answer.refused,
        cited=cited,
        quotes_faithful=faithful,
        quotes_total=len(answer.citations),
        hit=hit,
        reciprocal_rank=rr,
        latency_ms=latency_ms,
        answered_by=answer.answerer,
    )


def summarise(results: list[QuestionResult], questions: list[Question]) -> dict[str, float]:
    """Overall metrics of a run."""
    expected = {q.id: set(q.articles) for q in questions}
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    refused = [r for r in results if r.refused]
    answered = [r for r in answerable if not r.refused]
    citations = [(r.id, s) for r in answered for s in r.cited]
    latencies = sorted(r.latency_ms for r in results)
    quotes = sum(r.quotes_total for r in results)
    right = sum(r.passed and not r.refused for r in answerable)
    wrong = sum(not r.refused for r in results) - right
    return {
        "answer_accuracy": _ratio(sum(r.passed for r in answerable), len(answerable)),
        "crag_score": _ratio(right - wrong, len(results)),
        "refusal_precision": _ratio(sum(not r.answerable for r in refused), len(refused)),
        "refusal_recall": _ratio(sum(r.refused for r in unanswerable), len(unanswerable)),
        "citation_precision": _ratio(sum(s in expected[i] for i, s in citations), len(citations)),
        "citation_recall": _mean(
            [len(set(r.cited) & expected[r.id]) / len(expected[r.id]) for r in answered]
        ),
        "quote_faithfulness": _ratio(sum(r.quotes_faithful for r in results), quotes),
        "retrieval_hit_at_k": _mean([r.hit for r in answerable]),
        "retrieval_mrr": _mean([r.reciprocal_rank for r in answerable]),
        "latency_p50_ms": _percentile(latencies, 50),
        "latency_p95_ms": _percentile(latencies, 95),
        "questions": float(len(results)),
    }


def run_eval(questions_file: Path, settings: Settings, progress: bool = False) -> Report:
    """Ask every question (after one warm-up ingest) and score the answers.

    With `progress`, the ingest and the questions show a bar; without, a log line (INFO) every
    `PROGRESS_EVERY_S` seconds says how far it got.
    """
    questions, thresholds = load_questions(questions_file)
    if not questions:
        raise QAError(f"No questions in {questions_file}")
    engine = Engine(settings)
    engine.ingest(progress=progress)
    texts = {a.source: a.text for a in load_corpus(settings.corpus_dir).articles}
    results = []
    logged = time.monotonic()
    for done, question in enumerate(
        tqdm(questions, desc="Asking", unit="question", disable=not progress, leave=False)
    ):
        if time.monotonic() - logged >= PROGRESS_EVERY_S:
            logged = time.monotonic()
            log.info("Asked %d of %d questions", done, len(questions))
        began = time.perf_counter()
        answer = engine.ask(
            question.question, as_of=question.as_of, since=question.since, until=question.until
        )
        latency = (time.perf_counter() - began) * 1000
        results.append(score(question, answer, texts, latency))
    metrics = summarise(results, questions)
    failed = [name for name, floor in thresholds.items() if metrics.get(name, 0.0) < floor]
    categories = sorted({r.category for r in results})
    return Report(
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        questions_file=str(questions_file),
        corpus=str(settings.corpus_dir),
        answerer=settings.answerer,
        top_k=settings.top_k,
        metrics=metrics,
        thresholds=thresholds,
        failed_thresholds=failed,
        by_category={
            c: _ratio(
                sum(r.passed for r in results if r.category == c),
                sum(r.category == c for r in results),
            )
            for c in categories
        },
        results=results,
    )


def write_report(report: Report, folder: Path) -> Path:
    """Write `<timestamp>.json`, `.md` and `.png` into `folder`; return the JSON path."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / report.created.replace("-", "").replace(":", "")
    stem = stem.with_name(f"{stem.name}-{report.answerer}")
    stem.with_suffix(".json").write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
    stem.with_suffix(".md").write_text(to_markdown(report), encoding="utf-8")
    draw_chart(report, stem.with_suffix(".png"))
    return stem.with_suffix(".json")


def to_markdown(report: Report) -> str:
    """The human-readable report: metrics against thresholds, then every question."""
    lines = [
        f"# Eval run {report.created}",
        "",
        f"Answerer `{report.answerer}`, top-k {report.top_k}, corpus `{report.corpus}`, "
        f"questions `{report.questions_file}`.",
        "",
        "| metric | value | threshold | |",
        "|---|---|---|---|",
    ]
    for name, value in report.metrics.items():
        floor = report.thresholds.get(name)
        mark = "" if floor is None else ("ok" if value >= floor else "**below**")
        shown = f"{value:.1f}" if name.endswith("_ms") or name == "questions" else f"{value:.3f}"
        lines.append(f"| {name} | {shown} | {'' if floor is None else floor} | {mark} |")
    lines += ["", "| category | pass rate |", "|---|---|"]
    lines += [f"| {c} | {v:.2f} |" for c, v in report.by_category.items()]
    lines += [
        "",
        "| id | category | result | why | answered by | answer |",
        "|---|---|---|---|---|---|",
    ]
    for r in report.results:
        answer = r.answer.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {r.id} | {r.category} | {'pass' if r.passed else '**FAIL**'} | "
            f"{r.why} | {r.answered_by} | {answer[:160]} |"
        )
    return "\n".join(lines) + "\n"


def draw_chart(report: Report, path: Path) -> None:
    """Pass rate by category and the latency histogram, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    names = list(report.by_category)
    left.barh(names, [report.by_category[n] for n in names], color="#3b7dd8")
    left.set_xlim(0, 1)
    left.set_xlabel("pass rate")
    left.set_title(f"Accuracy by category ({report.answerer})")
    right.hist([r.latency_ms for r in report.results], bins=20, color="#d8843b")
    right.set_xlabel("latency per question (ms)")
    right.set_ylabel("questions")
    right.set_title(
        f"Latency: p50 {report.metrics['latency_p50_ms']:.0f} ms, "
        f"p95 {report.metrics['latency_p95_ms']:.0f} ms"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def compare(old_path: Path, new_path: Path) -> str:
    """What got better and worse between two JSON reports."""
    old, new = (json.loads(Path(p).read_text(encoding="utf-8")) for p in (old_path, new_path))
    lines = [f"{'metric':<22} {'old':>9} {'new':>9} {'change':>9}"]
    for name, value in new["metrics"].items():
        before = old["metrics"].get(name)
        if before is None:
            continue
        lower_is_better = name.endswith("_ms")
        delta = value - before
        verdict = (
            "" if abs(delta) < 1e-9 else ("better" if (delta < 0) == lower_is_better else "worse")
        )
        lines.append(f"{name:<22} {before:>9.3f} {value:>9.3f} {delta:>+9.3f} {verdict}")
    was = {r["id"]: r["passed"] for r in old["results"]}
    for r in new["results"]:
        if r["id"] in was and was[r["id"]] != r["passed"]:
            state = "now passes" if r["passed"] else f"now fails ({r['why']})"
            lines.append(f"  {r['id']}: {state}")
    return "\n".join(lines)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 1.0


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(pct / 100 * (len(sorted_values) - 1)))
    return sorted_values[index]


def format_summary(report: Report) -> Any:
    """A few lines for the terminal."""
    m = report.metrics
    missed = [r for r in report.results if not r.passed]
    lines = [f"{r.id}: missed ({r.why})" for r in missed] if report.failed_thresholds else []
    lines.append(
        f"CRAG {m['crag_score']:+.3f} | "
        f"answer accuracy {m['answer_accuracy']:.3f} | refusal P {m['refusal_precision']:.3f} "
        f"R {m['refusal_recall']:.3f} | citation P {m['citation_precision']:.3f} "
        f"R {m['citation_recall']:.3f} | quotes {m['quote_faithfulness']:.3f} | "
        f"hit@k {m['retrieval_hit_at_k']:.3f} MRR {m['retrieval_mrr']:.3f} | "
        f"p50 {m['latency_p50_ms']:.0f} ms p95 {m['latency_p95_ms']:.0f} ms"
    )
    by = Counter(r.answered_by for r in report.results)
    lines.append("answered by: " + ", ".join(f"{name} {n}" for name, n in by.most_common()))
    misses = f"{len(missed)} expected miss{'' if len(missed) == 1 else 'es'}"
    if report.failed_thresholds:
        lines.append(f"gate FAILED, below threshold: {', '.join(report.failed_thresholds)} "
                     f"({len(missed)} missed, listed above)")
    else:
        lines.append(f"{misses}, gate passed (each is in the report)")
    return "\n".join(lines)
