"""The shapes that cross the service's edge: HTTP bodies and CloudEvents.

Validated here, once, so nothing below app.py has to distrust its input.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator
from pydantic.json_schema import JsonDict

# Limits that keep one request from costing the service more than a learner's question is worth.
MAX_QUERY_CHARS = 8_000
MAX_CONTEXT_KEYS = 32
MAX_CONTEXT_JSON_CHARS = 32_000
USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$"

Mode = Literal["llm", "offline", "degraded"]


class StrictModel(BaseModel):
    # Unknown fields are refused so a typo ("querry") gets a 422 that names it instead of a
    # silently empty answer.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProcessRequest(StrictModel):
    user_id: str = Field(
        pattern=USER_ID_PATTERN,
        description="Learner id: letters, digits and . _ @ : - (at most 128 characters).",
        examples=["12345"],
    )
    query: str = Field(
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        # Not blank: surrounding whitespace is stripped, and an empty question has no answer.
        pattern=r"\S",
        description="The learner's question, code or traceback.",
        examples=["How do for loops work?"],
    )
    context: dict[str, Any] = Field(
        default_factory=dict,
        max_length=MAX_CONTEXT_KEYS,
        description="Optional hints: level (beginner|intermediate|advanced), module, code, "
        "timezone, exercise_id ...",
        examples=[{"module": "control-flow", "level": "beginner"}],
    )

    @field_validator("context")
    @classmethod
    def _bounded_context(cls, value: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(value, default=str))
        if size > MAX_CONTEXT_JSON_CHARS:
            raise ValueError(
                f"context is {size} characters of JSON; keep it under {MAX_CONTEXT_JSON_CHARS}"
            )
        return value

    # Set by the kit while the request is answered (kit/llm_session.py): the level it chose
    # for a request that gave none.
    _chosen_level: str | None = PrivateAttr(default=None)

    @property
    def requested_level(self) -> str | None:
        """The level the context names, if it is one of LEVELS."""
        level = str(self.context.get("level", "")).strip().lower()
        return level if level in LEVELS else None

    @property
    def level(self) -> str:
        """The level asked for in the context; else the one the kit chose from the learner's
        mastery (kit/level.py); else beginner."""
        requested = self.requested_level
        if requested is not None:
            return requested
        return self._chosen_level if self._chosen_level in LEVELS else "beginner"


LEVELS = ("beginner", "intermediate", "advanced")


class ProcessReply(BaseModel):
    """An agent's answer to a learner."""

    agent: str = Field(description="The agent that answered.")
    response: str = Field(description="The answer the learner reads.")
    next_steps: list[str] = Field(
        default_factory=list, description="What the learner can do next, best first."
    )
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="Type-specific details; always includes mode: llm | offline | degraded.",
    )


# Fields Dapr adds to the envelope besides those below: documented, never read.
DAPR_ENVELOPE_EXTRAS: JsonDict = {
    "traceid": {"type": "string", "description": "W3C trace context (same as traceparent)."},
    "traceparent": {"type": "string", "description": "W3C trace context of the publisher."},
    "tracestate": {"type": "string", "description": "W3C trace state."},
    "time": {"type": "string", "format": "date-time", "description": "When it was published."},
}


def _document_dapr_extras(schema: JsonDict) -> None:
    properties = schema["properties"]
    if isinstance(properties, dict):
        properties.update(DAPR_ENVELOPE_EXTRAS)


class CloudEvent(BaseModel):
    """The envelope Dapr posts to a subscription route (CloudEvents 1.0, JSON)."""

    # Dapr adds fields (traceid, traceparent, pubsubname, topic, ...); keep them, ignore them.
    model_config = ConfigDict(extra="allow", json_schema_extra=_document_dapr_extras)

    id: str = Field(
        min_length=1,
        max_length=256,
        description="Unique per event: a redelivery has the same id, and is handled once.",
    )
    source: str = Field(default="", description="Dapr sets the publisher's app-id.")
    type: str = Field(default="com.dapr.event.sent", description="Dapr's event type.")
    specversion: str = Field(default="1.0", description="CloudEvents version.")
    datacontenttype: str | None = Field(
        default="application/json", description="How `data` is encoded."
    )
    topic: str | None = Field(default=None, description="The topic it was published on.")
    pubsubname: str | None = Field(default=None, description="The Dapr pub/sub component.")
    data: Any = Field(
        default=None,
        description="The event itself: a JSON object (a string holding one is accepted too).",
    )


class EventStatus(BaseModel):
    status: Literal["SUCCESS", "RETRY", "DROP"]


class HealthReply(BaseModel):
    status: Literal["healthy"]
    dapr: Literal["connected", "disconnected", "disabled"]
    mode: Literal["dapr", "embedded"]
    llm: Literal["openai", "dapr-conversation", "offline"]
    agent: str
    agent_type: str


class ErrorReply(BaseModel):
    detail: str


class ValidationErrorReply(BaseModel):
    detail: str = Field(description="One line naming each field and what is wrong with it.")
    errors: list[dict[str, Any]]


# Outcomes any route can have, documented once for the OpenAPI schema.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorReply, "description": "the body could not be read (e.g. not UTF-8)"},
    401: {"model": ErrorReply, "description": "APP_API_TOKEN is set and dapr-api-token is wrong"},
    413: {"model": ErrorReply, "description": "the body is larger than MAX_BODY_BYTES"},
    422: {"model": ValidationErrorReply, "description": "the request is not valid"},
    503: {"model": ErrorReply, "description": "a dependency (state store, sidecar) is down"},
}
