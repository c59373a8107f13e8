"""The chat window (`qa chat`): a Gradio app over one `Engine`.

The window only shows what the pipeline returns: questions go through
`qa.conversation.standalone_question` and `Engine.ask_stream`, articles through `qa.corpus` and
`Engine.add_articles`. Every piece of article text (and of the user's own input) is HTML-escaped
before it is put into HTML, so a `<script>` in an article is shown, never run.
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import yaml

from qa.conversation import Turn
from qa.corpus import SUPPORTED_SUFFIXES, SkippedFile, parse_text, read_file
from qa.errors import QAError
from qa.pipeline import Engine, engine_for
from qa.settings import Settings
from qa.timeframe import as_day
from qa.types import Answer, Article, Citation

log = logging.getLogger(__name__)

UPLOADS_FOLDER = "uploads"
"""Sub-folder of the corpus where added articles are written, one .md file each, so that the next
ingest (which mirrors the corpus folder) keeps them instead of deleting them."""
CONTEXT_CHARS = 450
"""Characters of article text shown on each side of a quote."""
SHOWN_QUESTION_CHARS = 300
"""A pasted wall of text is echoed in the chat only this far."""
MAX_UPLOAD = "20mb"
"""Largest file the window accepts; a news article is a few kB, a bulk .jsonl a few MB."""
EXAMPLES = [
    "Where in Kenya are U.S. forces hosted?",
    "How much did the US pledge for the Haiti mission?",
    "What did Kenya and the US sign in September 2023?",
    "When did KDF go to Somalia?",
]
Message = dict[str, Any]
"""A chat message as Gradio passes it: role and content (text, or a list of parts)."""
FILE_TYPES = sorted(SUPPORTED_SUFFIXES)

PLACEHOLDER = (
    "### Ask the newsdesk\n"
    "Questions are answered only from the articles in the store, and every answer cites them: "
    "open a source to see the quoted sentence highlighted in its article. When the articles "
    "don't cover a question, you are told so. Add or remove articles on the **Articles** tab."
)
THEME = gr.themes.Default(
    primary_hue="blue",
    font=("system-ui", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"),
    font_mono=("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"),
)
"""System fonts: nothing to fetch, and no gaps like the bundled fonts' missing bold weight."""
CSS = """
.qa-answer { line-height: 1.55; }
.qa-pending { opacity: .6; }
.qa-cite { font-weight: 600; color: var(--color-accent); }
.qa-searched { margin-top: .4em; font-size: .85em; opacity: .7; }
.qa-sources { margin-top: .8em; padding-top: .5em;
  border-top: 1px solid var(--border-color-primary); }
.qa-sources-label { font-size: .8em; text-transform: uppercase; letter-spacing: .05em;
  opacity: .7; }
.qa-source { margin: .35em 0; }
.qa-source summary { cursor: pointer; }
.qa-byline { opacity: .75; font-size: .9em; }
.qa-context { margin: .4em 0 .2em; padding: .5em .8em; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary); font-size: .92em; }
.qa-context mark { background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
.qa-file { font-size: .8em; opacity: .6; }
.qa-refusal { border-left: 3px solid #9ca3af; padding-left: .7em; }
.qa-ok { border-left: 3px solid #22c55e; padding-left: .7em; }
.qa-notice { border-left: 3px solid #f59e0b; padding-left: .7em; }
.qa-hint { font-size: .88em; opacity: .75; margin-top: .3em; }
"""


@dataclass(frozen=True)
class Outcome:
    """What became of something the user typed or dropped: a message, and whether it worked."""

    message: str
    ok: bool = True


# Rendering. Each function returns HTML in which every piece of outside text is escaped; the HTML
# has no blank lines, so nothing in it is ever read as Markdown.


def esc(text: str) -> str:
    """Text as HTML text (quotes escaped too, so it is safe inside attributes)."""
    return html.escape(text, quote=True)


