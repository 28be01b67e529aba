"""Dapr mode, through the real dapr.aio client against a fake sidecar (tests/fakes): the
service connects without blocking, keeps the state contract (missing keys, etags,
first-write), publishes JSON, answers RETRY while the sidecar is gone and recovers when it
comes back. The fake loads this service's own dapr-component.yaml, so publishing outside the
component's scopes fails here as it would on the cluster."""

from __future__ import annotations

import asyncio
import json
import time
from functools import partial
from pathlib import Path

import grpc
import pytest
from conftest import cloud_event, make_client, sidecar_connection, wait_for
from dapr.clients.exceptions import DaprGrpcError, DaprInternalError
from dapr.clients.grpc._state import Concurrency, StateOptions
from fakes.fake_sidecar import FakeSidecar
from test_api import SAMPLE_EVENTS, SAMPLE_QUERY

from kit.adapters.dapr import grpc_code
from kit.identity import APP_ID, INPUT_TOPICS, OUTPUT_TOPICS
from kit.interfaces import ConcurrencyConflict, DependencyUnavailable

COMPONENTS = Path(__file__).resolve().parents[1] / "dapr-component.yaml"
FIRST_WRITE = StateOptions(concurrency=Concurrency.first_write)


def scoped_sidecar(**kwargs) -> FakeSidecar:
    """A sidecar that loads this service's components as daprd would for its app-id."""
    return FakeSidecar.for_app(APP_ID, COMPONENTS, **kwargs)


@pytest.fixture
def sidecar():
    fake = scoped_sidecar().start()
    yield fake
    fake.stop()


@pytest.fixture
def dapr_client(sidecar):
    with make_client(**sidecar.settings()) as client:
        assert wait_for(lambda: client.get("/health").json()["dapr"] == "connected")
        yield client


def state(client):
    return client.app.state.runtime.agent.deps.state


def test_connected_and_ready(dapr_client):
    health = dapr_client.get("/health").json()
    assert health["mode"] == "dapr" and health["dapr"] == "connected"
    # Ready once the sidecar answers and, for a type that runs code, the sandbox has warmed.
    assert wait_for(lambda: dapr_client.get("/ready").status_code == 200, seconds=30)


def test_state_contract_through_the_sdk(dapr_client, sidecar):
    store = state(dapr_client)
    call = dapr_client.portal.call
    missing = call(store.get, "nobody")
    assert missing.value is None and missing.etag is None
    call(partial(store.save, "k", {"n": 1}, etag=None))
    first = call(store.get, "k")
    assert first.value == {"n": 1} and first.etag
    assert sidecar.value("statestore", "k") == {"n": 1}
    with pytest.raises(ConcurrencyConflict):  # first write loses to the existing key
        call(partial(store.save, "k", {"n": 2}, etag=None))
    call(partial(store.save, "k", {"n": 2}, etag=first.etag))
    with pytest.raises(ConcurrencyConflict):  # stale etag
        call(partial(store.save, "k", {"n": 3}, etag=first.etag))
    assert call(store.get, "k").value == {"n": 2}
    before = call(store.get, "k")
    call(partial(store.put, "k", {"n": 4}, ttl_s=600))  # last write wins, no etag needed
    after = call(store.get, "k")
    assert after.value == {"n": 4} and after.etag != before.etag
    assert sidecar.value("statestore", "k") == {"n": 4}
    with sidecar.lock:
        row = next(row for key, row in sidecar.state["statestore"].items() if key.endswith("||k"))
    assert row.expires_at is not None and row.expires_at > sidecar.clock() + 500
    call(partial(store.put, "new", {"n": 1}))  # and takes a key nobody holds
    assert call(store.get, "new").value == {"n": 1}


