"""The corpus loader: every supported format, metadata, and bad files skipped by name."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from qa.chunking import article_key, chunk_article
from qa.corpus import load_corpus
from qa.errors import CorpusError
from qa.settings import PROJECT_ROOT, Settings


def test_seed_corpus_loads_five_articles_with_metadata() -> None:
    loaded = load_corpus(PROJECT_ROOT / "corpus")
    assert len(loaded.articles) == 5 and not loaded.skipped
    anadolu = next(a for a in loaded.articles if a.source.startswith("anadolu"))
    assert anadolu.publisher == "Anadolu Agency"
    assert anadolu.date == "2023-09-25"
    assert (
        anadolu.title == "U.S. defense secretary, Kenyan counterpart sign defense cooperation pact"
    )
    assert not anadolu.text.startswith("---")


def test_plain_text_without_front_matter_takes_its_first_line_as_title(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("\nNairobi floods\nRain fell for days.\n", encoding="utf-8")
    (article,) = load_corpus(tmp_path).articles
    assert article.title == "Nairobi floods"
    assert article.text == "\nNairobi floods\nRain fell for days.\n"


def test_html_keeps_the_main_text_and_drops_navigation_and_scripts(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        """<html><head><title>Port reopens</title>
        <meta property="article:published_time" content="2024-05-01T10:00:00Z">
        <meta property="og:site_name" content="Coast Daily"><script>var x = 'tracker';</script>
        </head><body><nav>Home | Sport | Login</nav><header>Menu</header>
        <article><h1>Port reopens</h1><p>The port of Mombasa reopened on Tuesday.</p>
        <p>Ships queued   for two days.</p></article><footer>Copyright</footer></body></html>""",
        encoding="utf-8",
    )
    (article,) = load_corpus(tmp_path).articles
    assert article.title == "Port reopens"
    assert article.date == "2024-05-01" and article.publisher == "Coast Daily"
    assert "The port of Mombasa reopened on Tuesday." in article.text
    assert "Ships queued for two days." in article.text
    for noise in ("Home | Sport", "tracker", "Copyright", "Menu"):
        assert noise not in article.text


def test_jsonl_gives_one_article_a_line_and_skips_bad_lines_by_name(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [
        json.dumps({"id": "a1", "title": "Rains", "text": "Rains came.", "date": "2024-04-01"}),
        "{not json",
        json.dumps({"title": "No text"}),
        json.dumps({"title": "Drought", "text": "It was dry.", "url": "https://example.org/d"}),
    ]
    (tmp_path / "dump.jsonl").write_text("\n".join(lines), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(tmp_path)
    assert [a.source for a in loaded.articles] == ["dump.jsonl#a1", "dump.jsonl#4"]
    assert loaded.articles[1].url == "https://example.org/d"
    assert [where for where, _ in loaded.skipped] == ["dump.jsonl#2", "dump.jsonl#3"]
    assert "dump.jsonl#2" in caplog.text


def test_unreadable_files_are_skipped_with_a_warning_that_names_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "good.md").write_text("---\ntitle: Good\n---\nA fine article.\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "bad-front.md").write_text("---\ntitle: [unclosed\n---\nText\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(tmp_path)
    assert [a.source for a in loaded.articles] == ["good.md"]
    reasons = dict(loaded.skipped)
    assert reasons["empty.txt"] == "empty file"
    assert reasons["binary.txt"] == "binary file"
    assert reasons["latin1.txt"].startswith("not UTF-8 text")
    assert reasons["report.pdf"] == "unsupported file type '.pdf'"
    assert "front matter" in reasons["bad-front.md"]
    for name in reasons:
        assert name in caplog.text


def test_a_missing_corpus_folder_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no-such-folder"):
        load_corpus(tmp_path / "no-such-folder")


def test_chunks_keep_exact_offsets_and_content_derived_ids() -> None:
    settings = Settings()
    for article in load_corpus(PROJECT_ROOT / "corpus").articles:
        key = article_key(article, settings, "model")
        chunks = chunk_article(article, settings, key)
        assert chunks and all(article.text[c.start : c.end] == c.text for c in chunks)
        assert [c.id for c in chunks] == [f"{key}:{i}" for i in range(len(chunks))]
        assert chunk_article(article, settings, key) == chunks
    assert article_key(article, settings, "model") != article_key(article, settings, "other")
