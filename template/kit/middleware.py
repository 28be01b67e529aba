"""The three layers every request passes, outermost first, each plain ASGI (no
BaseHTTPMiddleware: they sit on every request's path):

- AccessLog: a request id, the timing, the Prometheus observation and the request's one log
  line (with the fields handlers add through `annotate`);
- AppTokenAuth: when APP_API_TOKEN is set, calls must carry it (Dapr sends it as
  `dapr-api-token`); health, readiness and metrics stay open for probes;
- BodyLimit: a request body over MAX_BODY_BYTES gets 413 before it is parsed. Events are held
  to MAX_EVENT_BYTES instead (what the pub/sub carries), and one over it is answered with a
  deliberate DROP: a 413 would make Dapr retry a message that can never fit.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.ids import unique_id
from kit.observability import Metrics, request_fields

OPEN_PATHS = frozenset({"/health", "/ready", "/metrics"})
EVENT_PREFIX = "/events/"


def json_response(status: int, body: dict[str, Any]) -> tuple[Message, Message]:
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


async def answer(send: Send, status: int, body: dict[str, Any]) -> None:
    start, message = json_response(status, body)
    await send(start)
    await send(message)


def _route_template(scope: Scope) -> str:
    # The matched route's path template keeps metric cardinality bounded (no user ids).
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class AccessLog:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # The request's line is made by structlog's configured processors and written by its
        # configured logger, called here directly: structlog's bound-logger method around them
        # (keyword packing, a copy of the bound context, the dispatch) was 40% of the line.
        # The middleware stack is built at the first request, after configure_logging().
        config = structlog.get_config()
        self.processors = tuple(config["processors"])
        self.logger = config["logger_factory"]()
        self.logs_requests = structlog.get_logger("http").bind().is_enabled_for(logging.INFO)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        fields_token = request_fields.set({"request_id": request_id})
        status_holder = [500]
        id_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.observe(scope["method"], route, status_holder[0], elapsed)
            if self.logs_requests and scope["path"] not in OPEN_PATHS:
                self.write_line(
                    {
                        "method": scope["method"],
                        "route": route,
                        "status": status_holder[0],
                        "duration_ms": round(elapsed * 1000, 2),
                        "event": "request",
                    }
                )
            request_fields.reset(fields_token)

    def write_line(self, event: Any) -> None:
        """What `log.info("request", **fields)` does, for a logger bound to nothing."""
        try:
            for processor in self.processors:
                event = processor(self.logger, "info", event)
        except structlog.DropEvent:
            return
        self.logger.info(event)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == b"x-request-id":
            return str(value.decode("latin-1"))[:64]
    return unique_id()


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers") or ():
        if name == wanted:
            return bytes(value)
    return None


class AppTokenAuth:
    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS:
            offered = _header(scope, b"dapr-api-token") or b""
            if not hmac.compare_digest(offered, self.token):
                await answer(send, 401, {"detail": "missing or wrong dapr-api-token header"})
                return
        await self.app(scope, receive, send)


class BodyLimit:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, max_event_bytes: int, metrics: Metrics
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_event_bytes = max_event_bytes
        self.metrics = metrics
        self.log = structlog.get_logger("http").bind()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_event = scope["path"].startswith(EVENT_PREFIX)
        limit = self.max_event_bytes if is_event else self.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is None:
            await self._call_counting(scope, receive, send, limit, is_event)
            return
        try:
            size = int(declared)
        except ValueError:
            await answer(send, 400, {"detail": "Content-Length is not a number"})
            return
        if size > limit:
            await self.refuse(scope, send, size, limit, is_event)
            return
        # The server holds a declared body to its length, checked above.
        await self.app(scope, receive, send)

    async def refuse(
        self, scope: Scope, send: Send, size: int | None, limit: int, is_event: bool
    ) -> None:
        said = f"{size} bytes" if size is not None else "larger than that"
        if is_event:
            topic = scope["path"][len(EVENT_PREFIX) :]
            detail = f"event body is {said}; MAX_EVENT_BYTES is {limit}"
            self.log.warning("event_drop", topic=topic, reason="too_large", detail=detail)
            self.metrics.event(topic, "DROP", "too_large")
            await answer(send, 200, {"status": "DROP"})
            return
        await answer(send, 413, {"detail": f"request body is {said}; the limit is {limit} bytes"})

    async def _call_counting(
        self, scope: Scope, receive: Receive, send: Send, limit: int, is_event: bool
    ) -> None:
        """Count a streamed (chunked) body too, since a client can omit Content-Length. Past
        the limit we answer ourselves and tell the app the client went away; anything the app
        still sends is dropped (FastAPI would turn an exception here into a 400)."""
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
                if received > limit and not response_started:
                    refused = True
                    await self.refuse(scope, send, None, limit, is_event)
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
