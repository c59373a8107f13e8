"""The `qa` command: ingest, ask, chat, eval."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.offline import enforce_offline

log = logging.getLogger("qa")


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

    ask = commands.add_parser(
        "ask", parents=[common], help="answer a question (interactive when none is given)",
        description="Print the answer with [n] markers, then its numbered sources: title and the "
        "quoted passage. With no question, read questions from the terminal until EOF.",
    )
    ask.add_argument("question", nargs="?", help="the question, in quotes")
    ask.add_argument("--top-k", type=int, help="passages handed to the answerer")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument(
        "--answerer", choices=["extractive", "local", "openai"], help="answer backend"
    )
    ask.set_defaults(handler=run_ask)
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
    return Settings(**overrides)


def run_ingest(args: argparse.Namespace) -> int:
    from qa.pipeline import Engine

    engine = Engine(settings_from(args))
    report = engine.ingest(progress=sys.stderr.isatty())
    for source, why in report.skipped:
        print(f"skipped {source}: {why}", file=sys.stderr)
    print(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.removed)} "
        f"removed, {report.unchanged} unchanged; {report.embedded} passages embedded."
    )
    return 0


def run_ask(args: argparse.Namespace) -> int:
    from qa.pipeline import engine_for

    engine = engine_for(settings_from(args, answerer=args.answerer))
    if args.question is not None:
        print(render(engine.ask(args.question, top_k=args.top_k), as_json=args.json))
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
            print(render(engine.ask(question, top_k=args.top_k), as_json=args.json) + "\n")
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)


def render(answer: Any, as_json: bool = False) -> str:
    """The answer, then its numbered sources (or JSON for machines)."""
    if as_json:
        data = asdict(answer)
        data["passages"] = [
            {"source": p["chunk"]["source"], "start": p["chunk"]["start"],
             "end": p["chunk"]["end"], "score": p["score"]}
            for p in data["passages"]
        ]
        return json.dumps(data, ensure_ascii=False, indent=2)
    lines = [answer.text]
    if answer.citations:
        lines.append("\nSources:")
    for c in answer.citations:
        byline = ", ".join(part for part in (c.publisher, c.date) if part)
        lines.append(f"[{c.n}] {c.title}" + (f" ({byline})" if byline else "") + f"  {c.source}")
        lines.append(f"    “{c.quote}”")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    enforce_offline()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
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
