"""The chat window from outside: in a real headless chromium, and at its door (credentials).

Each browser test opens its own tab (its own conversation) on the server of `chat_server`, with
Debian's chromium driven by Playwright for Python; it saves a screenshot in its temporary folder
and checks that the page fetched nothing from the network.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

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


def choose(window: Window, title: str) -> None:
    """Pick an article by title in the Articles tab's article box."""
    window.page.locator("#qa-article-choice input").click()
    window.page.get_by_role("option", name=title).click()


def remove(window: Window, title: str) -> None:
    """Remove an article on the Articles tab, confirming when asked."""
    choose(window, title)
    window.page.locator("#qa-remove").click()
    window.page.locator("#qa-remove-yes").click()


@browser_test
def test_answer_cites_and_highlights_the_quote(window: Window, tmp_path: Path) -> None:
    reply = window.send("Where in Kenya are U.S. forces hosted?")
    expect(reply.locator(".qa-answer")).to_contain_text("[1]")
    expect(reply.locator(".qa-answer")).to_contain_text("Manda Bay")
    source = source_titled(reply, ANADOLU_TITLE)
    expect(source.locator(":scope > summary")).to_be_visible()
    expect(source.locator(":scope > summary")).to_contain_text("Anadolu Agency")
    expect(source.locator(":scope > summary")).to_contain_text("2023-09-25")
    mark = source.locator(".qa-context mark")
    expect(mark).to_be_hidden()
    source.locator(":scope > summary").click()
    expect(mark).to_be_visible()
    expect(mark).to_contain_text("Manda Bay")
    expect(mark).to_be_in_viewport()
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
    source.locator(":scope > summary").click()
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
    first = window.send("Which agreement did Kenya and the US sign in September 2023?")
    expect(first.locator(".qa-source").first).to_be_visible()
    reply = window.send("Who signed it?")
    expect(reply).not_to_contain_text("Searched as")
    expect(reply.locator(".qa-confidence")).to_have_text(re.compile(r"^Likely right: \d+%$"))
    expect(reply.locator(".qa-about")).to_have_count(0)
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
    remove(window, title)
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


PASSWORD = "s3cret pw"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChatServer, Path]]:
    """The chat on all interfaces with credentials from QA_AUTH (a 2 s first wait after too
    many failed sign-ins), and the log of what it printed."""
    root = tmp_path_factory.mktemp("guarded")
    env = {"QA_AUTH": f"ann:{PASSWORD}", "QA_LOGIN_DELAY": "2"}
    with running_chat(root, host="0.0.0.0", env=env) as server:
        yield server, root / "server.log"


def sign_in(url: str, password: str, opener: urllib.request.OpenerDirector | None = None
            ) -> tuple[int, str | None]:
    """POST the sign-in form; the status and the Retry-After header."""
    form = urllib.parse.urlencode({"username": "ann", "password": password}).encode()
    try:
        with (opener or urllib.request.build_opener()).open(url + "login", data=form,
                                                            timeout=10) as reply:
            return reply.status, reply.headers.get("Retry-After")
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Retry-After")


