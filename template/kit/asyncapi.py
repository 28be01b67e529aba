"""asyncapi.yaml: the events this service consumes and publishes, as an AsyncAPI 3.0 document
made from the payload models in kit/events.py.

`python -m kit.asyncapi` prints it and `make asyncapi` rewrites asyncapi.yaml with it; the
service's tests fail while the shipped file differs. copier cannot run Python when it renders a
service, so asyncapi.yaml.jinja builds the same document from scripts/asyncapi_catalog.json in
the template repository, which is `catalog()` written as JSON (its tests keep the two equal).
`document` is therefore written to be mirrored line for line in Jinja: keep the two in step.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, get_args

import yaml
from pydantic import BaseModel, RootModel
from pydantic.json_schema import GenerateJsonSchema

from kit.contracts import CloudEvent
from kit.events import EVENTS_VERSION, TOPIC_MODELS

ASYNCAPI_VERSION = "3.0.0"
REF_TEMPLATE = "#/components/schemas/{model}"

# The document's prose that does not come from a model ({topic} is replaced by the topic).
TEXTS = {
    "header": "# Generated from kit/events.py by `make asyncapi` (python -m kit.asyncapi): "
    "do not edit.\n",
    "info": "Every event is a CloudEvent (JSON) that Dapr wraps around the data the publisher "
    "sends: each message's payload is that envelope, and its `data` is the event itself. "
    "Events are at least once: each is handled once per CloudEvent id. Each topic this "
    "service consumes has a dead-letter topic, `<topic>.deadletter`.",
    "receive": "Dapr posts each event to POST /events/{topic}. The service answers SUCCESS "
    "(handled, or a redelivery of an event it already handled), RETRY (a dependency is "
    "down, or a bug: Dapr retries by its resiliency policy) or DROP (the event can never "
    "succeed; the reason is logged and counted in agent_events_total{reason}).",
    "send": "The service publishes these through its Dapr sidecar.",
    "deadletter": "Where this service's Dapr sidecar puts a {topic} event the service gave "
    "up on: answered DROP, or still failing when the retries ran out. It is the original "
    "CloudEvent, unchanged. Nothing here subscribes to it: read it to inspect, fix or "
    "replay those events.",
    "undocumented": "kit/events.py has no model for this topic: its data is a JSON object of "
    "any shape.",
}


class _NoFieldTitles(GenerateJsonSchema):
    """Schemas without pydantic's per-field titles ("User Id"): the names say it already."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=_NoFieldTitles)


def title_of(model: type[BaseModel]) -> str:
    """ConceptRequest -> "Concept request"."""
    words = re.findall(r"[A-Z][a-z]*", model.__name__)
    return " ".join([words[0], *(w.lower() for w in words[1:])])


def fields_of(model: type[BaseModel]) -> str:
    """The fields in one line, optional ones marked `?`; a union lists each shape."""
    if issubclass(model, RootModel):
        shapes = get_args(model.model_fields["root"].annotation)
        return " or ".join(f"{shape.__name__} ({fields_of(shape)})" for shape in shapes)
    return ", ".join(
        name + ("" if field.is_required() else "?") for name, field in model.model_fields.items()
    )


def catalog() -> dict[str, Any]:
    """What the document takes from the models, as plain JSON data: every topic's payload
    schema, title, summary and example, the schemas they refer to, and the prose."""
    schemas: dict[str, Any] = {"CloudEvent": model_schema(CloudEvent)}
    topics: dict[str, Any] = {}
    for topic, model in TOPIC_MODELS.items():
        schema = model_schema(model)
        found = {model.__name__: schema, **schema.pop("$defs", {})}
        for name, value in found.items():
            if schemas.setdefault(name, value) != value:
                raise ValueError(f"two different schemas are named {name}")
        topics[topic] = {
            "payload": model.__name__,
            "title": title_of(model),
            "summary": " ".join(schema.get("description", "").split()),
            "fields": fields_of(model),
            "schemas": list(found),
            "example": schema.get("examples", [None])[0],
        }
    schemas["UndocumentedPayload"] = {"type": "object", "description": TEXTS["undocumented"]}
    undocumented = {
        "payload": "UndocumentedPayload",
        "title": "Undocumented event",
        "summary": TEXTS["undocumented"],
        "fields": "any",
        "schemas": ["UndocumentedPayload"],
        "example": None,
    }
    result = {
        "version": EVENTS_VERSION,
        "texts": TEXTS,
        "topics": topics,
        "undocumented": undocumented,
        "schemas": schemas,
    }
    # Exactly what the template reads back from JSON (tuples become lists, and so on).
    loaded: dict[str, Any] = json.loads(json.dumps(result))
    return loaded


