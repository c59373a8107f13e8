"""Stage 3: keep a Chroma store in step with the corpus, by content hash.

Two collections: `<name>-chunks` (passages and their vectors) and `<name>-articles` (one record a
article: its full text and the content key of its committed chunks). An article's record is written
only after all its chunks are, so it is the commit marker: chunks whose key no record names are
ignored by readers and cleaned up by the next ingest. A killed ingest therefore leaves a store that
answers from the last complete state, and the next ingest reuses every chunk already written.
"""

from __future__ import annotations

import copy
import errno
import fcntl
import functools
import logging
import shutil
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Concatenate, ParamSpec, TypeVar

from tqdm import tqdm

from qa.chunking import article_key, chunk_article
from qa.dates import PublishedDate, of_article, publication_date
from qa.embeddings import Embedder
from qa.errors import QAError, StoreError
from qa.offline import enforce_offline
from qa.settings import Settings
from qa.types import Article, Chunk

log = logging.getLogger(__name__)

READ_PAGE = 5000
LOW_DISK_BYTES = 16 * 1024 * 1024
"""Free space under which a failed write of the embedded store is taken for a full disk: SQLite
and Chroma's index files report it in many words ("Error in compaction", "database or disk is
full")."""

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class ArticleRecord:
    """What the store knows of a committed article."""

    source: str
    key: str
    title: str
    publisher: str
    date: str
    url: str
    n_chunks: int
    published: str | None = None
    """The publication date, ISO ("" = undated); None in a record written before dates were
    stored (`Store.date_records` adds it, without re-embedding)."""
    published_from: str = ""
    """What `published` was read from, as written."""


