"""Benchmark of the answers on a real news corpus: right, refused and wrong, scored as CRAG does.

    qa bench --answers --corpus ../shared/bench/realtimeqa-2024 --sizes 1000,all \
        --stores /work/rtqa --baseline-src /tmp/base --out evals/bench/answers

For each size (the first N articles in date order) it builds, or reuses, a store under
`--stores`, then asks every question dated within the slice's dates, answerable or not, without
its choices: once as of today (the default) and once as of the question's own date. A question
is right when the answer holds its right choice and none of the others (the corpus README's
rule), refused when the answer is the refusal, wrong otherwise; the CRAG-style score is
(right - wrong) / N. The risk-coverage curve comes from one run with no evidence gate: each
answer's confidence against the threshold. The same questions go to the code at
`--baseline-src` (a checkout of an earlier commit) in a separate process on the same store, so
the comparison is in the same run. Retrieval hit@k with and without `as_of` is reported for the
answerable questions. The article dates of this corpus are the day of the search, not of
publication, so the figures with `as_of` are an upper bound for a real archive.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from qa.answer import calibration
from qa.answer.disagree import SMALL_NUMBERS
from qa.bench import (
    Hit,
    cpu_model,
    load_articles,
    make_settings,
    percentiles,
    retrieval_scores,
    write_subset,
)
from qa.settings import PROJECT_ROOT, Settings

log = logging.getLogger("qa.bench")

THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.0, 1.0, 0.05))
BASELINE_SCRIPT = """
import json, sys
from pathlib import Path
from qa.pipeline import Engine
from qa.settings import Settings
corpus, store = sys.argv[1], sys.argv[2]
engine = Engine(Settings(corpus_dir=Path(corpus), store_dir=Path(store), cache_indexes=False))
engine.load()
for line in sys.stdin:
    answer = engine.ask(json.loads(line))
    print(json.dumps({"text": answer.text, "refused": answer.refused,
                      "short": getattr(answer, "short", None)}), flush=True)
"""
"""Runs in the baseline checkout: only `Engine`, `Settings`, `load` and `ask`, which every
version has."""


@dataclass(frozen=True)
class Quiz:
    """A quiz question of the corpus, answerable from it or not."""

    id: str
    day: date
    question: str
    choices: tuple[str, ...]
    answer: str
    answerable: bool
    article_ids: frozenset[str]


def question_day(record: dict[str, Any]) -> date:
    """The day a question was asked: from its id (`20240209_3`), which the data's README says is
    right where the `date` field is not (two formats, one wrong week)."""
    day = str(record["id"])[:8]
    return date(int(day[:4]), int(day[4:6]), int(day[6:8]))


def load_quizzes(path: Path) -> list[Quiz]:
    with path.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    return [
        Quiz(
            id=str(r["id"]),
            day=question_day(r),
            question=str(r["question"]),
            choices=tuple(str(c) for c in r["choices"]),
            answer=str(r["answer"]),
            answerable=bool(r.get("answer_in_corpus")),
            article_ids=frozenset(r.get("articles_with_answer") or ()),
        )
        for r in records
    ]


def judge(text: str, quiz: Quiz) -> bool:
    """The README's rule: the answer holds the right choice and none of the others (compared
    in one Unicode form: an article may write "Beyoncé" with a combining accent). A choice the
    question itself names is not held against it: "The San Francisco 49ers will play the Kansas
    City Chiefs. Where?" is answered by a quote that names both teams beside "Las Vegas"."""
    lowered = _folded(text)
    return _only_the_answer(quiz, lambda choice: _folded(choice) in lowered)


def judge_short(text: str, short: str | None, quiz: Quiz) -> bool:
    """The stricter rule: the short answer, when there is one, is judged alone, as the reader
    shows it first (the README's rule counts "Masimo — The Apple Watch Series 9 ... were
    banned" right for "which Apple product was banned?", its quote naming the choice). It is
    right when one holds the other as whole words ("Athens" for "Athens, Greece"; case,
    accents, a plural ending and "three" for "3" aside; the short answer at most two words
    longer) and no other
    choice does; each part of a compound short answer ("Honda; Nissan") must be. An answer with
    no short answer is judged by the README's rule, on whole words."""
    if not short:
        return _only_the_answer(quiz, lambda choice: _holds(text, choice))

    def matches(part: str, choice: str) -> bool:
        within = len(part.split()) <= len(choice.split()) + 2  # not a long name around it
        return (within and _holds(part, choice)) or _holds(choice, part)

    parts = [p for p in short.split("; ") if p]
    return all(_only_the_answer(quiz, partial(matches, p)) for p in parts)