def status_of(url: str, opener: urllib.request.OpenerDirector | None = None) -> int:
    try:
        with (opener or urllib.request.build_opener()).open(url, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_credentials_from_qa_auth_guard_the_chat_on_all_interfaces(
        guarded: tuple[ChatServer, Path]) -> None:
    server, _ = guarded
    assert status_of(server.url + "config") == 401
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    assert sign_in(server.url, "wrong", opener)[0] == 400
    assert sign_in(server.url, PASSWORD, opener)[0] == 200
    assert status_of(server.url + "config", opener) == 200


def test_without_credentials_nothing_but_the_sign_in_page_answers(
        guarded: tuple[ChatServer, Path]) -> None:
    server, _ = guarded
    closed = ["gradio_api/heartbeat/probe", "config", "gradio_api/info", "gradio_api/upload",
              "gradio_api/queue/data?session_hash=probe", "gradio_api/file=/etc/passwd",
              "gradio_api/call/respond", "user", "token", "gradio_api/api-info"]
    assert {path: status_of(server.url + path) for path in closed} == dict.fromkeys(closed, 401)
    with urllib.request.urlopen(server.url, timeout=10) as page:
        assert page.status == 200 and b'"auth_required":true' in page.read().replace(b" ", b"")
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    assert sign_in(server.url, PASSWORD, opener)[0] == 200
    with opener.open(server.url + "gradio_api/heartbeat/probe", timeout=10) as stream:
        assert stream.status == 200


def test_sign_in_attempts_are_limited_per_client_with_a_growing_wait(
        guarded: tuple[ChatServer, Path]) -> None:
    server, log = guarded
    statuses = [sign_in(server.url, "wrong")[0] for _ in range(6)]
    assert statuses == [400] * 5 + [429]
    assert sign_in(server.url, PASSWORD) == (429, "2")
    time.sleep(2.2)
    assert sign_in(server.url, "wrong")[0] == 400
    assert sign_in(server.url, PASSWORD) == (429, "4")
    time.sleep(4.2)
    assert sign_in(server.url, PASSWORD)[0] == 200
    assert sign_in(server.url, "wrong")[0] == 400
    printed = log.read_text(encoding="utf-8")
    assert printed.count("Failed sign-in from 127.0.0.1") >= 7
    assert "Sign-in from 127.0.0.1 refused: too many failed attempts" in printed


def test_qa_chat_says_what_it_loads_and_where_it_is_ready(guarded: tuple[ChatServer, Path]
                                                          ) -> None:
    server, log = guarded
    printed = log.read_text(encoding="utf-8")
    assert "Reading the articles in" in printed
    assert "6 articles in the store (6 added" in printed
    port = urllib.parse.urlparse(server.url).port
    assert f"Ready: http://127.0.0.1:{port}/ (Ctrl-C to stop)" in printed
    assert "share=True" not in printed and "public link" not in printed


def test_a_busy_port_is_one_line_naming_the_port_option(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k != "QA_AUTH"}
        env["QA_STORE_DIR"] = str(tmp_path / "store")
        done = subprocess.run(
            [str(QA), "chat", "--port", str(port), "--corpus", str(make_corpus(tmp_path))],
            env=env, capture_output=True, text=True, timeout=120, start_new_session=True,
        )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: Port {port} on 127.0.0.1 is in use: choose another with --port (or QA_PORT)."]
    assert not (tmp_path / "store").exists()


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
    # a narrow window breaks the shown name before its extension ("marathon .html")
    expect(window.page.locator("#qa-upload")).to_contain_text(re.compile(r"marathon\s*\.html"),
                                                               timeout=20_000)
    window.page.locator("#qa-upload-add").click()
    status = window.page.locator("#qa-articles-status")
    expect(status).to_contain_text(f"Added “{title}” (1 passage)", timeout=ANSWER_TIMEOUT_MS)
    expect(window.page.locator("#qa-articles")).to_contain_text(title)
    uploads = chat_server.corpus.parent / "gradio"  # the server's GRADIO_TEMP_DIR
    assert not list(uploads.rglob("marathon.html")), "Gradio's copy of the upload was kept"
    window.shot(tmp_path / "upload.png")
    remove(window, title)
    expect(status).to_contain_text(f"Removed “{title}”.", timeout=ANSWER_TIMEOUT_MS)
    assert not list((chat_server.corpus / "uploads").glob("nairobi-marathon-*.md"))
    assert window.page.evaluate("typeof window.__pwned") == "undefined"


def phone_or_desktop(browser: Browser, server: ChatServer, width: int) -> tuple[Window, Any]:
    """A new tab on the window at a phone's (390 px) or a desktop's (1280 px) width."""
    height = 844 if width < 600 else 900
    context = browser.new_context(viewport={"width": width, "height": height})
    win = Window(context.new_page(), server)
    win.open()
    return win, context


@browser_test
@pytest.mark.parametrize("width", [1280, 390])
def test_newest_answer_is_in_view_after_sources_were_opened(
        browser: Browser, chat_server: ChatServer, tmp_path: Path, width: int) -> None:
    window, context = phone_or_desktop(browser, chat_server, width)
    try:
        first = window.send("Where in Kenya are U.S. forces hosted?")
        for summary in first.locator(".qa-source > summary").all():
            summary.click()
        for question in ("How much did the US pledge for the Haiti mission?",
                         "When did KDF go to Somalia?"):
            reply = window.send(question)
            expect(reply.locator(".qa-answer")).to_be_in_viewport()
            window.page.wait_for_timeout(300)
            chat, top = (window.page.locator("#qa-chat").bounding_box(),
                         reply.bounding_box())
            assert chat is not None and top is not None
            assert chat["y"] - 1 <= top["y"] < chat["y"] + chat["height"], (chat, top)
        window.shot(tmp_path / f"chat-{width}.png")
        chat = window.page.locator("#qa-chat").bounding_box()
        assert chat is not None and chat["height"] >= window.page.viewport_size["height"] - 320
        taller = window.page.viewport_size["height"] + 300
        window.page.set_viewport_size({"width": width, "height": taller})
        grown = window.page.locator("#qa-chat").bounding_box()
        assert grown is not None and grown["height"] >= chat["height"] + 290, (chat, grown)
        assert window.offsite == []
    finally:
        context.close()


@browser_test
def test_a_citation_marker_opens_its_source_with_the_quote_in_view(window: Window,
                                                                   tmp_path: Path) -> None:
    window.send("Which agreement did Kenya and the US sign in September 2023?")
    reply = window.send("Where in Kenya are U.S. forces hosted?")
    expect(reply.locator(":scope > .qa-short:first-child > strong")).to_have_text("Manda Bay")
    source = source_titled(reply, ANADOLU_TITLE).first
    expect(source).not_to_have_attribute("open", "")
    marker = reply.locator(".qa-answer .qa-cite").first
    expect(marker).to_have_attribute("role", "button")
    marker.click()
    expect(source).to_have_attribute("open", "")
    expect(source.locator(".qa-context mark")).to_be_in_viewport()
    expect(source.locator(":scope > summary")).to_contain_text("Anadolu Agency · 2023-09-25")
    whole = source.locator(".qa-whole")
    whole.locator("summary").click()
    article = whole.locator(".qa-article")
    expect(article).to_contain_text("Kenya and the U.S. on Monday signed a pivotal defense")
    expect(article.locator("mark")).to_contain_text("Manda Bay")
    expect(article.locator("mark")).to_be_in_viewport()
    window.shot(tmp_path / "citation.png")


@browser_test
def test_a_dropped_jsonl_article_links_to_its_page_and_bad_lines_are_named(
        window: Window, tmp_path: Path) -> None:
    dump = tmp_path / "wire.jsonl"
    dump.write_text(
        '{"title": "Mombasa port handles record cargo", "url": "https://example.org/mombasa", '
        '"date": "2024-01-09", "text": "The port of Mombasa handled a record 35.9 million tonnes '
        'of cargo last year, the Kenya Ports Authority said on Tuesday.\\n\\nThe authority '
        'said container traffic rose by 12 percent."}\n'
        "not json at all\n"
        '{"title": "No text here"}\n', encoding="utf-8")
    added = window.send("", files=[dump])
    expect(added).to_contain_text("Added “Mombasa port handles record cargo”")
    expect(added).to_contain_text("Skipped wire.jsonl#2:")
    expect(added).to_contain_text("Skipped wire.jsonl#3: no 'text'")
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{oops\n[1, 2]\n", encoding="utf-8")
    refused = window.send("", files=[broken])
    expect(refused).to_have_class("qa-reply qa-notice")
    expect(refused).to_contain_text("Could not add broken.jsonl: no article lines")
    expect(refused).to_contain_text("Skipped broken.jsonl#1: Expecting property name")
    expect(refused).to_contain_text("Skipped broken.jsonl#2: not a JSON object")
    reply = window.send("How many tonnes of cargo did the port of Mombasa handle?")
    reply.locator(".qa-answer .qa-cite").first.click()
    link = source_titled(reply, "Mombasa port").locator("a.qa-url")
    expect(link).to_have_attribute("href", "https://example.org/mombasa")
    expect(link).to_have_attribute("target", "_blank")


@browser_test
def test_a_follow_up_says_plainly_what_it_is_about(window: Window, tmp_path: Path) -> None:
    window.send("Which agreement did Kenya and the US sign in September 2023?")
    reply = window.send("And when was that agreement signed?")
    expect(reply.locator(".qa-about")).to_have_text(re.compile(r"^About: the .*Agreement",
                                                               re.IGNORECASE))
    expect(reply).not_to_contain_text("Searched as")
    expect(reply.locator(".qa-answer")).to_contain_text("2023")
    window.shot(tmp_path / "about.png")


@browser_test
def test_articles_are_cards_that_fit_a_phone_and_open_to_read(
        browser: Browser, chat_server: ChatServer, tmp_path: Path) -> None:
    window, context = phone_or_desktop(browser, chat_server, 390)
    try:
        window.tab("Articles")
        cards = window.page.locator("#qa-articles .qa-card")
        expect(cards.first).to_be_visible()
        assert cards.count() >= 6
        widths = window.page.evaluate(
            "() => [document.documentElement.scrollWidth, "
            "document.querySelector('#qa-articles').scrollWidth, "
            "document.querySelector('#qa-articles').clientWidth]")
        assert widths[0] <= 390 and widths[1] <= widths[2], widths
        date = cards.filter(has_text=ANADOLU_TITLE).locator(".qa-card-date")
        expect(date).to_have_text("2023-09-25")
        box = date.bounding_box()
        assert box is not None and box["height"] < 30, box
        font = window.page.evaluate(
            "() => getComputedStyle(document.querySelector('#qa-articles .qa-card')).fontFamily")
        assert "mono" not in font.lower()
        choose(window, ANADOLU_TITLE)
        window.page.locator("#qa-read").click()
        viewer = window.page.locator("#qa-article-view")
        expect(viewer.locator("h3")).to_have_text(ANADOLU_TITLE)
        expect(viewer).to_contain_text("hosting U.S. forces at Manda Bay")
        window.shot(tmp_path / "articles-390.png")
    finally:
        context.close()


@browser_test
def test_adding_an_article_shows_progress_in_the_status_alone(window: Window) -> None:
    window.tab("Articles")
    window.page.evaluate("""() => {
        window.__spinners = new Set();
        new MutationObserver(() => {
            for (const el of document.querySelectorAll('.eta-bar, .progress-text, .generating')) {
                if (!el.checkVisibility()) continue;
                const owner = el.closest('[id^="qa-"]');
                window.__spinners.add(owner ? owner.id : el.className);
            }
        }).observe(document.body, {childList: true, subtree: true, attributes: true});
    }""")
    title = "Kisumu ferry service resumes"
    window.page.locator("#qa-paste-title textarea, #qa-paste-title input").fill(title)
    window.page.locator("#qa-paste-text textarea").fill(
        "\n\n".join(f"The Kisumu ferry made crossing number {i} on Lake Victoria on Monday, "
                    "the Kenya Ports Authority said." for i in range(40)))
    window.page.locator("#qa-paste-add").click()
    status = window.page.locator("#qa-articles-status")
    expect(status).to_contain_text(f"Added “{title}”", timeout=ANSWER_TIMEOUT_MS)
    expect(window.page.locator("#qa-articles")).to_contain_text(title)
    shown = set(window.page.evaluate("() => [...window.__spinners]"))
    assert shown <= {"qa-articles-status"}, shown


@browser_test
def test_removing_asks_first_and_can_be_undone(window: Window, chat_server: ChatServer) -> None:
    title = "Eldoret athletics camp opens"
    window.tab("Articles")
    window.page.locator("#qa-paste-title textarea, #qa-paste-title input").fill(title)
    window.page.locator("#qa-paste-text textarea").fill(
        "A new high-altitude athletics camp opened in Eldoret with 120 beds for runners.")
    window.page.locator("#qa-paste-add").click()
    status = window.page.locator("#qa-articles-status")
    listing = window.page.locator("#qa-articles")
    expect(status).to_contain_text(f"Added “{title}”", timeout=ANSWER_TIMEOUT_MS)
    [saved] = (chat_server.corpus / "uploads").glob("eldoret-athletics-*.md")
    content = saved.read_bytes()

    choose(window, title)
    window.page.locator("#qa-remove").click()
    confirm = window.page.locator("#qa-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text(f"Remove “{title}” from the store?")
    window.page.locator("#qa-remove-cancel").click()
    expect(confirm).to_be_hidden()
    expect(listing).to_contain_text(title)
    assert saved.exists()

    window.page.locator("#qa-remove").click()
    window.page.locator("#qa-remove-yes").click()
    expect(status).to_contain_text(f"Removed “{title}”.", timeout=ANSWER_TIMEOUT_MS)
    expect(listing).not_to_contain_text(title)
    assert not saved.exists()

    window.page.locator("#qa-undo").click()
    expect(status).to_contain_text(f"Put back “{title}”.", timeout=ANSWER_TIMEOUT_MS)
    expect(listing).to_contain_text(title)
    assert saved.read_bytes() == content
    expect(window.page.locator("#qa-undo")).to_be_hidden()
    window.tab("Chat")
    reply = window.send("How many beds does the Eldoret athletics camp have?")
    expect(source_titled(reply, title)).to_be_visible()


def test_corpus_articles_removed_in_the_window_are_named_when_an_ingest_brings_them_back(
        tmp_path: Path) -> None:
    from qa.ui import REMOVED_FILE, brought_back, forget_removed, note_removed

    for source in ("a.md", "b.md", "c.md"):
        note_removed(tmp_path, source)
    forget_removed(tmp_path, ["c.md"])
    assert brought_back(tmp_path, ["a.md", "new.md", "c.md"]) == ["a.md"]
    assert brought_back(tmp_path, ["a.md", "b.md"]) == ["b.md"]
    assert not (tmp_path / REMOVED_FILE).exists()
