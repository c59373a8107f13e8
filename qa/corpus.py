"""Stage 1: read a folder of articles (.txt, .md, .html, .jsonl) into `Article`s.

A file that cannot be read as an article is skipped with a warning that names it; one bad file,
line, name or id never stops the rest. Every input is bounded (`Settings.max_*`): a file, a
.jsonl line, an article and a front matter over its limit is skipped by name, so no file can make
an ingest grow without bound. A file that exists but cannot be read this time is listed in
`CorpusLoad.unreadable`, so the store keeps what it holds of it: only a file that is gone (or
no longer part of the corpus) has its articles removed.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import yaml
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from qa.dates import json_ld_date, publication_date
from qa.errors import CorpusError
from qa.settings import Settings
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
BINARY_SNIFF_BYTES = 8192
BOILERPLATE_FILE = Path(__file__).parent / "data" / "boilerplate.yaml"
META_FIELDS = ("title", "publisher", "date", "url")


class SkippedFile(Exception):
    """A file (or a line of one) that holds no readable article; the message says why.

    `keep` says whether the store keeps what it holds of it: true for a file that exists but
    cannot be read this time, false for one that is not part of the corpus (a type the loader
    does not read, a link that leads outside the folder).
    """

    def __init__(self, reason: str, keep: bool = True) -> None:
        super().__init__(reason)
        self.keep = keep


class _AliasRefused(yaml.YAMLError):
    """Front matter that uses a YAML alias."""


class _FrontMatterLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases: nine lines of them expand 425 bytes into a
    312 MB title (the "billion laughs"), and front matter has no use for them."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise _AliasRefused(f"alias *{self.peek_event().anchor}")
        return super().compose_node(parent, index)


@dataclass
class CorpusLoad:
    """The articles read from a folder, what was skipped (each with its reason), and what the
    store keeps although it could not be read this time: an entry is an article's source, or a
    file whose every article (source `file` or `file#...`) is kept."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def load_corpus(folder: Path, settings: Settings | None = None) -> CorpusLoad:
    """Read every supported file under `folder`, in path order, skipping unreadable ones."""
    settings = settings or default_settings()
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"Corpus folder not found: {folder}")
    root = folder.resolve()
    result = CorpusLoad()
    seen: set[str] = set()
    for path in sorted(p for p in folder.rglob("*") if _is_file(p)):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        try:
            _check_name_and_place(path, rel, root)
            articles = read_file(path, rel, result.skipped, settings, result.unreadable)
        except SkippedFile as why:
            name = printable(rel)
            log.warning("Skipped %s: %s", name, why)
            result.skipped.append((name, str(why)))
            if why.keep:
                result.unreadable.append(rel)
            continue
        for article in articles:
            if article.source in seen:
                reason = "another article has the same source (a duplicate id)"
                log.warning("Skipped %s: %s", article.source, reason)
                result.skipped.append((article.source, reason))
                continue
            seen.add(article.source)
            result.articles.append(article)
    return result


def read_file(
    path: Path,
    rel: str,
    skipped: list[tuple[str, str]],
    settings: Settings | None = None,
    unreadable: list[str] | None = None,
) -> list[Article]:
    """Read one file into articles; raise `SkippedFile` when it holds none.

    Lines of a .jsonl file that hold no article are appended to `skipped`; those whose article
    cannot be told (not decodable, not JSON) make the file's stored articles kept, in
    `unreadable`.
    """
    settings = settings or default_settings()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SkippedFile(f"unsupported file type {suffix or '(none)'!r}", keep=False)
    if suffix in JSONL_SUFFIXES:
        return read_jsonl(path, rel, skipped, settings, [] if unreadable is None else unreadable)
    raw = _read_bounded(path, settings.max_file_bytes)
    if not raw.strip():
        raise SkippedFile("empty file")
    if b"\x00" in raw[:BINARY_SNIFF_BYTES]:
        raise SkippedFile("binary file")
    try:
        content = raw.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as err:
        raise SkippedFile(f"not UTF-8 text ({err.reason} at byte {err.start})") from err
    if suffix in HTML_SUFFIXES:
        article = parse_html(content, rel, settings)
    else:
        article = parse_text(content, rel, path.stem, settings)
    _check_length(article.text, settings)
    return [article]


def parse_text(content: str, rel: str, stem: str, settings: Settings | None = None) -> Article:
    """A .txt or .md article, with optional YAML front matter (title, publisher, date, url);
    lines of site chrome are dropped (see `drop_boilerplate`)."""
    settings = settings or default_settings()
    meta, body = _front_matter(content, settings.max_front_matter_bytes)
    if settings.drop_boilerplate:
        body = drop_boilerplate(body)
    if not body.strip():
        raise SkippedFile("no article text after the front matter")
    first_line = next((line.strip() for line in body.splitlines() if line.strip()), stem)
    return Article(
        source=rel,
        title=meta.get("title") or first_line[:200],
        text=body,
        publisher=meta.get("publisher", ""),
        date=meta.get("date", ""),
        url=meta.get("url", ""),
    )


