"""The HTTP and pub/sub contract every LearnFlow agent keeps, whatever its type."""

from __future__ import annotations

import gc
import io
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import structlog
from conftest import cloud_event, logged, make_client, scratch_dir

from agent import Agent
from kit.identity import AGENT_NAME, AGENT_TYPE, INPUT_TOPICS
from kit.ids import unique_id
from kit.observability import configure_logging

# What a learner sends this type, and a valid payload for each topic it consumes: declared by
# the agent itself (agent.py), so these tests run unchanged for any type.
SAMPLE_QUERY = Agent.sample_query
SAMPLE_EVENTS = Agent.sample_events


def test_the_agent_declares_a_sample_for_every_topic_it_consumes():
    assert set(SAMPLE_EVENTS) == set(INPUT_TOPICS)


def process(client, query: str | None = None, **extra):
    body = {"user_id": "learner-1", "query": query or SAMPLE_QUERY, "context": {}}
    body.update(extra)
    return client.post("/process", json=body)


def test_health_reports_embedded_mode_without_a_sidecar(client):
    body = client.get("/health").json()
    assert body == {
        "status": "healthy",
        "dapr": "disabled",
        "mode": "embedded",
        "llm": "offline",
        "agent": AGENT_NAME,
        "agent_type": AGENT_TYPE,
    }


