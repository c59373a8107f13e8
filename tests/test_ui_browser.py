"""The chat window from outside: in a real headless chromium, and at its door (credentials).

Each browser test opens its own tab (its own conversation) on the server of `chat_server`, with
Debian's chromium driven by Playwright for Python; it saves a screenshot in its temporary folder
and checks that the page fetched nothing from the network.
"""

from __future__ import annotations

import logging
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from conftest import INJECTION_TITLE, QA, ChatServer, free_port, make_corpus, running_chat
from playwright.sync_api import (
    Browser,
    Locator,
    Page,
    Playwright,
    Request,
    expect,
    sync_playwright,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ANADOLU_TITLE = "U.S. defense secretary, Kenyan counterpart sign defense cooperation pact"
SIGNING_TITLES = (
    ANADOLU_TITLE,
    "Kenya, US sign defence framework; US to give Sh14.5 billion for Haiti mission",
    "Al-Shabaab, global peace feature in Duale meeting with US counterpart Austin",
)
"""The articles that tell of the Kenya-US defence framework signed in September 2023."""
ANSWER_TIMEOUT_MS = 60_000

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium); Playwright "
    "must not download a browser",
)


def browser_test(test: Callable[..., None]) -> Callable[..., None]:
    return pytest.mark.browser(needs_chromium(test))


class Window:
    """One browser tab on the chat window, and every request it made off the server."""

    def __init__(self, page: Page, server: ChatServer) -> None:
        self.page = page
        self.server = server
        self.offsite: list[str] = []
        page.on("request", self._record)

    def _record(self, request: Request) -> None:
        if not request.url.startswith((self.server.url, "data:", "blob:")):
            self.offsite.append(request.url)

    def open(self) -> None:
        self.page.goto(self.server.url)
        expect(self.input).to_be_visible(timeout=30_000)

    @property
    def input(self) -> Locator:
        return self.page.locator("#qa-input textarea")

    @property
    def replies(self) -> Locator:
        return self.page.locator("#qa-chat .qa-reply")

    def send(self, text: str, files: list[Path] | None = None) -> Locator:
        """Send a message (and files); wait for and return the reply it gets."""
        before = self.replies.count()
        if files:
            self.page.locator("#qa-input input[type=file]").set_input_files(files)
            expect(self.page.locator("#qa-input .thumbnail-item")).to_have_count(
                len(files), timeout=20_000)
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.replies).to_have_count(before + (len(files or []) or 1),
                                           timeout=ANSWER_TIMEOUT_MS)
        return self.replies.last

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name).click()

    def shot(self, path: Path) -> None:
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        yield launch(playwright)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@pytest.fixture
def window(browser: Browser, chat_server: ChatServer) -> Iterator[Window]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        win = Window(context.new_page(), chat_server)
        win.open()
        yield win
        assert win.offsite == [], f"the page fetched from the network: {win.offsite}"
    finally:
        context.close()


def source_titled(reply: Locator, title: str) -> Locator:
    return reply.locator(".qa-source").filter(has_text=title)


@browser_test
def test_answer_cites_and_highlights_the_quote(window: Window, tmp_path: Path) -> None:
    reply = window.send("Where in Kenya are U.S. forces hosted?")
    expect(reply.locator(".qa-answer")).to_contain_text("[1]")
    expect(reply.locator(".qa-answer")).to_contain_text("Manda Bay")
    source = source_titled(reply, ANADOLU_TITLE)
    expect(source.locator("summary")).to_be_visible()
    expect(source.locator("summary")).to_contain_text("Anadolu Agency")
    expect(source.locator("summary")).to_contain_text("2023-09-25")
    mark = source.locator("mark")
    expect(mark).to_be_hidden()
    source.locator("summary").click()
    expect(mark).to_be_visible()
    expect(mark).to_contain_text("Manda Bay")
    expect(source.locator(".qa-context")).to_contain_text("strategic partnership with Kenya")
    window.shot(tmp_path / "answer.png")


@browser_test
def test_start_screen_example_question_is_answered(window: Window, tmp_path: Path) -> None:
    expect(window.page.get_by_text("Ask the newsdesk")).to_be_visible()
    window.shot(tmp_path / "start.png")
    window.page.get_by_text("Where in Kenya are U.S. forces hosted?").click()
    expect(window.replies).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    expect(window.replies.last).to_contain_text("Manda Bay")


