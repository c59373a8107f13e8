"""Chroma server mode end to end: a real `chroma run` on 127.0.0.1, started and stopped here."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qa.errors import StoreError
from qa.pipeline import Engine
from qa.servers import chroma_process, chroma_server, free_port, stop_process_group
from qa.settings import Settings
from qa.types import Article

pytestmark = pytest.mark.server

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def make_settings(**values: Any) -> Settings:
    return Settings(**values)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A Chroma server over a temp folder and a copy of the bundled corpus; always stopped."""
    root = tmp_path_factory.mktemp("server")
    corpus = root / "corpus"
    corpus.mkdir()
    for path in sorted((PROJECT_ROOT / "corpus").glob("*.md")):
        shutil.copy(path, corpus / path.name)
    with chroma_server(root / "chroma") as url:
        yield url, corpus


def test_ingest_and_ask_through_a_chroma_server(server: tuple[str, Path]) -> None:
    url, corpus = server
    settings = make_settings(
        corpus_dir=corpus,
        chroma_url=url,
        collection="server-test",
        store_dir=corpus.parent / "local",  # where this client saves its derived indexes
    )
    engine = Engine(settings)
    first = engine.ingest(progress=False)
    assert first.embedded > 0 and len(first.added) == len(list(corpus.glob("*.md")))

    answer = engine.ask("Where in Kenya are U.S. forces hosted?")
    assert not answer.refused
    assert "Manda Bay" in answer.text
    assert any("anadolu" in c.source for c in answer.citations)

    again = Engine(settings).ingest(progress=False)
    assert again.embedded == 0 and not again.changed


def test_a_server_that_is_down_names_its_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreError, match=url.replace(".", r"\.")):
        Engine(make_settings(chroma_url=url))


class StopServerAfterFirstCommit(logging.Handler):
    """Stops the Chroma server as soon as an ingest has committed its first step."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        super().__init__()
        self.process = process

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Committed") and self.process.poll() is None:
            stop_process_group(self.process)


def test_a_server_lost_mid_ingest_is_named_and_a_rerun_resumes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in sorted((PROJECT_ROOT / "corpus").glob("*.md")):
        shutil.copy(path, corpus / path.name)
    values = {"corpus_dir": corpus, "store_dir": tmp_path / "local", "ingest_batch_chars": 4000}
    store_log = logging.getLogger("qa.store")
    with chroma_process(tmp_path / "chroma") as (url, process):
        handler = StopServerAfterFirstCommit(process)
        store_log.addHandler(handler)
        store_log.setLevel(logging.INFO)
        try:
            with pytest.raises(StoreError) as lost:
                Engine(make_settings(chroma_url=url, **values)).ingest(progress=False)
        finally:
            store_log.removeHandler(handler)
            store_log.setLevel(logging.NOTSET)
    message = str(lost.value)
    assert f"Lost the Chroma server at {url}" in message and "resumes" in message
    with chroma_server(tmp_path / "chroma") as again:
        settings = make_settings(chroma_url=again, **values)
        committed = len(Engine(settings).store.records())
        report = Engine(settings).ingest(progress=False)
        assert 0 < committed < 5 and len(report.added) == 5 - committed
        assert len(Engine(settings).store.records()) == 5


MARATHON = "The Nairobi marathon was won by Faith Kipyegon in two hours and eighteen minutes.\n"


def answered_within(engine: Engine, question: str, wanted: bool, seconds: float) -> float:
    """Seconds until the answer to `question` cites the marathon article (or no longer does)."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        cited = any(c.source == "marathon.md" for c in engine.ask(question).citations)
        if cited == wanted:
            return time.monotonic() - began
        time.sleep(0.2)
    raise AssertionError(f"not {'answered' if wanted else 'forgotten'} within {seconds} s")


def test_two_replicas_on_one_server_see_each_others_changes_without_a_restart(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    url, corpus = server
    shared = {"corpus_dir": corpus, "chroma_url": url, "collection": "replicas", "store_check_s": 1}
    first = Engine(make_settings(store_dir=tmp_path / "first", **shared))
    second = Engine(make_settings(store_dir=tmp_path / "second", **shared))
    first.ingest(progress=False)
    second.load()
    question = "Who won the Nairobi marathon?"
    assert not any(c.source == "marathon.md" for c in second.ask(question).citations)
    added = Article(source="marathon.md", title="Nairobi marathon", text=MARATHON)
    first.add_articles([added])
    assert answered_within(second, question, wanted=True, seconds=10) < 5
    first.remove_articles(["marathon.md"])
    assert answered_within(second, question, wanted=False, seconds=10) < 5


def test_an_article_added_in_the_window_while_the_server_is_down_is_not_left_half_added(
    tmp_path: Path,
) -> None:
    from qa.ui import add_pasted

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(PROJECT_ROOT / "corpus" / "duale-heapey-kenya-uk-security-talks.md", corpus)
    values = {"corpus_dir": corpus, "store_dir": tmp_path / "local"}
    with chroma_process(tmp_path / "chroma") as (url, process):
        engine = Engine(make_settings(chroma_url=url, **values))
        engine.ingest(progress=False)
        stop_process_group(process)
        outcome = add_pasted(engine, "Marathon", MARATHON)
    assert not outcome.ok and "Could not add the article" in outcome.message
    assert not list(corpus.rglob("*marathon*"))