def answer_html(answer: Answer, engine: Engine, asked: str) -> str:
    """An answer with its [n] markers, what was searched (if a follow-up was rewritten), sources."""
    note = answer.window.note if answer.window else ""
    if answer.refused:
        searched = answer.window is not None and answer.text != answer.window.empty_text
        return refusal_html(f"{answer.text} {note}" if searched and note else answer.text)
    parts = [f'<div class="qa-reply"><div class="qa-answer">{marked_answer(answer.text)}</div>']
    if answer.question != " ".join(asked.split()):
        parts.append(f'<div class="qa-searched">Searched as: {esc(answer.question)}</div>')
    if note:
        parts.append(f'<div class="qa-about qa-window">{esc(note)}</div>')
    if answer.citations:
        parts.append('<div class="qa-sources"><div class="qa-sources-label">Sources</div>')
        parts.extend(source_html(c, engine) for c in answer.citations)
        parts.append("</div>")
    return "".join([*parts, "</div>"])


def pending_html(streamed: str) -> str:
    """The answer while it is being searched for, then written."""
    shown = marked_answer(streamed) if streamed else "Searching the articles…"
    return f'<div class="qa-pending qa-answer">{shown}</div>'


def marked_answer(text: str) -> str:
    """The escaped answer text with its [n] markers emphasised."""
    return re.sub(r"\[(\d+)\]", r'<span class="qa-cite">[\1]</span>', esc(text))


def source_html(citation: Citation, engine: Engine) -> str:
    """One source: title, publisher, date; opens onto the quote marked inside its article."""
    byline = " · ".join(esc(part) for part in (citation.publisher, citation.date) if part)
    try:
        context = quote_in_context(engine.article_text(citation.source), citation.start,
                                   citation.end)
    except KeyError:
        context = f"<mark>{esc(citation.quote)}</mark>"
    return (
        '<details class="qa-source"><summary>'
        f'<span class="qa-cite">[{citation.n}]</span> <strong>{esc(citation.title)}</strong>'
        + (f' <span class="qa-byline">{byline}</span>' if byline else "")
        + f'</summary><div class="qa-context">{context}</div>'
        f'<div class="qa-file">{esc(citation.source)}</div></details>'
    )


def quote_in_context(text: str, start: int, end: int, chars: int = CONTEXT_CHARS) -> str:
    """The article text around [start:end], escaped, with that span in a <mark>.

    The window starts and ends at a paragraph break when one is near, else at a space ("…").
    """
    begin, finish = max(0, start - chars), min(len(text), end + chars)
    if begin > 0:
        cut = text.find("\n", begin, start)
        begin = cut + 1 if cut != -1 else text.find(" ", begin, start) + 1
    if finish < len(text):
        cut = text.rfind("\n", end, finish)
        finish = cut if cut != -1 else max(end, text.rfind(" ", end, finish))
    before = ("…" if begin > 0 and text[begin - 1] != "\n" else "") + text[begin:start]
    after = text[end:finish] + ("…" if finish < len(text) and text[finish] != "\n" else "")
    return f"{as_paragraphs(before)}<mark>{esc(text[start:end])}</mark>{as_paragraphs(after)}"


def as_paragraphs(text: str) -> str:
    """Escaped text whose line breaks stay visible, on one HTML line."""
    return "<br>".join(esc(line) for line in re.sub(r"\n\s*\n+", "\n\n", text).split("\n"))


def refusal_html(text: str) -> str:
    """A refusal, worded and styled as an answer (the articles are silent), not as an error."""
    return (
        f'<div class="qa-reply qa-refusal">{esc(text)}<div class="qa-hint">Try other words, or '
        "add an article that covers it on the <strong>Articles</strong> tab.</div></div>"
    )


def outcome_html(outcome: Outcome) -> str:
    """What became of the user's input (done, or what to change), as a chat reply."""
    if outcome.ok:
        return f'<div class="qa-reply">{as_paragraphs(outcome.message)}</div>'
    return f'<div class="qa-reply qa-notice">⚠ {as_paragraphs(outcome.message)}</div>'


def user_html(text: str) -> str:
    shown = text if len(text) <= SHOWN_QUESTION_CHARS else text[:SHOWN_QUESTION_CHARS] + " …"
    return as_paragraphs(shown)


# Articles: what the window adds is written under the corpus folder, then stored at once.


def add_upload(engine: Engine, path: Path) -> Outcome:
    """Add the articles of an uploaded file (.txt, .md, .html, .jsonl)."""
    skipped: list[tuple[str, str]] = []
    try:
        outcome = add_articles(engine, read_file(path, path.name, skipped))
    except SkippedFile as why:
        return Outcome(f"Could not add {path.name}: {why}.", ok=False)
    except (OSError, QAError) as err:
        log.warning("Upload of %s failed: %s", path.name, err)
        return Outcome(f"Could not add {path.name}: {err}", ok=False)
    lines = [outcome.message, *(f"Skipped {where}: {why}." for where, why in skipped)]
    return Outcome("\n".join(lines), outcome.ok)


