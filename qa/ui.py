"""The chat window (`qa chat`): a Gradio app over one `Engine`.

The window only shows what the pipeline returns: questions go through
`qa.conversation.resolve_follow_up` and `Engine.ask_stream`, articles through `qa.corpus` and
`Engine.add_articles`. Every piece of article text (and of the user's own input) is HTML-escaped
before it is put into HTML, so a `<script>` in an article is shown, never run. The window's own
script (`HEAD`) only moves the view: it opens a source when its [n] is clicked, scrolls a
highlighted quote into view and keeps the newest answer in view.
"""

from __future__ import annotations

import errno
import hashlib
import html
import ipaddress
import logging
import math
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import yaml
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.conversation import Turn, resolve_follow_up
from qa.corpus import SUPPORTED_SUFFIXES, SkippedFile, parse_text, read_file
from qa.errors import QAError
from qa.pipeline import Engine, engine_for
from qa.settings import Settings
from qa.store import ArticleRecord
from qa.timeframe import as_day
from qa.types import Answer, Article, Citation

log = logging.getLogger(__name__)

UPLOADS_FOLDER = "uploads"
"""Sub-folder of the corpus where added articles are written, one .md file each, so that the next
ingest (which mirrors the corpus folder) keeps them instead of deleting them."""
CONTEXT_CHARS = 450
"""Characters of article text shown on each side of a quote."""
WHOLE_ARTICLE_CHARS = 60_000
"""Longest article text put into a reply whole; a longer one is shown this far around its quote."""
SHOWN_QUESTION_CHARS = 300
"""A pasted wall of text is echoed in the chat only this far."""
SHOWN_SKIPPED_LINES = 20
"""Bad lines of a dropped file named one by one; the rest are counted."""
SHOWN_ARTICLES = 300
"""Articles listed on the Articles tab; every article can still be chosen by name."""
REMOVED_FILE = "removed-in-window.txt"
"""File in the store folder listing corpus articles removed in the window whose files stayed in
the corpus folder, so that the next `qa chat` can say it brought them back."""
MAX_UPLOAD = "20mb"
"""Largest file the window accepts; a news article is a few kB, a bulk .jsonl a few MB."""
LOGIN_WINDOW_S = 60.0
"""The span over which failed sign-ins are counted."""
MAX_LOGIN_DELAY_S = 3600.0
"""The longest a client is made to wait before its next sign-in attempt."""
PUBLIC_PREFIXES = ("/assets/", "/static/", "/favicon")
"""Paths the sign-in page needs before there are credentials (its script, styles, font files)."""
PUBLIC_PATHS = frozenset({"/", "/login", "/theme.css", "/gradio_api/startup-events"})
"""Exact paths answered without credentials: the sign-in page itself (Gradio serves it at / until
the session is signed in), the form's target, and the call Gradio makes to itself at start (it
runs the startup events once, and answers nothing else)."""
EXAMPLES = [
    "Where in Kenya are U.S. forces hosted?",
    "How much did the US pledge for the Haiti mission?",
    "What did Kenya and the US sign in September 2023?",
    "When did KDF go to Somalia?",
]
ChatMessage = dict[str, Any]
"""A chat message as Gradio passes it: role and content (text, or a list of parts)."""
FILE_TYPES = sorted(SUPPORTED_SUFFIXES)

