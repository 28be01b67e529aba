"""Structured logs, Prometheus metrics, and the one ASGI middleware that applies them.

The middleware is plain ASGI (not BaseHTTPMiddleware) because it sits on every request's path:
it gives each request an id, refuses bodies over the size limit, checks the Dapr app token,
times the request and records it, and writes the request's one log line (fields a handler
adds with `annotate`, such as the user id and answer mode, are on it).
"""

from __future__ import annotations

import hmac
import itertools
import json
import logging
import sys
import time
from contextvars import ContextVar
from secrets import token_hex
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REDACTED = "[redacted]"

# Fields of the request being served, on every line logged while it is served. One dict per
# request, shared by reference, so what a handler adds reaches the middleware's line even
# from a child task (a streaming response), and one ContextVar set costs less than binding
# each field through structlog.contextvars.
_request_fields: ContextVar[dict[str, Any] | None] = ContextVar("request_fields", default=None)

# Request ids without a syscall per request: random per process, then counted.
_ID_PREFIX = token_hex(8)
_request_numbers = itertools.count(1)


def annotate(**fields: Any) -> None:
    """Put fields (the user id, how the agent answered) on the current request's log lines."""
    current = _request_fields.get()
    if current is not None:
        current.update(fields)


def log_published(log: Any, **fields: Any) -> None:
    """Record a published event: on the request's line when a request published it (one line
    per request), as its own `event_published` line otherwise (event handlers, start-up)."""
    current = _request_fields.get()
    if current is None:
        log.info("event_published", **fields)
    else:
        current.setdefault("published", []).append(fields)


def _merge_request_fields(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    fields = _request_fields.get()
    if fields:
        for key, value in fields.items():
            event.setdefault(key, value)
    return event


def configure_logging(level: str, secrets: list[str]) -> None:
    """JSON logs on stdout, one object per line, with every known secret value scrubbed."""

    def scrub(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
        if not secrets:
            return event
        for key, value in event.items():
            text = value if isinstance(value, str) else None
            if text is None and not isinstance(value, int | float | bool | type(None)):
                text = str(value)
            if text is not None and any(secret in text for secret in secrets):
                for secret in secrets:
                    text = text.replace(secret, REDACTED)
                event[key] = text
        return event

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _merge_request_fields,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrub,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )


class Metrics:
    """Per-app registry, so several apps in one process (tests) don't collide."""

    def __init__(self, agent: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "agent_requests_total",
            "HTTP requests by route and outcome.",
            ["agent", "method", "route", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "agent_request_duration_seconds",
            "HTTP request duration by route and outcome.",
            ["agent", "method", "route", "outcome"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.events = Counter(
            "agent_events_total",
            "Pub/sub events handled by topic and status (SUCCESS/RETRY/DROP).",
            ["agent", "topic", "status"],
            registry=self.registry,
        )
        self.answers = Counter(
            "agent_answers_total",
            "Answers given by mode (llm, offline, degraded).",
            ["agent", "mode"],
            registry=self.registry,
        )
        self.agent = agent
        # labels() hashes and locks on every call, so each labelled child is looked up once;
        # routes are templates and modes a handful, so these stay small.
        self._answer_counters: dict[str, Any] = {}
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def answered(self, mode: str) -> None:
        counter = self._answer_counters.get(mode)
        if counter is None:
            counter = self._answer_counters[mode] = self.answers.labels(self.agent, mode)
        counter.inc()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status // 100)
        children = self._request_children.get(key)
        if children is None:
            labels = (self.agent, method, route, f"{status // 100}xx")
            children = (self.requests.labels(*labels), self.duration.labels(*labels))
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)


def _route_template(scope: Scope) -> str:
    # The matched route's path template keeps metric cardinality bounded (no user ids).
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


def _json_response(status: int, body: dict[str, Any]) -> tuple[Message, Message]:
    payload = json.dumps(body).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ],
    }
    return start, {"type": "http.response.body", "body": payload}


class ServiceMiddleware:
    OPEN_PATHS = frozenset({"/health", "/ready", "/metrics"})

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        app_api_token: str | None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.app_api_token = app_api_token.encode() if app_api_token else None
        # bind() makes a concrete logger once; the lazy proxy would rebuild one per line.
        self.log = structlog.get_logger("http").bind()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        request_id = (
            headers.get(b"x-request-id", b"").decode("latin-1")[:64]
            or f"{_ID_PREFIX}{next(_request_numbers):016x}"
        )
        fields_token = _request_fields.set({"request_id": request_id})
        status_holder = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            refusal = self._refusal(scope, headers)
            if refusal is not None:
                start, body = _json_response(*refusal)
                await send_with_id(start)
                await send_with_id(body)
                return
            if b"content-length" in headers:
                # The server holds a declared body to its length, and _refusal checked it.
                await self.app(scope, receive, send_with_id)
            else:
                await self._call_with_body_limit(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            status = status_holder["status"]
            route = _route_template(scope)
            self.metrics.observe(scope["method"], route, status, elapsed)
            if scope["path"] not in self.OPEN_PATHS:
                self.log.info(
                    "request",
                    method=scope["method"],
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            _request_fields.reset(fields_token)

    def _refusal(self, scope: Scope, headers: dict[bytes, bytes]) -> tuple[int, dict] | None:
        if self.app_api_token is not None and scope["path"] not in self.OPEN_PATHS:
            offered = headers.get(b"dapr-api-token", b"")
            if not hmac.compare_digest(offered, self.app_api_token):
                return 401, {"detail": "missing or wrong dapr-api-token header"}
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                return 400, {"detail": "Content-Length is not a number"}
            if size > self.max_body_bytes:
                return 413, {
                    "detail": f"request body is {size} bytes; the limit is {self.max_body_bytes}"
                }
        return None

    async def _call_with_body_limit(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count streamed (chunked) bodies too, since a client can omit Content-Length. Past
        the limit we answer 413 ourselves and tell the app the client went away; anything the
        app still sends is dropped (FastAPI would turn an exception here into a 400)."""
        received = 0
        refused = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes and not response_started:
                    refused = True
                    limit = self.max_body_bytes
                    start, body = _json_response(
                        413, {"detail": f"request body exceeds the limit of {limit} bytes"}
                    )
                    await send(start)
                    await send(body)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