def add_pasted(engine: Engine, title: str, text: str, publisher: str = "",
               date: str = "") -> Outcome:
    """Add a pasted article (with no title, its first line is the title)."""
    if not text.strip():
        return Outcome("Paste the article's text first.", ok=False)
    article = Article(source="pasted", title=title, text=text.strip(), publisher=publisher,
                      date=date)
    try:
        return add_articles(engine, [article])
    except (OSError, QAError) as err:
        log.warning("Adding a pasted article failed: %s", err)
        return Outcome(f"Could not add the article: {err}", ok=False)


def add_articles(engine: Engine, articles: list[Article]) -> Outcome:
    """Write each article as a .md file under the corpus uploads folder, then store them."""
    saved = [save_article(engine.settings.corpus_dir, a) for a in articles]
    report = engine.add_articles(saved)
    titles = ", ".join(f"“{a.title}”" for a in saved)
    if not report.added and not report.updated:
        return Outcome(f"Already in the store: {titles}.")
    passages = sum(engine.records[a.source].n_chunks for a in saved if a.source in engine.records)
    unit = "passage" if passages == 1 else "passages"
    return Outcome(f"Added {titles} ({passages} {unit}). You can ask about it now.")


def save_article(corpus_dir: Path, article: Article) -> Article:
    """Write an article as front matter + text; return it as the next ingest will read it.

    The name holds a hash of the content, so adding the same article twice changes nothing.
    """
    fields = {"title": article.title, "publisher": article.publisher, "date": article.date,
              "url": article.url}
    meta = {key: " ".join(value.split()) for key, value in fields.items() if value.strip()}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) if meta else ""
    content = f"---\n{front}---\n{article.text}"
    digest = hashlib.sha256(content.encode()).hexdigest()[:10]
    slug = re.sub(r"[^a-z0-9]+", "-", (meta.get("title") or "article").lower()).strip("-")[:60]
    folder = corpus_dir / UPLOADS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{slug or 'article'}-{digest}.md"
    path.write_text(content, encoding="utf-8")
    return parse_text(content, path.relative_to(corpus_dir).as_posix(), path.stem)


def remove_article(engine: Engine, source: str | None) -> Outcome:
    """Remove an article from the store, and its file when the window added it."""
    if not source or source not in engine.records:
        return Outcome("Choose an article to remove.", ok=False)
    title = engine.records[source].title
    engine.remove_articles([source])
    if source.startswith(f"{UPLOADS_FOLDER}/"):
        (engine.settings.corpus_dir / source).unlink(missing_ok=True)
        return Outcome(f"Removed “{title}”.")
    return Outcome(
        f"Removed “{title}” from the store. Its file {source} is still in the corpus folder, so "
        "the next ingest brings it back: delete the file to remove it for good."
    )


def article_rows(engine: Engine) -> list[list[Any]]:
    return [
        [r.title, r.publisher, r.date, r.n_chunks, r.source]
        for r in sorted(engine.records.values(), key=lambda r: (r.date or "9999", r.title))
    ]


def article_choices(engine: Engine) -> list[tuple[str, str]]:
    return [(f"{r.title} ({r.source})", r.source)
            for r in sorted(engine.records.values(), key=lambda r: r.title)]


# The app.


