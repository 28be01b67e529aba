"""The events are documented as they are: asyncapi.yaml is exactly what kit/events.py makes,
names every topic this service consumes and publishes and their dead-letter topics, and what
the service really publishes, and what it is sent, fits the schema a reader finds there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import cloud_event
from jsonschema import Draft7Validator
from pydantic import ValidationError
from test_api import SAMPLE_EVENTS, SAMPLE_QUERY

from kit.asyncapi import service_asyncapi
from kit.events import TOPIC_MODELS, validated_payload
from kit.identity import INPUT_TOPICS, OUTPUT_TOPICS
from kit.routes.events import dead_letter_topic

ASYNCAPI_FILE = Path(__file__).resolve().parents[1] / "asyncapi.yaml"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return yaml.safe_load(ASYNCAPI_FILE.read_text(encoding="utf-8"))


def check_event(document: dict[str, Any], topic: str, data: Any) -> None:
    """`data` published on `topic` is valid by the schema asyncapi.yaml gives a reader (the
    CloudEvent envelope around it included) and by its model in kit/events.py."""
    envelope = cloud_event(data, event_id="evt-check", topic=topic)
    # Draft 7 resolves the message's $refs inside the document itself.
    schema = {**document, "$ref": f"#/components/messages/{topic}/payload"}
    problems = [e.message for e in Draft7Validator(schema).iter_errors(envelope)]
    assert not problems, f"{topic}: {problems}"
    validated_payload(topic, data)


def test_asyncapi_yaml_is_what_the_event_models_make():
    shipped = ASYNCAPI_FILE.read_text(encoding="utf-8")
    assert shipped == service_asyncapi(), "asyncapi.yaml is out of date: run `make asyncapi`"


def test_every_topic_and_dead_letter_topic_is_documented(document):
    addresses = {channel["address"] for channel in document["channels"].values()}
    dead_letters = {dead_letter_topic(topic) for topic in INPUT_TOPICS}
    assert addresses == {*INPUT_TOPICS, *OUTPUT_TOPICS, *dead_letters}
    actions = {
        (op["action"], document_channel(document, op)["address"])
        for op in document["operations"].values()
    }
    assert actions == {
        *(("receive", topic) for topic in INPUT_TOPICS),
        *(("send", topic) for topic in OUTPUT_TOPICS),
        *(("send", dead) for dead in dead_letters),
    }


def document_channel(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    name = operation["channel"]["$ref"].removeprefix("#/channels/")
    return document["channels"][name]


def test_every_documented_field_has_a_description(document):
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        assert schema.get("description"), name
        for field, spec in schema.get("properties", {}).items():
            assert spec.get("description") or "$ref" in spec, f"{name}.{field}"


def test_the_documented_examples_are_valid_events(document):
    examples = 0
    for topic, message in document["components"]["messages"].items():
        for example in message.get("examples", []):
            check_event(document, topic, example["payload"]["data"])
            examples += 1
    documented = [t for t in {*INPUT_TOPICS, *OUTPUT_TOPICS} if t in TOPIC_MODELS]
    assert examples >= len(documented)


@pytest.mark.parametrize("topic", INPUT_TOPICS)
def test_the_agents_sample_events_are_valid_events_of_their_topic(document, topic):
    check_event(document, topic, SAMPLE_EVENTS[topic])


@pytest.mark.parametrize("topic", sorted(TOPIC_MODELS))
def test_an_event_missing_its_fields_is_refused(topic):
    with pytest.raises(ValidationError):
        validated_payload(topic, {})


def published(client) -> list[dict[str, Any]]:
    return client.portal.call(client.app.state.runtime.bus.outbox, 1000)


def test_what_the_service_publishes_is_what_asyncapi_yaml_says(client, document):
    """A question through /process and each sample event through its route: every event
    published on the way is on a documented topic and valid by its documented schema."""
    assert client.post("/process", json={"user_id": "learner-1", "query": SAMPLE_QUERY}).is_success
    for topic in INPUT_TOPICS:
        event = cloud_event(SAMPLE_EVENTS[topic], event_id=f"contract-{topic}", topic=topic)
        assert client.post(f"/events/{topic}", json=event).json() == {"status": "SUCCESS"}
    events = published(client)
    assert events, "nothing was published, so nothing was checked"
    for event in events:
        assert event["topic"] in OUTPUT_TOPICS, event["topic"]
        check_event(document, event["topic"], event["data"])


@pytest.mark.skipif(
    not {"exercise.grades"} <= set(INPUT_TOPICS) or "struggle.alerts" not in OUTPUT_TOPICS,
    reason="only a service that turns grades into struggle alerts publishes them",
)
def test_struggle_alerts_are_what_asyncapi_yaml_says(client, document):
    failed = {**SAMPLE_EVENTS["exercise.grades"], "score": 0.0, "passed": 0}
    failed["error_type"] = "TypeError"
    for attempt in range(3):
        event = cloud_event(failed, event_id=f"failed-{attempt}", topic="exercise.grades")
        assert client.post("/events/exercise.grades", json=event).json() == {"status": "SUCCESS"}
    alerts = [e for e in published(client) if e["topic"] == "struggle.alerts"]
    assert alerts, "three failed attempts in a row opened no struggle"
    for alert in alerts:
        check_event(document, "struggle.alerts", alert["data"])