@dataclass
class SyncReport:
    """What an ingest changed; `embedded` counts the passages sent to the embedder."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    embedded: int = 0
    redated: int = 0
    """Unchanged articles whose publication date was written anew (into the record and the
    chunks' metadata, nothing embedded): stores written before dates were, or dates read
    differently now."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    """Stored articles kept although their file could not be read this time (not removed)."""
    records: dict[str, ArticleRecord] = field(default_factory=dict, repr=False)
    """The committed articles after the ingest, so the caller need not read them again."""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def open_client(settings: Settings) -> Any:
    """An embedded `PersistentClient` at `store_dir`, or an `HttpClient` when a URL is set."""
    enforce_offline()
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or 8000,
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as err:
            raise StoreError(
                f"Cannot reach the Chroma server at {settings.chroma_url}: is it running? ({err})"
            ) from err
        return client
    try:
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.store_dir), settings=chroma_settings)
    except Exception as err:
        raise StoreError(f"Cannot open the Chroma store at {settings.store_dir}: {err}") from err


def _explained(
    doing: str,
) -> Callable[[Callable[Concatenate[Store, P], R]], Callable[Concatenate[Store, P], R]]:
    """A store method whose failures that have a known cause (the server gone, the disk full,
    no permission) raise a `StoreError` that says so and what to do; others are left as they
    are."""

    def decorate(method: Callable[Concatenate[Store, P], R]) -> Callable[Concatenate[Store, P], R]:
        @functools.wraps(method)
        def explained(store: Store, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(store, *args, **kwargs)
            except QAError:
                raise
            except Exception as err:
                why = explain(err, store.settings, doing)
                if why is None:
                    raise
                raise StoreError(why) from err

        return explained

    return decorate


def _one_ingest_at_a_time(
    method: Callable[Concatenate[Store, P], R],
) -> Callable[Concatenate[Store, P], R]:
    """A store method run under the store's ingest lock (see `ingest_lock`)."""

    @functools.wraps(method)
    def locked(store: Store, *args: P.args, **kwargs: P.kwargs) -> R:
        with ingest_lock(store.settings):
            return method(store, *args, **kwargs)

    return locked


@contextmanager
def ingest_lock(settings: Settings) -> Iterator[None]:
    """One ingest at a time into a store (a file lock in `store_dir`, which a server's clients
    on one machine share too): a second one waits, says so, then finds what the first stored
    and embeds only what is still missing, instead of both embedding everything."""
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    waiting = (
        "Another ingest into %s is running: waiting for it to finish, then reusing what it stored"
        % (settings.chroma_url or settings.store_dir)
    )
    with _exclusive(settings.store_dir / "ingest.lock", waiting):
        yield


@contextmanager
def _opening_lock(settings: Settings) -> Iterator[None]:
    """One process at a time creating an embedded store's database and collections: two doing
    it at once (two first ingests) collide on SQLite's write lock and both fail. A server
    serialises this itself."""
    if settings.chroma_url:
        yield
        return
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(settings.store_dir / "open.lock"):
        yield


@contextmanager
def _exclusive(path: Path, waiting: str | None = None) -> Iterator[None]:
    """An exclusive lock on the file at `path` across processes; `waiting` is logged when
    another process holds it."""
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting:
                log.warning(waiting)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def explain(err: Exception, settings: Settings, doing: str) -> str | None:
    """What a person needs to know of a store failure, or None when its cause is not known.

    A failed step commits nothing (an article's record is written after its chunks), so the
    store keeps answering from its last complete state, and a re-run reuses what was written.
    """
    resume = "Re-run the ingest: it resumes, reusing every passage already stored."
    message = str(err).lower()
    if settings.chroma_url:
        import httpx

        if isinstance(err, httpx.TransportError | ConnectionError):
            return (
                f"Lost the Chroma server at {settings.chroma_url} while {doing} ({err}). "
                f"Start it again; the store keeps its last complete state. {resume}"
            )
        return None
    where = settings.store_dir
    if (
        (isinstance(err, OSError) and err.errno == errno.ENOSPC)
        or "disk is full" in message
        or "no space left" in message
        or _free_bytes(where) < LOW_DISK_BYTES
    ):
        return (
            f"The disk holding the store at {where} is full ({err}). The store is intact: it "
            f"answers from its last complete ingest. Free some space, then: {resume}"
        )
    if isinstance(err, PermissionError) or any(
        words in message for words in ("permission denied", "readonly database", "read-only")
    ):
        return f"Permission denied writing the store at {where} ({err}). {resume}"
    return None


def _free_bytes(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return LOW_DISK_BYTES


class Store:
    """The chunk and article collections of one corpus, and the sync that keeps them current."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        with _opening_lock(settings):
            client = self.client = open_client(settings)
            self.chunks = client.get_or_create_collection(
                f"{settings.collection}-chunks",
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
            self.articles = client.get_or_create_collection(
                f"{settings.collection}-articles", embedding_function=None
            )
        self.texts: Mapping[str, str] | None = None
        """The texts `article_text` answers from (see `pinned`); None = the store's own."""

    @_explained("reading the article records")
    def records(self) -> dict[str, ArticleRecord]:
        """Every committed article, by source."""
        return {
            rid: _record(rid, meta) for rid, meta, _ in self._pages(self.articles, ["metadatas"])
        }

    def pinned(self, texts: Mapping[str, str]) -> Store:
        """This store with its article texts fixed to `texts` (one state of the store, kept by
        the indexes answering from it): a question asked while articles are added or removed
        reads the texts of the state its chunks come from, never a text gone since."""
        view = copy.copy(self)
        view.texts = texts
        return view

    def article_texts(
        self,
        records: dict[str, ArticleRecord],
        known: Mapping[str, str] = MappingProxyType({}),
        known_records: Mapping[str, ArticleRecord] = MappingProxyType({}),
    ) -> dict[str, str]:
        """The full texts of these committed articles; those `known` (read for `known_records`)
        are reused while their content key is unchanged, so only new or changed ones are read."""
        texts: dict[str, str] = {}
        missing: list[str] = []
        for source, record in records.items():
            old = known_records.get(source)
            if old is not None and old.key == record.key and source in known:
                texts[source] = known[source]
            else:
                missing.append(source)
        for begin in range(0, len(missing), 500):
            found = self.articles.get(ids=missing[begin : begin + 500], include=["documents"])
            texts.update(zip(found["ids"], map(str, found["documents"]), strict=True))
        return texts

    def article_text(self, source: str) -> str:
        """The full text of a committed article (quotes and offsets refer to it)."""
        if self.texts is not None:
            return self.texts[source]
        found = self.articles.get(ids=[source], include=["documents"])
        if not found["ids"]:
            raise KeyError(source)
        return str(found["documents"][0])

    @_explained("reading the chunks")
    def committed_chunks(self, records: dict[str, ArticleRecord]) -> list[Chunk]:
        """All chunks of these committed articles, in article order (for BM25 and answers)."""
        keys = {r.key for r in records.values()}
        chunks = [
            _chunk(cid, meta, doc)
            for cid, meta, doc in self._pages(self.chunks, ["metadatas", "documents"])
            if meta["key"] in keys
        ]
        return sorted(chunks, key=lambda c: (c.source, c.start))

    @_explained("searching")
    def query(
        self, vector: Any, n_results: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """Dense neighbours of a query vector: chunk ids with cosine similarity; with `where`, a
        Chroma metadata filter, only chunks it keeps (e.g. a `date_num` range).

        `n_results` must not exceed the stored chunks; the caller knows how many are committed,
        and counting here cost 5 ms a question at 13,000 chunks, growing with the store.
        """
        if n_results < 1:
            return []
        found = self.chunks.query(
            query_embeddings=[vector], n_results=n_results, where=where, include=["distances"]
        )
        pairs = zip(found["ids"][0], found["distances"][0], strict=True)
        return [(cid, 1.0 - dist) for cid, dist in pairs]

    @_explained("searching")
    def similarities(self, vector: Any, ids: list[str]) -> list[tuple[str, float]]:
        """The cosine similarity of a query vector to each of these chunks (their stored
        vectors read by id: exact, for a few hundred chunks faster than a filtered query)."""
        import numpy as np

        query = np.asarray(vector, dtype=np.float32)
        pairs: list[tuple[str, float]] = []
        for begin in range(0, len(ids), READ_PAGE):
            found = self.chunks.get(ids=ids[begin : begin + READ_PAGE], include=["embeddings"])
            if not found["ids"]:
                continue
            matrix = np.asarray(found["embeddings"], dtype=np.float32)
            norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
            cosines = matrix @ query / np.where(norms == 0, 1.0, norms)
            pairs.extend(zip(found["ids"], cosines.tolist(), strict=True))
        return pairs

    @_explained("ingesting")
    @_one_ingest_at_a_time
    def sync(
        self,
        articles: list[Article],
        remove_missing: bool = True,
        progress: bool = True,
        unreadable: Collection[str] = (),
        announce: str = "",
    ) -> SyncReport:
        """Make the store hold exactly these articles: embed only what is new or changed.

        A stored article that `unreadable` names (its source, or its file: `file` or
        `file#...`) is kept although it is not among `articles`: its file exists but could not
        be read this time, and only a file that is gone has its articles removed. With
        `announce` (why the caller is ingesting), having to embed anything is logged as a
        warning first, so nobody waits without a word.
        """
        report = SyncReport()
        committed = self.records()
        name = self.embedder.name
        planned: list[tuple[Article, str]] = []
        redate: list[tuple[ArticleRecord, PublishedDate]] = []
        for article in articles:
            key = article_key(article, self.settings, name)
            old = committed.get(article.source)
            if old is not None and old.key == key:
                report.unchanged += 1
                published = of_article(article)
                if (old.published, old.published_from) != (published.iso, published.raw):
                    redate.append((old, published))
                continue
            (report.updated if old else report.added).append(article.source)
            planned.append((article, key))
        if redate:
            committed.update(self.set_dates(redate))
            report.redated = len(redate)
        if planned:
            if announce:
                log.warning(
                    "%s: ingesting %d new or changed article(s) into %s first (an earlier "
                    "ingest was interrupted, or the corpus changed)",
                    announce,
                    len(planned),
                    self.settings.chroma_url or self.settings.store_dir,
                )
            self._write(planned, report, progress)
        if remove_missing:
            missing = sorted(set(committed) - {a.source for a in articles})
            report.unreadable = [s for s in missing if _named(s, unreadable)]
            report.removed = [s for s in missing if not _named(s, unreadable)]
            self.remove(report.removed)
            if report.unreadable:
                log.warning(
                    "Kept %d stored article(s) whose file could not be read this time: %s",
                    len(report.unreadable),
                    ", ".join(report.unreadable[:10]),
                )
        report.records = committed if not report.changed else self.records()
        if report.changed:
            self._mark_changed()
        self._drop_uncommitted(report.records)
        return report

    def date_records(self, records: dict[str, ArticleRecord]) -> dict[str, ArticleRecord]:
        """The records, those written before dates were stored now dated from what the store
        holds (their `date` and text; a page's meta tags are not kept, the next ingest reads
        them), with their chunks' `date_num` metadata; nothing is re-embedded."""
        missing = [r for r in records.values() if r.published is None]
        if not missing:
            return records
        updates: list[tuple[ArticleRecord, PublishedDate]] = []
        for begin in range(0, len(missing), READ_PAGE):
            page = missing[begin : begin + READ_PAGE]
            found = self.articles.get(ids=[r.source for r in page], include=["documents"])
            texts = dict(zip(found["ids"], found["documents"], strict=True))
            updates.extend(
                (r, publication_date([r.date], str(texts.get(r.source) or ""), r.source))
                for r in page
            )
        return {**records, **self.set_dates(updates)}

    def set_dates(
        self, updates: list[tuple[ArticleRecord, PublishedDate]]
    ) -> dict[str, ArticleRecord]:
        """Write these articles' publication dates: `date_num` into their chunks' metadata (ids
        are `<key>:<index>`, so no chunk is read), then into their records, which mark them
        done: a killed run leaves records without dates, and the next run writes them again."""
        log.info("Writing the publication dates of %d articles (no re-embedding)", len(updates))
        dated: dict[str, ArticleRecord] = {}
        for begin in range(0, len(updates), READ_PAGE):
            page = updates[begin : begin + READ_PAGE]
            ids = [f"{r.key}:{i}" for r, _ in page for i in range(r.n_chunks)]
            numbers = [{"date_num": p.number} for r, p in page for _ in range(r.n_chunks)]
            for start in range(0, len(ids), READ_PAGE):
                self.chunks.update(
                    ids=ids[start : start + READ_PAGE], metadatas=numbers[start : start + READ_PAGE]
                )
            self.articles.update(
                ids=[r.source for r, _ in page],
                metadatas=[_date_meta(p) for _, p in page],
            )
            for record, published in page:
                dated[record.source] = replace(
                    record, published=published.iso, published_from=published.raw
                )
        return dated

    @_explained("removing articles")
    def remove(self, sources: Iterable[str]) -> None:
        """Delete articles: the record first (readers stop seeing them), then their chunks."""
        sources = list(sources)
        if not sources:
            return
        self.articles.delete(ids=sources)
        self.chunks.delete(where={"source": {"$in": sources}})
        self._mark_changed()

    @_explained("checking for changes")
    def version(self) -> str:
        """A mark of the store's state, new after every change any process makes (kept in the
        articles collection's metadata): one cheap request, so that an engine serving the same
        store from another process or machine can tell its indexes are out of date."""
        found = self.client.get_collection(self.articles.name)
        return str((found.metadata or {}).get("version", ""))

    def _mark_changed(self) -> None:
        self.articles.modify(metadata={"version": uuid.uuid4().hex})

    def _write(
        self, planned: list[tuple[Article, str]], report: SyncReport, progress: bool
    ) -> None:
        present = self._present_ids([key for _, key in planned])
        bar = tqdm(
            total=len(planned),
            unit="article",
            desc="Ingesting",
            disable=not progress,
            leave=False,
        )
        with bar:
            done = 0
            for group in _groups(planned, self.settings.ingest_batch_chars):
                pending: list[Chunk] = []
                commits: list[tuple[Article, str, int]] = []
                dates = {a.source: of_article(a) for a, _ in group}
                for article, key in group:
                    article_chunks = chunk_article(article, self.settings, key)
                    pending.extend(c for c in article_chunks if c.id not in present)
                    commits.append((article, key, len(article_chunks)))
                if pending:
                    vectors = self.embedder.embed_passages([c.text for c in pending])
                    report.embedded += len(pending)
                    self.chunks.upsert(
                        ids=[c.id for c in pending],
                        embeddings=vectors,
                        documents=[c.text for c in pending],
                        metadatas=[_chunk_meta(c, dates[c.source].number) for c in pending],
                    )
                self.articles.upsert(
                    ids=[a.source for a, _, _ in commits],
                    embeddings=[[1.0]] * len(commits),
                    documents=[a.text for a, _, _ in commits],
                    metadatas=[
                        _article_meta(a, key, n) | _date_meta(dates[a.source])
                        for a, key, n in commits
                    ],
                )
                bar.update(len(group))
                done += len(group)
                log.info("Committed %d of %d articles", done, len(planned))

    def _present_ids(self, keys: list[str]) -> set[str]:
        present: set[str] = set()
        for begin in range(0, len(keys), 500):
            found = self.chunks.get(where={"key": {"$in": keys[begin : begin + 500]}}, include=[])
            present.update(found["ids"])
        return present

    def _drop_uncommitted(self, committed: dict[str, ArticleRecord]) -> None:
        """Delete chunks no article record names (old versions, a killed ingest's leftovers).

        Every committed article's chunks are all stored, so when the chunk count equals the
        committed articles' chunk total there is nothing to delete: the scan of every chunk's
        metadata (seconds at 100k chunks) is skipped.
        """
        records = committed.values()
        if self.chunks.count() == sum(r.n_chunks for r in records):
            return
        keys = {r.key for r in records}
        stale = [
            cid
            for cid, meta, _ in self._pages(self.chunks, ["metadatas"])
            if meta["key"] not in keys
        ]
        for begin in range(0, len(stale), READ_PAGE):
            self.chunks.delete(ids=stale[begin : begin + READ_PAGE])
        if stale:
            log.info("Removed %d chunks of old or unfinished article versions", len(stale))

    @staticmethod
    def _pages(collection: Any, include: list[str]) -> Iterator[tuple[str, dict, str | None]]:
        offset = 0
        while True:
            page = collection.get(include=include, limit=READ_PAGE, offset=offset)
            ids = page["ids"]
            if not ids:
                return
            docs = page.get("documents") or [None] * len(ids)
            yield from zip(ids, page["metadatas"], docs, strict=True)
            offset += len(ids)


def _named(source: str, names: Collection[str]) -> bool:
    """Whether `names` holds this source, or the file it was read from (`file` or `file#...`)."""
    return source in names or any(source.startswith(f"{name}#") for name in names)


def _groups(planned: list[tuple[Article, str]], budget: int) -> Iterator[list[tuple[Article, str]]]:
    """Articles in groups of about `budget` characters: one embedding batch and commit each."""
    group: list[tuple[Article, str]] = []
    size = 0
    for item in planned:
        group.append(item)
        size += len(item[0].text)
        if size >= budget:
            yield group
            group, size = [], 0
    if group:
        yield group


def _chunk_meta(chunk: Chunk, date_num: int) -> dict[str, Any]:
    return {
        "source": chunk.source,
        "key": chunk.id.rsplit(":", 1)[0],
        "title": chunk.title,
        "date": chunk.date,
        "start": chunk.start,
        "end": chunk.end,
        "date_num": date_num,
    }


def _date_meta(published: PublishedDate) -> dict[str, Any]:
    """An article record's date fields; `date_num` (20240105, 0 = undated) is what chunks filter
    on with Chroma's `where`."""
    return {
        "published": published.iso,
        "published_from": published.raw,
        "date_num": published.number,
    }


def _chunk(cid: str, meta: dict[str, Any], text: str | None) -> Chunk:
    return Chunk(
        id=cid,
        source=meta["source"],
        title=meta["title"],
        date=meta["date"],
        start=int(meta["start"]),
        end=int(meta["end"]),
        text=text or "",
    )


def _article_meta(article: Article, key: str, n_chunks: int) -> dict[str, Any]:
    return {
        "key": key,
        "title": article.title,
        "publisher": article.publisher,
        "date": article.date,
        "url": article.url,
        "n_chunks": n_chunks,
    }


def _record(source: str, meta: dict[str, Any]) -> ArticleRecord:
    return ArticleRecord(
        source=source,
        key=meta["key"],
        title=meta["title"],
        publisher=meta.get("publisher", ""),
        date=meta.get("date", ""),
        url=meta.get("url", ""),
        n_chunks=int(meta["n_chunks"]),
        published=meta.get("published"),
        published_from=meta.get("published_from", ""),
    )


@dataclass(frozen=True)
class Compaction:
    """What `compact` did: the store folder's size before and after, in bytes."""

    before: int
    after: int
    articles: int
    chunks: int


def compact(settings: Settings) -> Compaction:
    """Reclaim the space of removed and replaced articles in an embedded store: Chroma keeps
    deleted rows, log entries and index slots in its files, so a store does not shrink after
    removals. The committed articles and their chunks (vectors included, nothing re-embedded)
    are copied into a new store beside the old one, which replaces it only once complete (a
    killed compaction leaves the old store as it was); taken under the ingest lock. Run it when
    no other process has the store open (`qa chat`, a second `qa ask`)."""
    if settings.chroma_url:
        raise StoreError(
            f"compact works on an embedded store; for the server at {settings.chroma_url}, stop "
            "it and run `chroma utils vacuum --path <its data folder>`."
        )
    import chromadb
    from chromadb.api.client import SharedSystemClient
    from chromadb.config import Settings as ChromaSettings

    folder = settings.store_dir
    before = _folder_bytes(folder)
    work = folder.with_name(f".{folder.name}-compacting")
    with ingest_lock(settings):
        shutil.rmtree(work, ignore_errors=True)
        old = open_client(settings)
        new = chromadb.PersistentClient(
            path=str(work), settings=ChromaSettings(anonymized_telemetry=False)
        )
        articles = old.get_collection(f"{settings.collection}-articles")
        pages = Store._pages(articles, ["metadatas"])
        records = {rid: _record(rid, meta) for rid, meta, _ in pages}
        keys = {r.key for r in records.values()}
        chunks_name = f"{settings.collection}-chunks"
        copied = new.create_collection(
            chunks_name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
        n_chunks = _copy(old.get_collection(chunks_name), copied, lambda meta: meta["key"] in keys)
        target = new.create_collection(
            f"{settings.collection}-articles",
            embedding_function=None,
            metadata={"version": uuid.uuid4().hex},
        )
        _copy(articles, target, lambda _: True)
        if (folder / "derived").exists():
            shutil.copytree(folder / "derived", work / "derived")
        SharedSystemClient.clear_system_cache()
        retired = folder.with_name(f".{folder.name}-retired")
        shutil.rmtree(retired, ignore_errors=True)
        folder.rename(retired)
        work.rename(folder)
        shutil.rmtree(retired, ignore_errors=True)
    after = _folder_bytes(folder)
    log.info("Compacted %s: %d to %d bytes", folder, before, after)
    return Compaction(before, after, len(records), n_chunks)


def _copy(source: Any, target: Any, keep: Callable[[dict[str, Any]], bool]) -> int:
    """Copy the rows of one collection that `keep` accepts (by metadata), vectors included."""
    copied = 0
    offset = 0
    include = ["embeddings", "documents", "metadatas"]
    while True:
        page = source.get(include=include, limit=READ_PAGE, offset=offset)
        if not page["ids"]:
            return copied
        offset += len(page["ids"])
        columns = (page["ids"], page["embeddings"], page["documents"], page["metadatas"])
        rows = [row for row in zip(*columns, strict=True) if keep(row[3])]
        if rows:
            ids, vectors, documents, metadatas = (list(c) for c in zip(*rows, strict=True))
            target.upsert(ids=ids, embeddings=vectors, documents=documents, metadatas=metadatas)
            copied += len(rows)


def _folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