def respond(
    engine: Engine,
    message: dict[str, Any] | None,
    history: list[Message],
    turns: list[Turn],
    since: str = "",
    until: str = "",
    as_of: str = "",
) -> Iterator[tuple[list[Message], list[Turn]]]:
    """One chat step: add dropped files, then answer the text, streamed, then with its sources.

    `since`, `until` and `as_of` are the time boxes' text (YYYY-MM-DD, or empty)."""
    text = str((message or {}).get("text") or "")
    files = [Path(str(f)) for f in (message or {}).get("files") or []]
    history = list(history or [])
    for path in files:
        history.append({"role": "user", "content": f"File: {esc(path.name)}"})
        history.append({"role": "assistant", "content": outcome_html(add_upload(engine, path))})
    if files and not text.strip():
        yield history, turns
        return
    if text.strip():
        history.append({"role": "user", "content": user_html(text)})
    question = engine.standalone_question(text, turns)
    history.append({"role": "assistant", "content": pending_html("")})
    yield history, turns
    streamed = ""
    try:
        bounds = as_day(since, "Since"), as_day(until, "Until"), as_day(as_of, "As of")
    except ValueError as err:
        history[-1] = {"role": "assistant", "content": outcome_html(Outcome(str(err), ok=False))}
        yield history, turns
        return
    try:
        for piece in engine.ask_stream(
            question, since=bounds[0], until=bounds[1], as_of=bounds[2]
        ):
            if isinstance(piece, Answer):
                history[-1] = {"role": "assistant", "content": answer_html(piece, engine, text)}
                turns = [*turns, Turn(piece.question, piece.text)]
            else:
                streamed += piece
                history[-1] = {"role": "assistant", "content": pending_html(streamed)}
            yield history, turns
    except QAError as err:
        history[-1] = {"role": "assistant", "content": outcome_html(Outcome(str(err), ok=False))}
        yield history, turns
    except Exception:
        log.exception("Answering %r failed", question[:200])
        history[-1] = {"role": "assistant", "content": outcome_html(Outcome(
            "Something went wrong while answering; the server log has the details. You can ask "
            "again.", ok=False))}
        yield history, turns


def build_app(engine: Engine) -> gr.Blocks:
    """The chat and articles tabs over one engine; the conversation is kept per browser tab."""
    cleared: dict[str, Any] = {"text": "", "files": []}

    def chat(message: dict[str, Any] | None, history: list[Message], turns: list[Turn],
             since: str = "", until: str = "", as_of: str = ""
             ) -> Iterator[tuple[dict[str, Any], list[Message], list[Turn]]]:
        for new_history, new_turns in respond(
            engine, message, history, turns, since, until, as_of
        ):
            yield cleared, new_history, new_turns

    def pick_example(event: gr.SelectData) -> dict[str, Any]:
        return {"text": event.value["text"], "files": []}

    def new_conversation() -> tuple[list[Message], list[Turn]]:
        return [], []

    def refreshed(outcomes: list[Outcome]) -> tuple[list[list[Any]], Any, str]:
        status = "".join(
            f'<div class="{"qa-ok" if o.ok else "qa-notice"}">{as_paragraphs(o.message)}</div>'
            for o in outcomes
        )
        choices = gr.update(choices=article_choices(engine), value=None)
        return article_rows(engine), choices, status

    def on_upload(paths: list[str] | None) -> tuple[list[list[Any]], Any, str, None]:
        outcomes = [add_upload(engine, Path(p)) for p in paths or []]
        return (*refreshed(outcomes or [Outcome("Choose a file to add first.", ok=False)]), None)

    def on_paste(title: str, publisher: str, date: str, text: str
                 ) -> tuple[list[list[Any]], Any, str, str, str, str, str]:
        outcome = add_pasted(engine, title, text, publisher, date)
        kept = ("", "", "", "") if outcome.ok else (title, publisher, date, text)
        return (*refreshed([outcome]), *kept)

    def on_remove(source: str | None) -> tuple[list[list[Any]], Any, str]:
        return refreshed([remove_article(engine, source)])

    def on_show() -> tuple[list[list[Any]], Any]:
        return article_rows(engine), gr.update(choices=article_choices(engine))

    with gr.Blocks(title="newsdesk QA", analytics_enabled=False) as app:
        gr.Markdown("## newsdesk QA\nCited answers from your news articles, offline.")
        with gr.Tab("Chat", id="chat"):
            turns = gr.State([])
            chatbot = gr.Chatbot(
                elem_id="qa-chat", label="Conversation", show_label=False, height=560,
                render_markdown=False, sanitize_html=True, placeholder=PLACEHOLDER,
                examples=[{"text": q} for q in EXAMPLES], feedback_options=None,
                buttons=["copy"], layout="panel",
            )
            box = gr.MultimodalTextbox(
                elem_id="qa-input", label="Message", show_label=False, autofocus=True,
                file_count="multiple", file_types=FILE_TYPES, max_plain_text_length=10**7,
                placeholder="Ask a question about the articles, or drop an article file to add it",
            )
            with gr.Accordion("Time", open=False, elem_id="qa-time"), gr.Row():
                since_box = gr.Textbox(label="Since", placeholder="YYYY-MM-DD",
                                       elem_id="qa-since")
                until_box = gr.Textbox(label="Until", placeholder="YYYY-MM-DD",
                                       elem_id="qa-until")
                as_of_box = gr.Textbox(label="As of", placeholder="YYYY-MM-DD (default: today)",
                                       elem_id="qa-as-of")
        with gr.Tab("Articles", id="articles") as articles_tab:
            table = gr.Dataframe(
                value=article_rows(engine), elem_id="qa-articles", interactive=False, wrap=True,
                headers=["Title", "Publisher", "Date", "Passages", "File"], datatype="str",
                type="array", label="Articles in the store",
                column_widths=["44%", "15%", "11%", "9%", "21%"],
            )
            status = gr.HTML(elem_id="qa-articles-status", label="Status")
            with gr.Row(equal_height=False):
                with gr.Column():
                    gr.Markdown("#### Paste an article")
                    title = gr.Textbox(label="Title", elem_id="qa-paste-title")
                    with gr.Row():
                        publisher = gr.Textbox(label="Publisher (optional)")
                        date = gr.Textbox(label="Date (optional)", placeholder="YYYY-MM-DD")
                    text = gr.Textbox(label="Text", lines=8, max_lines=20,
                                      elem_id="qa-paste-text")
                    paste = gr.Button("Add article", variant="primary", elem_id="qa-paste-add")
                with gr.Column():
                    gr.Markdown("#### Upload files\n.txt, .md, .html or .jsonl (one article a "
                                "line), UTF-8")
                    upload = gr.File(file_count="multiple", file_types=FILE_TYPES,
                                     type="filepath", label="Article files", elem_id="qa-upload")
                    add_files = gr.Button("Add files", elem_id="qa-upload-add")
                    gr.Markdown("#### Remove an article")
                    chosen = gr.Dropdown(choices=article_choices(engine), value=None,
                                         label="Article", allow_custom_value=True,
                                         elem_id="qa-remove-choice")
                    remove = gr.Button("Remove", variant="stop", elem_id="qa-remove")

        asked = [box, chatbot, turns, since_box, until_box, as_of_box]
        box.submit(chat, asked, [box, chatbot, turns], api_name="respond")
        chatbot.example_select(pick_example, None, box, api_visibility="private").then(
            chat, asked, [box, chatbot, turns], api_visibility="private")
        chatbot.clear(new_conversation, None, [chatbot, turns], api_visibility="private")
        articles_tab.select(on_show, None, [table, chosen], api_visibility="private")
        paste.click(on_paste, [title, publisher, date, text],
                    [table, chosen, status, title, publisher, date, text], api_name="add_pasted")
        add_files.click(on_upload, upload, [table, chosen, status, upload], api_name="add_files")
        remove.click(on_remove, chosen, [table, chosen, status], api_name="remove")
    return app