def test_publish_is_json_on_the_configured_pubsub(dapr_client, sidecar):
    events = dapr_client.app.state.runtime.agent.deps.events
    dapr_client.portal.call(events.publish, OUTPUT_TOPICS[0], {"hello": "world"})
    published = sidecar.published[-1]
    assert (published.pubsub, published.topic) == ("pubsub", OUTPUT_TOPICS[0])
    assert published.content_type == "application/json" and published.json() == {"hello": "world"}


@pytest.mark.parametrize("topic", INPUT_TOPICS)
def test_events_are_handled_once_through_the_sidecar(dapr_client, sidecar, topic):
    event = cloud_event(SAMPLE_EVENTS[topic], event_id=f"d-{topic}")
    assert dapr_client.post(f"/events/{topic}", json=event).json() == {"status": "SUCCESS"}
    published = len(sidecar.published)
    assert dapr_client.post(f"/events/{topic}", json=event).json() == {"status": "SUCCESS"}
    assert len(sidecar.published) == published  # the redelivery changed nothing
    assert any("handled" in key for key in sidecar.keys("statestore"))


def test_dedup_markers_are_saved_to_expire(dapr_client, sidecar):
    topic = INPUT_TOPICS[0]
    event = cloud_event(SAMPLE_EVENTS[topic], event_id="ttl-marker")
    assert dapr_client.post(f"/events/{topic}", json=event).json() == {"status": "SUCCESS"}
    with sidecar.lock:
        rows = sidecar.state["statestore"]
        marker = next(row for key, row in rows.items() if "ttl-marker" in key)
    # Saved with ttlInSeconds: PostgreSQL (and every Dapr store with TTL) deletes it later.
    assert marker.expires_at is not None and marker.expires_at > sidecar.clock() + 3600


def test_transient_state_failure_is_retry_then_success(dapr_client, sidecar):
    topic = INPUT_TOPICS[0]
    event = cloud_event(SAMPLE_EVENTS[topic], event_id="flaky")
    sidecar.fail_next("GetState", times=1, code=grpc.StatusCode.UNAVAILABLE)
    assert dapr_client.post(f"/events/{topic}", json=event).json() == {"status": "RETRY"}
    assert dapr_client.post(f"/events/{topic}", json=event).json() == {"status": "SUCCESS"}


def test_sidecar_absent_at_start():
    absent = FakeSidecar()  # ports chosen, nothing listening
    started = time.monotonic()
    with make_client(**absent.settings()) as client:
        assert time.monotonic() - started < 3  # start-up never waits for the sidecar
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["dapr"] == "disconnected"
        ready = client.get("/ready")
        assert ready.status_code == 503 and "sidecar" in ready.json()["problems"][0]
        topic = INPUT_TOPICS[0]
        event = cloud_event(SAMPLE_EVENTS[topic], event_id="early")
        assert client.post(f"/events/{topic}", json=event).json() == {"status": "RETRY"}
        reply = client.post("/process", json={"user_id": "u1", "query": SAMPLE_QUERY})
        assert reply.status_code == 200 and reply.json()["response"]


def test_sidecar_lost_mid_run_and_back(dapr_client, sidecar):
    topic = INPUT_TOPICS[0]
    sidecar.stop_grpc()
    event = cloud_event(SAMPLE_EVENTS[topic], event_id="during-outage")
    assert dapr_client.post(f"/events/{topic}", json=event).json() == {"status": "RETRY"}
    assert wait_for(lambda: dapr_client.get("/health").json()["dapr"] == "disconnected")
    assert dapr_client.get("/ready").status_code == 503
    reply = dapr_client.post("/process", json={"user_id": "u1", "query": SAMPLE_QUERY})
    assert reply.status_code == 200
    sidecar.restart()
    assert wait_for(lambda: dapr_client.get("/health").json()["dapr"] == "connected")
    assert wait_for(
        lambda: dapr_client.post(f"/events/{topic}", json=event).json() == {"status": "SUCCESS"}
    )