def _only_the_answer(quiz: Quiz, held: Callable[[str], bool]) -> bool:
    """Whether `held` holds for the right choice and for none of the others (but for those the
    question itself names)."""
    return held(quiz.answer) and not any(held(c) for c in _other_choices(quiz))


NUMBER_WORD = re.compile(rf"(?<!\w)(?:{'|'.join(SMALL_NUMBERS)})(?!\w)")


def _folded(words: str) -> str:
    return unicodedata.normalize("NFC", words).casefold()


def _holds(text: str, words: str) -> bool:
    """Whether `text` holds `words` as whole words, compared without case, accents or a plural
    ending ("Kilauea" holds "Kīlauea", "concussion" holds "Concussions")."""
    return re.search(rf"(?<!\w){re.escape(_bare(words))}(?!\w)", _bare(text)) is not None


def _bare(text: str) -> str:
    """Words without case, accents or a plural "s"/"es", a number up to twenty in digits
    ("three" for the choice "3")."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", _folded(text))
                    if not unicodedata.combining(c))
    plain = NUMBER_WORD.sub(lambda m: str(SMALL_NUMBERS[m.group()]), plain)
    return re.sub(r"(?<=\w\w\w)(?:es|s)\b", "", plain)


def _other_choices(quiz: Quiz) -> list[str]:
    """The wrong choices, but for those the question itself names."""
    asked = _folded(quiz.question)
    return [c for c in quiz.choices if c != quiz.answer and _folded(c) not in asked]


def outcome_counts(outcomes: list[str]) -> dict[str, Any]:
    """right / refused / wrong shares and the CRAG-style score of a list of outcomes."""
    n = max(len(outcomes), 1)
    right, refused = outcomes.count("right"), outcomes.count("refused")
    wrong = len(outcomes) - right - refused
    return {
        "n": len(outcomes),
        "right": round(right / n, 4),
        "refused": round(refused / n, 4),
        "wrong": round(wrong / n, 4),
        "crag": round((right - wrong) / n, 4),
    }


def grouped(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Outcome counts for the answerable, the unanswerable and all questions."""
    return {
        "answerable": outcome_counts([r[key] for r in rows if r["answerable"]]),
        "unanswerable": outcome_counts([r[key] for r in rows if not r["answerable"]]),
        "all": outcome_counts([r[key] for r in rows]),
    }


def risk_coverage(rows: list[dict[str, Any]]) -> list[dict[str, float]]:
    """For each threshold: share answered, accuracy of what is answered, CRAG score."""
    curve = []
    n = max(len(rows), 1)
    for threshold in THRESHOLDS:
        answered = [r for r in rows if not r["ungated_refused"] and r["confidence"] >= threshold]
        right = sum(r["ungated_right"] for r in answered)
        curve.append({
            "threshold": threshold,
            "coverage": round(len(answered) / n, 4),
            "accuracy_answered": round(right / max(len(answered), 1), 4),
            "crag": round((2 * right - len(answered)) / n, 4),
        })
    return curve


def ensure_store(articles: list[dict[str, Any]], root: Path) -> Settings:
    """The slice's corpus file and store under `root`, built once and reused after (an
    unchanged corpus costs a re-ingest that embeds nothing)."""
    from qa.pipeline import Engine

    corpus = root / "corpus"
    if not (corpus / "articles.jsonl").exists():
        write_subset(articles, corpus)
    settings = make_settings(corpus_dir=corpus, store_dir=root / "store")
    Engine(settings).ingest(progress=True)
    return settings