def parse_credentials(value: str) -> tuple[str, str]:
    """`user:password` as a pair; a `QAError` when either part is missing."""
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise QAError("Credentials must look like user:password (both parts non-empty).")
    return user, password


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, auth: tuple[str, str] | None, insecure_no_auth: bool) -> None:
    """Refuse to listen beyond localhost without credentials, unless explicitly told to."""
    if is_loopback(host) or auth is not None:
        return
    if not insecure_no_auth:
        raise QAError(
            f"Listening on {host} lets other machines use the chat: give credentials with "
            "--auth user:password (or QA_AUTH), or pass --insecure-no-auth to accept that."
        )
    log.warning("The chat on %s has no password: anyone who can reach it can use it and add "
                "or remove articles.", host)


def launch(settings: Settings, host: str, port: int, auth: tuple[str, str] | None,
           insecure_no_auth: bool = False) -> None:
    """Bring the store up to date, then serve the window until interrupted (no network lookups)."""
    check_exposure(host, auth, insecure_no_auth)
    engine = engine_for(settings)
    report = engine.ingest(progress=sys.stderr.isatty())
    for source, why in report.skipped:
        log.warning("Skipped %s: %s", source, why)
    app = build_app(engine)
    app.queue(default_concurrency_limit=settings.chat_concurrency)
    app.launch(
        server_name=host, server_port=port, auth=auth, auth_message="Sign in to newsdesk QA",
        share=False, inbrowser=False, ssr_mode=False, mcp_server=False, pwa=False,
        enable_monitoring=False, footer_links=[], max_file_size=MAX_UPLOAD,
        theme=THEME, css=CSS,
    )
