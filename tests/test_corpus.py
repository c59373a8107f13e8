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


# Excerpts of three real scraped articles (RealTimeQA 2024, ../shared/bench): site chrome around
# real sentences.
CNN_ARTEMIS = """Sign up for CNN’s Wonder Theory science newsletter. Explore the universe with \
news on fascinating discoveries, scientific advancements and more.

CNN —

The Artemis I mission — a 25½-day uncrewed test flight around the moon meant to pave the way for \
future astronaut missions — came to a momentous end as NASA’s Orion spacecraft made a successful \
ocean splashdown Sunday.
"""
FACT_CHECK = """Our fact-check sources:

Thank you for supporting our journalism. You can subscribe to our print edition, ad-free app or \
electronic newspaper replica here.

Our fact check work is supported in part by a grant from Facebook.
"""
DAILY_SCROLL = """"All the numbers you saw today are big. They are all a challenge to a state that \
has significant budget constraints."

Read more here.

16-year-old boy shot in Wilmington
"""
KEPT_SENTENCES = [
    "The Artemis I mission",
    "CNN —",
    "Our fact-check sources:",
    "Our fact check work is supported in part by a grant from Facebook.",
    "significant budget constraints",
    "16-year-old boy shot in Wilmington",
]
NEWS_ABOUT_CHROME = """The publisher said its newsletter business grew 20% in 2023, and \
subscribers rose to 1.2 million.

Regulators said the website uses cookies to track readers without consent, a fine of $4 million.

Contact us, the kidnappers wrote, or the hostages will not be released.
"""


def test_site_chrome_is_dropped_from_scraped_text_and_the_articles_sentences_kept(
    tmp_path: Path,
) -> None:
    (tmp_path / "artemis.txt").write_text(CNN_ARTEMIS, encoding="utf-8")
    lines = [json.dumps({"id": "f", "title": "Fact check", "text": FACT_CHECK}),
             json.dumps({"id": "s", "title": "Daily Scroll", "text": DAILY_SCROLL})]
    (tmp_path / "wire.jsonl").write_text("\n".join(lines), encoding="utf-8")
    (tmp_path / "news.md").write_text(NEWS_ABOUT_CHROME, encoding="utf-8")
    articles = {a.source: a.text for a in load_corpus(tmp_path).articles}
    text = "\n".join(articles.values())
    for chrome in ("Wonder Theory", "Thank you for supporting", "Read more here."):
        assert chrome not in text
    for sentence in KEPT_SENTENCES:
        assert sentence in text
    assert articles["news.md"] == NEWS_ABOUT_CHROME
    assert articles["artemis.txt"].startswith("\nCNN —\n")


def test_html_pages_lose_their_chrome_blocks_and_keep_exact_offsets(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        """<html><head><title>Port reopens</title></head><body><article>
        <h1>Port reopens</h1><p>Contact Us</p><p>Subscribe</p>
        <ul><li>Facebook</li><li>Twitter</li><li>Email</li></ul><p>Share on WhatsApp</p>
        <p>The port of Mombasa reopened on Tuesday after a two-day strike.</p>
        <p>We use cookies to improve your experience. Accept all cookies</p>
        <p>Sign up for our newsletter to get the latest news of the day.</p>
        <p>Dockworkers said they would share the new roster with the port authority.</p>
        <p>© 2024 Coast Daily. All rights reserved.</p></article></body></html>""",
        encoding="utf-8",
    )
    (article,) = load_corpus(tmp_path).articles
    assert article.text == (
        "Port reopens\n\nThe port of Mombasa reopened on Tuesday after a two-day strike.\n\n"
        "Dockworkers said they would share the new roster with the port authority."
    )
    settings = Settings()
    chunks = chunk_article(article, settings, article_key(article, settings, "model"))
    assert all(article.text[c.start : c.end] == c.text for c in chunks)