def ask_quizzes(settings: Settings, quizzes: list[Quiz], as_of: bool) -> list[dict[str, Any]]:
    """Each quiz asked with the evidence gate off (so every answer has a confidence), timed;
    the gated outcome is the same answer held to `min_confidence`."""
    from qa.pipeline import Engine

    ungated = settings.model_copy(update={"min_confidence": 0.0})
    engine = Engine(ungated)
    engine.load()
    assert engine.indexes is not None
    retriever = engine.indexes.retriever
    rows = []
    for quiz in tqdm(quizzes, desc="ask (as_of)" if as_of else "ask", unit="question"):
        day = quiz.day if as_of else None
        started = time.perf_counter()
        answer = engine.ask(quiz.question, as_of=day)
        seconds = time.perf_counter() - started
        right = not answer.refused and judge(answer.text, quiz)
        short_right = not answer.refused and judge_short(answer.text, answer.short, quiz)
        gated_refused = answer.refused or answer.confidence < settings.min_confidence
        row = {
            "id": quiz.id,
            "answerable": quiz.answerable,
            "seconds": seconds,
            "confidence": round(answer.confidence, 4),
            "ungated_refused": answer.refused,
            "ungated_right": right,
            "ungated_short_right": short_right,
            "outcome": _outcome(gated_refused, right),
            "short_outcome": _outcome(gated_refused, short_right),
            "short": answer.short,
            "text": answer.text[:400],
            "disagreements": len(getattr(answer, "disagreements", []) or []),
        }
        if quiz.answerable:  # the passages the engine searched, in the window it searched
            searched = engine.indexes.vocabulary.expand(quiz.question) \
                if engine.indexes.vocabulary else quiz.question
            passages = retriever.retrieve(searched, 10, answer.window)
            row["hits"] = [Hit(p.chunk.source.rsplit("#", 1)[-1], p.chunk.text) for p in passages]
        rows.append(row)
    return rows


