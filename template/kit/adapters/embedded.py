"""Adapters for running with no sidecar: SQLite state and an in-process event bus.

Same contracts as the Dapr adapters (etags, first-write, at-least-once delivery to our own
subscribers), so code that works here works against the sidecar.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import structlog

from kit.ids import unique_id
from kit.interfaces import ConcurrencyConflict, EventHandler, StateItem
from kit.json_codec import from_text, to_text
from kit.observability import log_published

log = structlog.get_logger("embedded")
T = TypeVar("T")

# Long enough to gather a burst of events into one transaction, short enough that a crash
# loses little: the events themselves were already delivered and logged.
OUTBOX_BATCH_SECONDS = 0.02
# How often what was written is checkpointed into the database file (see SqliteDatabase).
CHECKPOINT_SECONDS = 1.0
# State writes of this long are gathered into one transaction (see SqliteStateStore): a crash
# loses at most the last STATE_BATCH_SECONDS of them, as the outbox may lose its rows.
STATE_BATCH_SECONDS = 0.02
# What the running service keeps of the state table in memory, in characters of JSON: every
# learner of a busy hour (a conversation is 1-8 KB), far below the memory bar.
STATE_CACHE_CHARS = 16 * 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY, value TEXT NOT NULL, etag TEXT NOT NULL, expires_at REAL
);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, topic TEXT NOT NULL, data TEXT NOT NULL, published_at REAL NOT NULL
);
"""


class StateFileInUse(RuntimeError):
    """Another running service (or another app in this process) has the state file open."""


