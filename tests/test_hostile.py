"""Hostile inputs (issue 14): files, lines, names and stores that must skip one thing, never stop,
stall, empty or mislead the rest. Real files, a real embedded Chroma, no mocks."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import random
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.chunking import article_key, chunk_article
from qa.corpus import SkippedFile, load_corpus, read_file
from qa.errors import StoreError
from qa.pipeline import Engine
from qa.settings import PROJECT_ROOT, Settings
from qa.types import Article

GOOD = "---\ntitle: Port reopens\n---\nThe port of Mombasa reopened on Tuesday.\n"


def alias_bomb() -> str:
    """The issue's 425-byte front matter: nine levels of nine aliases, a 312 MB title."""
    levels = ["a0: &a0 [" + ",".join(['"lol"'] * 9) + "]"]
    levels += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 8)]
    return "---\n" + "\n".join(levels) + "\ntitle: *a7\n---\nBody about vanilla.\n"


def corpus_with(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good.md").write_text(GOOD, encoding="utf-8")
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def test_a_yaml_alias_bomb_in_front_matter_is_skipped_by_name_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = corpus_with(tmp_path, {"bomb.md": alias_bomb()})
    began = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus)
    assert time.perf_counter() - began < 1.0
    assert [a.source for a in loaded.articles] == ["good.md"]
    reasons = dict(loaded.skipped)
    assert "alias" in reasons["bomb.md"]
    assert "bomb.md" in caplog.text


def test_front_matter_over_its_limit_is_skipped_with_the_limit_named(tmp_path: Path) -> None:
    huge = "---\ntitle: " + "x" * 20_000 + "\n---\nBody.\n"
    loaded = load_corpus(corpus_with(tmp_path, {"huge.md": huge}))
    assert [a.source for a in loaded.articles] == ["good.md"]
    assert "16,384-byte limit" in dict(loaded.skipped)["huge.md"]


def test_deeply_nested_front_matter_is_skipped_not_a_crash(tmp_path: Path) -> None:
    nested = "---\ntitle: " + "[" * 5000 + "]" * 5000 + "\n---\nBody.\n"
    loaded = load_corpus(corpus_with(tmp_path, {"nested.md": nested}))
    assert [a.source for a in loaded.articles] == ["good.md"]
    assert "nested.md" in dict(loaded.skipped)


def test_files_lines_and_articles_over_their_limits_are_skipped_by_name(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "small", "title": "Small", "text": "A short wire story."}),
        json.dumps({"id": "long-line", "title": "Long", "text": "word " * 400}),
        json.dumps({"id": "after", "title": "After", "text": "The line after the long one."}),
    ]
    corpus = corpus_with(
        tmp_path,
        {
            "big.txt": "Big file. " * 300,
            "long.txt": "Long article. " * 60,
            "wire.jsonl": "\n".join(lines) + "\n",
        },
    )
    settings = Settings(max_file_bytes=2000, max_jsonl_line_bytes=1000, max_article_chars=500)
    loaded = load_corpus(corpus, settings)
    sources = [a.source for a in loaded.articles]
    assert sources == ["good.md", "wire.jsonl#small", "wire.jsonl#after"]
    reasons = dict(loaded.skipped)
    assert "2,000-byte limit (max_file_bytes)" in reasons["big.txt"]
    assert "500-character limit (max_article_chars)" in reasons["long.txt"]
    assert "1,000-byte limit (max_jsonl_line_bytes)" in reasons["wire.jsonl#2"]


def test_a_9_mb_line_is_chunked_with_exact_offsets_without_nltks_time_limit() -> None:
    text = " ".join(f"Kenya sent {n} officers." for n in range(330_000))  # 9.1 MB
    article = Article(source="one-line.txt", title="One line", text=text)
    settings = Settings()
    chunks = chunk_article(article, settings, article_key(article, settings, "model"))
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    assert all(not text[a.end : b.start].strip() for a, b in itertools.pairwise(chunks))


