"""The `qa` command as a person uses it: real processes, exit codes, messages without tracebacks."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa.settings import PROJECT_ROOT

QA = Path(sys.executable).parent / "qa"
QUESTION = "Where in Kenya are U.S. forces hosted?"


def run(
    *args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, str(QA), *args], capture_output=True, text=True, timeout=300, env=env
    )


@pytest.fixture(scope="module")
def corpus_and_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(PROJECT_ROOT / "corpus", root / "corpus")
    result = run("ingest", "--corpus", str(root / "corpus"), "--store", str(root / "store"))
    assert result.returncode == 0, result.stderr
    assert "5 added" in result.stdout
    return root / "corpus", root / "store"


def where(paths: tuple[Path, Path]) -> list[str]:
    return ["--corpus", str(paths[0]), "--store", str(paths[1])]


def test_help_explains_every_command() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("ingest", "ask", "eval", "chat"):
        assert command in result.stdout
    assert "--json" in run("ask", "--help").stdout


def test_ask_prints_the_answer_then_numbered_sources(corpus_and_store: tuple[Path, Path]) -> None:
    result = run("ask", QUESTION, *where(corpus_and_store))
    assert result.returncode == 0, result.stderr
    answer, sources = result.stdout.split("\nSources:\n")
    assert "Manda Bay" in answer and "[1]" in answer
    assert re.search(r"\(Likely right: \d+%\)", answer)
    assert sources.startswith("[1] U.S. defense secretary, Kenyan counterpart sign defense")
    assert "“Austin also expressed his gratitude to Kenya for hosting U.S. forces" in sources


def test_ask_json_is_machine_readable(corpus_and_store: tuple[Path, Path]) -> None:
    result = run("ask", QUESTION, "--json", *where(corpus_and_store))
    data = json.loads(result.stdout)
    assert data["refused"] is False
    citation = data["citations"][0]
    assert {"n", "title", "source", "quote", "start", "end"} <= citation.keys()


def test_reingest_reports_nothing_embedded(corpus_and_store: tuple[Path, Path]) -> None:
    result = run("ingest", *where(corpus_and_store))
    assert "5 unchanged; 0 passages embedded" in result.stdout


@pytest.mark.parametrize(("question", "message"), [("   ", "empty"), ("x" * 5000, "limit")])
def test_a_bad_question_exits_2_with_a_message_and_no_traceback(
    corpus_and_store: tuple[Path, Path], question: str, message: str
) -> None:
    result = run("ask", question, *where(corpus_and_store))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_missing_corpus_folder_is_named(tmp_path: Path) -> None:
    result = run("ingest", "--corpus", str(tmp_path / "nowhere"), "--store", str(tmp_path / "s"))
    assert result.returncode == 2
    assert str(tmp_path / "nowhere") in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_chroma_server_is_named(corpus_and_store: tuple[Path, Path]) -> None:
    result = run(
        "ask", QUESTION, "--corpus", str(corpus_and_store[0]), "--chroma-url", "http://127.0.0.1:9"
    )
    assert result.returncode == 2
    assert "http://127.0.0.1:9" in result.stderr and "Traceback" not in result.stderr


def test_ask_works_with_the_network_unplugged(corpus_and_store: tuple[Path, Path]) -> None:
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare -n is not permitted here")
    result = run("ask", QUESTION, *where(corpus_and_store), prefix=("unshare", "-n"))
    assert result.returncode == 0, result.stderr
    assert "Manda Bay" in result.stdout and "Anadolu Agency" in result.stdout


def test_ask_json_passages_are_trimmed_to_what_a_script_uses(
    corpus_and_store: tuple[Path, Path],
) -> None:
    result = run("ask", QUESTION, "--json", *where(corpus_and_store))
    data = json.loads(result.stdout)
    assert "short" in data
    assert data["passages"]
    for passage in data["passages"]:
        assert set(passage) == {"source", "title", "date", "score", "cites", "start", "end",
                                "excerpt"}
        assert 0.0 <= passage["score"] <= 1.0
        quotes = [c["quote"] for c in data["citations"] if c["n"] in passage["cites"]]
        assert len(passage["excerpt"]) <= 2 * 240 + max(map(len, quotes), default=0)
        text = (corpus_and_store[0] / passage["source"]).read_text(encoding="utf-8")
        assert passage["excerpt"] in text
    cited = [p for p in data["passages"] if 1 in p["cites"]]
    assert cited and data["citations"][0]["quote"] in cited[0]["excerpt"]


def test_a_skipped_file_is_warned_about_once_not_again_by_later_commands(tmp_path: Path) -> None:
    shutil.copytree(PROJECT_ROOT / "corpus", tmp_path / "corpus")
    (tmp_path / "corpus" / "notes.pdf").write_bytes(b"%PDF-1.4 not an article")
    paths = (tmp_path / "corpus", tmp_path / "store")
    ingest = run("ingest", *where(paths))
    assert ingest.returncode == 0, ingest.stderr
    assert ingest.stderr.count("notes.pdf") == 1, ingest.stderr
    assert "1 skipped (named above)" in ingest.stdout
    for _ in range(2):
        asked = run("ask", QUESTION, *where(paths))
        assert asked.returncode == 0, asked.stderr
        assert "notes.pdf" not in asked.stderr, asked.stderr


def test_ingest_without_a_terminal_logs_its_progress(tmp_path: Path) -> None:
    shutil.copytree(PROJECT_ROOT / "corpus", tmp_path / "corpus")
    result = run("ingest", "--corpus", str(tmp_path / "corpus"), "--store", str(tmp_path / "s"))
    assert result.returncode == 0, result.stderr
    assert "Committed 5 of 5 articles" in result.stderr


def test_a_missing_corpus_leaves_no_store_folder_behind(tmp_path: Path) -> None:
    from qa.settings import Settings

    missing = tmp_path / "nowhere"
    store = Settings(corpus_dir=missing).store_dir
    result = run("ask", QUESTION, "--corpus", str(missing))
    assert result.returncode == 2 and str(missing) in result.stderr
    assert not store.exists()


def test_the_api_expands_home_and_creates_nothing_for_a_missing_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa import ask
    from qa.errors import CorpusError
    from qa.settings import Settings

    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copytree(PROJECT_ROOT / "corpus", tmp_path / "articles")
    answer = ask(QUESTION, corpus="~/articles", store="~/store")
    assert "Manda Bay" in answer.text
    assert (tmp_path / "store").is_dir()
    store = Settings(corpus_dir="~/gone").store_dir
    with pytest.raises(CorpusError, match=str(tmp_path / "gone")):
        ask(QUESTION, corpus="~/gone")
    assert not store.exists()


def test_compact_reclaims_a_removed_article_and_the_store_still_answers(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(PROJECT_ROOT / "corpus", corpus)
    paths = ["--corpus", str(corpus), "--store", str(tmp_path / "store")]
    assert run("ingest", *paths).returncode == 0
    (corpus / "kibochi-milley-pentagon-counter-terrorism.md").unlink()
    assert "1 removed" in run("ingest", *paths).stdout
    result = run("compact", *paths)
    assert result.returncode == 0, result.stderr
    assert "4 articles" in result.stdout and "MB to" in result.stdout
    answer = run("ask", *paths, QUESTION)
    assert "Manda Bay" in answer.stdout
