"""Fuzzing, bounded in time: any Unicode question gets an answer or a clear QuestionError, and any
bytes in a corpus file give articles or a skip with its reason, never a crash."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.corpus import load_corpus
from qa.errors import QuestionError
from qa.pipeline import Engine
from qa.settings import PROJECT_ROOT, Settings

BOUNDED = settings(max_examples=60, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(PROJECT_ROOT / "corpus", root / "corpus")
    engine = Engine(Settings(corpus_dir=root / "corpus", store_dir=root / "store"))
    engine.ingest(progress=False)
    yield engine


@BOUNDED
@given(st.text(alphabet=st.characters(codec=None), max_size=200))
def test_any_unicode_question_is_answered_or_refused_with_a_reason(engine: Engine,
                                                                   question: str) -> None:
    try:
        answer = engine.ask(question)
    except QuestionError as err:
        assert str(err)
        return
    texts = {c.source: engine.article_text(c.source) for c in answer.citations}
    for citation in answer.citations:
        assert texts[citation.source][citation.start : citation.end] == citation.quote


def test_lone_surrogates_and_undecodable_bytes_in_a_question_do_not_crash(engine: Engine) -> None:
    for question in ("Where are U.S. forces \udcff hosted?", "Who signed\ud800 the framework?",
                     b"Where are forces hosted \xff?".decode("utf-8", "surrogateescape")):
        answer = engine.ask(question)
        assert answer.text


@BOUNDED
@given(st.binary(max_size=3000), st.sampled_from([".md", ".txt", ".html", ".jsonl"]))
def test_any_bytes_in_a_corpus_file_give_articles_or_a_named_skip(tmp_path: Path, data: bytes,
                                                                   suffix: str) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / f"file{suffix}").write_bytes(data)
    loaded = load_corpus(folder)
    assert loaded.articles or loaded.skipped
    for source, reason in loaded.skipped:
        assert source and reason
