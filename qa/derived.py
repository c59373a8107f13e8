"""Indexes derived from the store, saved beside it: the chunk table, BM25 and the word counts.

Without them a new process (a cold `qa ask`, a restarted chat window) reads every chunk back from
Chroma and rebuilds BM25 and the answerer's vocabulary: 12 s at 1,000 articles, minutes at the
full benchmark corpus. The saved copy is named by a fingerprint of the committed articles, so it
is used only while the store holds exactly those articles: any ingest, upload or removal changes
the fingerprint and the next load rebuilds (and replaces) it. The copy is written to a temporary
folder and renamed into place, so a killed process leaves either no copy or a whole one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.answer import Vocabulary
from qa.retrieve import build_bm25
from qa.settings import Settings
from qa.store import ArticleRecord, Store
from qa.types import Chunk

log = logging.getLogger(__name__)

CHUNK_FIELDS = [field.name for field in dataclasses.fields(Chunk)]
SAVED_NAME = re.compile(r"(?P<collection>.+)-[0-9a-f]{24}")
UNFINISHED_NAME = re.compile(r"\.(?P<collection>.+)-[0-9a-f]{24}-.+")

ABANDONED_AFTER_S = 3600
"""A temporary save folder this old belongs to a killed process. A younger one may be a save
still in progress in another process (a whole rebuild and save took 58.6 s at the full
benchmark corpus)."""

FORMAT = "derived-v4"
"""Changes whenever what is saved, or how BM25 and the vocabulary are built, changes."""


@dataclass(frozen=True)
class DerivedIndexes:
    """The committed chunks in article order, their BM25 index, and the answerer's vocabulary."""

    chunks: list[Chunk]
    bm25: Any
    vocabulary: Vocabulary


def load_or_build(
    store: Store, settings: Settings, records: dict[str, ArticleRecord]
) -> DerivedIndexes:
    """The saved indexes of these records, or new ones built from the store (and saved)."""
    if not settings.cache_indexes or not records:
        return build(store, records)
    name = f"{settings.collection}-{fingerprint(records, settings)}"
    saved = load(folder(settings) / name, records)
    if saved is not None:
        return saved
    built = build(store, records)
    save(settings, name, built)
    return built


def build(store: Store, records: dict[str, ArticleRecord]) -> DerivedIndexes:
    chunks = store.committed_chunks(records)
    return DerivedIndexes(chunks, build_bm25(chunks), Vocabulary.of(chunks))


def fingerprint(records: dict[str, ArticleRecord], settings: Settings) -> str:
    """A hash of the committed articles' content keys, and of what BM25 and vocabulary read."""
    digest = hashlib.sha256(f"{FORMAT}\x1f{settings.collection}".encode())
    for source in sorted(records):
        digest.update(f"\x1e{source}\x1f{records[source].key}".encode())
    return digest.hexdigest()[:24]


def folder(settings: Settings) -> Path:
    return settings.store_dir / "derived"


def load(path: Path, records: dict[str, ArticleRecord]) -> DerivedIndexes | None:
    """The indexes saved at `path` for these committed articles, or None (none saved there, or
    damaged: unreadable, or not exactly the articles' chunks; see `damage`)."""
    if not (path / "complete").exists():
        return None
    import bm25s

    try:
        with (path / "chunks.jsonl").open(encoding="utf-8") as lines:
            chunks = [Chunk(*json.loads(line)) for line in lines]
        vocabulary = json.loads((path / "vocabulary.json").read_text(encoding="utf-8"))
        bm25 = bm25s.BM25.load(str(path / "bm25"), mmap=True, show_progress=False)
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("Deleting the damaged saved indexes at %s (%s); rebuilding", path, err)
        shutil.rmtree(path, ignore_errors=True)
        return None
    problem = damage(path, chunks, bm25, records)
    if problem is not None:
        log.warning("The saved indexes at %s are damaged (%s): rebuilding them", path, problem)
        shutil.rmtree(path, ignore_errors=True)
        return None
    return DerivedIndexes(chunks, bm25, Vocabulary.from_json(vocabulary, len(chunks)))


def save(settings: Settings, name: str, indexes: DerivedIndexes) -> None:
    """Save the indexes as `name` and delete the collection's copies of earlier store states.

    A failure to save costs only speed, so it is logged, never raised.
    """
    if indexes.bm25 is None:
        return
    base = folder(settings)
    try:
        base.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=base))
        with (work / "chunks.jsonl").open("w", encoding="utf-8") as out:
            for chunk in indexes.chunks:  # a line each: one big string would cost 100s of MB
                out.write(json.dumps([getattr(chunk, field) for field in CHUNK_FIELDS]) + "\n")
        vocabulary = json.dumps(indexes.vocabulary.to_json())
        (work / "vocabulary.json").write_text(vocabulary, encoding="utf-8")
        indexes.bm25.save(str(work / "bm25"), show_progress=False)
        manifest = {"name": name, "chunks": len(indexes.chunks)}
        (work / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        (work / "complete").touch()
        try:
            work.rename(base / name)
        except OSError:  # another process saved the same state first
            shutil.rmtree(work, ignore_errors=True)
    except OSError as err:
        log.warning("Could not save the derived indexes under %s: %s", base, err)
        return
    delete_earlier_copies(base, settings.collection, keep=name)


def damage(
    path: Path, chunks: list[Chunk], bm25: Any, records: dict[str, ArticleRecord]
) -> str | None:
    """What makes loaded indexes wrong for these committed articles (None when nothing does): a
    copy saved under another name, a chunk table or BM25 index cut short (600 of 1,186 chunks
    made 97 of 100 questions fail), or chunks that are not exactly the articles' chunks."""
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        indexed = int(bm25.scores["num_docs"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        return f"no readable manifest or BM25 size: {err}"
    if manifest.get("name") != path.name:
        return f"saved as {manifest.get('name')!r}"
    expected = sum(r.n_chunks for r in records.values())
    if not len(chunks) == indexed == manifest.get("chunks") == expected:
        return (
            f"{len(chunks)} chunks in its table, {indexed} in BM25, {manifest.get('chunks')} "
            f"saved, where the store commits {expected}"
        )
    by_key = {r.key: r for r in records.values()}
    ids = set()
    for chunk in chunks:
        key, _, index = chunk.id.rpartition(":")
        record = by_key.get(key)
        if (
            record is None
            or record.source != chunk.source
            or not index.isdigit()
            or int(index) >= record.n_chunks
            or len(chunk.text) != chunk.end - chunk.start
        ):
            return f"chunk {chunk.id} is not one of the committed articles'"
        ids.add(chunk.id)
    if len(ids) != expected:
        return f"{expected - len(ids)} chunks repeated"
    return None


def delete_earlier_copies(base: Path, collection: str, keep: str) -> None:
    """Delete the collection's saved copies other than `keep`, and abandoned temporary folders."""
    abandoned_before = time.time() - ABANDONED_AFTER_S
    for old in base.iterdir():
        saved = SAVED_NAME.fullmatch(old.name)
        unfinished = UNFINISHED_NAME.fullmatch(old.name)
        if (saved and saved["collection"] == collection and old.name != keep) or (
            unfinished
            and unfinished["collection"] == collection
            and old.stat().st_mtime < abandoned_before
        ):
            shutil.rmtree(old, ignore_errors=True)