def test_duplicate_ids_in_a_jsonl_skip_the_later_line_by_name(tmp_path: Path) -> None:
    lines = [
        {"id": "x", "title": "a", "text": "One."},
        {"id": "x", "title": "b", "text": "Two."},
        {"title": "c", "text": "Three, with no id: its line number is its id."},
        {"id": "3", "title": "d", "text": "Four, whose id is another line's number."},
    ]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    (corpus / "b.jsonl").write_text(json.dumps({"title": "e", "text": "Five, line 1 again."}))
    loaded = load_corpus(corpus)
    assert [a.source for a in loaded.articles] == ["a.jsonl#x", "a.jsonl#3", "b.jsonl#1"]
    reasons = dict(loaded.skipped)
    assert "duplicate id" in reasons["a.jsonl#2"] and "duplicate id" in reasons["a.jsonl#4"]
    settings = Settings(corpus_dir=corpus, store_dir=tmp_path / "store")
    report = Engine(settings).ingest(progress=False)
    assert sorted(report.added) == ["a.jsonl#3", "a.jsonl#x", "b.jsonl#1"]


def test_a_file_name_that_is_not_utf8_is_skipped_by_a_printable_name(tmp_path: Path) -> None:
    corpus = corpus_with(tmp_path, {})
    (corpus / os.fsdecode(b"caf\xe9.md")).write_text(GOOD, encoding="utf-8")
    loaded = load_corpus(corpus)
    assert [a.source for a in loaded.articles] == ["good.md"]
    assert "not UTF-8" in dict(loaded.skipped)["caf\\xe9.md"]


def test_a_file_that_cannot_be_read_is_skipped_with_its_cause(tmp_path: Path) -> None:
    (tmp_path / "mem.txt").symlink_to("/proc/self/mem")
    with pytest.raises(SkippedFile, match=r"cannot be read \(Input/output error\)"):
        read_file(tmp_path / "mem.txt", "mem.txt", [])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_a_file_without_read_permission_is_skipped_by_name(tmp_path: Path) -> None:
    corpus = corpus_with(tmp_path, {"locked.md": GOOD})
    (corpus / "locked.md").chmod(0)
    loaded = load_corpus(corpus)
    assert [a.source for a in loaded.articles] == ["good.md"]
    assert "Permission denied" in dict(loaded.skipped)["locked.md"]
    assert loaded.unreadable == ["locked.md"]


def test_a_link_to_a_file_outside_the_corpus_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    corpus = corpus_with(tmp_path / "corpus", {})
    (corpus / "passwd.txt").symlink_to(outside / "secret.txt")
    (corpus / "mem.txt").symlink_to("/proc/self/mem")
    (corpus / "inside.md").symlink_to(corpus / "good.md")
    with caplog.at_level(logging.WARNING):
        loaded = load_corpus(corpus)
    assert [a.source for a in loaded.articles] == ["good.md", "inside.md"]
    reasons = dict(loaded.skipped)
    assert "outside the corpus folder" in reasons["passwd.txt"]
    assert "outside the corpus folder" in reasons["mem.txt"]
    assert "passwd.txt" in caplog.text