@browser_test
def test_refusal_reads_as_a_refusal(window: Window, tmp_path: Path) -> None:
    reply = window.send("What is the price of bitcoin?")
    expect(reply).to_have_class("qa-reply qa-refusal")
    expect(reply).to_contain_text("The articles don't cover this")
    expect(reply.locator(".qa-source")).to_have_count(0)
    window.shot(tmp_path / "refusal.png")


@browser_test
def test_article_html_and_script_show_as_text(window: Window, tmp_path: Path) -> None:
    reply = window.send("How many tonnes of cloves did Zanzibar export?")
    source = source_titled(reply, "Zanzibar")
    expect(source.locator("summary strong")).to_have_text(INJECTION_TITLE)
    expect(source.locator(".qa-byline")).to_contain_text("Island <i>Times</i>")
    source.locator("summary").click()
    context = source.locator(".qa-context")
    expect(context).to_contain_text("<script>window.__pwned=1</script>")
    expect(context).to_contain_text('<img src=x onerror="window.__pwned=1">')
    expect(context.locator("mark")).to_contain_text("8,200 tonnes")
    window.tab("Articles")
    expect(window.page.locator("#qa-articles")).to_contain_text(INJECTION_TITLE)
    window.tab("Chat")
    window.shot(tmp_path / "injection.png")
    assert window.page.evaluate("typeof window.__pwned") == "undefined"
    injected = window.page.locator("#qa-chat script, #qa-chat img[src='x'], #qa-articles img")
    assert injected.count() == 0


@browser_test
def test_follow_up_finds_the_articles_of_the_previous_question(window: Window,
                                                               tmp_path: Path) -> None:
    first = window.send("What did Kenya and the US sign in September 2023?")
    expect(first.locator(".qa-source").first).to_be_visible()
    reply = window.send("Who signed it?")
    expect(reply.locator(".qa-searched")).to_contain_text(
        "Who signed it? (Kenya US sign September 2023)")
    titles = reply.locator(".qa-source summary strong").all_inner_texts()
    assert titles and all(t in SIGNING_TITLES for t in titles), titles
    expect(reply.locator(".qa-answer")).to_contain_text("Austin")
    window.shot(tmp_path / "follow-up.png")


@browser_test
def test_bad_input_gets_a_readable_message_and_the_chat_goes_on(window: Window, tmp_path: Path,
                                                                chat_server: ChatServer) -> None:
    empty = window.send("")
    expect(empty).to_have_class("qa-reply qa-notice")
    expect(empty).to_contain_text("The question is empty")
    huge = window.send("Kenya " * 2000)
    expect(huge).to_have_class("qa-reply qa-notice")
    expect(huge).to_contain_text("characters long; the limit is")
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\x00\x01\x02 not text \xff\xfe")
    upload = window.send("", files=[broken])
    expect(upload).to_have_class("qa-reply qa-notice")
    expect(upload).to_contain_text("Could not add broken.txt: binary file")
    assert not (chat_server.corpus / "uploads" / "broken.txt").exists()
    reply = window.send("Where in Kenya are U.S. forces hosted?")
    expect(reply.locator(".qa-answer")).to_contain_text("Manda Bay")
    window.shot(tmp_path / "bad-input.png")


@browser_test
def test_pasted_article_is_answerable_at_once_then_removed(window: Window, tmp_path: Path,
                                                           chat_server: ChatServer) -> None:
    title = "Lake Turkana wind farm reaches full capacity"
    question = "How many megawatts did the Lake Turkana wind farm deliver to the grid?"
    window.tab("Articles")
    window.page.locator("#qa-paste-title textarea, #qa-paste-title input").fill(title)
    window.page.locator("#qa-paste-text textarea").fill(
        "The Lake Turkana Wind Power project in Marsabit County delivered 310 megawatts to the "
        "national grid in March 2024, the Kenya Power company said.\n\n"
        "The wind farm has 365 turbines and is the largest in Africa."
    )
    window.page.locator("#qa-paste-add").click()
    status = window.page.locator("#qa-articles-status")
    expect(status).to_contain_text(f"Added “{title}”", timeout=ANSWER_TIMEOUT_MS)
    expect(window.page.locator("#qa-articles")).to_contain_text(title)
    window.shot(tmp_path / "articles.png")
    [saved] = (chat_server.corpus / "uploads").glob("lake-turkana-*.md")

    window.tab("Chat")
    reply = window.send(question)
    expect(source_titled(reply, title)).to_be_visible()
    expect(reply.locator(".qa-answer")).to_contain_text("310 megawatts")

    window.tab("Articles")
    window.page.locator("#qa-remove-choice input").click()
    window.page.get_by_role("option", name=title).click()
    window.page.locator("#qa-remove").click()
    expect(status).to_contain_text(f"Removed “{title}”.", timeout=ANSWER_TIMEOUT_MS)
    expect(window.page.locator("#qa-articles")).not_to_contain_text(title)
    assert not saved.exists()

    window.tab("Chat")
    after = window.send(question)
    expect(source_titled(after, title)).to_have_count(0)