def parse_html(content: str, rel: str, settings: Settings | None = None) -> Article:
    """The main text of an HTML page: no navigation, scripts, styles or blocks of site chrome
    (see `is_boilerplate`); one block a paragraph."""
    chrome = is_boilerplate if (settings or default_settings()).drop_boilerplate else _never
    tree = HTMLParser(content)
    title = _first_attr(tree, 'meta[property="og:title"]', "content") or _first_text(
        tree, "title, h1"
    )
    date = _first_attr(tree, 'meta[property="article:published_time"]', "content") or (
        _first_attr(tree, "time[datetime]", "datetime")
    )
    publisher = _first_attr(tree, 'meta[property="og:site_name"]', "content")
    page_dates = [
        _first_attr(tree, 'meta[property="article:published_time"]', "content"),
        _first_attr(tree, "time[datetime]", "datetime"),
        json_ld_date(node.text() for node in tree.css('script[type="application/ld+json"]')),
    ]
    for node in tree.css(NON_CONTENT_TAGS):
        node.decompose()
    root = tree.css_first("article") or tree.css_first("main") or tree.body
    if root is None:
        raise SkippedFile("HTML without a body")
    for listing in root.css("ul, ol"):  # a list of share buttons is chrome as a whole
        if chrome(" ".join(item.text(separator=" ") for item in listing.css("li"))):
            listing.decompose()
    blocks = [" ".join(node.text(separator=" ").split()) for node in root.css(BLOCK_TAGS)]
    text = "\n\n".join(block for block in blocks if block and not chrome(block))
    if not text:
        text = " ".join(root.text(separator=" ").split())
    if not text:
        raise SkippedFile("HTML page with no text")
    published = publication_date(page_dates, text, rel)
    return Article(
        source=rel,
        title=title or rel,
        text=text,
        publisher=publisher,
        date=date[:10],
        published=published.iso,
        published_from=published.raw,
    )


def read_jsonl(
    path: Path,
    rel: str,
    skipped: list[tuple[str, str]],
    settings: Settings,
    unreadable: list[str],
) -> list[Article]:
    """Bulk dumps: one JSON object a line with `title`, `text`, optional `url`, `date`, `id`.

    Read a line at a time, each at most `max_jsonl_line_bytes`. A bad line is skipped by name
    (`file#line`) and the others ingest; a later line with an earlier line's id is skipped.
    """
    articles: list[Article] = []
    first_line: dict[str, int] = {}
    protect_file = False
    try:
        with path.open("rb") as stream:
            for number, raw in _lines(stream, settings.max_jsonl_line_bytes):
                where = f"{rel}#{number}"
                try:
                    article = _jsonl_article(raw, number, rel, settings)
                except _UnknownLine as why:
                    if number == 1 and b"\x00" in raw[:BINARY_SNIFF_BYTES]:
                        raise SkippedFile("binary file") from why
                    protect_file = True
                    _skip_line(where, str(why), skipped)
                    continue
                except ValueError as why:
                    _skip_line(where, str(why), skipped)
                    continue
                if article is None:
                    continue
                if article.source in first_line:
                    reason = f"duplicate id: line {first_line[article.source]} has the same source"
                    _skip_line(where, reason, skipped)
                    continue
                first_line[article.source] = number
                articles.append(article)
    except OSError as err:
        raise SkippedFile(f"cannot be read ({err.strerror or err})") from err
    if protect_file:
        unreadable.append(rel)
    if not articles:
        raise SkippedFile("no article lines")
    return articles


class _UnknownLine(ValueError):
    """A .jsonl line whose article cannot be told (not UTF-8, not JSON, over the size limit)."""


def _jsonl_article(raw: bytes, number: int, rel: str, settings: Settings) -> Article | None:
    """The article of one .jsonl line; None for a blank line."""
    if len(raw) > settings.max_jsonl_line_bytes:
        raise _UnknownLine(
            f"line longer than the {settings.max_jsonl_line_bytes:,}-byte limit "
            "(max_jsonl_line_bytes)"
        )
    try:
        line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as err:
        raise _UnknownLine(f"not UTF-8 ({err.reason} at byte {err.start})") from err
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except ValueError as err:
        raise _UnknownLine(str(err)) from err
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    text, title = record.get("text"), record.get("title")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("no 'text'")
    text = text.replace("\r\n", "\n")
    if settings.drop_boilerplate:
        text = drop_boilerplate(text)
        if not text.strip():
            raise ValueError("no 'text' but site chrome")
    if len(text) > settings.max_article_chars:
        raise ValueError(_too_long(settings))
    key = record.get("id")
    if key is None or key == "":
        key = number
    return Article(
        source=f"{rel}#{key}",
        title=str(title or text.strip().splitlines()[0][:200]),
        text=text,
        publisher=str(record.get("publisher") or ""),
        date=str(record.get("date") or ""),
        url=str(record.get("url") or ""),
    )


def _lines(stream: BinaryIO, limit: int) -> Iterator[tuple[int, bytes]]:
    """Numbered lines without their line break; a line over `limit` bytes is cut to `limit` + 1
    bytes (the rest is read and dropped), so memory stays bounded."""
    number = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := stream.readline(limit + 1)) and not rest.endswith(b"\n"):
                pass
        yield number, line.rstrip(b"\r\n")


