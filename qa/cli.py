"""The `qa` command: ingest, ask, chat, eval."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import CorpusError, QAError
from qa.offline import enforce_offline

if TYPE_CHECKING:
    from qa.types import Citation, ScoredChunk

log = logging.getLogger("qa")

WARNED_FILE = "warned.txt"
"""File in the store folder listing the corpus warnings already shown."""
EXCERPT_CHARS = 240
"""Characters of a passage shown on each side of its quote in `qa ask --json`."""
PROGRESS_LOGGERS = ("qa.store", "qa.evaluation")
"""Loggers whose progress lines are shown when stderr is not a terminal (no bar there)."""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", type=Path, help="folder of articles (default: corpus/)")
    common.add_argument("--store", type=Path, help="embedded Chroma folder (default: store/)")
    common.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000")
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens")

    parser = argparse.ArgumentParser(
        prog="qa",
        description="Ask questions about a folder of news articles; every answer cites the exact "
        "passages it comes from. Runs offline. Settings also come from QA_* variables.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser(
        "ingest", parents=[common], help="build or update the store from the corpus folder",
        description="Embed new and changed articles, drop removed ones; unchanged articles cost "
        "nothing. Unreadable files are skipped with a warning.",
    )
    ingest.set_defaults(handler=run_ingest)

    compact = commands.add_parser(
        "compact", parents=[common], help="reclaim the space of removed articles in the store",
        description="Copy the store's committed articles and chunks (nothing re-embedded) into a "
        "fresh store that replaces it: Chroma does not shrink its files after removals. Run it "
        "when no other process (qa chat) has the store open.",
    )
    compact.set_defaults(handler=run_compact)

    ask = commands.add_parser(
        "ask", parents=[common], help="answer a question (interactive when none is given)",
        description="Print the answer with [n] markers, then its numbered sources: title and the "
        "quoted passage. With no question, read questions from the terminal until EOF.",
    )
    ask.add_argument("question", nargs="?", help="the question, in quotes")
    ask.add_argument("--top-k", type=int, help="passages handed to the answerer")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("--as-of", type=_day, metavar="YYYY-MM-DD",
                     help="the day asked on: \"this week\" and \"latest\" are read from it, and "
                     "articles published after it are left out (default: today, no such bound)")
    ask.add_argument("--since", type=_day, metavar="YYYY-MM-DD",
                     help="search only articles dated on or after this day")
    ask.add_argument("--until", type=_day, metavar="YYYY-MM-DD",
                     help="search only articles dated on or before this day")
    ask.add_argument(
        "--answerer", choices=["extractive", "local", "openai"], help="answer backend"
    )
    ask.set_defaults(handler=run_ask)

    chat = commands.add_parser(
        "chat", parents=[common], help="open the chat window in the browser (Gradio)",
        description="Serve the chat window: cited answers, sources highlighted in their article, "
        "follow-up questions, and an articles page to add or remove articles. Listens on "
        "127.0.0.1 unless told otherwise; beyond localhost it needs credentials.",
    )
    chat.add_argument("--host", help="address to listen on (default: 127.0.0.1, or QA_HOST)")
    chat.add_argument("--port", type=int, help="port (default: 7860, or QA_PORT)")
    chat.add_argument("--auth", metavar="USER:PASSWORD",
                      help="ask for these credentials (prefer QA_AUTH: arguments are visible to "
                      "other users of the machine)")
    chat.add_argument("--insecure-no-auth", action="store_true",
                      help="allow listening beyond localhost with no credentials (logs a warning)")
    chat.set_defaults(handler=run_chat)

    evaluate = commands.add_parser(
        "eval", parents=[common], help="run the question set and report accuracy, refusals, "
        "citations, quote faithfulness, retrieval and latency",
        description="Ask every question of the question file, score the answers in code (no LLM "
        "judge), write evals/reports/<timestamp>.json, .md and .png, and exit 1 when a metric "
        "is below the file's thresholds.",
    )
    evaluate.add_argument("--questions", type=Path, help="question file (default: "
                          "evals/questions.yaml)")
    evaluate.add_argument("--answerer", choices=["extractive", "local", "openai"],
                          help="answer backend to evaluate")
    evaluate.add_argument("--reports", type=Path, help="report folder (default: evals/reports)")
    evaluate.add_argument("--compare", nargs=2, type=Path, metavar=("OLD.json", "NEW.json"),
                          help="print what got better and worse between two reports, and stop")
    evaluate.set_defaults(handler=run_eval)
    bench = commands.add_parser(
        "bench", add_help=False, help="benchmark ingestion, latency and retrieval on a news "
        "corpus (qa bench --help for its options)",
    )
    bench.set_defaults(handler=None)
    return parser


def settings_from(args: argparse.Namespace, **extra: Any) -> Any:
    from qa.settings import Settings

    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if args.corpus is not None:
        overrides["corpus_dir"] = args.corpus
    if args.store is not None:
        overrides["store_dir"] = args.store
    if args.chroma_url is not None:
        overrides["chroma_url"] = args.chroma_url
    settings = Settings(**overrides)
    if not settings.corpus_dir.is_dir():
        raise CorpusError(f"Corpus folder not found: {settings.corpus_dir}")
    return settings


def warn_once_per_store(settings: Any, again: bool = False) -> None:
    """Corpus warnings (a skipped file) are shown once, not again by every later command on
    the same store: the warnings already shown are listed in the store folder. With `again`
    (`qa ingest`, asked for explicitly) they are all shown, and listed."""
    logging.getLogger("qa.corpus").addFilter(
        ShownWarnings(settings.store_dir / WARNED_FILE, again))


class ShownWarnings(logging.Filter):
    """Lets through only the warnings not yet listed in `path` (all of them with `again`), and
    lists them there."""

    def __init__(self, path: Path, again: bool = False) -> None:
        super().__init__()
        self.path = path
        self.again = again
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        message = " ".join(record.getMessage().split())
        with self.lock:
            try:
                shown = set(self.path.read_text(encoding="utf-8").splitlines())
            except OSError:
                shown = set()
            if message in shown:
                return self.again
            if self.path.parent.is_dir():
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(message + "\n")
        return True


def run_ingest(args: argparse.Namespace) -> int:
    from qa.pipeline import Engine

    settings = settings_from(args)
    warn_once_per_store(settings, again=True)
    engine = Engine(settings)
    report = engine.ingest(progress=sys.stderr.isatty())
    skipped = f"; {len(report.skipped)} skipped (named above)" if report.skipped else ""
    print(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} "
        f"removed, {report.unchanged} unchanged; {report.embedded} passages embedded{skipped}."
    )
    if report.unreadable:
        print(f"{len(report.unreadable)} article(s) kept as they were: their file could not be "
              "read this time (named above).")
    return 0


def run_compact(args: argparse.Namespace) -> int:
    from qa.store import compact

    done = compact(settings_from(args))
    print(
        f"{done.articles} articles, {done.chunks} passages kept; the store went from "
        f"{done.before / 2**20:.1f} MB to {done.after / 2**20:.1f} MB."
    )
    return 0


def run_ask(args: argparse.Namespace) -> int:
    from qa.pipeline import engine_for

    settings = settings_from(args, answerer=args.answerer)
    warn_once_per_store(settings)
    engine = engine_for(settings)
    if args.question is not None:
        print(render(engine.ask(args.question, top_k=args.top_k, **_time(args)), as_json=args.json))
        return 0
    print("Ask about the articles (Ctrl-D to quit).", file=sys.stderr)
    while True:
        try:
            question = input("? ")
        except EOFError:
            return 0
        if not question.strip():
            continue
        try:
            answer = engine.ask(question, top_k=args.top_k, **_time(args))
            print(render(answer, as_json=args.json) + "\n")
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)


def run_eval(args: argparse.Namespace) -> int:
    from qa.evaluation import compare, format_summary, run_eval, write_report
    from qa.settings import PROJECT_ROOT

    if args.compare:
        print(compare(*args.compare))
        return 0
    settings = settings_from(args, answerer=args.answerer)
    report = run_eval(args.questions or PROJECT_ROOT / "evals/questions.yaml", settings,
                      progress=sys.stderr.isatty())
    path = write_report(report, args.reports or PROJECT_ROOT / "evals/reports")
    print(format_summary(report))
    print(f"report: {path} (.md, .png beside it)")
    return 1 if report.failed_thresholds else 0


def run_chat(args: argparse.Namespace) -> int:
    from qa.ui import launch, parse_credentials

    settings = settings_from(args, host=args.host, port=args.port, auth=args.auth)
    auth = parse_credentials(settings.auth.get_secret_value()) if settings.auth else None
    warn_once_per_store(settings)
    launch(settings, settings.host, settings.port, auth, insecure_no_auth=args.insecure_no_auth,
           say=lambda line: print(line, flush=True))
    return 0


def _day(value: str) -> Any:
    from qa.timeframe import as_day

    try:
        return as_day(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _time(args: argparse.Namespace) -> dict[str, Any]:
    return {"as_of": args.as_of, "since": args.since, "until": args.until}


def render(answer: Any, as_json: bool = False) -> str:
    """The answer, then its numbered sources (or JSON for machines)."""
    if as_json:
        data = asdict(answer)
        data["passages"] = [passage_json(p, answer.citations) for p in answer.passages]
        window = answer.window
        data["window"] = window and {
            "since": window.since and window.since.isoformat(),
            "until": window.until and window.until.isoformat(),
            "prefer_recent": window.prefer_recent,
            "as_of": window.as_of and window.as_of.isoformat(),
            "note": window.note,
        }
        return json.dumps(data, ensure_ascii=False, indent=2)
    lines = [answer.text]
    if answer.short:
        lines = [answer.short, answer.text.removeprefix(f"{answer.short} — ")]
    if answer.window is not None and answer.window.note:
        lines.append(f"({answer.window.note})")
    if not answer.refused:
        lines.append(f"(Likely right: {answer.confidence:.0%})")
    if answer.citations:
        lines.append("\nSources:")
    for c in answer.citations:
        byline = ", ".join(part for part in (c.publisher, c.date) if part)
        lines.append(f"[{c.n}] {c.title}" + (f" ({byline})" if byline else "") + f"  {c.source}")
        lines.append(f"    “{c.quote}”")
    return "\n".join(lines)


def passage_json(passage: ScoredChunk, citations: list[Citation]) -> dict[str, Any]:
    """A retrieved passage as a script can use it: where it is from, how similar it is to the
    question (cosine, 0 to 1), which citations it holds, and the text around the first of them
    (or around the middle of its best part), `excerpt == article_text[start:end]`."""
    chunk = passage.chunk
    cited = [c for c in citations
             if c.source == chunk.source and chunk.start <= c.start < chunk.end]
    if cited:
        centre = (cited[0].start, min(cited[0].end, chunk.end))
    else:
        best = max(passage.parts or (passage,), key=lambda part: part.similarity).chunk
        middle = (best.start + best.end) // 2
        centre = (middle, middle)
    begin = max(chunk.start, centre[0] - EXCERPT_CHARS)
    finish = min(chunk.end, centre[1] + EXCERPT_CHARS)
    return {
        "source": chunk.source, "title": chunk.title, "date": chunk.date,
        "score": round(passage.similarity, 3), "cites": [c.n for c in cited],
        "start": begin, "end": finish,
        "excerpt": chunk.text[begin - chunk.start : finish - chunk.start],
    }


def main(argv: Sequence[str] | None = None) -> int:
    enforce_offline()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        from qa.bench import main as bench_main

        return bench_main(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s" if args.verbose else "%(levelname)s: "
        "%(message)s",
    )
    if args.command in {"ingest", "chat", "eval"} and not sys.stderr.isatty():
        for name in PROGRESS_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)
    try:
        return int(args.handler(args))
    except QAError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
