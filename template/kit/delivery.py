"""Pub/sub delivery: a CloudEvent from Dapr (or from the in-process bus) handed to the agent at
most once per event id, with an outcome Dapr understands: SUCCESS, RETRY or DROP.

No web framework here: the event routes pass the JSON body they received, the embedded bus
passes the event directly, and the tests call it on its own. Every outcome carries a reason
from a small fixed set, logged and counted (agent_events_total{status, reason}), so a dropped
event is never a mystery found only in one log line.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from pydantic import ValidationError

from kit.agent_base import BaseAgent, PoisonMessage
from kit.contracts import CloudEvent
from kit.interfaces import ConcurrencyConflict, DependencyUnavailable
from kit.observability import Metrics

log = structlog.get_logger("delivery")

Status = Literal["SUCCESS", "RETRY", "DROP"]
# How long an event id is remembered. Dapr redelivers an event it got no answer for within
# its retry policy (minutes) and Kafka redelivers what it holds (days, by retention): a week
# covers both, and the markers then expire instead of filling the state store for ever.
DEDUP_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Outcome:
    status: Status
    # One of: handled, duplicate, invalid_envelope, invalid_data, poison, too_large,
    # dependency_unavailable, handler_error.
    reason: str
    detail: str = ""


class EventDelivery:
    """Runs the agent's handler for one event, once per (topic, event id)."""

    def __init__(
        self,
        *,
        app_id: str,
        agent: Callable[[], Awaitable[BaseAgent]],
        metrics: Metrics,
        dedup_ttl_s: int = DEDUP_TTL_S,
    ) -> None:
        self._app_id = app_id
        self._agent = agent
        self._metrics = metrics
        self._dedup_ttl_s = dedup_ttl_s

    async def deliver(self, topic: str, envelope: Any) -> Outcome:
        """A CloudEvent as Dapr posts it (a JSON object): validate it, then handle its data."""
        try:
            event = CloudEvent.model_validate(envelope)
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "envelope"
            return self.record(
                topic, None, "DROP", "invalid_envelope", f"{where}: {problem['msg']}"
            )
        data = event.data
        if isinstance(data, str):  # some publishers send the JSON as a string
            try:
                data = json.loads(data)
            except ValueError:
                data = None
        if not isinstance(data, dict):
            return self.record(topic, event.id, "DROP", "invalid_data", "data is not a JSON object")
        return await self.handle(topic, event.id, data)

    async def handle(self, topic: str, event_id: str, data: dict[str, Any]) -> Outcome:
        agent = await self._agent()
        marker = f"{self._app_id}||handled||{topic}||{event_id}"
        try:
            if (await agent.deps.state.get(marker)).value is not None:
                return self.record(topic, event_id, "SUCCESS", "duplicate")
            await agent.on_event(topic, event_id, data)
            await self._remember(agent, marker, topic)
        except PoisonMessage as error:
            return self.record(topic, event_id, "DROP", "poison", str(error))
        except DependencyUnavailable as error:
            return self.record(topic, event_id, "RETRY", "dependency_unavailable", str(error))
        except Exception as error:  # noqa: BLE001 - a bug, not a bad message
            # Retry (Dapr's resiliency policy bounds it and then dead-letters), so the event
            # is not lost; the traceback goes to the log.
            log.exception("event_failed", topic=topic, event_id=event_id)
            return self.record(topic, event_id, "RETRY", "handler_error", type(error).__name__)
        return self.record(topic, event_id, "SUCCESS", "handled")

    async def _remember(self, agent: BaseAgent, marker: str, topic: str) -> None:
        try:
            await agent.deps.state.save(
                marker, {"topic": topic}, etag=None, ttl_s=self._dedup_ttl_s
            )
        except ConcurrencyConflict:
            pass  # a concurrent redelivery handled it too and got there first: still handled

    def record(
        self, topic: str, event_id: str | None, status: Status, reason: str, detail: str = ""
    ) -> Outcome:
        fields = {"topic": topic, "event_id": event_id, "status": status, "reason": reason}
        if status == "SUCCESS":
            log.info("event_handled" if reason == "handled" else "event_duplicate", **fields)
        else:
            log.warning(f"event_{status.lower()}", detail=detail, **fields)
        self._metrics.event(topic, status, reason)
        return Outcome(status, reason, detail)
