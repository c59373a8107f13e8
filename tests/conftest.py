"""Shared fixture of the chat-window tests: one real `qa chat` server over a temporary corpus.

The server runs in its own process group and is stopped (group and all) when the session ends,
also after a failure. It starts once for the browser and the concurrency tests: startup (Gradio's
import and the first ingest) is most of their time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa.servers import free_port, stop_process_group, wait_for_http

PROJECT_ROOT = Path(__file__).resolve().parent.parent
QA = Path(sys.executable).parent / "qa"
START_TIMEOUT_S = 180.0

INJECTION_TITLE = 'Zanzibar <b>clove</b> exports <img src=x onerror="window.__pwned=1">'
INJECTION_ARTICLE = f"""---
title: '{INJECTION_TITLE}'
publisher: Island <i>Times</i>
date: 2024-03-02
---
Zanzibar clove exports rose sharply this season, the trade ministry said on Friday.

Zanzibar exported 8,200 tonnes of cloves in 2023 <script>window.__pwned=1</script> according to \
the Zanzibar State Trading Corporation.

Farmers in Pemba said a late rain <img src=x onerror="window.__pwned=1"> delayed the harvest by \
two weeks.
"""
"""An article whose title and text hold HTML and script that must show as text, never run."""


@dataclass(frozen=True)
class ChatServer:
    url: str
    corpus: Path


def make_corpus(root: Path) -> Path:
    """Copies of corpus/*.md plus the script-injection article, in `root/corpus`."""
    corpus = root / "corpus"
    corpus.mkdir()
    for path in sorted((PROJECT_ROOT / "corpus").glob("*.md")):
        shutil.copy(path, corpus / path.name)
    (corpus / "zanzibar-cloves.md").write_text(INJECTION_ARTICLE, encoding="utf-8")
    return corpus


@contextmanager
def running_chat(root: Path, *args: str, env: dict[str, str] | None = None,
                 host: str = "127.0.0.1") -> Iterator[ChatServer]:
    """`qa chat` on a free port over a fresh corpus and store in `root`, stopped on exit."""
    corpus = make_corpus(root)
    clean = {k: v for k, v in os.environ.items() if k not in {"QA_AUTH", "QA_HOST", "QA_PORT"}}
    clean |= {"QA_STORE_DIR": str(root / "store"), "GRADIO_TEMP_DIR": str(root / "gradio")}
    port = free_port()
    log = root / "server.log"
    command = [str(QA), "chat", "--host", host, "--port", str(port), "--corpus", str(corpus)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, *args], env=clean | (env or {}), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for_http(url, process, log, START_TIMEOUT_S)
        yield ChatServer(url=url, corpus=corpus)
    finally:
        stop_process_group(process)


@pytest.fixture(scope="session")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    """The chat window on 127.0.0.1, shared by the browser and concurrency tests."""
    with running_chat(tmp_path_factory.mktemp("chat")) as server:
        yield server
