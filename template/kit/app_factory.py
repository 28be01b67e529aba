"""The service's edge, built by the kit: HTTP routes, Dapr subscriptions, lifespan.

Thin on purpose: it validates what comes in, hands it to the agent, and maps outcomes onto
status codes (and onto SUCCESS / RETRY / DROP for pub/sub). Decisions live in agent.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import APIRouter, Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from kit.agent_base import BaseAgent, PoisonMessage
from kit.contracts import (
    COMMON_RESPONSES,
    CloudEvent,
    EventStatus,
    HealthReply,
    ProcessReply,
    ProcessRequest,
)
from kit.deps import current_runtime
from kit.identity import AGENT_NAME, AGENT_TYPE, APP_ID, DESCRIPTION, INPUT_TOPICS
from kit.interfaces import DependencyUnavailable
from kit.observability import Metrics, ServiceMiddleware, annotate, configure_logging
from kit.runtime import ServiceRuntime
from kit.settings import KitSettings

log = structlog.get_logger("app")


def event_route(topic: str) -> str:
    return f"/events/{topic}"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.deadletter"


def create_app(
    agent_class: type[BaseAgent],
    *,
    routers: Sequence[APIRouter] = (),
    settings: KitSettings | None = None,
) -> FastAPI:
    """The service's app: the kit's routes (health, readiness, metrics, /process, Dapr
    subscriptions and event delivery) around `agent_class`, plus the type's `routers`."""
    settings = settings or KitSettings()
    configure_logging(settings.log_level, settings.secret_values())
    metrics = Metrics(AGENT_NAME)
    runtime = ServiceRuntime(settings, agent_class, INPUT_TOPICS)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        yield
        await runtime.stop()

    app = FastAPI(
        title=f"{APP_ID}",
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
        responses=COMMON_RESPONSES,
    )
    app.state.runtime = runtime
    app.state.metrics = metrics
    app.add_middleware(
        ServiceMiddleware,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        app_api_token=(
            settings.app_api_token.get_secret_value() if settings.app_api_token else None
        ),
    )

    @app.exception_handler(DependencyUnavailable)
    async def _dependency_down(_request: Request, error: DependencyUnavailable) -> JSONResponse:
        # Agents degrade where they can; this is the last resort, never a bare 500.
        log.warning("dependency_unavailable", error=str(error))
        return JSONResponse(
            status_code=503,
            content={"detail": "a dependency is unavailable; try again shortly"},
            headers={"retry-after": "5"},
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        # One readable line per problem, naming the field and what to send instead.
        problems = [
            {
                "field": ".".join(str(part) for part in e["loc"] if part != "body") or "body",
                "problem": e["msg"],
            }
            for e in error.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return JSONResponse(
            status_code=422, content={"detail": f"invalid request: {summary}", "errors": problems}
        )

    @app.get("/health", response_model=HealthReply, tags=["operations"])
    async def health() -> HealthReply:
        """Liveness: the process answers. Never depends on the sidecar; reports it."""
        return HealthReply(
            status="healthy",
            dapr=runtime.dapr_status(),
            mode=runtime.mode,
            llm="openai" if settings.llm_enabled else "offline",
            agent=AGENT_NAME,
            agent_type=AGENT_TYPE,
        )

    @app.get("/ready", tags=["operations"], responses={503: {"description": "not ready"}})
    async def ready(rt: ServiceRuntime = Depends(current_runtime)) -> JSONResponse:
        """Readiness: 503 while a dependency this mode needs (the sidecar) cannot serve."""
        ok, problems = await rt.ready()
        return JSONResponse(
            status_code=200 if ok else 503,
            content={"ready": ok, "mode": rt.mode, "problems": problems},
        )

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/process", response_model=ProcessReply, tags=["agent"])
    async def process(request: ProcessRequest) -> ProcessReply:
        # The runtime from the closure: resolving a Depends() costs ~15 µs a request.
        agent = await current_runtime_agent()
        # On every line logged for this request, including the middleware's closing line.
        annotate(user_id=request.user_id, query_chars=len(request.query))
        reply = await agent.process(request)
        mode = reply.data.get("mode", "offline")
        metrics.answered(mode)
        annotate(mode=mode)
        return reply

    @app.post(
        "/process/stream",
        tags=["agent"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def process_stream(request: ProcessRequest) -> StreamingResponse:
        """The same answer as /process, as server-sent events: `delta` then `done`."""
        agent = await current_runtime_agent()
        annotate(user_id=request.user_id, query_chars=len(request.query))

        async def events() -> AsyncIterator[str]:
            async for item in agent.stream(request):
                yield f"event: {item['event']}\ndata: {json.dumps(item['data'])}\n\n"
                if item["event"] == "done":
                    mode = item["data"].get("data", {}).get("mode", "offline")
                    metrics.answered(mode)
                    annotate(mode=mode)

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/dapr/subscribe", tags=["dapr"])
    async def subscriptions() -> list[dict[str, str]]:
        """Programmatic subscriptions: Dapr reads this once at start-up."""
        return [
            {
                "pubsubname": settings.pubsub_name,
                "topic": topic,
                "route": event_route(topic),
                "deadLetterTopic": dead_letter_topic(topic),
            }
            for topic in INPUT_TOPICS
        ]

    async def deliver(topic: str, envelope: dict[str, Any]) -> EventStatus:
        """Validate a CloudEvent, skip one already handled, run the agent, map the outcome."""
        try:
            event = CloudEvent.model_validate(envelope)
        except ValidationError as error:
            log.warning(
                "event_dropped", topic=topic, reason=f"not a CloudEvent: {error.errors()[0]['msg']}"
            )
            metrics.events.labels(AGENT_NAME, topic, "DROP").inc()
            return EventStatus(status="DROP")
        data = event.data
        if isinstance(data, str):  # some publishers send JSON as a string
            try:
                data = json.loads(data)
            except ValueError:
                data = None
        if not isinstance(data, dict):
            log.warning(
                "event_dropped", topic=topic, event_id=event.id, reason="data is not a JSON object"
            )
            metrics.events.labels(AGENT_NAME, topic, "DROP").inc()
            return EventStatus(status="DROP")
        status = await handle_event(topic, event.id, data)
        return EventStatus(status=status)

    async def handle_event(topic: str, event_id: str, data: dict[str, Any]) -> str:
        agent = await current_runtime_agent()
        marker = f"{APP_ID}||handled||{topic}||{event_id}"
        try:
            if (await agent.deps.state.get(marker)).value is not None:
                log.info("event_duplicate", topic=topic, event_id=event_id)
                status = "SUCCESS"
            else:
                await agent.on_event(topic, event_id, data)
                await agent.deps.state.save(marker, {"topic": topic}, etag=None)
                status = "SUCCESS"
        except PoisonMessage as error:
            log.warning("event_dropped", topic=topic, event_id=event_id, reason=str(error))
            status = "DROP"
        except DependencyUnavailable as error:
            log.warning("event_retry", topic=topic, event_id=event_id, reason=str(error))
            status = "RETRY"
        except Exception:
            # A bug, not a bad message: retry (Dapr's resiliency policy bounds it and then
            # dead-letters), so the event is not lost.
            log.exception("event_failed", topic=topic, event_id=event_id)
            status = "RETRY"
        else:
            log.info("event_handled", topic=topic, event_id=event_id)
        metrics.events.labels(AGENT_NAME, topic, status).inc()
        return status

    async def current_runtime_agent() -> BaseAgent:
        if runtime.agent is None:
            await runtime.start(background=False)
        return runtime.agent

    async def deliver_locally(topic: str, event_id: str, data: dict[str, Any]) -> None:
        await handle_event(topic, event_id, data)

    runtime.on_local_event(deliver_locally)

    for topic in INPUT_TOPICS:
        _add_event_route(app, topic, deliver)

    for router in routers:
        app.include_router(router)
    return app


def _add_event_route(app: FastAPI, topic: str, deliver) -> None:
    async def receive_event(envelope: dict[str, Any] = Body(...)) -> EventStatus:
        return await deliver(topic, envelope)

    app.add_api_route(
        event_route(topic),
        receive_event,
        methods=["POST"],
        response_model=EventStatus,
        tags=["dapr"],
        name=f"event:{topic}",
        summary=f"CloudEvent from topic {topic}",
    )