def test_ready_in_embedded_mode(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["ready"] is True


def test_process_answers_offline_with_type_data(client):
    response = process(client)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"agent", "response", "next_steps", "data"}
    assert body["response"].strip()
    assert body["data"]["mode"] == "offline"
    assert isinstance(body["next_steps"], list)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"query": "hi"}, "user_id"),
        ({"user_id": "u1"}, "query"),
        ({"user_id": "u1", "query": ""}, "query"),
        ({"user_id": "u1", "query": "hi", "context": "beginner"}, "context"),
        ({"user_id": "u 1", "query": "hi"}, "user_id"),
        ({"user_id": "u1", "query": "hi", "querry": "typo"}, "querry"),
        ({"user_id": 5, "query": "hi"}, "user_id"),
    ],
)
def test_invalid_requests_get_422_naming_the_field(client, body, field):
    response = client.post("/process", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("invalid request:")
    assert field in detail


@pytest.mark.parametrize("content", [b"{not json", b"", b"[1, 2]"])
def test_a_body_that_is_not_a_json_object_is_422_saying_what_to_send(client, content):
    response = client.post(
        "/process", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("invalid request: body:")
    assert "object" in detail


def test_the_openapi_document_describes_what_process_takes_and_answers(client):
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/process"]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    ref = body["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"user_id", "query"} <= set(schema["required"])
    assert set(schema["properties"]) == {"user_id", "query", "context"}
    answered = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert answered.endswith("/ProcessReply")
    assert {"422", "413", "503"} <= set(operation["responses"])


def test_oversized_body_is_413():
    with make_client(max_body_bytes=2048) as client:
        response = process(client, query="x" * 4000)
        assert response.status_code == 413
        assert "limit" in response.json()["detail"]


def test_oversized_chunked_body_is_413():
    with make_client(max_body_bytes=2048) as client:
        payload = json.dumps({"user_id": "u1", "query": "x" * 4000}).encode()

        def chunks():
            yield payload[:1000]
            yield payload[1000:]

        response = client.post(
            "/process", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413


def test_metrics_count_requests_by_route_and_outcome(client):
    process(client)
    client.post("/process", json={"query": "missing user"})
    text = client.get("/metrics").text
    labels = f'agent="{AGENT_NAME}",method="POST",outcome="2xx",route="/process"'
    assert f"agent_requests_total{{{labels}}}" in text
    assert 'outcome="4xx",route="/process"' in text
    assert "agent_request_duration_seconds_bucket" in text


def test_request_id_is_echoed(client):
    response = client.get("/health", headers={"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert process(client).headers["x-request-id"]


def test_dapr_subscribe_lists_every_input_topic_with_a_route_that_exists(client):
    subscriptions = client.get("/dapr/subscribe").json()
    assert [s["topic"] for s in subscriptions] == list(INPUT_TOPICS)
    paths = client.get("/openapi.json").json()["paths"]
    for subscription in subscriptions:
        assert "post" in paths[subscription["route"]]
        assert subscription["pubsubname"] == "pubsub"
        assert subscription["deadLetterTopic"] == subscription["topic"] + ".deadletter"


@pytest.mark.parametrize("topic", INPUT_TOPICS)
def test_valid_events_succeed_and_duplicates_are_not_reprocessed(client, topic):
    event = cloud_event(SAMPLE_EVENTS[topic], event_id=f"dup-{topic}", topic=topic)
    first = client.post(f"/events/{topic}", json=event)
    assert first.json() == {"status": "SUCCESS"}
    published = client.app.state.runtime.bus
    before = len(client.portal.call(published.outbox))
    again = client.post(f"/events/{topic}", json=event)
    assert again.json() == {"status": "SUCCESS"}
    assert len(client.portal.call(published.outbox)) == before


@pytest.mark.parametrize("topic", INPUT_TOPICS)
@pytest.mark.parametrize(
    "envelope",
    [
        {"no": "id"},
        cloud_event("not an object"),
        cloud_event(None),
        cloud_event({"unexpected": "shape"}),
        cloud_event([1, 2, 3]),
    ],
)
def test_poison_events_are_dropped_not_retried(client, topic, envelope):
    response = client.post(f"/events/{topic}", json=envelope)
    assert response.status_code == 200
    assert response.json() == {"status": "DROP"}


def test_app_token_guards_everything_but_health_and_metrics():
    with make_client(app_api_token="s3cret-app-token") as client:
        assert client.get("/health").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert process(client).status_code == 401
        assert client.get("/dapr/subscribe").status_code == 401
        ok = client.post(
            "/process",
            json={"user_id": "u1", "query": SAMPLE_QUERY},
            headers={"dapr-api-token": "s3cret-app-token"},
        )
        assert ok.status_code == 200


def test_stream_sends_deltas_then_the_full_reply(client):
    with client.stream(
        "POST", "/process/stream", json={"user_id": "u1", "query": SAMPLE_QUERY}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    events = [block for block in text.split("\n\n") if block.strip()]
    assert events[0].startswith("event: delta")
    assert events[-1].startswith("event: done")
    done = json.loads(events[-1].split("data: ", 1)[1])
    deltas = "".join(json.loads(e.split("data: ", 1)[1])["text"] for e in events[:-1])
    assert deltas == done["response"]


def request_lines(capsys) -> list[dict]:
    lines = [json.loads(line) for line in logged(capsys).splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "request"]


def test_logs_are_json_with_request_id_and_user(client, capsys):
    process(client)
    # One line per request, carrying what the handler learned (who asked, how it answered).
    requests = request_lines(capsys)
    assert len(requests) == 1
    line = requests[0]
    assert line["user_id"] == "learner-1"
    assert line["request_id"] and line["route"] == "/process" and line["status"] == 200
    assert line["mode"] == "offline" and "duration_ms" in line and line["query_chars"] > 0
    assert line["level"] == "info"
    stamp = datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)


def test_fields_an_owner_binds_with_structlog_contextvars_are_on_the_request_line(capsys):
    from fastapi.testclient import TestClient

    from app import build_app
    from config import Settings

    app = build_app(Settings(embedded_state_path=scratch_dir() / "state.db"))

    @app.middleware("http")
    async def tag_cohort(request, call_next):
        structlog.contextvars.bind_contextvars(cohort="spring")
        try:
            return await call_next(request)
        finally:
            structlog.contextvars.unbind_contextvars("cohort")

    with TestClient(app) as client:
        process(client)
    [line] = request_lines(capsys)
    assert line["cohort"] == "spring" and line["route"] == "/process"


def test_below_info_no_request_lines_are_written(capsys):
    with make_client(log_level="WARNING") as client:
        assert process(client).status_code == 200
    assert request_lines(capsys) == []


def test_a_log_line_with_non_ascii_text_is_escaped_ascii_json(capsys):
    configure_logging("INFO", [])
    structlog.get_logger("test").warning("odd_input", text="café ☕ \u2028", count=3)
    line = logged(capsys).strip().splitlines()[-1]
    assert line.isascii()
    assert json.loads(line) | {"timestamp": None} == {
        "event": "odd_input",
        "text": "café ☕ \u2028",
        "count": 3,
        "level": "warning",
        "timestamp": None,
    }


def test_lines_reach_stdout_while_the_service_runs_and_warnings_at_once(monkeypatch):
    # Info lines are buffered (no write call per request's line) and the running app flushes
    # them every LOG_FLUSH_SECONDS; a stream that never flushes by itself shows who did.
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="utf-8"))
    with make_client() as client:
        process(client)
        deadline = time.monotonic() + 5
        while b'"event":"request"' not in raw.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert b'"event":"request"' in raw.getvalue()
        structlog.get_logger("test").warning("something_failed")
        assert b'"event":"something_failed"' in raw.getvalue()


def test_request_and_event_ids_differ_in_a_forked_child():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its ids, then gone
        os.write(write, " ".join(unique_id() for _ in range(3)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = set(os.read(read, 4096).decode().split())
    os.close(read)
    mine = {unique_id() for _ in range(3)}
    assert len(child) == 3 and len(mine) == 3 and not child & mine


def test_what_startup_built_is_left_out_of_garbage_collection_until_shutdown():
    with make_client():
        frozen = gc.get_freeze_count()
    assert frozen > 10_000  # modules, content, the agent
    assert gc.get_freeze_count() == 0  # a process that builds many apps still collects them


@pytest.fixture(scope="module")
def recorded_spans():
    """Spans recorded in memory by an OpenTelemetry SDK tracer provider, as an owner would set
    one up. The API takes one global provider per process, so it is set once and left."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


def test_fastapi_telemetry_traces_requests_only_when_turned_on(recorded_spans):
    with make_client() as client:
        assert process(client).status_code == 200
    assert recorded_spans.get_finished_spans() == ()
    with make_client(fastapi_telemetry=True) as client:
        assert process(client).status_code == 200
    names = [span.name for span in recorded_spans.get_finished_spans()]
    assert "POST /process" in names, names


def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "state.db"
    with make_client(embedded_state_path=path) as client:
        agent = client.app.state.runtime.agent
        client.portal.call(
            partial(agent.deps.state.save, "restart-check", {"kept": True}, etag=None)
        )
    with make_client(embedded_state_path=path) as client:
        agent = client.app.state.runtime.agent
        item = client.portal.call(agent.deps.state.get, "restart-check")
        assert item.value == {"kept": True}


def test_events_as_large_as_the_pubsub_carries_are_taken_and_larger_ones_dropped(client):
    topic = INPUT_TOPICS[0]
    # 512 KiB: over the HTTP body limit, within what Kafka carries. Dapr keeps the envelope's
    # extra attributes, so the padding rides there.
    event = cloud_event(SAMPLE_EVENTS[topic], event_id="big-but-fine", topic=topic)
    event["padding"] = "x" * (512 * 1024)
    assert client.post(f"/events/{topic}", json=event).json() == {"status": "SUCCESS"}
    event = cloud_event(SAMPLE_EVENTS[topic], event_id="too-big", topic=topic)
    event["padding"] = "x" * (2 * 1024 * 1024)
    response = client.post(f"/events/{topic}", json=event)
    # A 413 would make Dapr retry a message that can never fit: a deliberate DROP instead.
    assert response.status_code == 200 and response.json() == {"status": "DROP"}
    metrics = client.get("/metrics").text
    assert f'topic="{topic}"' in metrics and 'reason="too_large"' in metrics
    # An ordinary request over the HTTP limit is still refused with 413.
    too_long = client.post("/process", content=b"{" + b" " * (300 * 1024) + b"}")
    assert too_long.status_code == 413


def test_request_metrics_read_as_prometheus_clients_own_would():
    """The kit counts requests and answers in plain numbers (kit/observability.py
    RequestTally); a scrape must read exactly as prometheus_client's Counter and Histogram
    fed the same observations, bucket edges included (a duration equal to a bound is in it)."""
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from kit.observability import DURATION_BUCKETS, Metrics

    ours = Metrics("t")
    theirs = CollectorRegistry()
    labels = ["agent", "method", "route", "outcome"]
    requests = Counter(
        "agent_requests_total", "HTTP requests by route and outcome.", labels, registry=theirs
    )
    duration = Histogram(
        "agent_request_duration_seconds",
        "HTTP request duration by route and outcome.",
        labels,
        buckets=DURATION_BUCKETS,
        registry=theirs,
    )
    answers = Counter(
        "agent_answers_total",
        "Answers given by mode (llm, offline, degraded).",
        ["agent", "mode"],
        registry=theirs,
    )
    seen = [
        ("POST", "/process", 200, 0.005),
        ("POST", "/process", 200, 0.0051),
        ("POST", "/process", 422, 0.0),
        ("GET", "/health", 200, 31.0),
        ("POST", "/process", 200, 1.0),
    ]
    for method, route, status, seconds in seen:
        ours.observe(method, route, status, seconds)
        outcome = f"{status // 100}xx"
        requests.labels("t", method, route, outcome).inc()
        duration.labels("t", method, route, outcome).observe(seconds)
    for mode in ("offline", "offline", "llm"):
        ours.answered(mode)
        answers.labels("t", mode).inc()

    def samples(registry: CollectorRegistry) -> set[str]:
        wanted = ("agent_requests_", "agent_request_duration_", "agent_answers_")
        return {
            line
            for line in generate_latest(registry).decode().splitlines()
            if line.startswith(wanted) and "_created" not in line
        }

    assert samples(ours.registry) == samples(theirs)
    created = [
        line
        for line in generate_latest(ours.registry).decode().splitlines()
        if line.startswith("agent_requests_created")
    ]
    assert len(created) == 3  # one per label set, as prometheus_client writes them
