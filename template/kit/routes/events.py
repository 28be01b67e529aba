"""Dapr pub/sub: the programmatic subscriptions Dapr reads at start-up, and one route per
input topic where it posts each CloudEvent (handled by kit/delivery.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Body, Request

from kit.contracts import COMMON_RESPONSES, EventStatus
from kit.identity import INPUT_TOPICS


def event_route(topic: str) -> str:
    return f"/events/{topic}"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.deadletter"


def events_router(pubsub_name: str) -> APIRouter:
    router = APIRouter(tags=["dapr"], responses=COMMON_RESPONSES)

    @router.get("/dapr/subscribe")
    async def subscriptions() -> list[dict[str, str]]:
        """Programmatic subscriptions: Dapr reads this once at start-up."""
        return [
            {
                "pubsubname": pubsub_name,
                "topic": topic,
                "route": event_route(topic),
                "deadLetterTopic": dead_letter_topic(topic),
            }
            for topic in INPUT_TOPICS
        ]

    for topic in INPUT_TOPICS:
        router.add_api_route(
            event_route(topic),
            _receiver(topic),
            methods=["POST"],
            response_model=EventStatus,
            name=f"event:{topic}",
            summary=f"CloudEvent from topic {topic}",
        )
    return router


def _receiver(topic: str) -> Callable[..., Awaitable[EventStatus]]:
    async def receive_event(request: Request, envelope: Any = Body(...)) -> EventStatus:
        outcome = await request.app.state.delivery.deliver(topic, envelope)
        return EventStatus(status=outcome.status)

    return receive_event