def test_listening_beyond_localhost_without_credentials_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "QA_AUTH"}
    env["QA_STORE_DIR"] = str(tmp_path / "store")
    done = subprocess.run(
        [str(QA), "chat", "--host", "0.0.0.0", "--port", str(free_port()), "--corpus",
         str(make_corpus(tmp_path))],
        env=env, capture_output=True, text=True, timeout=120, start_new_session=True,
    )
    assert done.returncode == 2, done.stderr
    assert "--auth user:password (or QA_AUTH)" in done.stderr
    assert "--insecure-no-auth" in done.stderr
    assert not (tmp_path / "store").exists()


def test_the_insecure_opt_out_warns(caplog: pytest.LogCaptureFixture) -> None:
    from qa.errors import QAError
    from qa.ui import check_exposure, parse_credentials

    check_exposure("127.0.0.1", None, insecure_no_auth=False)
    check_exposure("localhost", None, insecure_no_auth=False)
    check_exposure("0.0.0.0", ("ann", "pw"), insecure_no_auth=False)
    with pytest.raises(QAError):
        check_exposure("192.168.1.5", None, insecure_no_auth=False)
    with caplog.at_level(logging.WARNING, logger="qa.ui"):
        check_exposure("0.0.0.0", None, insecure_no_auth=True)
    assert "has no password" in caplog.text
    assert parse_credentials("ann:pass:word") == ("ann", "pass:word")
    for bad in ("ann", "ann:", ":pw"):
        with pytest.raises(QAError):
            parse_credentials(bad)


def test_credentials_from_qa_auth_guard_the_chat_on_all_interfaces(tmp_path: Path) -> None:
    with running_chat(tmp_path, host="0.0.0.0", env={"QA_AUTH": "ann:s3cret pw"}) as server:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.url + "config", timeout=10)
        assert refused.value.code == 401
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        for password, status in (("wrong", 400), ("s3cret pw", 200)):
            form = urllib.parse.urlencode({"username": "ann", "password": password}).encode()
            try:
                reply = opener.open(server.url + "login", data=form, timeout=10)
                assert reply.status == status
            except urllib.error.HTTPError as err:
                assert err.code == status
        assert opener.open(server.url + "config", timeout=10).status == 200


@browser_test
def test_uploaded_html_article_is_added_then_removed(window: Window, tmp_path: Path,
                                                     chat_server: ChatServer) -> None:
    title = "Nairobi marathon draws record field"
    page = tmp_path / "marathon.html"
    page.write_text(
        f"<html><head><title>{title}</title><script>window.__pwned=1</script></head><body>"
        "<nav>Home | Sport</nav><article><h1>Nairobi marathon draws record field</h1>"
        "<p>A record 24,000 runners started the Nairobi City Marathon on Sunday.</p>"
        "</article></body></html>", encoding="utf-8")
    window.tab("Articles")
    window.page.locator("#qa-upload input[type=file]").set_input_files(page)
    expect(window.page.locator("#qa-upload")).to_contain_text("marathon.html", timeout=20_000)
    window.page.locator("#qa-upload-add").click()
    status = window.page.locator("#qa-articles-status")
    expect(status).to_contain_text(f"Added “{title}” (1 passage)", timeout=ANSWER_TIMEOUT_MS)
    expect(window.page.locator("#qa-articles")).to_contain_text(title)
    window.shot(tmp_path / "upload.png")
    window.page.locator("#qa-remove-choice input").click()
    window.page.get_by_role("option", name=title).click()
    window.page.locator("#qa-remove").click()
    expect(status).to_contain_text(f"Removed “{title}”.", timeout=ANSWER_TIMEOUT_MS)
    assert not list((chat_server.corpus / "uploads").glob("nairobi-marathon-*.md"))
    assert window.page.evaluate("typeof window.__pwned") == "undefined"
