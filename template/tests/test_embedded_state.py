"""Embedded mode's state store: Dapr's state contract (etags, first-write-wins, TTLs) whether
the rows are held in memory (the running service, which owns its file) or read from the table
on every call, and what holding them in memory asks of the file: one service per file, and
every write in the file soon after and at shutdown."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from conftest import logged, make_client, scratch_dir

from kit.adapters.embedded import (
    STATE_BATCH_SECONDS,
    SqliteDatabase,
    SqliteStateStore,
    StateFileInUse,
)
from kit.interfaces import ConcurrencyConflict


def run(coroutine):
    return asyncio.run(coroutine)


async def opened(path: Path, *, owned: bool) -> tuple[SqliteDatabase, SqliteStateStore]:
    db = SqliteDatabase(path)
    await db.open(background=owned)
    return db, SqliteStateStore(db)


def rows_in_file(path: Path) -> dict[str, str]:
    """What another connection (another process) reads from the file."""
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT key, value FROM state").fetchall())


@pytest.mark.parametrize("owned", [True, False], ids=["held-in-memory", "read-through"])
def test_the_state_contract_holds_in_both_modes(owned):
    async def scenario():
        db, store = await opened(scratch_dir() / "s.db", owned=owned)
        missing = await store.get("k")
        assert (missing.value, missing.etag) == (None, None)
        await store.save("k", {"n": 1}, etag=None)
        first = await store.get("k")
        assert first.value == {"n": 1} and first.etag
        with pytest.raises(ConcurrencyConflict):  # a first write loses to a live key
            await store.save("k", {"n": 2}, etag=None)
        await store.save("k", {"n": 2}, etag=first.etag)
        with pytest.raises(ConcurrencyConflict):  # a stale etag
            await store.save("k", {"n": 3}, etag=first.etag)
        with pytest.raises(ConcurrencyConflict):
            await store.delete("k", etag=first.etag)
        second = await store.get("k")
        second.value["n"] = 99  # the caller's copy: the stored value does not change
        assert (await store.get("k")).value == {"n": 2}
        await store.delete("k", etag=second.etag)
        assert (await store.get("k")).value is None
        with pytest.raises(ConcurrencyConflict):  # an etag for a key that is gone
            await store.save("k", {"n": 4}, etag=second.etag)

        await store.put("p", {"n": 1})  # last write wins: a key nobody holds
        put_first = await store.get("p")
        await store.put("p", {"n": 2})  # and one somebody does, whatever its etag
        put_second = await store.get("p")
        assert put_second.value == {"n": 2} and put_second.etag != put_first.etag
        with pytest.raises(ConcurrencyConflict):  # an etag from before a put is stale
            await store.save("p", {"n": 3}, etag=put_first.etag)

        await store.save("brief", {"n": 1}, etag=None, ttl_s=1)
        await store.put("brief-put", {"n": 1}, ttl_s=1)
        assert (await store.get("brief")).value == {"n": 1}
        await asyncio.sleep(1.1)
        assert (await store.get("brief")).value is None  # expired: as good as missing
        assert (await store.get("brief-put")).value is None
        await store.save("brief", {"n": 2}, etag=None)  # and a first write may take the key
        assert (await store.get("brief")).value == {"n": 2}
        await db.close()
        assert rows_in_file(db.path)["p"] == '{"n":2}'  # what a put holds reaches the file

    run(scenario())


def test_writes_held_in_memory_reach_the_file_within_a_batch_and_at_close():
    async def scenario():
        path = scratch_dir() / "s.db"
        db, store = await opened(path, owned=True)
        await store.save("soon", {"n": 1}, etag=None)
        await asyncio.sleep(STATE_BATCH_SECONDS * 5)
        soon = rows_in_file(path)
        await store.save("at-close", {"n": 2}, etag=None)
        await store.delete("soon")
        await db.close()
        return soon, rows_in_file(path)

    soon, closed = run(scenario())
    assert soon == {"soon": '{"n":1}'}
    assert closed == {"at-close": '{"n":2}'}


def test_a_write_that_fails_is_logged_and_made_with_the_next_batch(capsys):
    async def scenario():
        path = scratch_dir() / "s.db"
        db, store = await opened(path, owned=True)
        await store.save("k", {"n": 1}, etag=None)
        db.conn.execute("ALTER TABLE state RENAME TO state_away")  # the table is not there
        await store.flush()
        failed = logged(capsys)
        db.conn.execute("ALTER TABLE state_away RENAME TO state")
        await store.save("other", {"n": 2}, etag=None)
        await store.flush()
        await db.close()
        return failed, rows_in_file(path)

    failed, rows = run(scenario())
    assert "state_write_failed" in failed
    assert rows == {"k": '{"n":1}', "other": '{"n":2}'}


def test_a_second_service_on_the_same_state_file_is_refused_until_the_first_stops():
    async def scenario():
        path = scratch_dir() / "s.db"
        first, _ = await opened(path, owned=True)
        with pytest.raises(StateFileInUse) as refused:
            await opened(path, owned=True)
        await first.close()
        second, store = await opened(path, owned=True)
        await store.save("k", {"n": 1}, etag=None)
        await second.close()
        return str(refused.value)

    message = run(scenario())
    assert "in use by another running service" in message
    assert "EMBEDDED_STATE_PATH" in message


def test_the_running_service_says_what_to_change_when_its_state_file_is_taken():
    path = scratch_dir() / "state.db"
    with make_client(embedded_state_path=path) as client:
        assert client.get("/health").status_code == 200
        with pytest.raises(StateFileInUse, match="give this one its own EMBEDDED_STATE_PATH"):
            with make_client(embedded_state_path=path):
                pass


def test_a_state_file_that_is_not_a_database_is_refused_without_keeping_it_locked():
    async def scenario():
        path = scratch_dir() / "s.db"
        path.write_bytes(b"this is not an SQLite database" * 100)
        with pytest.raises(sqlite3.DatabaseError):
            await opened(path, owned=True)
        path.unlink()  # the owner puts it right, and the same process tries again
        db, store = await opened(path, owned=True)
        await store.save("k", {"n": 1}, etag=None)
        await db.close()
        return rows_in_file(path)

    assert run(scenario()) == {"k": '{"n":1}'}
