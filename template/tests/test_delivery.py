"""Event delivery on its own (no web framework): each CloudEvent handled at most once per id,
every outcome a deliberate SUCCESS / RETRY / DROP with a reason that is logged and counted,
and the de-duplication markers expiring instead of piling up."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import cloud_event, scratch_dir

from kit.adapters.embedded import InProcessEventBus, SqliteDatabase, SqliteStateStore
from kit.agent_base import AgentDeps, BaseAgent, PoisonMessage
from kit.delivery import EventDelivery
from kit.interfaces import DependencyUnavailable
from kit.observability import Metrics


class RecordingAgent(BaseAgent):
    """Does what the event's data tells it to, and remembers what it handled."""

    def __init__(self, deps: AgentDeps) -> None:
        super().__init__(deps)
        self.handled: list[str] = []

    async def on_event(self, topic: str, event_id: str, data: dict[str, Any]) -> None:
        behaviour = data.get("behave")
        if behaviour == "poison":
            raise PoisonMessage("no user_id in the event")
        if behaviour == "down":
            raise DependencyUnavailable("the state store is down")
        if behaviour == "bug":
            raise KeyError("oops")
        self.handled.append(event_id)


async def make_delivery(path: Path, ttl_s: int = 3600):
    db = SqliteDatabase(path)
    await db.open()
    state = SqliteStateStore(db)
    bus = InProcessEventBus(db, (), write_behind=False)
    agent = RecordingAgent(AgentDeps(settings=None, state=state, events=bus))
    metrics = Metrics("test")

    async def started() -> BaseAgent:
        return agent

    delivery = EventDelivery(app_id="t-agent", agent=started, metrics=metrics, dedup_ttl_s=ttl_s)
    return delivery, agent, metrics, db


def counted(metrics: Metrics, status: str, reason: str) -> float:
    value = metrics.registry.get_sample_value(
        "agent_events_total",
        {"agent": "test", "topic": "t", "status": status, "reason": reason},
    )
    return value or 0.0


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.mark.parametrize(
    "envelope, status, reason",
    [
        (cloud_event({"ok": 1}, event_id="a"), "SUCCESS", "handled"),
        (cloud_event({"behave": "poison"}, event_id="b"), "DROP", "poison"),
        (cloud_event({"behave": "down"}, event_id="c"), "RETRY", "dependency_unavailable"),
        (cloud_event({"behave": "bug"}, event_id="d"), "RETRY", "handler_error"),
        ({"data": {"no": "id"}}, "DROP", "invalid_envelope"),
        (["not", "an", "object"], "DROP", "invalid_envelope"),
        (cloud_event("not json", event_id="e"), "DROP", "invalid_data"),
        (cloud_event([1, 2], event_id="f"), "DROP", "invalid_data"),
        (cloud_event('{"ok": 2}', event_id="g"), "SUCCESS", "handled"),
    ],
)
def test_every_outcome_is_deliberate_and_counted_with_its_reason(envelope, status, reason):
    async def scenario():
        delivery, _, metrics, db = await make_delivery(scratch_dir() / "s.db")
        outcome = await delivery.deliver("t", envelope)
        await db.close()
        return outcome, counted(metrics, status, reason)

    outcome, count = run(scenario())
    assert (outcome.status, outcome.reason, count) == (status, reason, 1.0)


def test_a_redelivered_event_is_acknowledged_without_being_handled_twice():
    async def scenario():
        delivery, agent, metrics, db = await make_delivery(scratch_dir() / "s.db")
        event = cloud_event({"ok": 1}, event_id="same")
        first = await delivery.deliver("t", event)
        again = await delivery.deliver("t", event)
        await db.close()
        return first, again, agent.handled, counted(metrics, "SUCCESS", "duplicate")

    first, again, handled, duplicates = run(scenario())
    assert first.reason == "handled" and again.reason == "duplicate"
    assert handled == ["same"] and duplicates == 1.0


def test_a_failed_event_is_not_remembered_so_its_retry_is_handled():
    async def scenario():
        delivery, agent, _, db = await make_delivery(scratch_dir() / "s.db")
        down = await delivery.handle("t", "x", {"behave": "down"})
        later = await delivery.handle("t", "x", {"ok": 1})
        await db.close()
        return down.status, later.reason, agent.handled

    assert run(scenario()) == ("RETRY", "handled", ["x"])


def test_dedup_markers_expire():
    async def scenario():
        path = scratch_dir() / "s.db"
        delivery, agent, _, db = await make_delivery(path, ttl_s=1)
        await delivery.handle("t", "old", {"ok": 1})
        rows = await db.run(lambda: db.conn.execute("SELECT expires_at FROM state").fetchall())
        await asyncio.sleep(1.2)
        again = await delivery.handle("t", "old", {"ok": 1})
        await db.close()
        return rows, again.reason, agent.handled

    rows, reason, handled = run(scenario())
    assert len(rows) == 1 and rows[0][0] is not None and rows[0][0] > time.time() - 5
    # Long after Dapr or the broker could redeliver it, the id is forgotten.
    assert reason == "handled" and handled == ["old", "old"]


def test_the_running_service_checkpoints_its_writes_into_the_database_file():
    """SQLite runs on the event loop; its checkpoint (the one call that syncs to disk) runs in
    a thread once a second, so what was written reaches the database file itself, long before
    SQLite's own checkpoint (at 1,000 pages of WAL) would have copied it."""

    async def scenario():
        path = scratch_dir() / "s.db"
        db = SqliteDatabase(path)
        await db.open(background=True)
        state = SqliteStateStore(db)
        for n in range(50):
            await state.save(f"k{n}", {"n": n, "pad": "x" * 500}, etag=None)
        before = path.stat().st_size  # the rows are in the WAL only
        await asyncio.sleep(1.5)
        after = path.stat().st_size
        await db.close()
        return before, after

    before, after = run(scenario())
    assert before < 50 * 500 < after
