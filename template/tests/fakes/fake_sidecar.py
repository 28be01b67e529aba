"""A fake Dapr sidecar for tests, as the Dapr Python SDK tests its own client: a gRPC server
built on the SDK's generated DaprServicer (state with real etag and first-write semantics,
recorded publishes) plus an HTTP stub for what the SDK asks over HTTP (the outbound health
check and service invocation). Used by the real `dapr.aio` client; never a runtime mode.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import uvicorn
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import dapr_pb2_grpc, state_pb2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FIRST_WRITE = common_pb2.StateOptions.CONCURRENCY_FIRST_WRITE
# What the real sidecar answers when an etag does not match or a first write loses.
ETAG_MISMATCH = "possible etag mismatch. error from state store"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Published:
    pubsub: str
    topic: str
    data: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.data)


class _Servicer(dapr_pb2_grpc.DaprServicer):
    def __init__(self, sidecar: FakeSidecar) -> None:
        self.sidecar = sidecar

    def _check(self, method: str, context: grpc.ServicerContext) -> None:
        sidecar = self.sidecar
        sidecar.calls[method] = sidecar.calls.get(method, 0) + 1
        if sidecar.api_token is not None:
            offered = dict(context.invocation_metadata()).get("dapr-api-token")
            if offered != sidecar.api_token:
                context.abort(
                    grpc.StatusCode.UNAUTHENTICATED, "authentication error: api token mismatch"
                )
        failures = sidecar.failures.get(method)
        if failures:
            code, left = failures
            sidecar.failures[method] = (code, left - 1) if left > 1 else None
            context.abort(code, f"injected failure of {method}")

    def GetState(self, request, context):
        self._check("GetState", context)
        with self.sidecar.lock:
            value, etag = self.sidecar.state.get(request.store_name, {}).get(request.key, (b"", ""))
        return state_pb2.GetStateResponse(data=value, etag=etag)

    def SaveState(self, request, context):
        self._check("SaveState", context)
        with self.sidecar.lock:
            store = self.sidecar.state.setdefault(request.store_name, {})
            for item in request.states:
                current = store.get(item.key)
                offered = item.etag.value if item.HasField("etag") else None
                first_write = item.HasField("options") and item.options.concurrency == FIRST_WRITE
                if (
                    offered is not None
                    and offered != ""
                    and (current is None or current[1] != offered)
                ):
                    context.abort(
                        grpc.StatusCode.ABORTED,
                        "possible etag mismatch. error from state store: etag does not match",
                    )
                if (offered is None or offered == "") and first_write and current is not None:
                    context.abort(grpc.StatusCode.ABORTED, f"{ETAG_MISMATCH}: the key exists")
                store[item.key] = (item.value, uuid.uuid4().hex)
        return _empty()

    def DeleteState(self, request, context):
        self._check("DeleteState", context)
        with self.sidecar.lock:
            store = self.sidecar.state.setdefault(request.store_name, {})
            current = store.get(request.key)
            if (
                request.HasField("etag")
                and request.etag.value
                and (current is None or current[1] != request.etag.value)
            ):
                context.abort(grpc.StatusCode.ABORTED, "possible etag mismatch")
            store.pop(request.key, None)
        return _empty()

    def PublishEvent(self, request, context):
        self._check("PublishEvent", context)
        self.sidecar.published.append(
            Published(request.pubsub_name, request.topic, request.data, request.data_content_type)
        )
        return _empty()


def _empty():
    from google.protobuf import empty_pb2

    return empty_pb2.Empty()


@dataclass
class FakeSidecar:
    app_id: str = "test-agent"
    api_token: str | None = None
    grpc_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    state: dict[str, dict[str, tuple[bytes, str]]] = field(default_factory=dict)
    published: list[Published] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    failures: dict[str, tuple[grpc.StatusCode, int] | None] = field(default_factory=dict)
    healthy: bool = True
    invoke_handlers: dict[tuple[str, str], Callable[[dict], Any]] = field(default_factory=dict)
    invoked: list[tuple[str, str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._grpc: grpc.Server | None = None
        self._http: uvicorn.Server | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> FakeSidecar:
        self.start_grpc()
        self._start_http()
        return self

    def start_grpc(self) -> None:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        dapr_pb2_grpc.add_DaprServicer_to_server(_Servicer(self), server)
        server.add_insecure_port(f"127.0.0.1:{self.grpc_port}")
        server.start()
        self._grpc = server

    def stop_grpc(self) -> None:
        """The sidecar dies: gRPC calls fail and the health check says so."""
        self.healthy = False
        if self._grpc is not None:
            self._grpc.stop(grace=0).wait()
            self._grpc = None

    def restart(self) -> None:
        self.start_grpc()
        self.healthy = True

    def _start_http(self) -> None:
        app = Starlette(
            routes=[
                Route("/v1.0/healthz/outbound", self._health, methods=["GET"]),
                Route("/v1.0/healthz", self._health, methods=["GET"]),
                Route(
                    "/v1.0/invoke/{app_id}/method/{method:path}",
                    self._invoke,
                    methods=["GET", "POST", "PUT", "DELETE"],
                ),
            ]
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.http_port, log_level="error", lifespan="off"
        )
        self._http = uvicorn.Server(config)
        self._http_thread = threading.Thread(target=self._http.run, daemon=True)
        self._http_thread.start()
        deadline = time.monotonic() + 10
        while not self._http.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake sidecar HTTP did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.stop_grpc()
        if self._http is not None:
            self._http.should_exit = True
            self._http_thread.join(timeout=5)

    # -- controls -----------------------------------------------------------------------
    def fail_next(self, method: str, times: int = 1, code=grpc.StatusCode.UNAVAILABLE) -> None:
        self.failures[method] = (code, times)

    def on_invoke(self, app_id: str, method: str, handler: Callable[[dict], Any]) -> None:
        self.invoke_handlers[(app_id, method)] = handler

    def value(self, store: str, key: str) -> Any:
        raw = self.state.get(store, {}).get(key)
        return json.loads(raw[0]) if raw else None

    def topics(self) -> list[str]:
        return [p.topic for p in self.published]

    def settings(self) -> dict[str, Any]:
        """Service settings that point a service at this sidecar."""
        return {
            "runtime_mode": "dapr",
            "dapr_http_port": self.http_port,
            "dapr_grpc_port": self.grpc_port,
            "dapr_probe_interval_s": 0.2,
            "dapr_call_timeout_s": 2.0,
        }

    # -- HTTP ---------------------------------------------------------------------------
    async def _health(self, request: Request) -> Response:
        if self.api_token is not None and request.headers.get("dapr-api-token") != self.api_token:
            return Response(status_code=401)
        return Response(status_code=204 if self.healthy else 500)

    async def _invoke(self, request: Request) -> Response:
        if not self.healthy:
            return JSONResponse({"errorCode": "ERR_DIRECT_INVOKE", "message": "sidecar down"}, 500)
        app_id, method = request.path_params["app_id"], request.path_params["method"]
        body = await request.body()
        payload = json.loads(body) if body else None
        self.invoked.append((app_id, method, payload))
        handler = self.invoke_handlers.get((app_id, method))
        if handler is None:
            return JSONResponse(
                {
                    "errorCode": "ERR_DIRECT_INVOKE",
                    "message": f"failed to invoke, id: {app_id}, err: app not found",
                },
                status_code=500,
            )
        return JSONResponse(handler(payload))