class SqliteDatabase:
    """One connection, used on the event loop's thread, so SQLite never sees two writers of
    ours at once. A row read or written in WAL mode stays in the page cache (10-50 µs here);
    handing each call to a thread cost more than the call itself (about 180 µs of CPU per hop,
    measured, plus the GIL hand-offs under load). The one slow thing, the checkpoint that
    copies the WAL into the database and syncs it, runs in a thread of its own on its own
    connection, once a second when anything was written (with `background`; without it,
    SQLite's own checkpoint every 1,000 pages).

    With `background` (the running service) the file is also ours alone: an exclusive lock on
    `<file>.lock`, held until close, lets the state store serve reads from memory, which it
    could not do if another process wrote the same rows behind its back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._checkpointer: asyncio.Task[None] | None = None
        self._used = False
        self._lock_fd: int | None = None
        self._before_close: list[Callable[[], Awaitable[None]]] = []
        #: Opened with `background`: the file is ours alone, and one event loop runs long
        #: enough for writes held in memory to be written later (see the class).
        self.owned = False

    @property
    def in_memory(self) -> bool:
        return str(self.path) == ":memory:"

    def before_close(self, flush: Callable[[], Awaitable[None]]) -> None:
        """Run `flush` (writes still held in memory) before the connection closes."""
        self._before_close.append(flush)

    def _take_the_file(self) -> None:
        lock_path = f"{self.path}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateFileInUse(
                f"the state file {self.path} is in use by another running service "
                f"(embedded mode keeps one process per file): give this one its own "
                f"EMBEDDED_STATE_PATH, or run with Dapr to share state between replicas"
            ) from None
        self._lock_fd = fd

    async def open(self, *, background: bool = False) -> None:
        if not self.in_memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if background:
                self._take_the_file()
        try:
            conn = self._connect()
        except BaseException:
            self._let_go_of_the_file()  # a file that is not a database: the next try may open
            raise
        self._conn, self.owned = conn, background
        if background and not self.in_memory:
            conn.execute("PRAGMA wal_autocheckpoint=0")
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
            self._checkpointer = asyncio.create_task(self._checkpoint_every(CHECKPOINT_SECONDS))

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(state)")}
            if "expires_at" not in columns:  # a state file written before items could expire
                conn.execute("ALTER TABLE state ADD COLUMN expires_at REAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _let_go_of_the_file(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # and with it the lock
            self._lock_fd = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        self._used = True  # reads too: at worst a checkpoint finds nothing to copy
        return fn(*args)

    async def _checkpoint_every(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        assert self._executor is not None
        checkpointer = await loop.run_in_executor(self._executor, self._connect_checkpointer)
        try:
            while True:
                await asyncio.sleep(seconds)
                if self._used:
                    self._used = False
                    await loop.run_in_executor(self._executor, self._checkpoint, checkpointer)
        finally:
            await loop.run_in_executor(self._executor, checkpointer.close)

    def _connect_checkpointer(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)

    @staticmethod
    def _checkpoint(conn: sqlite3.Connection) -> None:
        try:
            # PASSIVE: never waits for, nor blocks, the loop's reads and writes.
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as error:
            log.warning("sqlite_checkpoint_failed", error=str(error))

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def close(self) -> None:
        for flush in self._before_close:
            await flush()
        self._before_close.clear()
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            await asyncio.gather(self._checkpointer, return_exceptions=True)
            self._checkpointer = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._conn is not None:
            self._conn.close()  # the last connection to close checkpoints the rest
            self._conn = None
        self._let_go_of_the_file()
        self.owned = False


@dataclass(slots=True)
class _Row:
    """A row of the state table as stored; `value` is None when there is no such key. One per
    write: not frozen (a frozen dataclass sets each field through object.__setattr__), and
    never changed once made: a new row replaces it."""

    value: str | None
    etag: str | None
    expires_at: float | None

    def live(self, now: float) -> bool:
        return self.value is not None and (self.expires_at is None or self.expires_at > now)

    @property
    def chars(self) -> int:
        return len(self.value or "") + 100  # the key, etag and the objects around them


_NO_ROW = _Row(None, None, None)
# A row as given, whatever the key held.
_UPSERT = (
    "INSERT INTO state (key, value, etag, expires_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, "
    "expires_at = excluded.expires_at"
)


class SqliteStateStore:
    """Dapr's state semantics over the state table: etags, first-write-wins, TTLs.

    In the running service the file is ours alone (SqliteDatabase.owned), so the rows read or
    written stay in memory, up to STATE_CACHE_CHARS: a read is a look-up, and the writes of
    each STATE_BATCH_SECONDS reach the table in one transaction, before the database closes at
    the latest. A SQLite read and an autocommitted write had cost 60-100 µs per request, with
    eight file-lock calls. Elsewhere (a test's database) every call is its own statement."""

    remote = False  # SQLite runs on the event loop's thread, in this process

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        self._rows: dict[str, _Row] | None = {} if db.owned else None
        self._cached_chars = 0
        self._unwritten: dict[str, _Row] = {}
        self._writer: asyncio.Task[None] | None = None
        if db.owned:
            db.before_close(self._last_flush)

    # -- reads ----------------------------------------------------------------------------
    async def get(self, key: str) -> StateItem:
        if self._rows is None:
            return await self._db.run(self._get, key)
        row = self._row(key)
        text = row.value if row.live(time.time()) else None
        if text is None:
            return StateItem(value=None, etag=None)
        return StateItem(value=from_text(text), etag=row.etag)  # a copy the caller may change

    def _get(self, key: str) -> StateItem:
        row = self._db.conn.execute(
            "SELECT value, etag FROM state "
            "WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (key, time.time()),
        ).fetchone()
        if row is None:
            return StateItem(value=None, etag=None)
        return StateItem(value=from_text(row[0]), etag=row[1])

    def _row(self, key: str) -> _Row:
        """The key's row as it stands (written or not), read from the table on first use."""
        assert self._rows is not None
        row = self._unwritten.get(key)
        if row is None:
            row = self._rows.get(key)
        if row is None:
            found = self._db.conn.execute(
                "SELECT value, etag, expires_at FROM state WHERE key = ?", (key,)
            ).fetchone()
            row = _Row(*found) if found else _NO_ROW
            self._remember(key, row)
        return row

    def _remember(self, key: str, row: _Row) -> None:
        assert self._rows is not None
        old = self._rows.pop(key, None)  # and back in at the end: the oldest go first
        if old is not None:
            self._cached_chars -= old.chars
        self._rows[key] = row
        self._cached_chars += row.chars
        while self._cached_chars > STATE_CACHE_CHARS and len(self._rows) > 1:
            # A row not yet written stays in _unwritten, where _row() looks first.
            self._cached_chars -= self._rows.pop(next(iter(self._rows))).chars

    # -- writes ---------------------------------------------------------------------------
    async def save(
        self, key: str, value: Any, *, etag: str | None, ttl_s: int | None = None
    ) -> None:
        expires_at = time.time() + ttl_s if ttl_s else None
        if self._rows is None:
            await self._db.run(self._save, key, to_text(value), etag, expires_at)
            return
        current = self._row(key)
        # The same outcomes as _save's statements: a first write loses to a live row, and an
        # etag must match the row's, expired or not.
        taken = current.live(time.time()) if etag is None else current.etag != etag
        if taken:
            raise ConcurrencyConflict(f"state key {key!r} changed since it was read")
        self._write_later(key, _Row(to_text(value), unique_id(), expires_at))

    async def put(self, key: str, value: Any, *, ttl_s: int | None = None) -> None:
        expires_at = time.time() + ttl_s if ttl_s else None
        if self._rows is None:
            await self._db.run(self._put, key, to_text(value), expires_at)
            return
        self._write_later(key, _Row(to_text(value), unique_id(), expires_at))

    def _put(self, key: str, encoded: str, expires_at: float | None) -> None:
        self._db.conn.execute(_UPSERT, (key, encoded, unique_id(), expires_at))

    def _save(self, key: str, encoded: str, etag: str | None, expires_at: float | None) -> None:
        new_etag = unique_id()
        conn = self._db.conn
        if etag is None:
            # First write: only succeeds if nobody holds the key meanwhile. An expired item is
            # as good as missing (as Dapr's stores treat it), so it is replaced.
            cursor = conn.execute(
                "INSERT INTO state (key, value, etag, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, "
                "expires_at = excluded.expires_at "
                "WHERE state.expires_at IS NOT NULL AND state.expires_at <= ?",
                (key, encoded, new_etag, expires_at, time.time()),
            )
        else:
            cursor = conn.execute(
                "UPDATE state SET value = ?, etag = ?, expires_at = ? WHERE key = ? AND etag = ?",
                (encoded, new_etag, expires_at, key, etag),
            )
        if cursor.rowcount != 1:
            raise ConcurrencyConflict(f"state key {key!r} changed since it was read")

    async def delete(self, key: str, *, etag: str | None = None) -> None:
        if self._rows is None:
            await self._db.run(self._delete, key, etag)
            return
        if etag is not None and self._row(key).etag != etag:
            raise ConcurrencyConflict(f"state key {key!r} changed since it was read")
        self._write_later(key, _NO_ROW)

    def _delete(self, key: str, etag: str | None) -> None:
        if etag is None:
            self._db.conn.execute("DELETE FROM state WHERE key = ?", (key,))
            return
        cursor = self._db.conn.execute("DELETE FROM state WHERE key = ? AND etag = ?", (key, etag))
        if cursor.rowcount != 1:
            raise ConcurrencyConflict(f"state key {key!r} changed since it was read")

    # -- writing what is held in memory ---------------------------------------------------
    def _write_later(self, key: str, row: _Row) -> None:
        self._remember(key, row)
        self._unwritten[key] = row
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_after(STATE_BATCH_SECONDS))

    async def _write_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.flush()

    async def flush(self) -> None:
        """Write every row held in memory to the table (one transaction). A failure is
        logged and the rows kept, to be tried again with the next batch."""
        if self._unwritten:
            rows, self._unwritten = self._unwritten, {}
            try:
                await self._db.run(self._write_rows, rows)
            except sqlite3.Error:
                log.exception("state_write_failed", keys=len(rows))
                self._unwritten = {**rows, **self._unwritten}  # what came since is newer

    async def _last_flush(self) -> None:
        if self._writer is not None:
            self._writer.cancel()  # its batch is written here, before the database closes
            await asyncio.gather(self._writer, return_exceptions=True)
        await self.flush()

    def _write_rows(self, rows: dict[str, _Row]) -> None:
        kept = [(k, r.value, r.etag, r.expires_at) for k, r in rows.items() if r.value is not None]
        gone = [(k,) for k, r in rows.items() if r.value is None]
        with self._db.conn:  # one transaction
            self._db.conn.execute("BEGIN")
            self._db.conn.executemany(_UPSERT, kept)
            self._db.conn.executemany("DELETE FROM state WHERE key = ?", gone)


