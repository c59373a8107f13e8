"""The store follows the corpus by content hash, with a real embedded Chroma in a temp folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from qa.errors import CorpusError
from qa.pipeline import Engine
from qa.settings import PROJECT_ROOT, Settings
from qa.store import compact

QA = Path(sys.executable).parent / "qa"


def copy_seed(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted((PROJECT_ROOT / "corpus").glob("*.md")):
        shutil.copy(path, folder / path.name)
    return folder


def stored_chunk_ids(engine: Engine) -> set[str]:
    return set(engine.store.chunks.get(include=[])["ids"])


def assert_consistent(engine: Engine) -> None:
    """Every committed article has exactly its chunks, and no other chunk is stored."""
    records = engine.store.records()
    expected = {f"{r.key}:{i}" for r in records.values() for i in range(r.n_chunks)}
    assert stored_chunk_ids(engine) == expected


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(corpus_dir=copy_seed(tmp_path / "corpus"), store_dir=tmp_path / "store")


def test_reingesting_an_unchanged_corpus_embeds_and_writes_nothing(settings: Settings) -> None:
    first = Engine(settings).ingest(progress=False)
    assert len(first.added) == 5 and first.embedded > 0
    engine = Engine(settings)
    before = stored_chunk_ids(engine)
    again = engine.ingest(progress=False)
    assert again.embedded == 0 and not again.changed and again.unchanged == 5
    assert stored_chunk_ids(engine) == before
    assert_consistent(engine)


def test_an_edited_article_has_its_chunks_replaced(settings: Settings) -> None:
    engine = Engine(settings)
    engine.ingest(progress=False)
    path = settings.corpus_dir / "duale-heapey-kenya-uk-security-talks.md"
    old_key = engine.store.records()[path.name].key
    path.write_text(
        path.read_text(encoding="utf-8")
        + "\nThe ministers agreed to meet again in Mombasa in May.\n",
        encoding="utf-8",
    )
    report = engine.ingest(progress=False)
    assert report.updated == [path.name] and not report.added and not report.removed
    assert engine.store.records()[path.name].key != old_key
    assert not any(cid.startswith(old_key) for cid in stored_chunk_ids(engine))
    assert_consistent(engine)
    answer = engine.ask("Where will the ministers meet again in May?")
    assert "Mombasa" in answer.text and answer.citations[0].source == path.name


def test_a_removed_article_has_its_chunks_deleted(settings: Settings) -> None:
    engine = Engine(settings)
    engine.ingest(progress=False)
    gone = "anadolu-us-kenya-sign-defense-cooperation-pact.md"
    key = engine.store.records()[gone].key
    (settings.corpus_dir / gone).unlink()
    report = engine.ingest(progress=False)
    assert report.removed == [gone] and report.embedded == 0
    assert gone not in engine.store.records()
    assert not any(cid.startswith(key) for cid in stored_chunk_ids(engine))
    answer = engine.ask("Where in Kenya are U.S. forces hosted?")
    assert all(c.source != gone for c in answer.citations)


def test_a_bad_file_is_skipped_and_the_rest_ingested(settings: Settings) -> None:
    (settings.corpus_dir / "scan.txt").write_bytes(b"\xff\xfe\x00\x01binary")
    report = Engine(settings).ingest(progress=False)
    assert len(report.added) == 5
    assert [name for name, _ in report.skipped] == ["scan.txt"]


def test_a_corpus_with_no_readable_article_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "empty.txt").write_text("")
    settings = Settings(corpus_dir=tmp_path / "corpus", store_dir=tmp_path / "store")
    with pytest.raises(CorpusError, match="No readable articles"):
        Engine(settings).ingest(progress=False)


def test_a_killed_ingest_leaves_a_store_that_answers_and_the_next_ingest_completes(
    tmp_path: Path,
) -> None:
    corpus = copy_seed(tmp_path / "corpus")
    filler = (
        (PROJECT_ROOT / "corpus" / "kenya-us-defence-framework-haiti-support.md")
        .read_text(encoding="utf-8")
        .split("---\n", 2)[2]
    )
    for n in range(24):
        (corpus / f"wire-{n:02d}.md").write_text(
            f"---\ntitle: Wire story {n}\n---\nWire story number {n}.\n{filler}", encoding="utf-8"
        )
    store = tmp_path / "store"
    env = {**os.environ, "QA_STORE_DIR": str(store), "QA_INGEST_BATCH_CHARS": "8000"}
    process = subprocess.Popen(
        [str(QA), "ingest", "--corpus", str(corpus), "-v"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "Committed" in line:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    settings = Settings(corpus_dir=corpus, store_dir=store, ingest_batch_chars=8000)
    interrupted = Engine(settings)
    committed = interrupted.store.records()
    assert 0 < len(committed) < 29
    interrupted.load()
    answer = interrupted.ask("What will the US support for the Haiti mission include?")
    assert answer.citations and all(c.source in committed for c in answer.citations)

    report = Engine(settings).ingest(progress=False)
    total_chunks = sum(r.n_chunks for r in Engine(settings).store.records().values())
    assert len(report.added) == 29 - len(committed)
    assert report.embedded < total_chunks
    finished = Engine(settings)
    assert len(finished.store.records()) == 29
    assert_consistent(finished)
    assert Engine(settings).ingest(progress=False).embedded == 0


def saved_index_folders(settings: Settings) -> list[Path]:
    return sorted(p for p in (settings.store_dir / "derived").iterdir() if p.is_dir())


def test_a_new_process_loads_the_saved_indexes_and_answers_the_same(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "Where in Kenya are U.S. forces hosted?"
    first = Engine(settings)
    first.ingest(progress=False)
    expected = first.ask(question)
    assert len(saved_index_folders(settings)) == 1

    def no_reading_back(*_: object) -> None:
        raise AssertionError("read every chunk back although the saved indexes were current")

    monkeypatch.setattr("qa.store.Store.committed_chunks", no_reading_back)
    second = Engine(settings)
    second.ingest(progress=False)
    assert second.ask(question) == expected


def test_the_saved_indexes_follow_an_edit_and_old_copies_are_deleted(settings: Settings) -> None:
    engine = Engine(settings)
    engine.ingest(progress=False)
    before = saved_index_folders(settings)
    (settings.corpus_dir / "new-article.md").write_text(
        "---\ntitle: Nairobi marathon\n---\nThe Nairobi marathon was won by Faith Kipyegon.\n",
        encoding="utf-8",
    )
    engine.ingest(progress=False)
    after = saved_index_folders(settings)
    assert len(after) == 1 and after != before
    fresh = Engine(settings)
    fresh.ingest(progress=False)
    answer = fresh.ask("Who won the Nairobi marathon?")
    assert "Faith Kipyegon" in answer.text
    assert answer.citations[0].source == "new-article.md"


def test_a_killed_saves_temporary_folder_is_deleted_by_a_later_save_once_abandoned(
    settings: Settings,
) -> None:
    engine = Engine(settings)
    engine.ingest(progress=False)
    (saved,) = saved_index_folders(settings)
    abandoned = saved.with_name(f".{saved.name}-killed")
    in_progress = saved.with_name(f".{saved.name}-writing")
    for unfinished in (abandoned, in_progress):
        shutil.copytree(saved, unfinished)
    two_hours_ago = saved.stat().st_mtime - 7200
    os.utime(abandoned, (two_hours_ago, two_hours_ago))
    (settings.corpus_dir / "new-article.md").write_text(
        "---\ntitle: Nairobi marathon\n---\nThe Nairobi marathon was won by Faith Kipyegon.\n",
        encoding="utf-8",
    )
    engine.ingest(progress=False)
    left = {p.name for p in (settings.store_dir / "derived").iterdir()}
    assert abandoned.name not in left
    assert in_progress.name in left


def test_damaged_saved_indexes_are_rebuilt_not_trusted(settings: Settings) -> None:
    Engine(settings).ingest(progress=False)
    (folder,) = saved_index_folders(settings)
    (folder / "chunks.jsonl").write_text("[not json\n", encoding="utf-8")
    engine = Engine(settings)
    engine.ingest(progress=False)
    answer = engine.ask("Where in Kenya are U.S. forces hosted?")
    assert "Manda Bay" in answer.text
    rebuilt = (saved_index_folders(settings)[0] / "chunks.jsonl").read_text(encoding="utf-8")
    assert all(json.loads(line) for line in rebuilt.splitlines())


def test_two_concurrent_ingests_into_one_store_embed_each_passage_once(tmp_path: Path) -> None:
    corpus = copy_seed(tmp_path / "corpus")
    filler = (PROJECT_ROOT / "corpus" / "kenya-us-defence-framework-haiti-support.md").read_text(
        encoding="utf-8"
    ).split("---\n", 2)[2]
    for n in range(10):
        (corpus / f"wire-{n:02d}.md").write_text(
            f"---\ntitle: Wire story {n}\n---\nWire story number {n}.\n{filler}", encoding="utf-8"
        )
    store = tmp_path / "store"
    env = {**os.environ, "QA_STORE_DIR": str(store)}
    command = [str(QA), "ingest", "--corpus", str(corpus)]
    pipe = subprocess.PIPE
    runs = [subprocess.Popen(command, env=env, stdout=pipe, stderr=pipe, text=True) for _ in "ab"]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    embedded = sorted(int(re.findall(r"(\d+) passages embedded", out)[0]) for out, _ in outputs)
    settings = Settings(corpus_dir=corpus, store_dir=store)
    total = sum(r.n_chunks for r in Engine(settings).store.records().values())
    assert embedded == [0, total]


def test_compact_reclaims_the_space_of_removed_articles_and_keeps_the_rest(
    settings: Settings,
) -> None:
    filler = " ".join(f"Wire story sentence {n} on the county budget." for n in range(150))
    for n in range(6):
        (settings.corpus_dir / f"wire-{n:02d}.md").write_text(
            f"---\ntitle: Wire {n}\n---\n{filler}\n", encoding="utf-8"
        )
    Engine(settings).ingest(progress=False)
    for n in range(6):
        (settings.corpus_dir / f"wire-{n:02d}.md").unlink()
    engine = Engine(settings)
    assert len(engine.ingest(progress=False).removed) == 6
    kept, chunks = engine.store.records(), stored_chunk_ids(engine)
    expected = engine.ask("Where in Kenya are U.S. forces hosted?")
    del engine
    done = compact(settings)
    assert done.after < done.before * 0.6 and done.articles == 5 and done.chunks == len(chunks)
    after = Engine(settings)
    assert after.store.records() == kept and stored_chunk_ids(after) == chunks
    assert after.ingest(progress=False).embedded == 0
    assert after.ask("Where in Kenya are U.S. forces hosted?").text == expected.text
