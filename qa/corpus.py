"""Stage 1: read a folder of articles (.txt, .md, .html, .jsonl) into `Article`s.

A file that cannot be read as an article is skipped with a warning that names it; one bad file
never stops the rest.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from qa.errors import CorpusError
from qa.types import Article

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
NON_CONTENT_TAGS = (
    "script, style, noscript, nav, header, footer, aside, form, iframe, svg, template"
)
BLOCK_TAGS = "h1, h2, h3, h4, h5, h6, p, li, blockquote, pre, figcaption, td"


class SkippedFile(Exception):
    """A file (or a line of one) that holds no readable article; the message says why."""


@dataclass
class CorpusLoad:
    """The articles read from a folder and the files skipped, each with its reason."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def load_corpus(folder: Path) -> CorpusLoad:
    """Read every supported file under `folder`, in path order, skipping unreadable ones."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"Corpus folder not found: {folder}")
    result = CorpusLoad()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        try:
            articles = read_file(path, rel, result.skipped)
        except SkippedFile as why:
            log.warning("Skipped %s: %s", rel, why)
            result.skipped.append((rel, str(why)))
            continue
        result.articles.extend(articles)
    return result


def read_file(path: Path, rel: str, skipped: list[tuple[str, str]]) -> list[Article]:
    """Read one file into articles; raise `SkippedFile` when it holds none."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SkippedFile(f"unsupported file type {suffix or '(none)'!r}")
    raw = path.read_bytes()
    if not raw.strip():
        raise SkippedFile("empty file")
    if b"\x00" in raw[:8192]:
        raise SkippedFile("binary file")
    try:
        content = raw.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as err:
        raise SkippedFile(f"not UTF-8 text ({err.reason} at byte {err.start})") from err
    if suffix in HTML_SUFFIXES:
        return [parse_html(content, rel)]
    if suffix in JSONL_SUFFIXES:
        return parse_jsonl(content, rel, skipped)
    return [parse_text(content, rel, path.stem)]


def parse_text(content: str, rel: str, stem: str) -> Article:
    """A .txt or .md article, with optional YAML front matter (title, publisher, date, url)."""
    meta: dict[str, object] = {}
    body = content
    if content.startswith("---\n"):
        end = content.find("\n---\n", 4)
        if end != -1:
            try:
                loaded = yaml.safe_load(content[4:end])
            except yaml.YAMLError as err:
                raise SkippedFile(f"front matter is not valid YAML ({err})") from err
            if isinstance(loaded, dict):
                meta = loaded
                body = content[end + 5 :]
    if not body.strip():
        raise SkippedFile("no article text after the front matter")
    first_line = next((line.strip() for line in body.splitlines() if line.strip()), stem)
    return Article(
        source=rel,
        title=str(meta.get("title") or first_line[:200]),
        text=body,
        publisher=str(meta.get("publisher") or ""),
        date=str(meta.get("date") or ""),
        url=str(meta.get("url") or ""),
    )


def parse_html(content: str, rel: str) -> Article:
    """The main text of an HTML page: no navigation, scripts or styles; one block a paragraph."""
    tree = HTMLParser(content)
    title = _first_attr(tree, 'meta[property="og:title"]', "content") or _first_text(
        tree, "title, h1"
    )
    date = _first_attr(tree, 'meta[property="article:published_time"]', "content") or (
        _first_attr(tree, "time[datetime]", "datetime")
    )
    publisher = _first_attr(tree, 'meta[property="og:site_name"]', "content")
    for node in tree.css(NON_CONTENT_TAGS):
        node.decompose()
    root = tree.css_first("article") or tree.css_first("main") or tree.body
    if root is None:
        raise SkippedFile("HTML without a body")
    blocks = [" ".join(node.text(separator=" ").split()) for node in root.css(BLOCK_TAGS)]
    text = "\n\n".join(block for block in blocks if block)
    if not text:
        text = " ".join(root.text(separator=" ").split())
    if not text:
        raise SkippedFile("HTML page with no text")
    return Article(source=rel, title=title or rel, text=text, publisher=publisher, date=date[:10])


def parse_jsonl(content: str, rel: str, skipped: list[tuple[str, str]]) -> list[Article]:
    """Bulk dumps: one JSON object a line with `title`, `text`, optional `url`, `date`, `id`."""
    articles = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{rel}#{number}"
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            text, title = record.get("text"), record.get("title")
            if not isinstance(text, str) or not text.strip():
                raise ValueError("no 'text'")
        except ValueError as err:
            log.warning("Skipped %s: %s", where, err)
            skipped.append((where, str(err)))
            continue
        key = record.get("id") or number
        articles.append(
            Article(
                source=f"{rel}#{key}",
                title=str(title or text.strip().splitlines()[0][:200]),
                text=text.replace("\r\n", "\n"),
                publisher=str(record.get("publisher") or ""),
                date=str(record.get("date") or ""),
                url=str(record.get("url") or ""),
            )
        )
    if not articles:
        raise SkippedFile("no article lines")
    return articles


def _first_attr(tree: HTMLParser, selector: str, attribute: str) -> str:
    node = tree.css_first(selector)
    return (node.attributes.get(attribute) or "").strip() if node else ""


def _first_text(tree: HTMLParser, selector: str) -> str:
    node = tree.css_first(selector)
    return " ".join(node.text().split()) if node else ""