def test_api_token_is_sent_to_the_sidecar():
    sidecar = scoped_sidecar(api_token="sidecar-token").start()
    try:
        with make_client(**sidecar.settings(), dapr_api_token="sidecar-token") as client:
            assert wait_for(lambda: client.get("/health").json()["dapr"] == "connected")
            store = state(client)
            client.portal.call(partial(store.save, "t", {"ok": True}, etag=None))
            assert sidecar.value("statestore", "t") == {"ok": True}
        # daprd answers its health routes without a token (middlewares.go), so the app asks a
        # route that wants one: a wrong token shows as a sidecar it cannot use.
        with make_client(**sidecar.settings(), dapr_api_token="wrong") as client:
            time.sleep(0.5)
            assert client.get("/health").json()["dapr"] == "disconnected"
            assert client.get("/ready").status_code == 503
    finally:
        sidecar.stop()


def test_unavailable_maps_to_dependency_unavailable(dapr_client, sidecar):
    sidecar.fail_next("SaveState", times=1, code=grpc.StatusCode.UNAVAILABLE)
    with pytest.raises(DependencyUnavailable):
        dapr_client.portal.call(partial(state(dapr_client).save, "x", {"a": 1}, etag=None))


def run(coroutine):
    return asyncio.run(coroutine)


def test_fake_answers_a_lost_first_write_as_daprd_does(sidecar):
    """PostgreSQL v1 answers a first write to an existing key "no item was updated", which
    daprd reports as INTERNAL, not ABORTED; the SDK raises it as DaprInternalError."""

    async def scenario():
        async with sidecar_connection(sidecar) as connection:
            client = connection.client
            await client.save_state("statestore", "k", "1", options=FIRST_WRITE)
            with pytest.raises(DaprInternalError) as lost:
                await client.save_state("statestore", "k", "2", options=FIRST_WRITE)
            assert grpc_code(lost.value) == grpc.StatusCode.INTERNAL
            assert str(lost.value.message) == (
                "failed saving state in state store statestore: no item was updated"
            )
            current = await client.get_state("statestore", "k")
            with pytest.raises(DaprInternalError) as stale:
                await client.save_state("statestore", "k", "3", etag=str(int(current.etag) + 1))
            assert grpc_code(stale.value) == grpc.StatusCode.ABORTED
            with pytest.raises(DaprInternalError) as invalid:
                await client.save_state("statestore", "k", "3", etag="not-a-number")
            assert grpc_code(invalid.value) == grpc.StatusCode.INVALID_ARGUMENT
            await client.save_state("statestore", "k", "3", etag=current.etag)
            assert (await client.get_state("statestore", "k")).data == b"3"
            missing = await client.get_state("statestore", "nobody")
            assert (missing.data, missing.etag) == (b"", "")
            # daprd keeps "<app-id>||<key>" and refuses keys with the separator in them.
            with pytest.raises(DaprGrpcError) as illegal:
                await client.get_state("statestore", "progress||u1")
            assert illegal.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    run(scenario())


def test_keys_with_our_separator_reach_the_sidecar_encoded(dapr_client, sidecar):
    store = state(dapr_client)
    call = dapr_client.portal.call
    call(partial(store.save, "progress||u1", {"n": 1}, etag=None))
    call(partial(store.save, "progress|%u1", {"n": 2}, etag=None))
    assert call(store.get, "progress||u1").value == {"n": 1}
    assert call(store.get, "progress|%u1").value == {"n": 2}
    assert sorted(sidecar.stored_keys()) == [
        f"{APP_ID}||progress%7C%25u1",
        f"{APP_ID}||progress%7C%7Cu1",
    ]
    assert sorted(sidecar.keys()) == ["progress|%u1", "progress||u1"]
    call(partial(store.delete, "progress||u1"))
    assert call(store.get, "progress||u1").value is None


