"""A local OpenAI-compatible chat-completions server for tests, driven by the real `openai`
client through OPENAI_BASE_URL (and by the fake sidecar's conversation component, as daprd's
conversation.openai calls OpenAI). Replies are scripted per test; every request is recorded.

What it does as the API does (OpenAI API reference, "Create chat completion"):
- `usage` on every completion; on a stream only when `stream_options.include_usage` asks, as
  one last chunk whose `choices` is empty, before `data: [DONE]`.
- The completion cap (`max_completion_tokens`, or the deprecated `max_tokens`) cuts the answer,
  with finish_reason "length".
Token counts are estimated as the API's guide does for English text, about 4 characters a token
(OpenAI help center, "What are tokens and how to count them?"), so more text costs more.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Scripted:
    kind: str  # "text" | "tool_call" | "json" | "error" | "garbled"
    content: Any = None
    status: int = 200
    delay_s: float = 0.0
    tool_name: str | None = None
    usage: tuple[int, int] | None = None  # (prompt, completion) tokens, instead of estimated


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    # Each message costs its text plus a few tokens of framing (role, separators).
    return sum(estimate_tokens(json.dumps(m.get("content") or "")) + 4 for m in messages)


@dataclass
class FakeOpenAI:
    default_text: str = "Here is a clear explanation from the model."
    fixed_delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Models that answer every request with this HTTP status (an outage of one model).
    failing_models: dict[str, int] = field(default_factory=dict)
    _script: deque = field(default_factory=deque)

    # -- scripting --------------------------------------------------------------------
    def reply(self, text: str, delay_s: float = 0.0, usage: tuple[int, int] | None = None) -> None:
        self._script.append(Scripted("text", text, delay_s=delay_s, usage=usage))

    def fail_model(self, model: str, status: int = 503) -> None:
        self.failing_models[model] = status

    def messages(self, index: int = -1) -> list[dict[str, Any]]:
        return self.requests[index]["body"]["messages"]

    def reply_json(self, value: Any) -> None:
        self._script.append(Scripted("json", value))

    def reply_tool_call(self, name: str, arguments: dict[str, Any]) -> None:
        self._script.append(Scripted("tool_call", arguments, tool_name=name))

    def fail(self, status: int, times: int = 1) -> None:
        for _ in range(times):
            self._script.append(Scripted("error", status=status))

    def hang(self, seconds: float) -> None:
        self._script.append(Scripted("text", "too late", delay_s=seconds))

    def garble_stream(self) -> None:
        self._script.append(Scripted("garbled"))

    # -- server -----------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        # The bound socket itself goes to uvicorn: a port found free and released first can
        # be taken (by any connection's ephemeral port) before uvicorn binds it.
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])])
        config = uvicorn.Config(app, log_level="error", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- protocol ---------------------------------------------------------------------
    @staticmethod
    def _error(status: int) -> Response:
        return JSONResponse(
            {"error": {"message": f"scripted {status}", "type": "fake", "code": None}},
            status_code=status,
            headers={"retry-after": "0"},
        )

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        model = body.get("model", "fake-model")
        if model in self.failing_models:
            return self._error(self.failing_models[model])
        step = self._script.popleft() if self._script else Scripted("text", self.default_text)
        delay = step.delay_s + self.fixed_delay_s
        if delay:
            await asyncio.sleep(delay)
        if step.kind == "error":
            return self._error(step.status)
        if body.get("stream"):
            return StreamingResponse(self._stream(step, body), media_type="text/event-stream")
        message: dict[str, Any] = {"role": "assistant", "content": None}
        finish = "stop"
        if step.kind == "tool_call":
            message["tool_calls"] = [
                {
                    "id": f"call_{len(self.requests)}",
                    "type": "function",
                    "function": {"name": step.tool_name, "arguments": json.dumps(step.content)},
                }
            ]
            finish = "tool_calls"
        elif step.kind == "json":
            message["content"] = json.dumps(step.content)
        else:
            message["content"] = step.content
        if isinstance(message["content"], str):
            message["content"], cut = self._capped(message["content"], body)
            finish = "length" if cut else finish
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": self._usage(step, body, message),
            }
        )

    @staticmethod
    def _capped(text: str, body: dict[str, Any]) -> tuple[str, bool]:
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
        if cap and estimate_tokens(text) > cap:
            return text[: cap * 4], True
        return text, False

    @staticmethod
    def _usage(step: Scripted, body: dict[str, Any], message: dict[str, Any]) -> dict[str, int]:
        if step.usage is not None:
            prompt, completion = step.usage
        else:
            prompt = prompt_tokens(body.get("messages") or [])
            completion = estimate_tokens(message.get("content") or "") + estimate_tokens(
                json.dumps(message.get("tool_calls") or "")
            )
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    async def _stream(self, step: Scripted, body: dict[str, Any]):
        model = body.get("model", "fake-model")

        def chunk(delta: dict, finish: str | None = None) -> str:
            payload = {
                "id": "chatcmpl-stream",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(payload)}\n\n"

        if step.kind == "garbled":
            yield chunk({"role": "assistant", "content": ""})
            yield "data: {this is not json\n\n"
            return
        text, cut = self._capped(str(step.content), body)
        yield chunk({"role": "assistant", "content": ""})
        for word in text.split(" "):
            yield chunk({"content": word + " "})
            await asyncio.sleep(0)
        yield chunk({}, "length" if cut else "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = self._usage(step, body, {"content": text})
            payload = {
                "id": "chatcmpl-stream",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [],
                "usage": usage,
            }
            yield f"data: {json.dumps(payload)}\n\n"
        yield "data: [DONE]\n\n"
