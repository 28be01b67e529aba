"""Adapters that go through the Dapr sidecar with the SDK's async client (dapr.aio).

One DaprClient for the whole process, created once the sidecar answers its outbound health
check; every SDK error is mapped onto the three outcomes the agent understands.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import grpc
import httpx
import structlog
from dapr.aio.clients import DaprClient
from dapr.clients.exceptions import DaprGrpcError, DaprHttpError, DaprInternalError
from dapr.clients.grpc._state import Concurrency, StateOptions
from dapr.conf import settings as dapr_settings

from kit.interfaces import ConcurrencyConflict, DependencyUnavailable, InvocationFailed, StateItem
from kit.json_codec import from_text, to_text
from kit.observability import log_published

log = structlog.get_logger("dapr")

JSON = "application/json"
# The sidecar reports an etag mismatch as ABORTED (dapr pkg/api/grpc/grpc.go getStateErrorCode);
# FAILED_PRECONDITION is what some state stores return for the same thing through Dapr. A first
# write that finds the key taken is another matter: PostgreSQL v1 says "no item was updated", a
# plain error the sidecar answers INTERNAL (components-contrib common/component/postgresql/v1/
# postgresql.go doSet), so save() decides that one by reading the key back.
_CONFLICT_CODES = {grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION}
# Codes that mean the sidecar itself could not serve the call: reading back would not help.
_SIDECAR_DOWN_CODES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
}
# Writes are first-write-wins so a read-modify-write never silently overwrites another's.
_FIRST_WRITE = StateOptions(concurrency=Concurrency.first_write)
# put(): no etag and last-write, an upsert (components-contrib state/postgresql: INSERT ... ON
# CONFLICT (key) DO UPDATE, with no etag condition).
_LAST_WRITE = StateOptions(concurrency=Concurrency.last_write)


def dapr_state_key(key: str) -> str:
    """The key as the sidecar accepts it. daprd stores "<app-id>||<key>" and refuses any key
    containing "||" with INVALID_ARGUMENT (dapr pkg/components/state/state_config.go
    GetModifiedStateKey, checkKeyIllegal), while our keys use "||" as a separator
    ("progress||<user>"). Percent-encoding "%" and "|" keeps keys distinct and readable; keys
    with neither are unchanged."""
    return key.replace("%", "%25").replace("|", "%7C")


def grpc_code(error: BaseException) -> grpc.StatusCode | None:
    """The gRPC status behind an SDK error. The async client raises some failures as
    DaprInternalError with only the message, keeping the gRPC error as its __cause__."""
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 5:
        code = getattr(current, "code", None)
        if callable(code):
            try:
                value = code()
            except Exception:  # noqa: BLE001 - an error object that cannot say
                value = None
            if isinstance(value, grpc.StatusCode):
                return value
        current, seen = current.__cause__, seen + 1
    return None


def _unavailable(operation: str, error: Exception) -> DependencyUnavailable:
    code = grpc_code(error)
    detail = f"{code.name}: {error}" if code else f"{type(error).__name__}: {error}"
    return DependencyUnavailable(f"Dapr {operation} failed ({detail})")


class DaprConnection:
    """Owns the one DaprClient and knows whether the sidecar can serve us right now."""

    def __init__(
        self,
        *,
        host: str,
        http_port: int,
        grpc_port: int,
        api_token: str | None,
        call_timeout_s: float,
    ) -> None:
        self.host = host
        self.http_port = http_port
        self.grpc_port = grpc_port
        self.call_timeout_s = call_timeout_s
        self._api_token = api_token
        self.client: DaprClient | None = None
        self.sidecar_ok = False
        self._http = httpx.AsyncClient(timeout=2.0)
        # The SDK reads these module-level settings (health URL, token header, invocation URL);
        # dapr.conf.Settings declares them dynamically, so the type checker cannot see them.
        sdk: Any = dapr_settings
        sdk.DAPR_RUNTIME_HOST = host
        sdk.DAPR_HTTP_PORT = http_port
        sdk.DAPR_GRPC_PORT = grpc_port
        sdk.DAPR_API_TOKEN = api_token
        # By the time we build the client we already know the sidecar answers.
        sdk.DAPR_HEALTH_TIMEOUT = 2

    @property
    def connected(self) -> bool:
        return self.client is not None and self.sidecar_ok

    async def probe(self) -> bool:
        """Ask the sidecar whether it can serve this app (/v1.0/healthz/outbound: 204 when ready;
        /v1.0/healthz would depend on this app being healthy, which is circular)."""
        headers = {"dapr-api-token": self._api_token} if self._api_token else {}
        base = f"http://{self.host}:{self.http_port}/v1.0"
        try:
            response = await self._http.get(f"{base}/healthz/outbound", headers=headers)
            ok = 200 <= response.status_code < 300
            if ok:
                # The health routes skip the API token (dapr pkg/api/http/middlewares.go
                # isRouteExcludedFromAPITokenAuth); /metadata does not, so a wrong or missing
                # token shows here instead of on every call.
                metadata = await self._http.get(f"{base}/metadata", headers=headers)
                if metadata.status_code == 401:
                    ok = False
                    log.warning("dapr_api_token_refused", http_port=self.http_port)
        except httpx.HTTPError:
            ok = False
        if ok != self.sidecar_ok:
            log.info("dapr_sidecar", reachable=ok, http_port=self.http_port)
        self.sidecar_ok = ok
        if ok and self.client is None:
            # The constructor runs a blocking health wait; it returns at once now that the
            # sidecar answered, and the gRPC channel must be made on the event loop's thread.
            self.client = DaprClient(address=f"{self.host}:{self.grpc_port}")
            log.info("dapr_client_ready", grpc_port=self.grpc_port)
        return ok

    async def monitor(self, interval_s: float) -> None:
        """Keep probing: a sidecar that starts late or restarts is picked up without a restart
        of ours. Runs as a background task for the life of the app."""
        while True:
            await self.probe()
            await asyncio.sleep(interval_s if self.sidecar_ok else min(interval_s, 1.0))

    def require(self) -> DaprClient:
        if self.client is None:
            raise DependencyUnavailable("the Dapr sidecar is not reachable yet")
        return self.client

    async def close(self) -> None:
        await self._http.aclose()
        if self.client is not None:
            await self.client.close()  # type: ignore[no-untyped-call]  # the SDK's own annotation gap
            self.client = None


def _state_metadata(ttl_s: int | None) -> dict[str, str]:
    metadata = {"contentType": JSON}
    if ttl_s is not None:
        # Dapr's state TTL (components-contrib state/utils/ttl.go): the store expires it.
        metadata["ttlInSeconds"] = str(int(ttl_s))
    return metadata


class DaprStateStore:
    remote = True

    def __init__(self, connection: DaprConnection, store_name: str) -> None:
        self._dapr = connection
        self._store = store_name

    async def get(self, key: str) -> StateItem:
        client = self._dapr.require()
        try:
            response = await asyncio.wait_for(
                client.get_state(self._store, dapr_state_key(key)), self._dapr.call_timeout_s
            )
        except (DaprGrpcError, DaprInternalError, grpc.aio.AioRpcError, TimeoutError) as error:
            raise _unavailable("get_state", error) from error
        # A missing key comes back as empty data and no etag; .json() on it would raise.
        if not response.data:
            return StateItem(value=None, etag=None)
        return StateItem(value=from_text(response.data), etag=response.etag or None)

    async def save(
        self, key: str, value: Any, *, etag: str | None, ttl_s: int | None = None
    ) -> None:
        try:
            await self._save_state(key, value, etag, _FIRST_WRITE, ttl_s)
        except (DaprGrpcError, DaprInternalError, grpc.aio.AioRpcError) as error:
            code = grpc_code(error)
            if code in _CONFLICT_CODES and etag is not None:
                raise ConcurrencyConflict(f"state key {key!r}: {error}") from error
            if etag is None and code not in _SIDECAR_DOWN_CODES:
                raise await self._first_write_failure(key, error) from error
            raise _unavailable("save_state", error) from error
        except TimeoutError as error:
            raise _unavailable("save_state", error) from error

    async def put(self, key: str, value: Any, *, ttl_s: int | None = None) -> None:
        try:
            await self._save_state(key, value, None, _LAST_WRITE, ttl_s)
        except (DaprGrpcError, DaprInternalError, grpc.aio.AioRpcError, TimeoutError) as error:
            raise _unavailable("save_state", error) from error

    async def _save_state(
        self, key: str, value: Any, etag: str | None, options: StateOptions, ttl_s: int | None
    ) -> None:
        """One save_state call, within DAPR_CALL_TIMEOUT_S; save() and put() map its errors."""
        client = self._dapr.require()
        await asyncio.wait_for(
            client.save_state(
                self._store,
                dapr_state_key(key),
                to_text(value),
                etag=etag,
                options=options,
                state_metadata=_state_metadata(ttl_s),
            ),
            self._dapr.call_timeout_s,
        )

    async def _first_write_failure(self, key: str, error: Exception) -> Exception:
        """A first write failed; whether the key exists now says why. It does: another writer
        got there first (or our own write landed and only its answer was lost, which no reader
        can tell apart), a conflict: the caller re-reads and decides. It does not: the store
        failed, try again later."""
        current = await self.get(key)
        if current.value is None:
            return _unavailable("save_state", error)
        return ConcurrencyConflict(f"state key {key!r} already exists ({error})")

    async def delete(self, key: str, *, etag: str | None = None) -> None:
        client = self._dapr.require()
        try:
            await client.delete_state(self._store, dapr_state_key(key), etag=etag)
        except (DaprGrpcError, DaprInternalError, grpc.aio.AioRpcError) as error:
            if grpc_code(error) in _CONFLICT_CODES:
                raise ConcurrencyConflict(f"state key {key!r}: {error}") from error
            raise _unavailable("delete_state", error) from error


class DaprEventBus:
    def __init__(self, connection: DaprConnection, pubsub_name: str) -> None:
        self._dapr = connection
        self._pubsub = pubsub_name

    async def publish(self, topic: str, data: dict[str, Any]) -> None:
        client = self._dapr.require()
        try:
            await asyncio.wait_for(
                client.publish_event(self._pubsub, topic, to_text(data), data_content_type=JSON),
                self._dapr.call_timeout_s,
            )
        except (DaprGrpcError, DaprInternalError, grpc.aio.AioRpcError, TimeoutError) as error:
            raise _unavailable(f"publish to {topic}", error) from error
        log_published(log, topic=topic, pubsub=self._pubsub)


class DaprServiceInvoker:
    def __init__(self, connection: DaprConnection, timeout_s: float) -> None:
        self._dapr = connection
        self._timeout_s = timeout_s

    async def invoke(
        self,
        app_id: str,
        method: str,
        payload: dict[str, Any] | None,
        *,
        http_verb: str = "POST",
    ) -> dict[str, Any]:
        client = self._dapr.require()
        data = json.dumps(payload) if payload is not None else ""
        try:
            response = await asyncio.wait_for(
                client.invoke_method(app_id, method, data, content_type=JSON, http_verb=http_verb),
                self._timeout_s,
            )
        except DaprHttpError as error:
            raise InvocationFailed(f"{app_id}/{method}: {error}") from error
        except (DaprGrpcError, DaprInternalError, grpc.aio.AioRpcError, TimeoutError) as error:
            raise _unavailable(f"invoke {app_id}/{method}", error) from error
        except aiohttp.ClientError as error:  # the sidecar's HTTP port is gone
            raise _unavailable(f"invoke {app_id}/{method}", error) from error
        status = getattr(response, "status_code", 200) or 200
        if status >= 400:
            raise InvocationFailed(f"{app_id}/{method} answered HTTP {status}")
        try:
            value = json.loads(response.data)
        except ValueError as error:
            raise InvocationFailed(f"{app_id}/{method} answered non-JSON") from error
        if not isinstance(value, dict):
            raise InvocationFailed(f"{app_id}/{method} answered JSON that is not an object")
        return value
