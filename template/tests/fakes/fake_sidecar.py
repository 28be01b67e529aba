"""A fake Dapr sidecar for tests, as the Dapr Python SDK tests its own client
(python-sdk tests/clients/fake_dapr_server.py): a gRPC server built on the SDK's generated
DaprServicer plus an HTTP stub for what the SDK and the app ask over HTTP (the health checks,
metadata and service invocation). Used by the real `dapr.aio` client; never a runtime mode.

A fake is only as good as its fidelity: every behaviour below names the upstream file and
function that decides it. Sources, read at:
- dapr/dapr d8450742ce3260d93a2346f4398a1e60d019a45b (the sidecar, daprd)
- dapr/components-contrib c23900d2760de2061143587c16c5e30ab3f092cf (the components)
- dapr/python-sdk e4ad1818079c5089814e4d1610b585286d28b98f (the client; the service pins 1.19.0)
- tmc/langchaingo e35755df7084 (the version components-contrib's go.mod pins: the OpenAI
  client the conversation.openai component calls the provider with)
State behaves as PostgreSQL v1 does, the store the cluster uses (dapr-component.yaml). The
Conversation API (alpha2) behaves as daprd with a conversation.openai component does: it turns
the request into an OpenAI chat completion, posts it to the component's endpoint (a FakeOpenAI
in the tests) and turns the answer back.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import grpc
import httpx
import uvicorn
import yaml
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import ai_pb2, dapr_pb2_grpc, state_pb2
from google.protobuf import any_pb2, empty_pb2, json_format
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from kit.adapters.dapr import dapr_state_key

FIRST_WRITE = common_pb2.StateOptions.CONCURRENCY_FIRST_WRITE
# components-contrib state/errors.go: the prefix of every ETagError of kind "mismatch".
ETAG_MISMATCH = "possible etag mismatch. error from state store"
# components-contrib common/component/postgresql/v1/postgresql.go doSet: a first write (no
# etag, concurrency first-write) to a key that exists updates no row and says so, as a plain
# error, not an ETagError. daprd then answers INTERNAL, not ABORTED (below).
NO_ITEM_UPDATED = "no item was updated"
# dapr pkg/components/state/state_config.go: keys are stored as "<app-id>||<key>" (keyPrefix
# "appid", the default) and a key may not contain the separator.
KEY_SEPARATOR = "||"
# kit errors/errors.go: the ErrorInfo domain of every error daprd builds.
ERROR_DOMAIN = "dapr.io"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Fail(Exception):
    """An error daprd would answer: gRPC code, message and ErrorInfo reason."""

    def __init__(self, code: grpc.StatusCode, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.reason = code, message, reason


def _abort(context: grpc.ServicerContext, failure: _Fail) -> None:
    # daprd's errors carry a google.rpc.ErrorInfo (kit errors/errors.go WithErrorInfo), which
    # the SDK's DaprGrpcError parses (python-sdk dapr/clients/exceptions.py _parse_details).
    status = status_pb2.Status(code=failure.code.value[0], message=failure.message)
    if failure.reason:
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.ErrorInfo(reason=failure.reason, domain=ERROR_DOMAIN))
        status.details.append(detail)
    context.abort_with_status(rpc_status.to_status(status))


@dataclass
class Published:
    pubsub: str
    topic: str
    data: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class Row:
    """One row of PostgreSQL v1's state table: the value, its xmin as etag, its expiry."""

    value: bytes
    etag: int
    expires_at: float | None = None


def parse_scopes(value: str) -> dict[str, list[str]]:
    """publishingScopes / subscriptionScopes as daprd reads them: "app1=t1,t2;app2=t3"
    (dapr pkg/scopes/scopes.go GetScopedTopics: spaces dropped, entries without "=" ignored)."""
    found: dict[str, list[str]] = {}
    for entry in value.replace(" ", "").split(";"):
        parts = entry.split("=")
        if len(parts) < 2:
            continue
        topics = found.setdefault(parts[0], [])
        for topic in parts[1].split(","):
            if topic not in topics:
                topics.append(topic)
    return found


@dataclass
class PubsubScopes:
    """What daprd lets one app do on one pub/sub component (dapr pkg/runtime/pubsub/adapter.go
    IsOperationAllowed): allowedTopics first, then protectedTopics, then the app's own scope;
    an app with no scope entry may use every topic that is neither."""

    publishing: list[str] = field(default_factory=list)
    subscribing: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)

    def _allowed(self, topic: str, scoped: list[str]) -> bool:
        if self.allowed and topic not in self.allowed:
            return False
        if topic not in self.protected and not scoped:
            return True
        return topic in scoped

    def may_publish(self, topic: str) -> bool:
        return self._allowed(topic, self.publishing)

    def may_subscribe(self, topic: str) -> bool:
        return self._allowed(topic, self.subscribing)