@pytest.fixture()
def jsonl_store(tmp_path: Path) -> tuple[Settings, Path]:
    """The issue's data-loss reproduction: 200 one-line articles in one .jsonl, ingested."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    dump = corpus / "d.jsonl"
    dump.write_text(
        "".join(
            json.dumps({"id": i, "title": f"t{i}", "text": f"Article {i} budget."}) + "\n"
            for i in range(200)
        ),
        encoding="utf-8",
    )
    shutil.copy(PROJECT_ROOT / "corpus" / "anadolu-us-kenya-sign-defense-cooperation-pact.md",
                corpus / "anadolu.md")
    settings = Settings(corpus_dir=corpus, store_dir=tmp_path / "store")
    assert len(Engine(settings).ingest(progress=False).added) == 201
    return settings, dump


def test_a_bad_byte_in_a_jsonl_skips_that_line_and_keeps_the_others(
    jsonl_store: tuple[Settings, Path],
) -> None:
    settings, dump = jsonl_store
    with dump.open("ab") as out:
        out.write(b'{"title":"x","text":"caf\xe9"}\n')
    engine = Engine(settings)
    report = engine.ingest(progress=False)
    assert not report.removed and not report.added
    assert dict(report.skipped)["d.jsonl#201"].startswith("not UTF-8")
    assert len(engine.store.records()) == 201


def test_a_file_unreadable_this_time_keeps_its_stored_articles(
    jsonl_store: tuple[Settings, Path],
) -> None:
    settings, dump = jsonl_store
    (settings.corpus_dir / "new.md").write_text(GOOD, encoding="utf-8")
    dump.write_bytes(b"\x00" + dump.read_bytes())
    binary = settings.corpus_dir / "anadolu.md"
    binary.write_bytes(binary.read_bytes()[:100] + b"\xff\xfe" + binary.read_bytes()[100:])
    engine = Engine(settings)
    report = engine.ingest(progress=False)
    assert report.removed == []
    assert len(report.unreadable) == 201 and "anadolu.md" in report.unreadable
    assert dict(report.skipped)["d.jsonl"] == "binary file"
    assert len(engine.store.records()) == 202
    dump.unlink()
    binary.unlink()
    gone = Engine(settings).ingest(progress=False)
    assert len(gone.removed) == 201 and not gone.unreadable


def seed_settings(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in sorted((PROJECT_ROOT / "corpus").glob("*.md")):
        shutil.copy(path, corpus / path.name)
    return Settings(corpus_dir=corpus, store_dir=tmp_path / "store")


def test_a_saved_chunk_table_cut_short_is_rebuilt_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = seed_settings(tmp_path)
    Engine(settings).ingest(progress=False)
    (saved,) = [p for p in (settings.store_dir / "derived").iterdir() if p.is_dir()]
    table = saved / "chunks.jsonl"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    table.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    engine = Engine(settings)
    with caplog.at_level(logging.WARNING):
        engine.ingest(progress=False)
    assert "damaged" in caplog.text and str(saved) in caplog.text
    assert len(engine.retriever.chunks) == len(lines)  # type: ignore[union-attr]
    for question in ("Where in Kenya are U.S. forces hosted?", "How much did the US pledge?"):
        assert engine.ask(question).citations
    rebuilt = (saved / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rebuilt) == len(lines)


MARATHON = Article(
    source="uploads/marathon.md",
    title="Nairobi marathon",
    text="The Nairobi marathon was won by Faith Kipyegon in two hours and eighteen minutes.\n",
)


def test_questions_asked_while_articles_are_added_and_removed_all_get_answers(
    tmp_path: Path,
) -> None:
    settings = seed_settings(tmp_path).model_copy(update={"cache_indexes": False})
    engine = Engine(settings)
    engine.ingest(progress=False)
    texts = {a.source: a.text for a in load_corpus(settings.corpus_dir).articles}
    failures: list[BaseException] = []
    answers: list[int] = []
    stop = threading.Event()

    def ask_until_stopped() -> None:
        while not stop.is_set():
            try:
                for question in ("Who won the Nairobi marathon?", "Where is Manda Bay?"):
                    answer = engine.ask(question)
                    for c in answer.citations:
                        text = texts.get(c.source, MARATHON.text)
                        assert text[c.start : c.end] == c.quote
                    answers.append(1)
            except Exception as err:  # every failure is collected and reported below
                failures.append(err)

    askers = [threading.Thread(target=ask_until_stopped) for _ in range(3)]
    for thread in askers:
        thread.start()
    try:
        for _ in range(20):
            engine.add_articles([MARATHON])
            engine.remove_articles([MARATHON.source])
    finally:
        stop.set()
        for thread in askers:
            thread.join(timeout=60)
    assert not failures, f"{len(failures)} of {len(answers) + len(failures)}: {failures[:3]!r}"
    assert answers


def test_a_question_keeps_reading_the_state_it_started_from_after_a_removal(
    tmp_path: Path,
) -> None:
    settings = seed_settings(tmp_path)
    engine = Engine(settings)
    engine.ingest(progress=False)
    engine.add_articles([MARATHON])
    started_from = engine.indexes
    assert started_from is not None
    engine.remove_articles([MARATHON.source])
    passages = started_from.retriever.retrieve("Who won the Nairobi marathon?", top_k=10)
    marathon = [p.chunk for p in passages if p.chunk.source == MARATHON.source]
    assert marathon and marathon[0].text == MARATHON.text[marathon[0].start : marathon[0].end]
    assert MARATHON.source not in engine.records


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 40 MB tmpfs at tmp_path/disk (needs the right to mount; skipped without it)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small disk here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_says_so_and_leaves_the_store_intact(small_disk: Path) -> None:
    settings = Settings(corpus_dir=PROJECT_ROOT / "corpus", store_dir=small_disk / "store")
    engine = Engine(settings)
    engine.ingest(progress=False)
    before = engine.store.records()
    filler = small_disk / "filler"
    with filler.open("wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(bytes(1 << 20))
    text = "Wire story on the budget. " * 100
    wires = [Article(source=f"wire/{n}.md", title=f"Wire {n}", text=text) for n in range(3)]
    with pytest.raises(StoreError, match=r"is full.*The store is intact"):
        engine.add_articles(wires)
    filler.unlink()
    after = Engine(settings)
    assert after.store.records() == before
    after.load()
    assert "Manda Bay" in after.ask("Where in Kenya are U.S. forces hosted?").text


def test_a_question_that_must_finish_an_ingest_first_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = seed_settings(tmp_path)
    Engine(settings).ingest(progress=False)
    (settings.corpus_dir / "marathon.md").write_text(MARATHON.text, encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        answer = Engine(settings).ask("Who won the Nairobi marathon?")
    assert "Before answering: ingesting 1 new or changed article(s)" in caplog.text
    assert "Faith Kipyegon" in answer.text


SAMPLES = {
    ".md": GOOD.encode(),
    ".jsonl": (json.dumps({"id": "a", "title": "T", "text": "Body one."}) + "\n"
               + json.dumps({"title": "U", "text": "Body two."}) + "\n").encode(),
    ".html": b"<html><head><title>T</title></head><body><article><p>Body.</p></article></body>",
}
NASTY = [b"\x00", b"\xff", b"\xe9", b"&a ", b"*a ", b"---\n", b"\n", b"\r\n", b"{", b"}", b'"',
         b"[" * 50, b"\xf0\x9f", b"\xed\xa0\x80", b"<", b"!!python/object:os.system ", b"\\u0000"]


def mutations(sample: bytes, rng: random.Random) -> bytes:
    data = bytearray(sample)
    for _ in range(rng.randint(1, 6)):
        at = rng.randint(0, len(data))
        choice = rng.random()
        if choice < 0.5:
            data[at:at] = rng.choice(NASTY)
        elif choice < 0.8 and data:
            del data[at : at + rng.randint(1, 20)]
        else:
            data[at:at] = bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 8)))
    return bytes(data)


def test_mangled_files_give_articles_or_a_reason_never_a_crash(tmp_path: Path) -> None:
    rng = random.Random(14)
    began = time.perf_counter()
    outcomes = {"read": 0, "skipped": 0}
    for n in range(600):
        suffix = rng.choice(sorted(SAMPLES))
        path = tmp_path / f"case-{n}{suffix}"
        path.write_bytes(mutations(SAMPLES[suffix], rng))
        skipped: list[tuple[str, str]] = []
        try:
            articles = read_file(path, path.name, skipped)
        except SkippedFile as why:
            assert str(why)
            outcomes["skipped"] += 1
            continue
        outcomes["read"] += 1
        for article in articles:
            article.source.encode("utf-8")
            article.title.encode("utf-8")
            article.text.encode("utf-8")
    assert outcomes["read"] > 100 and outcomes["skipped"] > 50, outcomes
    assert time.perf_counter() - began < 20