def ask_baseline(source: Path, settings: Settings, quizzes: list[Quiz]) -> list[dict[str, Any]]:
    """The same questions answered by the code at `source`, in its own process."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    payload = "".join(json.dumps(q.question) + "\n" for q in quizzes)
    done = subprocess.run(
        [sys.executable, "-c", BASELINE_SCRIPT, str(settings.corpus_dir), str(settings.store_dir)],
        input=payload, capture_output=True, text=True, env=env, check=False, cwd=source,
    )
    if done.returncode != 0:
        log.error("The baseline at %s failed: %s", source, done.stderr[-2000:])
        return []
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return [
        {"id": q.id, "answerable": q.answerable,
         "outcome": _outcome(a["refused"], judge(a["text"], q)),
         "short_outcome": _outcome(a["refused"], judge_short(a["text"], a.get("short"), q))}
        for q, a in zip(quizzes, answers, strict=True)
    ]


def _outcome(refused: bool, right: bool) -> str:
    return "refused" if refused else "right" if right else "wrong"


def retrieval(rows: list[dict[str, Any]], quizzes: dict[str, Quiz]) -> dict[str, float]:
    """Answer-bearing hit@k and MRR of the answerable questions (the README's rule)."""
    from qa.bench import Question
    from qa.chunking import token_counter

    token_counter("cl100k_base")
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base")
    ranked = []
    for row in rows:
        if "hits" in row:
            quiz = quizzes[row["id"]]
            question = Question(quiz.id, quiz.question, quiz.choices, quiz.answer,
                                quiz.article_ids)
            ranked.append((question, row.pop("hits")))
    return retrieval_scores(ranked, encoding)


def run_size(label: str, articles: list[dict[str, Any]], quizzes: list[Quiz],
             options: argparse.Namespace) -> dict[str, Any]:
    first = min(a["date"].replace("-", "/") for a in articles)
    last = max(a["date"].replace("-", "/") for a in articles)
    ids = {a["id"] for a in articles}
    asked = [
        q for q in quizzes
        if first <= q.day.strftime("%Y/%m/%d") <= last and q.article_ids <= ids
    ][: options.limit or None]
    settings = ensure_store(articles, options.stores / f"size-{label}")
    by_id = {q.id: q for q in asked}
    result: dict[str, Any] = {"size": label, "articles": len(articles), "dates": [first, last],
                              "questions": len(asked),
                              "answerable": sum(q.answerable for q in asked)}
    for name, as_of in (("no_as_of", False), ("as_of", True)):
        rows = ask_quizzes(settings, asked, as_of)
        result[name] = {
            "outcomes": grouped(rows, "outcome"),
            "short_outcomes": grouped(rows, "short_outcome"),
            "risk_coverage": risk_coverage(rows),
            "ask": percentiles([r["seconds"] for r in rows]),
            "retrieval": retrieval(rows, by_id),
            "flagged_disagreements": sum(r["disagreements"] > 0 for r in rows),
        }
        if options.tuned_until:
            later = [r for r in rows if by_id[r["id"]].day > options.tuned_until]
            result[name]["after_tuning_dates"] = grouped(later, "outcome")
            result[name]["short_after_tuning_dates"] = grouped(later, "short_outcome")
        result[name]["rows"] = [
            {k: v for k, v in r.items() if k in ("id", "outcome", "short_outcome", "confidence",
                                                  "short", "text", "disagreements")}
            for r in rows
        ]
    if options.baseline_src:
        rows = ask_baseline(options.baseline_src, settings, asked)
        result["baseline"] = {"source": str(options.baseline_src),
                              "outcomes": grouped(rows, "outcome"),
                              "short_outcomes": grouped(rows, "short_outcome")}
    return result


def write_markdown(report: dict[str, Any], path: Path) -> None:
    lines = [
        "# Answers on RealTimeQA 2024: right, refused, wrong (CRAG-style score)",
        "",
        f"Run {report['started']} to {report.get('finished', '?')} on {report['machine']['cpu']}"
        f" ({report['machine']['cores']} cores). Command: `{report['command']}`.",
        "",
        "Every question dated within the slice's dates, asked without its choices. Right: the "
        "answer holds the right choice and none of the others. CRAG-style score: (right − "
        "wrong) / N. *as_of*: each question asked as of its own date; the articles' dates are "
        "the day of the search, not of publication, so these are an upper bound for a real "
        "archive. The answer is given when its calibrated probability of being right reaches "
        f"{report.get('min_confidence')} (its logit lowered by "
        f"{report.get('scale_correction', 0)} in a store of "
        f"{report.get('scale_chunks', '?')} chunks or more, in part from "
        f"{report.get('scale_from_chunks', 100)}); the model was "
        "fitted on questions dated until "
        f"{report.get('tuned_until') or '?'} ({report.get('calibration', {}).get('command')}); "
        "'after tuning dates' counts only the questions dated later, never fitted or tuned on.",
        "",
        "Short answer judged: the stricter rule of `judge_short` (the short answer alone, when "
        "there is one, must match the right choice and no other; the README's rule also counts "
        "an answer right whose quote names the right choice beside a wrong short answer).",
        "",
        "| size | condition | group | N | right | refused | wrong | CRAG | right, short answer "
        "judged | CRAG, short answer judged |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in report["sizes"]:
        baseline = size.get("baseline", {})
        conditions = [
            ("today's answerer (baseline)", baseline.get("outcomes"),
             baseline.get("short_outcomes")),
            ("new, no as_of", size["no_as_of"]["outcomes"], size["no_as_of"].get("short_outcomes")),
            ("new, as_of = question date", size["as_of"]["outcomes"],
             size["as_of"].get("short_outcomes")),
        ]
        if "after_tuning_dates" in size["as_of"]:
            conditions += [
                (f"new, {name.replace('_', ' ')}, after tuning dates",
                 size[name]["after_tuning_dates"], size[name].get("short_after_tuning_dates"))
                for name in ("no_as_of", "as_of")
            ]
        for name, groups, short_groups in conditions:
            if not groups:
                continue
            for group in ("answerable", "unanswerable", "all"):
                g = groups[group]
                if not g["n"]:
                    continue
                strict = (short_groups or {}).get(group)
                judged = (f"{strict['right']:.3f} | {strict['crag']:+.3f}" if strict else "- | -")
                lines.append(f"| {size['size']} | {name} | {group} | {g['n']} | {g['right']:.3f}"
                             f" | {g['refused']:.3f} | {g['wrong']:.3f} | {g['crag']:+.3f} | "
                             f"{judged} |")
    lines += ["", "| size | condition | hit@1 | hit@5 | hit@10 | MRR@10 | ask p50 / p95 ms |"
              " flagged disagreements |", "|---|---|---|---|---|---|---|---|"]
    for size in report["sizes"]:
        for name in ("no_as_of", "as_of"):
            part = size[name]
            r, a = part["retrieval"], part["ask"]
            lines.append(f"| {size['size']} | {name} | {r.get('hit@1', 0):.3f} | "
                         f"{r.get('hit@5', 0):.3f} | {r.get('hit@10', 0):.3f} | "
                         f"{r.get('mrr@10', 0):.3f} | {a.get('p50_ms')} / {a.get('p95_ms')} | "
                         f"{part['flagged_disagreements']} |")
    lines += ["", "Risk-coverage (no gate; answered when confidence ≥ threshold), as_of:", "",
              "| size | threshold | coverage | accuracy of answered | CRAG |",
              "|---|---|---|---|---|"]
    for size in report["sizes"]:
        for point in size["as_of"]["risk_coverage"][::2]:
            lines.append(f"| {size['size']} | {point['threshold']:.2f} | {point['coverage']:.3f} "
                         f"| {point['accuracy_answered']:.3f} | {point['crag']:+.3f} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for size in report["sizes"]:
        for name in ("no_as_of", "as_of"):
            curve = size[name]["risk_coverage"]
            axes.plot([p["coverage"] for p in curve], [p["accuracy_answered"] for p in curve],
                      marker=".", label=f"{size['size']} articles, {name}")
    axes.set_xlabel("share of questions answered")
    axes.set_ylabel("accuracy of the answered")
    axes.set_title("Risk-coverage on RealTimeQA 2024")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="qa bench --answers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", action="store_true", help="(selects this benchmark)")
    parser.add_argument("--corpus", type=Path, required=True, help="RealTimeQA 2024 folder")
    parser.add_argument("--sizes", default="1000,all", help="article counts or 'all'")
    parser.add_argument("--stores", type=Path, required=True,
                        help="folder of the stores, one per size, built once and reused")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "evals" / "bench" / "answers")
    parser.add_argument("--baseline-src", type=Path,
                        help="checkout of the code to compare with (e.g. a git worktree)")
    parser.add_argument("--tuned-until", type=date.fromisoformat,
                        help="last question date of the tuning slice (YYYY-MM-DD)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many questions")
    parser.add_argument("--skip", type=int, default=0,
                        help="articles (in date order) left out before each slice: a slice of "
                        "later dates, e.g. held out from the dates a model was fitted on")
    return parser.parse_args(argv)


def start_logging() -> None:
    """Progress at INFO, without the reader's and the HTTP clients' chatter."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for name in ("qa.answer.evidence", "httpx", "chromadb"):
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    start_logging()
    articles = load_articles(options.corpus)
    quizzes = load_quizzes(options.corpus / "questions.jsonl")
    articles = articles[options.skip:]
    sizes = [len(articles) if s.strip() == "all" else min(int(s), len(articles))
             for s in options.sizes.split(",")]
    options.out.mkdir(parents=True, exist_ok=True)
    settings = make_settings()
    report: dict[str, Any] = {
        "corpus": options.corpus.resolve().name,
        "command": "qa bench " + " ".join(sys.argv[2:] if argv is None else argv),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(),
                    "python": platform.python_version()},
        "tuned_until": options.tuned_until.isoformat() if options.tuned_until else None,
        "min_confidence": settings.min_confidence,
        "scale_correction": settings.scale_correction,
        "scale_chunks": settings.scale_chunks,
        "scale_from_chunks": settings.scale_from_chunks,
        "calibration": calibration.load(settings.calibration_file).fitted_on,
        "sizes": [],
    }
    for size in sizes:
        label = "all" if size == len(articles) and not options.skip else str(size)
        label = f"{options.skip}+{label}" if options.skip else label
        report["sizes"].append(run_size(label, articles[:size], quizzes, options))
        report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        (options.out / "answers.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
        write_markdown(report, options.out / "answers.md")
        write_chart(report, options.out / "answers.png")
        log.info("[%s] done; wrote %s", label, options.out)
    return 0