PLACEHOLDER = (
    "### Ask the newsdesk\n"
    "Questions are answered only from the articles in the store, and every answer cites them: "
    "click a [1] to see the quoted sentence highlighted in its article. When the articles "
    "don't cover a question, you are told so. Add or remove articles on the **Articles** tab."
)
THEME = gr.themes.Default(
    primary_hue="blue",
    font=("system-ui", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"),
    font_mono=("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"),
)
"""System fonts: nothing to fetch, and no gaps like the bundled fonts' missing bold weight."""
CHAT_HEIGHT = "max(360px, calc(100dvh - 310px))"
"""The chat area fills the window's height, less the header, tabs, message box and time boxes."""
CSS = """
.qa-answer { line-height: 1.55; }
.qa-short { font-size: 1.08em; margin-bottom: .35em; }
.qa-pending { opacity: .6; }
.qa-cite { font-weight: 600; color: var(--color-accent); cursor: pointer; text-decoration: none;
  border-radius: 3px; padding: 0 .05em; }
.qa-answer .qa-cite:hover, .qa-answer .qa-cite:focus { text-decoration: underline;
  background: var(--background-fill-secondary); outline: none; }
.qa-about { margin-top: .4em; font-size: .85em; opacity: .75; }
.qa-confidence { margin-top: .3em; font-size: .8em; opacity: .65; }
.qa-sources { margin-top: .8em; padding-top: .5em;
  border-top: 1px solid var(--border-color-primary); }
.qa-sources-label { font-size: .8em; text-transform: uppercase; letter-spacing: .05em;
  opacity: .7; }
.qa-source { margin: .35em 0; scroll-margin: 1em; }
.qa-source summary, .qa-whole summary { cursor: pointer; }
.qa-byline { opacity: .75; font-size: .9em; }
.qa-context, .qa-article { margin: .4em 0 .2em; padding: .5em .8em;
  border-left: 3px solid var(--color-accent); background: var(--background-fill-secondary);
  font-size: .92em; overflow-wrap: anywhere; }
.qa-article { max-height: 60vh; overflow-y: auto; }
.qa-context mark, .qa-article mark { background: #fde68a; color: #1f2937; padding: 0 .1em;
  border-radius: 2px; scroll-margin: 4em; }
.qa-links { font-size: .88em; margin: .2em 0; display: flex; flex-wrap: wrap; gap: .2em 1em; }
.qa-file { font-size: .8em; opacity: .6; overflow-wrap: anywhere; }
.qa-refusal { border-left: 3px solid #9ca3af; padding-left: .7em; }
.qa-ok { border-left: 3px solid #22c55e; padding-left: .7em; }
.qa-notice { border-left: 3px solid #f59e0b; padding-left: .7em; }
.qa-busy { border-left: 3px solid var(--color-accent); padding-left: .7em; }
.qa-hint { font-size: .88em; opacity: .75; margin-top: .3em; }
.qa-count { font-size: .9em; opacity: .75; margin-bottom: .4em; }
.qa-cards { list-style: none; margin: 0; padding: 0; max-height: 50vh; overflow-y: auto;
  border: 1px solid var(--border-color-primary); border-radius: 6px; }
.qa-card { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 1.4fr) 6.5em 5.5em;
  gap: .2em 1em; padding: .55em .8em; border-bottom: 1px solid var(--border-color-primary);
  font-size: .92em; }
.qa-card:last-child { border-bottom: 0; }
.qa-card-title { font-weight: 600; overflow-wrap: anywhere; }
.qa-card-date { white-space: nowrap; }
.qa-card-passages { white-space: nowrap; opacity: .75; }
.qa-card .qa-file { grid-column: 1 / -1; }
.qa-viewer h3 { margin: .2em 0; }
@media (max-width: 640px) {
  .qa-card { grid-template-columns: minmax(0, 1fr) auto; }
  .qa-card-title { grid-column: 1 / -1; }
  .qa-card-publisher { grid-column: 1 / -1; }
  .qa-source summary .qa-byline { display: block; margin-left: 1.1em; }
}
"""
HEAD = """<script>
(() => {
  const chat = () => document.querySelector("#qa-chat");
  function reveal(source) {
    const mark = source.querySelector(".qa-context mark") || source;
    requestAnimationFrame(() => mark.scrollIntoView({block: "center"}));
  }
  function openCitation(cite) {
    const n = [...cite.classList].find((c) => c.startsWith("qa-n-"));
    const reply = cite.closest(".qa-reply");
    const source = n && reply && reply.querySelector(`.qa-source.${n}`);
    if (!source) return;
    if (source.open) reveal(source); else source.open = true;
  }
  document.addEventListener("click", (event) => {
    const cite = event.target.closest && event.target.closest(".qa-answer .qa-cite");
    if (!cite) return;
    event.preventDefault();
    openCitation(cite);
  });
  document.addEventListener("keydown", (event) => {
    const cite = event.target.closest && event.target.closest(".qa-answer .qa-cite");
    if (!cite || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    openCitation(cite);
  });
  document.addEventListener("toggle", (event) => {
    const el = event.target;
    if (!el.open || !el.matches) return;
    if (el.matches(".qa-source")) reveal(el);
    if (el.matches(".qa-whole")) {
      const mark = el.querySelector("mark");
      if (mark) requestAnimationFrame(() => mark.scrollIntoView({block: "center"}));
    }
  }, true);
  let shown = "";
  new MutationObserver(() => {
    const box = chat();
    if (!box) return;
    const replies = box.querySelectorAll(".qa-reply, .qa-pending");
    const last = replies[replies.length - 1];
    const state = `${replies.length}:${last ? last.className : ""}`;
    if (!last || state === shown) return;
    shown = state;
    const row = last.closest(".message-row") || last;
    const asked = row.previousElementSibling;
    const top = asked && asked.querySelector(".qa-reply, .qa-pending") === null ? asked : row;
    requestAnimationFrame(() => top.scrollIntoView({block: "start"}));
  }).observe(document.body, {childList: true, subtree: true});
})();
</script>"""
"""The window's script: [n] opens its source, an opened source shows its quote, and each new
answer is scrolled to (its question at the top, so its first line is never cut off)."""


@dataclass(frozen=True)
class Outcome:
    """What became of something the user typed or dropped: a message, and whether it worked."""

    message: str
    ok: bool = True


@dataclass(frozen=True)
class Removal:
    """An article removed in this session, kept so that the removal can be undone."""

    source: str
    title: str
    file: str
    """The corpus file the article was read from (relative to the corpus folder)."""
    content: bytes | None
    """The file's bytes when the window deleted it (an article it had added), else None."""


# Rendering. Each function returns HTML in which every piece of outside text is escaped; the HTML
# has no blank lines, so nothing in it is ever read as Markdown.


def esc(text: str) -> str:
    """Text as HTML text (quotes escaped too, so it is safe inside attributes)."""
    return html.escape(text, quote=True)


def answer_html(answer: Answer, engine: Engine, about: str | None = None) -> str:
    """An answer: its short form in bold, the text with [n] links, what a follow-up was about,
    then its sources."""
    note = answer.window.note if answer.window else ""
    if answer.refused:
        searched = answer.window is not None and answer.text != answer.window.empty_text
        return refusal_html(f"{answer.text} {note}" if searched and note else answer.text)
    parts = ['<div class="qa-reply">']
    text = answer.text
    if answer.short:
        parts.append(f'<div class="qa-short"><strong>{esc(answer.short)}</strong></div>')
        text = text.removeprefix(f"{answer.short} — ")
    parts.append(f'<div class="qa-answer">{marked_answer(text)}</div>')
    parts.append(f'<div class="qa-confidence" title="The calibrated probability that this answer '
                 f'is right; below {engine.settings.min_confidence:.0%} the answer is a refusal">'
                 f'Likely right: {answer.confidence:.0%}</div>')
    if about:
        parts.append(f'<div class="qa-about">About: {esc(about)}</div>')
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
    """The escaped answer text, each [n] a link that opens source n."""
    return re.sub(
        r"\[(\d+)\]",
        r'<a class="qa-cite qa-n-\1" href="#" role="button" title="Open source \1">[\1]</a>',
        esc(text),
    )


def byline(publisher: str, date: str) -> str:
    return " · ".join(esc(part) for part in (publisher, date) if part)


def link_html(url: str) -> str:
    """A link to the article's own page, when it has a web address."""
    if not url.startswith(("http://", "https://")):
        return ""
    return (f'<a class="qa-url" href="{esc(url)}" target="_blank" rel="noopener noreferrer">'
            "Original article ↗</a>")


def source_html(citation: Citation, engine: Engine) -> str:
    """One source: [n], title, publisher, date; opens onto the quote marked inside its article,
    a link to the article's page, and the whole article to read with the quote marked."""
    line = byline(citation.publisher, citation.date)
    try:
        text = engine.article_text(citation.source)
    except KeyError:
        text = ""
    if text[citation.start : citation.end] == citation.quote:
        context = quote_in_context(text, citation.start, citation.end)
        whole = (
            '<details class="qa-whole"><summary>Read the whole article</summary>'
            f'<div class="qa-article">{whole_article(text, citation.start, citation.end)}</div>'
            "</details>"
        )
    else:
        context, whole = f"<mark>{esc(citation.quote)}</mark>", ""
    return (
        f'<details class="qa-source qa-n-{citation.n}"><summary>'
        f'<span class="qa-cite">[{citation.n}]</span> <strong>{esc(citation.title)}</strong>'
        + (f' <span class="qa-byline">{line}</span>' if line else "")
        + f'</summary><div class="qa-context">{context}</div>'
        f'<div class="qa-links">{link_html(citation.url)}</div>{whole}'
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
    before = ("…" if begin > 0 and text[begin - 1] != "\n" else "") + text[begin:start].lstrip()
    after = text[end:finish].rstrip() + ("…" if finish < len(text) and text[finish] != "\n" else "")
    return f"{as_paragraphs(before)}<mark>{esc(text[start:end])}</mark>{as_paragraphs(after)}"


def whole_article(text: str, start: int, end: int) -> str:
    """The article text, escaped, with [start:end] marked; a very long one only around it."""
    if len(text) <= WHOLE_ARTICLE_CHARS:
        return (f"{as_paragraphs(text[:start].lstrip())}<mark>{esc(text[start:end])}</mark>"
                f"{as_paragraphs(text[end:].rstrip())}")
    return quote_in_context(text, start, end, chars=WHOLE_ARTICLE_CHARS // 2)


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


def status_html(outcomes: list[Outcome]) -> str:
    return "".join(
        f'<div class="{"qa-ok" if o.ok else "qa-notice"}">{as_paragraphs(o.message)}</div>'
        for o in outcomes
    )


def busy_html(message: str) -> str:
    return f'<div class="qa-busy">{esc(message)}</div>'


def user_html(text: str) -> str:
    shown = text if len(text) <= SHOWN_QUESTION_CHARS else text[:SHOWN_QUESTION_CHARS] + " …"
    return as_paragraphs(shown)


def sorted_records(engine: Engine) -> list[ArticleRecord]:
    return sorted(engine.records.values(), key=lambda r: (r.date or "9999", r.title))


def articles_html(engine: Engine) -> str:
    """The articles in the store as cards: a grid row each on a wide screen, stacked on a phone."""
    records = sorted_records(engine)
    count = f"{len(records)} article{'' if len(records) == 1 else 's'} in the store"
    if len(records) > SHOWN_ARTICLES:
        count += f" (the first {SHOWN_ARTICLES} by date listed; choose any by name below)"
    cards = "".join(
        '<li class="qa-card">'
        f'<span class="qa-card-title">{esc(r.title)}</span>'
        f'<span class="qa-card-publisher qa-byline">{esc(r.publisher)}</span>'
        f'<span class="qa-card-date qa-byline">{esc(r.date)}</span>'
        f'<span class="qa-card-passages">{r.n_chunks} passage{"" if r.n_chunks == 1 else "s"}'
        f'</span><span class="qa-file">{esc(r.source)}</span></li>'
        for r in records[:SHOWN_ARTICLES]
    )
    return f'<div class="qa-count">{count}</div><ul class="qa-cards">{cards}</ul>'


def article_view_html(engine: Engine, source: str | None) -> str:
    """One article to read: title, publisher, date, its page's link and its whole text."""
    record = engine.records.get(source or "")
    if record is None:
        return ""
    try:
        text = engine.article_text(record.source)
    except KeyError:
        return status_html([Outcome(f"“{record.title}” is no longer in the store.", ok=False)])
    line = byline(record.publisher, record.date)
    text = text.strip()
    shown = text if len(text) <= WHOLE_ARTICLE_CHARS else text[:WHOLE_ARTICLE_CHARS] + " …"
    return (
        f'<div class="qa-viewer"><h3>{esc(record.title)}</h3>'
        + (f'<div class="qa-byline">{line}</div>' if line else "")
        + f'<div class="qa-links">{link_html(record.url)}</div>'
        f'<div class="qa-article">{as_paragraphs(shown)}</div>'
        f'<div class="qa-file">{esc(record.source)}</div></div>'
    )


def article_choices(engine: Engine) -> list[tuple[str, str]]:
    return [(f"{r.title} ({r.source})", r.source)
            for r in sorted(engine.records.values(), key=lambda r: r.title)]


# Articles: what the window adds is written under the corpus folder, then stored at once.


def add_upload(engine: Engine, path: Path) -> Outcome:
    """Add the articles of an uploaded file (.txt, .md, .html, .jsonl); name each bad line.

    Gradio's copy of the upload is deleted afterwards: what was added lives in the corpus
    folder, and a removed article must not stay behind in Gradio's temporary folder.
    """
    try:
        return _add_upload(engine, path)
    finally:
        discard_upload(path)


def discard_upload(path: Path) -> None:
    """Delete an uploaded file from Gradio's upload folder (and its folder, once empty)."""
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()).resolve()
    try:
        resolved = path.resolve()
        if folder in resolved.parents:
            resolved.unlink(missing_ok=True)
            if resolved.parent != folder and not any(resolved.parent.iterdir()):
                resolved.parent.rmdir()
    except OSError as err:
        log.warning("Could not delete the uploaded copy %s: %s", path, err)


def _add_upload(engine: Engine, path: Path) -> Outcome:
    skipped: list[tuple[str, str]] = []
    try:
        outcome = add_articles(engine, read_file(path, path.name, skipped, engine.settings))
    except SkippedFile as why:
        return Outcome("\n".join([f"Could not add {path.name}: {why}.",
                                  *skipped_lines(skipped)]), ok=False)
    except (OSError, QAError) as err:
        log.warning("Upload of %s failed: %s", path.name, err)
        return Outcome(f"Could not add {path.name}: {err}", ok=False)
    return Outcome("\n".join([outcome.message, *skipped_lines(skipped)]), outcome.ok)


def skipped_lines(skipped: list[tuple[str, str]]) -> list[str]:
    """"Skipped file#line: why." for each bad line, the first few by name, the rest counted."""
    lines = [f"Skipped {where}: {why}." for where, why in skipped[:SHOWN_SKIPPED_LINES]]
    if len(skipped) > SHOWN_SKIPPED_LINES:
        lines.append(f"… and {len(skipped) - SHOWN_SKIPPED_LINES} more lines skipped.")
    return lines


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
    """Write each article as a .md file under the corpus uploads folder, then store them.

    When storing fails (the Chroma server is down, the disk is full), the files this call wrote
    are deleted again: an article is added whole or not at all.
    """
    uploads = engine.settings.corpus_dir / UPLOADS_FOLDER
    before = set(uploads.glob("*.md")) if uploads.is_dir() else set()
    saved = [save_article(engine.settings.corpus_dir, a) for a in articles]
    try:
        report = engine.add_articles(saved)
    except Exception:
        for article in saved:
            path = engine.settings.corpus_dir / article.source
            if path not in before:
                path.unlink(missing_ok=True)
        raise
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


def remove_article(engine: Engine, source: str | None) -> tuple[Outcome, Removal | None]:
    """Remove an article from the store, and its file when the window added it; the `Removal`
    holds what undoing it needs."""
    if not source or source not in engine.records:
        return Outcome("Choose an article to remove.", ok=False), None
    title = engine.records[source].title
    file = source.split("#", 1)[0]
    path = engine.settings.corpus_dir / file
    window_added = source.startswith(f"{UPLOADS_FOLDER}/")
    content = path.read_bytes() if window_added and path.is_file() else None
    engine.remove_articles([source])
    removal = Removal(source, title, file, content)
    if not window_added:
        note_removed(engine.settings.store_dir, source)
    if window_added:
        path.unlink(missing_ok=True)
        return Outcome(f"Removed “{title}”."), removal
    return Outcome(
        f"Removed “{title}” from the store. Its file {file} is still in the corpus folder, so "
        "the next ingest brings it back: delete the file to remove it for good."
    ), removal


def undo_removal(engine: Engine, removal: Removal) -> Outcome:
    """Put a removed article back: its file (when the window deleted it), then the store."""
    path = engine.settings.corpus_dir / removal.file
    try:
        if removal.content is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(removal.content)
        articles = [a for a in read_file(path, removal.file, [], engine.settings)
                    if a.source == removal.source]
        if not articles:
            return Outcome(f"“{removal.title}” is no longer in {removal.file}.", ok=False)
        engine.add_articles(articles)
        forget_removed(engine.settings.store_dir, [removal.source])
    except (OSError, QAError, SkippedFile) as err:
        log.warning("Undoing the removal of %s failed: %s", removal.source, err)
        return Outcome(f"Could not put back “{removal.title}”: {err}", ok=False)
    return Outcome(f"Put back “{removal.title}”.")


def note_removed(store_dir: Path, source: str) -> None:
    """List a corpus article removed in the window (its file stays in the corpus folder)."""
    if store_dir.is_dir():
        with (store_dir / REMOVED_FILE).open("a", encoding="utf-8") as out:
            out.write(source + "\n")


def forget_removed(store_dir: Path, sources: list[str]) -> None:
    path = store_dir / REMOVED_FILE
    if not path.is_file():
        return
    kept = [s for s in path.read_text(encoding="utf-8").splitlines() if s not in sources]
    if kept:
        path.write_text("".join(f"{s}\n" for s in kept), encoding="utf-8")
    else:
        path.unlink()


def brought_back(store_dir: Path, added: list[str]) -> list[str]:
    """The articles removed in the window that an ingest has just added back from their files
    (they are no longer listed afterwards)."""
    path = store_dir / REMOVED_FILE
    listed = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    back = sorted(set(listed) & set(added))
    forget_removed(store_dir, back)
    return back


# The app.


def respond(
    engine: Engine,
    message: dict[str, Any] | None,
    history: list[ChatMessage],
    turns: list[Turn],
    since: str = "",
    until: str = "",
    as_of: str = "",
) -> Iterator[tuple[list[ChatMessage], list[Turn]]]:
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
    follow_up = resolve_follow_up(text, turns)
    about = follow_up.about if follow_up.question == question else None
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
                history[-1] = {"role": "assistant", "content": answer_html(piece, engine, about)}
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

    def chat(message: dict[str, Any] | None, history: list[ChatMessage], turns: list[Turn],
             since: str = "", until: str = "", as_of: str = ""
             ) -> Iterator[tuple[dict[str, Any], list[ChatMessage], list[Turn]]]:
        for new_history, new_turns in respond(
            engine, message, history, turns, since, until, as_of
        ):
            yield cleared, new_history, new_turns

    def pick_example(event: gr.SelectData) -> dict[str, Any]:
        return {"text": event.value["text"], "files": []}

    def new_conversation() -> tuple[list[ChatMessage], list[Turn]]:
        return [], []

    def refreshed(outcomes: list[Outcome]) -> tuple[str, Any, str]:
        choices = gr.update(choices=article_choices(engine), value=None)
        return articles_html(engine), choices, status_html(outcomes)

    def adding_files(paths: list[str] | None) -> str:
        names = ", ".join(Path(p).name for p in paths or [])
        return busy_html(f"Adding {names}: reading and embedding…") if names else ""

    def on_upload(paths: list[str] | None) -> tuple[str, Any, str, None]:
        outcomes = [add_upload(engine, Path(p)) for p in paths or []]
        return (*refreshed(outcomes or [Outcome("Choose a file to add first.", ok=False)]), None)

    def adding_pasted(title: str, text: str) -> str:
        name = f"“{title.strip()}”" if title.strip() else "the article"
        return busy_html(f"Adding {name}: embedding its passages…") if text.strip() else ""

    def on_paste(title: str, publisher: str, date: str, text: str
                 ) -> tuple[str, Any, str, str, str, str, str]:
        outcome = add_pasted(engine, title, text, publisher, date)
        kept = ("", "", "", "") if outcome.ok else (title, publisher, date, text)
        return (*refreshed([outcome]), *kept)

    def on_read(source: str | None) -> str:
        if not source:
            return status_html([Outcome("Choose an article to read.", ok=False)])
        return article_view_html(engine, source)

    def ask_remove(source: str | None) -> tuple[Any, str, str]:
        record = engine.records.get(source or "")
        if record is None:
            return (gr.update(visible=False), "",
                    status_html([Outcome("Choose an article to remove.", ok=False)]))
        question = f"Remove “{esc(record.title)}” from the store? You can undo it until you leave."
        return gr.update(visible=True), f'<div class="qa-notice">{question}</div>', ""

    def on_remove(source: str | None, removals: list[Removal]
                  ) -> tuple[str, Any, str, Any, Any, list[Removal], str]:
        outcome, removal = remove_article(engine, source)
        removals = [*removals, removal] if removal else removals
        return (*refreshed([outcome]), gr.update(visible=False),
                gr.update(visible=bool(removals)), removals, "")

    def on_undo(removals: list[Removal]) -> tuple[str, Any, str, Any, list[Removal]]:
        if not removals:
            return (*refreshed([Outcome("Nothing to undo.", ok=False)]), gr.update(visible=False),
                    [])
        outcome = undo_removal(engine, removals[-1])
        rest = removals[:-1]
        return (*refreshed([outcome]), gr.update(visible=bool(rest)), rest)

    def on_show() -> tuple[str, Any]:
        return articles_html(engine), gr.update(choices=article_choices(engine))

    with gr.Blocks(title="newsdesk QA", analytics_enabled=False) as app:
        gr.Markdown("## newsdesk QA\nCited answers from your news articles, offline.")
        with gr.Tab("Chat", id="chat"):
            turns = gr.State([])
            chatbot = gr.Chatbot(
                elem_id="qa-chat", label="Conversation", show_label=False, height=CHAT_HEIGHT,
                render_markdown=False, sanitize_html=True, placeholder=PLACEHOLDER,
                examples=[{"text": q} for q in EXAMPLES], feedback_options=None,
                buttons=["copy"], layout="panel", autoscroll=False,
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
            removals = gr.State([])
            status = gr.HTML(elem_id="qa-articles-status", label="Status")
            listing = gr.HTML(articles_html(engine), elem_id="qa-articles")
            with gr.Row(equal_height=False):
                with gr.Column():
                    gr.Markdown("#### Read or remove an article")
                    chosen = gr.Dropdown(choices=article_choices(engine), value=None,
                                         label="Article", allow_custom_value=True,
                                         elem_id="qa-article-choice")
                    with gr.Row():
                        read = gr.Button("Read", elem_id="qa-read")
                        remove = gr.Button("Remove…", variant="stop", elem_id="qa-remove")
                    with gr.Column(visible=False, elem_id="qa-confirm") as confirm:
                        confirm_text = gr.HTML()
                        with gr.Row():
                            yes = gr.Button("Yes, remove", variant="stop",
                                            elem_id="qa-remove-yes")
                            no = gr.Button("Cancel", elem_id="qa-remove-cancel")
                    undo = gr.Button("Undo the last removal", visible=False, elem_id="qa-undo")
                    viewer = gr.HTML(elem_id="qa-article-view")
                with gr.Column():
                    gr.Markdown("#### Paste an article")
                    title = gr.Textbox(label="Title", elem_id="qa-paste-title")
                    with gr.Row():
                        publisher = gr.Textbox(label="Publisher (optional)")
                        date = gr.Textbox(label="Date (optional)", placeholder="YYYY-MM-DD")
                    text = gr.Textbox(label="Text", lines=8, max_lines=20,
                                      elem_id="qa-paste-text")
                    paste = gr.Button("Add article", variant="primary", elem_id="qa-paste-add")
                    gr.Markdown("#### Upload files\n.txt, .md, .html or .jsonl (one article a "
                                "line), UTF-8")
                    upload = gr.File(file_count="multiple", file_types=FILE_TYPES,
                                     type="filepath", label="Article files", elem_id="qa-upload")
                    add_files = gr.Button("Add files", elem_id="qa-upload-add")

        quiet: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
        in_status: dict[str, Any] = {"show_progress": "minimal", "show_progress_on": status}
        asked = [box, chatbot, turns, since_box, until_box, as_of_box]
        box.submit(chat, asked, [box, chatbot, turns], api_name="respond")
        chatbot.example_select(pick_example, None, box, api_visibility="private").then(
            chat, asked, [box, chatbot, turns], api_visibility="private")
        chatbot.clear(new_conversation, None, [chatbot, turns], api_visibility="private")
        articles_tab.select(on_show, None, [listing, chosen], api_visibility="private",
                            **in_status)
        paste.click(adding_pasted, [title, text], status, **quiet).then(
            on_paste, [title, publisher, date, text],
            [listing, chosen, status, title, publisher, date, text], api_name="add_pasted",
            **in_status)
        add_files.click(adding_files, upload, status, **quiet).then(
            on_upload, upload, [listing, chosen, status, upload], api_name="add_files",
            **in_status)
        read.click(on_read, chosen, viewer, **quiet)
        remove.click(ask_remove, chosen, [confirm, confirm_text, status], **quiet)
        no.click(lambda: gr.update(visible=False), None, confirm, **quiet)
        yes.click(on_remove, [chosen, removals],
                  [listing, chosen, status, confirm, undo, removals, viewer], api_name="remove",
                  **in_status)
        undo.click(on_undo, removals, [listing, chosen, status, undo, removals],
                   api_visibility="private", **in_status)
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


def check_port(host: str, port: int) -> None:
    """A `QAError` naming --port when the address is taken (checked before anything loads)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise QAError(busy_port(host, port)) from err
            raise QAError(f"Cannot listen on {host}:{port}: {err.strerror}.") from err


def busy_port(host: str, port: int) -> str:
    return f"Port {port} on {host} is in use: choose another with --port (or QA_PORT)."


class LoginThrottle:
    """Failed sign-ins per client: after `attempts` in a minute the client waits `delay`
    seconds, and every failure after that doubles the wait, until a sign-in succeeds."""

    def __init__(self, attempts: int, delay: float) -> None:
        self.attempts = attempts
        self.delay = delay
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._strikes: dict[str, int] = {}
        self._blocked_until: dict[str, float] = {}

    def wait(self, client: str) -> float:
        """Seconds this client must still wait before it may try again (0: it may)."""
        with self._lock:
            return max(0.0, self._blocked_until.get(client, 0.0) - time.monotonic())

    def failed(self, client: str) -> float:
        """Count a failed sign-in; return the wait it imposes (0 while under the limit)."""
        now = time.monotonic()
        with self._lock:
            self._forget_quiet_clients(now)
            recent = self._failures.setdefault(client, deque())
            recent.append(now)
            while recent and recent[0] < now - LOGIN_WINDOW_S:
                recent.popleft()
            strikes = self._strikes.get(client, 0)
            if strikes == 0 and len(recent) < self.attempts:
                return 0.0
            self._strikes[client] = strikes + 1
            wait = min(MAX_LOGIN_DELAY_S, self.delay * 2**strikes)
            self._blocked_until[client] = now + wait
            return wait

    def succeeded(self, client: str) -> None:
        with self._lock:
            for table in (self._failures, self._strikes, self._blocked_until):
                table.pop(client, None)

    def _forget_quiet_clients(self, now: float) -> None:
        """Drop clients with no failure for an hour, so the tables stay small."""
        if len(self._failures) < 1000:
            return
        for client, recent in list(self._failures.items()):
            if not recent or recent[-1] < now - MAX_LOGIN_DELAY_S:
                for table in (self._failures, self._strikes, self._blocked_until):
                    table.pop(client, None)


class SignInGuard:
    """ASGI middleware for a window with credentials: sign-in attempts are throttled per client
    and logged, and every path but the sign-in page's needs a signed-in session."""

    def __init__(self, app: ASGIApp, throttle: LoginThrottle) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope["path"].rstrip("/") or "/"
        client = scope["client"][0] if scope.get("client") else "unknown"
        if path == "/login" and scope.get("method") == "POST":
            await self._sign_in(client, scope, receive, send)
        elif self._public(path) or self._signed_in(scope):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await JSONResponse({"detail": "Not authenticated"}, status_code=401)(
                scope, receive, send)

    async def _sign_in(self, client: str, scope: Scope, receive: Receive, send: Send) -> None:
        wait = self.throttle.wait(client)
        if wait > 0:
            log.warning("Sign-in from %s refused: too many failed attempts (%.0f s to wait)",
                        client, wait)
            await too_many(wait)(scope, receive, send)
            return
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if status == 200:
            self.throttle.succeeded(client)
            log.info("Signed in from %s", client)
            return
        imposed = self.throttle.failed(client)
        log.warning("Failed sign-in from %s%s", client,
                    f"; next attempt allowed in {imposed:.0f} s" if imposed else "")

    @staticmethod
    def _public(path: str) -> bool:
        return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)

    @staticmethod
    def _signed_in(scope: Scope) -> bool:
        app = scope.get("app")
        cookie_id = getattr(app, "cookie_id", None)
        if cookie_id is None:
            return False
        cookies = HTTPConnection(scope).cookies
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(
            f"access-token-unsecure-{cookie_id}")
        return token is not None and token in getattr(app, "tokens", {})


def too_many(wait: float) -> JSONResponse:
    seconds = math.ceil(wait)
    return JSONResponse(
        {"detail": f"Too many failed sign-ins: try again in {seconds} s."}, status_code=429,
        headers={"Retry-After": str(seconds)},
    )


def launch(settings: Settings, host: str, port: int, auth: tuple[str, str] | None,
           insecure_no_auth: bool = False, say: Callable[[str], None] = log.info) -> None:
    """Bring the store up to date, then serve the window until interrupted (no network lookups).

    `say` receives what a person starting it should read: what is loaded, then the address.
    """
    check_exposure(host, auth, insecure_no_auth)
    check_port(host, port)
    engine = engine_for(settings)
    say(f"Reading the articles in {settings.corpus_dir} and bringing the store "
        f"{settings.chroma_url or settings.store_dir} up to date…")
    report = engine.ingest(progress=sys.stderr.isatty())
    changes = (f"{len(report.added)} added, {len(report.updated)} updated, "
               f"{len(report.removed)} removed, {report.embedded} passages embedded")
    skipped = f"; {len(report.skipped)} files or lines skipped" if report.skipped else ""
    say(f"{len(engine.records)} articles in the store ({changes}{skipped}).")
    back = brought_back(settings.store_dir, report.added)
    if back:
        say(f"Back in the store, as their files are still in {settings.corpus_dir}: "
            f"{', '.join(back)} (removed in the window before; delete a file to remove its "
            "article for good).")
    app = build_app(engine)
    app.queue(default_concurrency_limit=settings.chat_concurrency)
    guard = [Middleware(SignInGuard, throttle=LoginThrottle(settings.login_attempts,
                                                             settings.login_delay))]
    try:
        app.launch(
            server_name=host, server_port=port, auth=auth,
            auth_message="Sign in to newsdesk QA", share=False, inbrowser=False, ssr_mode=False,
            mcp_server=False, pwa=False, enable_monitoring=False, footer_links=[],
            max_file_size=MAX_UPLOAD, theme=THEME, css=CSS, head=HEAD, quiet=True,
            prevent_thread_lock=True, app_kwargs={"middleware": guard} if auth else None,
        )
    except OSError as err:
        if "Cannot find empty port" in str(err):
            raise QAError(busy_port(host, port)) from err
        raise
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    say(f"Ready: http://{shown}:{port}/ (Ctrl-C to stop)")
    try:
        while app.is_running:
            time.sleep(0.2)
    finally:
        app.close()