def test_a_first_write_that_loses_the_race_is_a_conflict(dapr_client, sidecar):
    store = state(dapr_client)
    # Another replica writes the key between this one's read and its write.
    sidecar.before_save = lambda: sidecar.put("statestore", "race", {"by": "other"})
    with pytest.raises(ConcurrencyConflict):
        dapr_client.portal.call(partial(store.save, "race", {"by": "us"}, etag=None))
    assert sidecar.value("statestore", "race") == {"by": "other"}
    assert sidecar.calls["GetState"] >= 1  # decided by reading the key back


def test_a_first_write_whose_answer_was_lost_is_a_conflict_with_our_value(dapr_client, sidecar):
    store = state(dapr_client)
    sidecar.lose_next_ack = True  # landed, then Dapr's retry of it found the row
    with pytest.raises(ConcurrencyConflict):
        dapr_client.portal.call(partial(store.save, "ours", {"n": 1}, etag=None))
    assert dapr_client.portal.call(store.get, "ours").value == {"n": 1}


def test_a_failed_first_write_with_nothing_stored_is_unavailable(dapr_client, sidecar):
    sidecar.fail_next("SaveState", code=grpc.StatusCode.INTERNAL)
    with pytest.raises(DependencyUnavailable):
        dapr_client.portal.call(partial(state(dapr_client).save, "none", {"a": 1}, etag=None))


def test_expired_rows_are_gone_and_may_be_written_first_again(sidecar):
    now = [1_000_000.0]
    sidecar.clock = lambda: now[0]

    async def scenario():
        async with sidecar_connection(sidecar) as connection:
            client = connection.client
            ttl = {"ttlInSeconds": "60"}
            await client.save_state("statestore", "m", "1", options=FIRST_WRITE, state_metadata=ttl)
            assert (await client.get_state("statestore", "m")).data == b"1"
            now[0] += 61
            assert (await client.get_state("statestore", "m")).data == b""
            await client.save_state("statestore", "m", "2", options=FIRST_WRITE)
            assert (await client.get_state("statestore", "m")).data == b"2"

    run(scenario())


def test_publishing_outside_the_components_scopes_is_refused(sidecar):
    async def scenario():
        async with sidecar_connection(sidecar) as connection:
            client = connection.client
            with pytest.raises(DaprGrpcError) as refused:
                await client.publish_event("pubsub", "not.ours", b"{}")
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert refused.value.error_code() == "DAPR_PUBSUB_FORBIDDEN"
            with pytest.raises(DaprGrpcError) as unknown:
                await client.publish_event("elsewhere", OUTPUT_TOPICS[0], b"{}")
            assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    run(scenario())


def test_subscriptions_fit_the_components_scopes(sidecar):
    """What GET /dapr/subscribe declares is what the component lets this app do: subscribe to
    its input topics and publish their dead letters (daprd publishes those as this app)."""
    with make_client() as client:
        subscriptions = client.get("/dapr/subscribe").json()
    scopes = sidecar.pubsubs["pubsub"]
    assert {s["topic"] for s in subscriptions} == set(INPUT_TOPICS)
    for subscription in subscriptions:
        assert subscription["pubsubname"] == "pubsub"
        assert scopes.may_subscribe(subscription["topic"]), subscription
        assert scopes.may_publish(subscription["deadLetterTopic"]), subscription
    for topic in OUTPUT_TOPICS:
        assert scopes.may_publish(topic)
    assert not scopes.may_subscribe("not.ours") and not scopes.may_publish("not.ours")


def test_metadata_and_invocation_want_the_token_but_health_does_not():
    sidecar = scoped_sidecar(api_token="t").start()
    try:
        import httpx

        base = f"http://127.0.0.1:{sidecar.http_port}/v1.0"
        assert httpx.get(f"{base}/healthz/outbound").status_code == 204
        assert httpx.get(f"{base}/metadata").status_code == 401
        assert httpx.get(f"{base}/metadata", headers={"dapr-api-token": "t"}).json()["id"] == (
            APP_ID
        )
        refused = httpx.post(f"{base}/invoke/x/method/process", content=json.dumps({}))
        assert refused.status_code == 401
    finally:
        sidecar.stop()