def _skip_line(where: str, reason: str, skipped: list[tuple[str, str]]) -> None:
    log.warning("Skipped %s: %s", where, reason)
    skipped.append((where, reason))


def _front_matter(content: str, limit: int) -> tuple[dict[str, str], str]:
    """The front matter's fields (as text) and the body after it; `SkippedFile` when the front
    matter is too large, uses aliases or is not YAML."""
    if not content.startswith("---\n"):
        return {}, content
    end = content.find("\n---\n", 4, limit + 5)
    if end == -1:
        if content.find("\n---\n", 4) != -1:
            raise SkippedFile(
                f"front matter larger than the {limit:,}-byte limit (max_front_matter_bytes)"
            )
        return {}, content
    front = content[4:end]
    if len(front.encode("utf-8")) > limit:
        raise SkippedFile(
            f"front matter larger than the {limit:,}-byte limit (max_front_matter_bytes)"
        )
    try:
        loaded = yaml.load(front, Loader=_FrontMatterLoader)
    except _AliasRefused as err:
        raise SkippedFile(
            f"front matter uses a YAML {err}: aliases are refused, since a few hundred bytes "
            "of them expand to gigabytes"
        ) from err
    except yaml.YAMLError as err:
        raise SkippedFile(f"front matter is not valid YAML ({err})") from err
    except RecursionError as err:
        raise SkippedFile("front matter nested too deeply") from err
    if not isinstance(loaded, dict):
        return {}, content
    meta = {name: str(loaded[name]) for name in META_FIELDS if loaded.get(name)}
    return meta, content[end + 5 :]


def _read_bounded(path: Path, limit: int) -> bytes:
    """The file's bytes; `SkippedFile` when it is larger than `limit` or cannot be read."""
    try:
        if path.stat().st_size > limit:
            raise SkippedFile(f"larger than the {limit:,}-byte limit (max_file_bytes)")
        with path.open("rb") as stream:
            raw = stream.read(limit + 1)
    except OSError as err:
        raise SkippedFile(f"cannot be read ({err.strerror or err})") from err
    if len(raw) > limit:
        raise SkippedFile(f"larger than the {limit:,}-byte limit (max_file_bytes)")
    return raw


def _check_length(text: str, settings: Settings) -> None:
    if len(text) > settings.max_article_chars:
        raise SkippedFile(_too_long(settings))


def _too_long(settings: Settings) -> str:
    return (
        f"article longer than the {settings.max_article_chars:,}-character limit "
        "(max_article_chars)"
    )


def _check_name_and_place(path: Path, rel: str, root: Path) -> None:
    """`SkippedFile` for a name that is not UTF-8, or a link that leads outside the corpus."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError as err:
        raise SkippedFile("the file name is not UTF-8: rename it", keep=False) from err
    try:
        target = path.resolve()
    except (OSError, RuntimeError) as err:
        raise SkippedFile(f"cannot be read ({err})") from err
    if not target.is_relative_to(root):
        raise SkippedFile(f"a link to {target}, outside the corpus folder", keep=False)


def default_settings() -> Settings:
    """The settings the `QA_*` variables give, for callers that pass none."""
    return Settings.model_validate({})


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def printable(name: str) -> str:
    """A file name as text that can be printed: bytes that are not UTF-8 shown as \\xNN."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


@lru_cache(maxsize=1)
def _boilerplate() -> tuple[re.Pattern[str], int]:
    """One pattern of every line of site chrome (qa/data/boilerplate.yaml), and the longest line
    it may drop."""
    data = yaml.safe_load(BOILERPLATE_FILE.read_text(encoding="utf-8"))
    pattern = re.compile("|".join(f"(?:{p})" for p in data["patterns"]), re.IGNORECASE)
    return pattern, int(data["max_chars"])


def is_boilerplate(line: str) -> bool:
    """Whether a line (or an HTML block) is site chrome: short, and whole of it a pattern of
    qa/data/boilerplate.yaml ("Contact Us", "Sign up for our newsletter", share buttons, cookie
    notices)."""
    pattern, max_chars = _boilerplate()
    stripped = line.strip()
    return 0 < len(stripped) <= max_chars and pattern.fullmatch(stripped) is not None


def _never(_: str) -> bool:
    return False


def drop_boilerplate(text: str) -> str:
    """The text without its lines of site chrome (each dropped with its line break); every
    other character is kept as it was."""
    lines = text.splitlines(keepends=True)
    kept = [line for line in lines if not is_boilerplate(line)]
    return text if len(kept) == len(lines) else "".join(kept)


def _first_attr(tree: HTMLParser, selector: str, attribute: str) -> str:
    node = tree.css_first(selector)
    return (node.attributes.get(attribute) or "").strip() if node else ""


def _first_text(tree: HTMLParser, selector: str) -> str:
    node = tree.css_first(selector)
    return " ".join(node.text().split()) if node else ""
