"""Twenty chats at once through `gradio_client`, each its own session with a follow-up.

Each chat asks a question and then a follow-up that leans on it: the follow-up's answer (about
its own chat's topic, never the other's) shows that every session keeps its own conversation,
and each answer must cite the right article. The window never shows how a follow-up was
searched.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from conftest import ChatServer
from gradio_client import Client

CHATS = 20


@dataclass(frozen=True)
class Script:
    question: str
    expected: str
    follow_up: str
    follow_up_expected: str


SCRIPTS = [
    Script("Where in Kenya are U.S. forces hosted?", "Manda Bay",
           "Who hosts them?", "Manda Bay"),
    Script("How much did the US pledge for the Haiti mission?", "$100 million",
           "Who pledged it?", "$100 million"),
]


def reply_text(history: list[dict[str, Any]]) -> str:
    """The text of the last assistant message of a chatbot value (gradio_client's format)."""
    content = history[-1]["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return str(content)


def chat(url: str, script: Script) -> tuple[str, str]:
    client = Client(url, verbose=False)
    try:
        no_time = ("", "", "")
        _, first = client.predict({"text": script.question, "files": []}, [], *no_time,
                                  api_name="/respond")
        _, second = client.predict({"text": script.follow_up, "files": []}, [], *no_time,
                                   api_name="/respond")
    finally:
        client.close()
    return reply_text(first), reply_text(second)


def test_twenty_concurrent_chats_are_all_answered_correctly(chat_server: ChatServer) -> None:
    scripts = [SCRIPTS[i % len(SCRIPTS)] for i in range(CHATS)]
    with ThreadPoolExecutor(max_workers=CHATS) as pool:
        replies = list(pool.map(lambda s: chat(chat_server.url, s), scripts))
    for script, (first, second) in zip(scripts, replies, strict=True):
        assert script.expected in first, (script.question, first[:500])
        assert "[1]" in first and 'class="qa-source qa-n-1"' in first
        assert script.follow_up_expected in second, (script.follow_up, second[:800])
        assert "Searched as" not in second
        assert 'class="qa-source qa-n-1"' in second