class InProcessEventBus:
    """Publishing without a broker: every event is recorded in the outbox (and logged), and
    events on topics this service subscribes to are delivered to its own handler, as Dapr
    would deliver them, in the background."""

    def __init__(
        self, db: SqliteDatabase, subscribed_topics: tuple[str, ...], *, write_behind: bool
    ) -> None:
        self._db = db
        self._subscribed = set(subscribed_topics)
        self._handler: EventHandler | None = None
        self._deliveries: set[asyncio.Future[None]] = set()
        # Write-behind: a request does not wait for its outbox row; one writer task stores
        # the rows of each OUTBOX_BATCH_SECONDS in one transaction (one commit for many
        # events), and readers of the outbox and shutdown flush first. Needs one long-lived
        # event loop, so it is on only when the app's lifespan runs.
        self._write_behind = write_behind
        self._pending: list[tuple[str, str, str, float]] = []
        self._writer: asyncio.Task[None] | None = None

    def attach(self, handler: EventHandler) -> None:
        self._handler = handler

    async def publish(self, topic: str, data: dict[str, Any]) -> None:
        event_id = unique_id()
        self._pending.append((event_id, topic, to_text(data), time.time()))
        if self._write_behind:
            if self._writer is None or self._writer.done():
                self._writer = asyncio.create_task(self._write_pending(OUTBOX_BATCH_SECONDS))
        else:
            await self._write_pending()
        log_published(
            log, topic=topic, event_id=event_id, delivered_locally=topic in self._subscribed
        )
        if self._handler is not None and topic in self._subscribed:
            task = asyncio.ensure_future(self._handler(topic, event_id, data))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _write_pending(self, batch_seconds: float = 0.0) -> None:
        if batch_seconds:
            await asyncio.sleep(batch_seconds)
        while self._pending:
            rows, self._pending = self._pending, []
            try:
                await self._db.run(self._write, rows)
            except Exception:
                # The events were already delivered and logged; say what the table lacks.
                log.exception("outbox_write_failed", events=len(rows))

    def _write(self, rows: list[tuple[str, str, str, float]]) -> None:
        with self._db.conn:  # one transaction per batch
            self._db.conn.execute("BEGIN")
            self._db.conn.executemany(
                "INSERT INTO outbox (id, topic, data, published_at) VALUES (?, ?, ?, ?)", rows
            )

    async def flush(self) -> None:
        """Wait until every published event is in the outbox table."""
        while self._pending or (self._writer is not None and not self._writer.done()):
            await self._write_pending()  # now, not at the end of the writer's batch window
            if self._writer is not None and not self._writer.done():
                await self._writer

    async def outbox(self, limit: int = 100) -> list[dict[str, Any]]:
        await self.flush()
        rows = await self._db.run(
            lambda: self._db.conn.execute(
                "SELECT id, topic, data, published_at FROM outbox "
                "ORDER BY published_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        )
        return [
            {"id": r[0], "topic": r[1], "data": from_text(r[2]), "published_at": r[3]} for r in rows
        ]

    async def drain(self) -> None:
        """Wait for in-flight local deliveries and outbox writes (shutdown and tests)."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)
        await self.flush()