class _Servicer(dapr_pb2_grpc.DaprServicer):
    def __init__(self, sidecar: FakeSidecar) -> None:
        self.sidecar = sidecar

    def _check(self, method: str, context: grpc.ServicerContext) -> None:
        sidecar = self.sidecar
        with sidecar.lock:
            sidecar.calls[method] = sidecar.calls.get(method, 0) + 1
        if sidecar.api_token is not None:
            # dapr pkg/api/grpc/auth.go checkAPITokenInContext: a missing or wrong
            # dapr-api-token is Unauthenticated (invokev1.ErrorFromHTTPResponseCode(401)), whose
            # message is the HTTP status text.
            offered = dict(context.invocation_metadata()).get("dapr-api-token")
            if offered != sidecar.api_token:
                _abort(context, _Fail(grpc.StatusCode.UNAUTHENTICATED, "Unauthorized"))
        # Test control, not daprd: an injected outage of the component behind the call.
        failures = sidecar.failures.get(method)
        if failures:
            code, left = failures
            sidecar.failures[method] = (code, left - 1) if left > 1 else None
            _abort(context, _Fail(code, f"injected failure of {method}"))

    def _store(self, name: str) -> dict[str, Row]:
        # dapr pkg/api/universal/state_query.go GetStateStore: an unknown (or not scoped to
        # this app) store is InvalidArgument "state store <name> is not found"
        # (pkg/api/errors/state.go NotFound).
        if name not in self.sidecar.state_stores:
            raise _Fail(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"state store {name} is not found",
                "DAPR_STATE_NOT_FOUND",
            )
        return self.sidecar.state.setdefault(name, {})

    def GetState(self, request, context):
        self._check("GetState", context)
        sidecar = self.sidecar
        try:
            with sidecar.lock:
                store = self._store(request.store_name)
                row = sidecar.live_row(store, sidecar.stored_key(request.key))
        except _Fail as failure:
            _abort(context, failure)
        if row is None:
            # components-contrib postgresql.go Get: no row is an empty response, not an error;
            # dapr pkg/api/grpc/grpc.go GetState: a nil etag becomes "" (stringValueOrEmpty).
            return state_pb2.GetStateResponse(data=b"", etag="")
        metadata = {}
        if row.expires_at is not None:
            # postgresql.go Get reports the expiry as metadata "ttlExpireTime", RFC 3339 UTC.
            expiry = datetime.fromtimestamp(row.expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            metadata["ttlExpireTime"] = expiry
        return state_pb2.GetStateResponse(data=row.value, etag=str(row.etag), metadata=metadata)

    def SaveState(self, request, context):
        self._check("SaveState", context)
        sidecar = self.sidecar
        if sidecar.before_save is not None:
            # Test control: another writer acts between this app's read and its write.
            hook, sidecar.before_save = sidecar.before_save, None
            hook()
        errors: list[_Fail] = []
        try:
            with sidecar.lock:
                store = self._store(request.store_name)
                for item in request.states:
                    failure = sidecar.set_row(store, item)
                    if failure is not None:
                        errors.append(failure)
        except _Fail as failure:
            _abort(context, failure)
        if sidecar.lose_next_ack:
            # Test control: the write landed but its answer was lost (a per-attempt timeout,
            # pkg/resiliency/policy.go), and Dapr's retry of the same first write then found the
            # row: "no item was updated" is not an ETagError, so pkg/components/state/bulk.go
            # PerformBulkStoreOperation retries it like any other error.
            sidecar.lose_next_ack = False
            errors.append(_Fail(grpc.StatusCode.INTERNAL, NO_ITEM_UPDATED))
        if errors:
            # dapr pkg/api/grpc/grpc.go SaveState: "failed saving state in state store <name>:
            # <error>" (pkg/messages/predefined.go ErrStateSave), with the code from
            # getStateErrorCode: ETagError mismatch -> Aborted, invalid -> InvalidArgument,
            # anything else -> Internal. Several items fail independently (components-contrib
            # state/bulk.go DefaultBulkStore) and the first etag error decides the code.
            etag_errors = [f for f in errors if f.code != grpc.StatusCode.INTERNAL]
            first = (etag_errors or errors)[0]
            detail = "; ".join(f.message for f in errors)
            _abort(
                context,
                _Fail(
                    first.code,
                    f"failed saving state in state store {request.store_name}: {detail}",
                    "ERR_STATE_SAVE",
                ),
            )
        return empty_pb2.Empty()

    def DeleteState(self, request, context):
        self._check("DeleteState", context)
        sidecar = self.sidecar
        try:
            with sidecar.lock:
                store = self._store(request.store_name)
                key = sidecar.stored_key(request.key)
                offered = request.etag.value if request.HasField("etag") else ""
                if not offered:
                    # postgresql.go doDelete: without an etag, delete whatever is there.
                    store.pop(key, None)
                    return empty_pb2.Empty()
                # postgresql.go doDelete: the etag must be a uint32 (xmin), and a delete that
                # touches no row with an etag is an ETagError mismatch.
                etag = _parse_etag(offered)
                row = store.get(key)
                if row is None or row.etag != etag:
                    raise _Fail(grpc.StatusCode.ABORTED, ETAG_MISMATCH)
                del store[key]
        except _Fail as failure:
            # dapr grpc.go DeleteState: ErrStateDelete "failed deleting state with key <key>:
            # <error>", code from getStateErrorCode.
            _abort(
                context,
                _Fail(
                    failure.code,
                    f"failed deleting state with key {request.key}: {failure.message}",
                    failure.reason or "ERR_STATE_DELETE",
                ),
            )
        return empty_pb2.Empty()

    def PublishEvent(self, request, context):
        self._check("PublishEvent", context)
        sidecar = self.sidecar
        # dapr pkg/api/grpc/grpc.go validateAndGetPubsubAndTopic: an unknown (or not scoped to
        # this app) pub/sub is InvalidArgument "pubsub <name> is not found"
        # (pkg/api/errors/pubsub.go NotFound).
        scopes = sidecar.pubsubs.get(request.pubsub_name)
        if scopes is None:
            _abort(
                context,
                _Fail(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"pubsub {request.pubsub_name} is not found",
                    "DAPR_PUBSUB_NOT_FOUND",
                ),
            )
        # dapr pkg/runtime/pubsub/publisher/publisher.go Publish: a topic outside the app's
        # publishingScopes is a NotAllowedError, answered PermissionDenied "topic <t> is not
        # allowed for app id <id>" (grpc.go PublishEvent, pkg/api/errors/pubsub.go
        # PublishForbidden).
        if not scopes.may_publish(request.topic):
            _abort(
                context,
                _Fail(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"topic {request.topic} is not allowed for app id {sidecar.app_id}",
                    "DAPR_PUBSUB_FORBIDDEN",
                ),
            )
        with sidecar.lock:
            sidecar.published.append(
                Published(
                    request.pubsub_name, request.topic, request.data, request.data_content_type
                )
            )
        return empty_pb2.Empty()

    def ConverseAlpha2(self, request, context):
        self._check("ConverseAlpha2", context)
        sidecar = self.sidecar
        with sidecar.lock:
            sidecar.conversed.append(json_format.MessageToDict(request))
        try:
            return converse(sidecar, request)
        except _Fail as failure:
            _abort(context, failure)


def _parse_etag(offered: str) -> int:
    # components-contrib postgresql.go doSet / doDelete: strconv.ParseUint(etag, 10, 32), else
    # state.NewETagError(ETagInvalid): "invalid etag value: ...", answered InvalidArgument.
    try:
        etag = int(offered, 10)
    except ValueError:
        etag = -1
    if not 0 <= etag < 2**32 or not offered.isdigit():
        raise _Fail(
            grpc.StatusCode.INVALID_ARGUMENT,
            f'invalid etag value: strconv.ParseUint: parsing "{offered}": invalid syntax',
        )
    return etag


@dataclass
class ConversationComponent:
    """A conversation.openai component: its model, key and endpoint metadata (components-
    contrib conversation/openai/metadata.yaml; conversation/metadata.go LangchainMetadata)."""

    model: str = "gpt-5-nano"  # conversation/models.go DefaultOpenAIModel when unset
    key: str | None = None
    endpoint: str | None = None
    timeout_s: float = 30.0


# dapr pkg/messages/predefined.go: the Conversation API's errors. An APIError's gRPC status has
# the code and message only, no ErrorInfo (pkg/messages/api_error.go GRPCStatus).
CONVERSATION_NOT_FOUND = "failed finding conversation component {}"
CONVERSATION_INVALID = "failed conversing with component {}: invalid params: {}"
CONVERSATION_INVOKE = "failed conversing with component {}: {}"
CONVERSATION_NO_INPUTS = "failed conversing with component {}: missing inputs in request"


def converse(sidecar: FakeSidecar, request: Any) -> Any:
    """dapr pkg/api/universal/conversation.go ConverseAlpha2, with the component's call to
    OpenAI (components-contrib conversation/langchaingokit/model.go Converse)."""
    name = request.name
    component = sidecar.conversations.get(name)
    if component is None:
        raise _Fail(grpc.StatusCode.INVALID_ARGUMENT, CONVERSATION_NOT_FOUND.format(name))
    if not request.inputs:
        raise _Fail(grpc.StatusCode.INVALID_ARGUMENT, CONVERSATION_NO_INPUTS.format(name))
    body: dict[str, Any] = {
        "model": component.model,
        "messages": _openai_messages(name, request),
        # langchaingo openaiclient/chat.go ChatRequest.MarshalJSON: temperature is always sent
        # to a non-reasoning model; model.go getOptionsFromRequest passes it only when > 0.
        "temperature": request.temperature if request.temperature > 0 else 0.0,
    }
    # ConversationRequestAlpha2 has no max_tokens daprd reads (ai.proto lists it as a TODO),
    # and model.go leaves llms.WithMaxTokens commented out: the completion is not capped.
    tools = _openai_tools(name, request)
    if tools:
        body["tools"] = tools
        body["tool_choice"] = request.tool_choice or "auto"
    if request.HasField("response_format"):
        response_format = _structured_output(json_format.MessageToDict(request.response_format))
        if response_format is not None:
            body["response_format"] = response_format
    answer = _call_openai(name, component, body)
    return _conversation_response(request, component, answer)


def _text_content(parts: Any) -> Any:
    # langchaingo openaiclient/chat.go ChatMessage.MarshalJSON: one text part is a string,
    # several are a list of parts.
    texts = [part.text for part in parts]
    if len(texts) == 1:
        return texts[0]
    return [{"type": "text", "text": t} for t in texts] if texts else ""


def _openai_messages(name: str, request: Any) -> list[dict[str, Any]]:
    """conversation.go ConverseAlpha2 maps each message type to a langchaingo role (developer
    and user to human, system, assistant to ai, tool); langchaingo llms/openai/openaillm.go
    GenerateContent maps those to OpenAI's roles."""
    found: list[dict[str, Any]] = []
    for turn in request.inputs:
        for message in turn.messages:
            kind = message.WhichOneof("message_types")
            if kind is None:
                raise _Fail(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    CONVERSATION_INVALID.format(name, "message type cannot be nil"),
                )
            value = getattr(message, kind)
            if kind in ("of_developer", "of_user"):
                found.append({"role": "user", "content": _text_content(value.content)})
            elif kind == "of_system":
                found.append({"role": "system", "content": _text_content(value.content)})
            elif kind == "of_assistant":
                found.append(_assistant_message(name, value))
            else:
                # openaillm.go GenerateContent: a tool message must be exactly one part.
                if len(value.content) != 1:
                    raise _Fail(
                        grpc.StatusCode.INTERNAL,
                        CONVERSATION_INVOKE.format(
                            name,
                            f"expected exactly one part for role tool, got {len(value.content)}",
                        ),
                    )
                found.append(
                    {
                        "role": "tool",
                        "tool_call_id": value.tool_id,
                        "content": value.content[0].text,
                    }
                )
    return found


def _assistant_message(name: str, value: Any) -> dict[str, Any]:
    calls = []
    for call in value.tool_calls:
        if call.WhichOneof("tool_types") is None:
            raise _Fail(
                grpc.StatusCode.INVALID_ARGUMENT,
                CONVERSATION_INVALID.format(name, "tool types cannot be nil"),
            )
        calls.append(
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
        )
    message: dict[str, Any] = {"role": "assistant", "content": _text_content(value.content)}
    if calls:
        message["tool_calls"] = calls
    return message


def _openai_tools(name: str, request: Any) -> list[dict[str, Any]]:
    tools = [
        {
            "type": "function",
            "function": {
                "name": tool.function.name,
                "description": tool.function.description,
                "parameters": json_format.MessageToDict(tool.function.parameters),
            },
        }
        for tool in request.tools
    ]
    # conversation.go ConverseAlpha2: tool_choice defaults to auto with tools; "required"
    # needs tools; any other value must name one of them.
    choice = request.tool_choice
    names = {t["function"]["name"] for t in tools}
    if choice == "required" and not tools:
        problem = (
            "tool choice must be 'auto', 'none', 'required', or a specific tool name matching "
            "the tools available to be used"
        )
    elif choice not in ("", "auto", "none", "required") and tools and choice not in names:
        problem = (
            "tool choice selected was not found. Must be 'auto', 'none', 'required', or a "
            "specific tool name matching the tools available to be used"
        )
    else:
        return tools
    raise _Fail(grpc.StatusCode.INVALID_ARGUMENT, CONVERSATION_INVALID.format(name, problem))


def _structured_output(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The response_format OpenAI gets, or None where components-contrib drops it:
    langchaingokit/workarounds.go convertToStructuredOutputDefinition (name, strict beside the
    schema) and convertToStructuredOutputSchema (one string type per node, or an error that
    model.go getOptionsFromRequest logs and goes on without structured output)."""
    converted = _schema_node(schema)
    if converted is None:
        return None
    return {
        "type": "json_schema",
        "json_schema": {
            "name": schema.get("name") or "response",
            "strict": bool(schema.get("strict")),
            "schema": converted,
        },
    }


def _schema_node(node: Any) -> dict[str, Any] | None:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return None
    out: dict[str, Any] = {"type": node["type"]}
    for key in ("description", "required", "enum"):
        if key in node:
            out[key] = node[key]
    if isinstance(node.get("additionalProperties"), bool):
        out["additionalProperties"] = node["additionalProperties"]
    if node["type"] == "object" and isinstance(node.get("properties"), dict):
        properties = {k: _schema_node(v) for k, v in node["properties"].items()}
        if any(v is None for v in properties.values()):
            return None
        out["properties"] = properties
    if node["type"] == "array" and isinstance(node.get("items"), dict):
        items = _schema_node(node["items"])
        if items is None:
            return None
        out["items"] = items
    return out


def _call_openai(name: str, component: ConversationComponent, body: dict[str, Any]) -> Any:
    """langchaingo openaiclient/chat.go createChat: POST <endpoint>/chat/completions with the
    key as a bearer token; a status other than 200 is an error that names it and the API's
    message, which daprd wraps as ErrConversationInvoke (INTERNAL)."""
    base = (component.endpoint or "https://api.openai.com/v1").rstrip("/")
    try:
        response = httpx.post(
            f"{base}/chat/completions",
            json=body,
            headers={"authorization": f"Bearer {component.key or ''}"},
            timeout=component.timeout_s,
        )
    except httpx.HTTPError as error:
        raise _Fail(
            grpc.StatusCode.INTERNAL, CONVERSATION_INVOKE.format(name, str(error))
        ) from error
    if response.status_code != 200:
        detail = f"API returned unexpected status code: {response.status_code}"
        try:
            detail += f": {response.json()['error']['message']}"
        except (ValueError, KeyError, TypeError):
            pass
        raise _Fail(grpc.StatusCode.INTERNAL, CONVERSATION_INVOKE.format(name, detail))
    answer = response.json()
    if not answer.get("choices"):
        # llms/openai/openaillm.go GenerateContent: ErrEmptyResponse.
        raise _Fail(grpc.StatusCode.INTERNAL, CONVERSATION_INVOKE.format(name, "no response"))
    return answer


def _conversation_response(request: Any, component: ConversationComponent, answer: Any) -> Any:
    """langchaingokit/model.go NormalizeConverseResult: one output per choice, its finish
    reason ("unknown" when empty); the usage of the whole answer on every output, and the
    component's own model name (conversation.go ConverseAlpha2, convertUsageForResponse)."""
    usage = answer.get("usage") or {}
    outputs = []
    for index, choice in enumerate(answer["choices"]):
        message = choice.get("message") or {}
        result = ai_pb2.ConversationResultMessage(content=message.get("content") or "")
        for call in message.get("tool_calls") or []:
            result.tool_calls.append(
                ai_pb2.ConversationToolCalls(
                    id=call.get("id") or "",
                    function=ai_pb2.ConversationToolCallsOfFunction(
                        name=call["function"]["name"], arguments=call["function"]["arguments"]
                    ),
                )
            )
        outputs.append(
            ai_pb2.ConversationResultAlpha2(
                choices=[
                    ai_pb2.ConversationResultChoices(
                        finish_reason=choice.get("finish_reason") or "unknown",
                        index=index,
                        message=result,
                    )
                ],
                model=component.model,
                usage=ai_pb2.ConversationResultAlpha2CompletionUsage(
                    prompt_tokens=int(usage.get("prompt_tokens") or 0),
                    completion_tokens=int(usage.get("completion_tokens") or 0),
                    total_tokens=int(usage.get("total_tokens") or 0),
                ),
            )
        )
    response = ai_pb2.ConversationResponseAlpha2(outputs=outputs)
    if request.context_id:
        response.context_id = request.context_id
    return response


@dataclass
class FakeSidecar:
    app_id: str = "test-agent"
    api_token: str | None = None
    grpc_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    # The components this app may use (those whose `scopes` list it), by name.
    state_stores: set[str] = field(default_factory=lambda: {"statestore"})
    pubsubs: dict[str, PubsubScopes] = field(default_factory=lambda: {"pubsub": PubsubScopes()})
    state: dict[str, dict[str, Row]] = field(default_factory=dict)
    published: list[Published] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    failures: dict[str, tuple[grpc.StatusCode, int] | None] = field(default_factory=dict)
    healthy: bool = True
    invoke_handlers: dict[tuple[str, str], Callable[[dict], Any]] = field(default_factory=dict)
    invoked: list[tuple[str, str, Any]] = field(default_factory=list)
    # The conversation components this app may use, by name, and the requests they got.
    conversations: dict[str, ConversationComponent] = field(default_factory=dict)
    conversed: list[dict[str, Any]] = field(default_factory=list)
    # Test controls (see SaveState).
    before_save: Callable[[], None] | None = None
    lose_next_ack: bool = False
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        # PostgreSQL's xmin: a transaction id, a uint32 that grows with every write.
        self._xmin = 1000
        self._grpc: grpc.Server | None = None
        self._http: uvicorn.Server | None = None
        self._grpc_started = False

    @classmethod
    def for_app(cls, app_id: str, components_file: Path, **kwargs: Any) -> FakeSidecar:
        """A sidecar loading the components of `components_file` as daprd would for `app_id`:
        only those whose `scopes` list it (a component without scopes is for every app), and
        the pub/sub topic scopes from their metadata (dapr pkg/runtime/processor/pubsub/
        pubsub.go: ScopedPublishings / ScopedSubscriptions from publishingScopes /
        subscriptionScopes; allowedTopics, protectedTopics)."""
        stores: set[str] = set()
        pubsubs: dict[str, PubsubScopes] = {}
        conversations: dict[str, ConversationComponent] = {}
        for doc in yaml.safe_load_all(components_file.read_text()):
            if not doc or doc.get("kind") != "Component":
                continue
            if doc.get("scopes") and app_id not in doc["scopes"]:
                continue
            name, kind = doc["metadata"]["name"], doc["spec"]["type"]
            metadata = {m["name"]: str(m.get("value", "")) for m in doc["spec"]["metadata"]}
            if kind.startswith("state."):
                stores.add(name)
            elif kind == "conversation.openai":
                # The key is a secretKeyRef the test cannot resolve: it passes its own.
                conversations[name] = ConversationComponent(
                    model=metadata.get("model") or ConversationComponent.model,
                    endpoint=metadata.get("endpoint") or None,
                )
            elif kind.startswith("pubsub."):

                def topics(key: str, metadata: dict[str, str] = metadata) -> list[str]:
                    value = metadata.get(key, "").replace(" ", "")
                    return [t for t in value.split(",") if t]

                pubsubs[name] = PubsubScopes(
                    publishing=parse_scopes(metadata.get("publishingScopes", "")).get(app_id, []),
                    subscribing=parse_scopes(metadata.get("subscriptionScopes", "")).get(
                        app_id, []
                    ),
                    allowed=topics("allowedTopics"),
                    protected=topics("protectedTopics"),
                )
        conversations.update(kwargs.pop("conversations", {}))
        return cls(
            app_id=app_id,
            state_stores=stores,
            pubsubs=pubsubs,
            conversations=conversations,
            **kwargs,
        )

    # -- state as PostgreSQL v1 keeps it ------------------------------------------------
    def stored_key(self, key: str) -> str:
        """dapr pkg/components/state/state_config.go GetModifiedStateKey (keyPrefix appid)."""
        if KEY_SEPARATOR in key:
            raise _Fail(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"input key/keyPrefix '{key}' can't contain '{KEY_SEPARATOR}'",
                "DAPR_STATE_ILLEGAL_KEY",
            )
        return f"{self.app_id}{KEY_SEPARATOR}{key}"

    def live_row(self, store: dict[str, Row], key: str) -> Row | None:
        # postgresql.go Get and the etag UPDATE: rows past their expiredate do not exist (the
        # garbage collector deletes them later; cleanupInterval).
        row = store.get(key)
        if row is not None and row.expires_at is not None and row.expires_at <= self.clock():
            return None
        return row

    def _next_etag(self) -> int:
        self._xmin += 1
        return self._xmin

    def set_row(self, store: dict[str, Row], item: common_pb2.StateItem) -> _Fail | None:
        """components-contrib common/component/postgresql/v1/postgresql.go doSet, with the
        queries of state/postgresql/v1/postgresql.go SetQueryFn."""
        if not item.key:
            # dapr grpc.go SaveState: "state key cannot be empty", InvalidArgument.
            raise _Fail(grpc.StatusCode.INVALID_ARGUMENT, "state key cannot be empty")
        key = self.stored_key(item.key)
        # components-contrib state/utils/ttl.go ParseTTL: "ttlInSeconds", an integer >= -1;
        # postgresql.go doSet: only a positive TTL sets expiredate, a bad one is an error.
        ttl_text = item.metadata.get("ttlInSeconds", "")
        try:
            ttl = int(ttl_text) if ttl_text else None
        except ValueError:
            ttl = -2
        if ttl is not None and not -1 <= ttl <= 2**31 - 1:
            return _Fail(
                grpc.StatusCode.INTERNAL,
                "error parsing TTL: incorrect value for metadata 'ttlInSeconds'",
            )
        expires_at = self.clock() + ttl if ttl and ttl > 0 else None
        offered = item.etag.value if item.HasField("etag") else ""
        first_write = item.HasField("options") and item.options.concurrency == FIRST_WRITE
        live = self.live_row(store, key)
        if offered:
            # UPDATE ... WHERE key = $1 AND xmin = $4 AND not expired: no such row is an
            # ETagError mismatch, whatever the concurrency option.
            try:
                etag = _parse_etag(offered)
            except _Fail as invalid:
                return invalid
            if live is None or live.etag != etag:
                return _Fail(grpc.StatusCode.ABORTED, ETAG_MISMATCH)
        elif first_write and live is not None:
            # INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE the row has expired: a live row
            # is left alone, no row is affected, and the error is a plain one.
            return _Fail(grpc.StatusCode.INTERNAL, NO_ITEM_UPDATED)
        # Without an etag and last-write: an upsert.
        store[key] = Row(value=item.value, etag=self._next_etag(), expires_at=expires_at)
        return None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> FakeSidecar:
        self.start_grpc()
        self._start_http()
        return self

    def start_grpc(self) -> None:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        dapr_pb2_grpc.add_DaprServicer_to_server(_Servicer(self), server)
        try:
            bound = server.add_insecure_port(f"127.0.0.1:{self.grpc_port}")
        except RuntimeError:  # grpcio raises where older releases returned 0
            bound = 0
        if not bound:
            if self._grpc_started:  # a restart keeps its port, as daprd's does
                raise RuntimeError(f"fake sidecar: gRPC port {self.grpc_port} is taken")
            # The port chosen at construction was taken meanwhile: take any free one.
            self.grpc_port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._grpc = server
        self._grpc_started = True

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
                Route("/v1.0/healthz/outbound", self._outbound_health, methods=["GET"]),
                Route("/v1.0/healthz", self._health, methods=["GET"]),
                Route("/v1.0/metadata", self._metadata, methods=["GET"]),
                Route(
                    "/v1.0/invoke/{app_id}/method/{method:path}",
                    self._invoke,
                    methods=["GET", "POST", "PUT", "DELETE"],
                ),
            ]
        )
        # The bound socket itself goes to uvicorn (a port released first can be taken before
        # uvicorn binds it); one taken since construction is replaced by any free one.
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", self.http_port))
        except OSError:
            sock.bind(("127.0.0.1", 0))
            self.http_port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="error", lifespan="off")
        self._http = uvicorn.Server(config)
        self._http_thread = threading.Thread(
            target=self._http.run, kwargs={"sockets": [sock]}, daemon=True
        )
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
        """`handler(payload)` answers for the other app: a JSON value (200), or a
        (status, JSON value) pair."""
        self.invoke_handlers[(app_id, method)] = handler

    # The helpers below take and give keys as the app names them ("progress||ada"); the app's
    # Dapr adapter encodes them for the sidecar (ports/dapr.py dapr_state_key).
    def put(self, store: str, key: str, value: Any) -> None:
        """Another writer (another replica, another request) saves `key` directly."""
        with self.lock:
            rows = self.state.setdefault(store, {})
            rows[self.stored_key(dapr_state_key(key))] = Row(
                json.dumps(value).encode(), self._next_etag()
            )

    def value(self, store: str, key: str) -> Any:
        with self.lock:
            row = self.live_row(self.state.get(store, {}), self.stored_key(dapr_state_key(key)))
        return json.loads(row.value) if row else None

    def stored_keys(self, store: str = "statestore") -> list[str]:
        """The keys as daprd stored them ("<app-id>||<key>")."""
        with self.lock:
            rows = self.state.get(store, {})
            return [k for k in rows if self.live_row(rows, k) is not None]

    def keys(self, store: str = "statestore") -> list[str]:
        """The app's keys, as it named them."""
        prefix = f"{self.app_id}{KEY_SEPARATOR}"
        return [unquote(k[len(prefix) :]) for k in self.stored_keys(store)]

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
    def _token_refused(self, request: Request) -> Response | None:
        # dapr pkg/api/http/middlewares.go APITokenAuthMiddleware: every route but GET
        # /v1.0/healthz and /v1.0/healthz/outbound wants the token; a missing or wrong one is
        # 401 "invalid api token" (plain text, http.Error).
        if self.api_token is not None and request.headers.get("dapr-api-token") != self.api_token:
            return PlainTextResponse("invalid api token\n", status_code=401)
        return None

    def _not_ready(self, code: str, message: str) -> Response:
        # dapr pkg/api/http/responses.go respondWithError: {"errorCode", "message"}, 500.
        return JSONResponse({"errorCode": code, "message": message}, status_code=500)

    async def _outbound_health(self, request: Request) -> Response:
        # dapr pkg/api/http/healthz.go onGetOutboundHealthz: 204 once the sidecar can serve
        # the app's calls, else ErrOutboundHealthNotReady; no token needed (middlewares.go).
        if self.healthy:
            return Response(status_code=204)
        return self._not_ready("ERR_OUTBOUND_HEALTH_NOT_READY", "dapr outbound is not ready")

    async def _health(self, request: Request) -> Response:
        # healthz.go onGetHealthz: like the outbound check, but it also waits for the app.
        if self.healthy:
            return Response(status_code=204)
        return self._not_ready("ERR_HEALTH_NOT_READY", "dapr is not ready: [grpc-api-server]")

    async def _metadata(self, request: Request) -> Response:
        # dapr pkg/api/http/metadata.go onGetMetadata: the app's id and what it loaded; behind
        # the API token like every non-health route.
        if refused := self._token_refused(request):
            return refused
        components = [{"name": n, "type": "state.postgresql"} for n in sorted(self.state_stores)]
        components += [{"name": n, "type": "pubsub.kafka"} for n in sorted(self.pubsubs)]
        return JSONResponse({"id": self.app_id, "components": components})

    async def _invoke(self, request: Request) -> Response:
        # The SDK's async client invokes over HTTP (python-sdk dapr/aio/clients/__init__.py
        # DaprClient.invoke_method -> dapr/clients/http/dapr_invocation_http_client.py).
        if refused := self._token_refused(request):
            return refused
        app_id, method = request.path_params["app_id"], request.path_params["method"]
        if not self.healthy:
            # directmessaging.go onDirectMessage: a transport failure (the other sidecar cannot
            # be reached) is ErrDirectInvoke, 500 (pkg/messages/predefined.go).
            return self._not_ready("ERR_DIRECT_INVOKE", f"failed to invoke, id: {app_id}")
        body = await request.body()
        payload = json.loads(body) if body else None
        self.invoked.append((app_id, method, payload))
        handler = self.invoke_handlers.get((app_id, method))
        if handler is None:
            # dapr pkg/api/http/directmessaging.go onDirectMessage: a target that cannot be
            # reached is ErrDirectInvoke, 500 (pkg/messages/predefined.go).
            return JSONResponse(
                {
                    "errorCode": "ERR_DIRECT_INVOKE",
                    "message": f"failed to invoke, id: {app_id}, err: app not found",
                },
                status_code=500,
            )
        # directmessaging.go: whatever the other app answered, status and body, is passed on.
        answer = handler(payload)
        status, content = answer if isinstance(answer, tuple) else (200, answer)
        return JSONResponse(content, status_code=status)
