"""The service's app, assembled by the kit: middleware, error handling, the routes every agent
has (kit/routes/), event delivery, and the lifespan that starts the runtime.

Decisions live in the agent (agent.py): this only wires it to HTTP and pub/sub.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig

from kit.agent_base import BaseAgent
from kit.contracts import COMMON_RESPONSES
from kit.delivery import EventDelivery
from kit.identity import AGENT_NAME, APP_ID, DESCRIPTION, INPUT_TOPICS
from kit.interfaces import DependencyUnavailable
from kit.middleware import AccessLog, AppTokenAuth, BodyLimit
from kit.observability import Metrics, configure_logging, flush_logs_every
from kit.routes import conversations, events, operations, process
from kit.runtime import ServiceRuntime
from kit.settings import KitSettings

log = structlog.get_logger("app")


def create_app(
    agent_class: type[BaseAgent],
    *,
    routers: Sequence[APIRouter] = (),
    settings: KitSettings | None = None,
) -> FastAPI:
    """The kit's routes (health, readiness, metrics, /process, Dapr subscriptions and event
    delivery) around `agent_class`, plus the type's own `routers`."""
    settings = settings or KitSettings()
    configure_logging(settings.log_level, settings.secret_values())
    metrics = Metrics(AGENT_NAME)
    runtime = ServiceRuntime(settings, agent_class, INPUT_TOPICS, metrics=metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        flusher = asyncio.create_task(flush_logs_every())
        try:
            await runtime.start()
            keep_out_of_the_collectors_way()
            yield
            await runtime.stop()
        finally:
            gc.unfreeze()
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)

    app = FastAPI(
        title=APP_ID,
        description=DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
        responses=COMMON_RESPONSES,
        telemetry=_fastapi_telemetry(settings),
    )
    app.state.runtime = runtime
    app.state.metrics = metrics
    app.state.delivery = _delivery(runtime, metrics)
    _add_middleware(app, settings, metrics)
    app.add_exception_handler(DependencyUnavailable, _dependency_down)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    _add_kit_routes(
        app,
        process.router,
        operations.router,
        conversations.router,
        events.events_router(settings.pubsub_name),
    )
    for router in routers:
        app.include_router(router)
    return app


def _fastapi_telemetry(settings: KitSettings) -> TelemetryConfig | None:
    """FastAPI's defaults (on, using whatever providers are configured) with
    FASTAPI_TELEMETRY=true, else all three signals off."""
    if settings.fastapi_telemetry:
        return None
    return {"tracing": False, "metrics": False, "logs": False}


def keep_out_of_the_collectors_way() -> None:
    """What startup built (modules, content, the agent: about 100,000 objects) lives as long
    as the service. Frozen, the garbage collector's full passes, which the objects of requests
    under way trigger now and then, no longer walk all of it: the explainer measured 0.52x ->
    0.59x bare with it. Shutdown unfreezes, so a process that builds many apps (the tests)
    still collects the old ones."""
    gc.collect()  # the garbage of startup itself is not kept for good
    gc.freeze()


def _add_kit_routes(app: FastAPI, *routers: APIRouter) -> None:
    """The kit's routes go straight onto the app's router instead of through include_router:
    FastAPI (0.165) resolves an included router on every request (a walk of its routes'
    versions, then its candidates), about 5% of /process's CPU in the profiles; routes of
    the app's own router are matched as a plain list, in order, one regex each. So they go
    first, the learner's route leading, ahead of the four FastAPI added when the app was
    made (the OpenAPI document and the docs pages), which /process otherwise passed on
    every request (3% of the debugger's CPU per request). No kit path is one of theirs.
    Each kit router sets its routes' tags and responses itself, as an include would."""
    kit_routes = [route for router in routers for route in router.routes]
    for route in kit_routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"kit routes are APIRoutes; {route!r} is not")
    app.router.routes[:0] = kit_routes


def _delivery(runtime: ServiceRuntime, metrics: Metrics) -> EventDelivery:
    async def started_agent() -> BaseAgent:
        return runtime.agent or await runtime.start(background=False)

    delivery = EventDelivery(app_id=APP_ID, agent=started_agent, metrics=metrics)

    async def deliver_locally(topic: str, event_id: str, data: dict[str, Any]) -> None:
        await delivery.handle(topic, event_id, data)

    # Embedded mode: the in-process bus hands events on our own topics to the same delivery.
    runtime.on_local_event(deliver_locally)
    return delivery


def _add_middleware(app: FastAPI, settings: KitSettings, metrics: Metrics) -> None:
    # Added innermost first: a request meets AccessLog, then AppTokenAuth, then BodyLimit.
    app.add_middleware(
        BodyLimit,
        max_body_bytes=settings.max_body_bytes,
        max_event_bytes=settings.max_event_bytes,
        metrics=metrics,
    )
    if settings.app_api_token and settings.app_api_token.get_secret_value():
        app.add_middleware(AppTokenAuth, token=settings.app_api_token.get_secret_value())
    app.add_middleware(AccessLog, metrics=metrics)


async def _dependency_down(_request: Request, error: Exception) -> JSONResponse:
    # Agents degrade where they can; this is the last resort, never a bare 500.
    log.warning("dependency_unavailable", error=str(error))
    return JSONResponse(
        status_code=503,
        content={"detail": "a dependency is unavailable; try again shortly"},
        headers={"retry-after": "5"},
    )


async def _invalid_request(_request: Request, error: Exception) -> JSONResponse:
    # One readable line per problem, naming the field and what to send instead.
    assert isinstance(error, RequestValidationError)
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