def message(catalog: dict[str, Any], topic: str, pubsub_name: str) -> dict[str, Any]:
    entry = catalog["topics"].get(topic, catalog["undocumented"])
    found: dict[str, Any] = {
        "name": topic,
        "title": entry["title"],
        "summary": entry["summary"],
        "contentType": "application/cloudevents+json",
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEvent"},
                {
                    "type": "object",
                    "required": ["data"],
                    "properties": {"data": {"$ref": "#/components/schemas/" + entry["payload"]}},
                },
            ]
        },
    }
    if entry["example"] is not None:
        envelope = {
            "specversion": "1.0",
            "type": "com.dapr.event.sent",
            "id": "5b0c8f2e-3f4a-4c1e-9a57-0d6f1c2b7e41",
            "datacontenttype": "application/json",
            "pubsubname": pubsub_name,
            "topic": topic,
            "data": entry["example"],
        }
        found["examples"] = [{"name": entry["payload"], "payload": envelope}]
    return found


def document(
    catalog: dict[str, Any],
    *,
    app_id: str,
    description: str,
    pubsub_name: str,
    input_topics: tuple[str, ...] | list[str],
    output_topics: tuple[str, ...] | list[str],
) -> dict[str, Any]:
    """The AsyncAPI document of a service with these topics (asyncapi.yaml.jinja mirrors it)."""
    texts = catalog["texts"]
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"CloudEvent": catalog["schemas"]["CloudEvent"]}
    for topic in [*input_topics, *output_topics]:
        entry = catalog["topics"].get(topic, catalog["undocumented"])
        messages[topic] = message(catalog, topic, pubsub_name)
        for name in entry["schemas"]:
            schemas[name] = catalog["schemas"][name]
        # New objects each time, never one shared: PyYAML would write a shared one as an
        # anchor and aliases (&id001), which readers of the file should not have to follow.
        channels[topic] = {
            "address": topic,
            "title": entry["title"],
            "messages": {topic: {"$ref": "#/components/messages/" + topic}},
        }
        if topic in input_topics:
            dead = topic + ".deadletter"
            channels[dead] = {
                "address": dead,
                "description": texts["deadletter"].replace("{topic}", topic),
                "messages": {topic: {"$ref": "#/components/messages/" + topic}},
            }
    for topic in input_topics:
        ref = [{"$ref": "#/channels/" + topic + "/messages/" + topic}]
        operations["receive." + topic] = {
            "action": "receive",
            "channel": {"$ref": "#/channels/" + topic},
            "description": texts["receive"].replace("{topic}", topic),
            "messages": ref,
        }
        dead = topic + ".deadletter"
        operations["deadletter." + topic] = {
            "action": "send",
            "channel": {"$ref": "#/channels/" + dead},
            "description": texts["deadletter"].replace("{topic}", topic),
            "messages": [{"$ref": "#/channels/" + dead + "/messages/" + topic}],
        }
    for topic in output_topics:
        operations["send." + topic] = {
            "action": "send",
            "channel": {"$ref": "#/channels/" + topic},
            "description": texts["send"],
            "messages": [{"$ref": "#/channels/" + topic + "/messages/" + topic}],
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": app_id + " events",
            "version": catalog["version"],
            "description": description + "\n\n" + texts["info"],
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def to_yaml(catalog: dict[str, Any], doc: dict[str, Any]) -> str:
    """The file's text: copier's `to_yaml` filter is PyYAML's dump with these options."""
    body = yaml.dump(doc, allow_unicode=True, default_flow_style=False, sort_keys=False)
    return str(catalog["texts"]["header"]) + str(body)


def service_asyncapi() -> str:
    """This service's asyncapi.yaml, from its rendered identity and the models."""
    from kit.identity import APP_ID, DESCRIPTION, INPUT_TOPICS, OUTPUT_TOPICS
    from kit.settings import KitSettings

    # The rendered default, not the environment's PUBSUB_NAME: the file is the same anywhere.
    pubsub_name = str(KitSettings.model_fields["pubsub_name"].default)
    data = catalog()
    doc = document(
        data,
        app_id=APP_ID,
        description=DESCRIPTION,
        pubsub_name=pubsub_name,
        input_topics=INPUT_TOPICS,
        output_topics=OUTPUT_TOPICS,
    )
    return to_yaml(data, doc)


def main() -> None:
    sys.stdout.buffer.write(service_asyncapi().encode("utf-8"))


if __name__ == "__main__":
    main()
