"""A local OpenAI-compatible chat-completions server for tests, driven by the real `openai`
client through OPENAI_BASE_URL. Replies are scripted per test; every request is recorded.
"""

from __future__ import annotations

import asyncio
import json
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


@dataclass
class FakeOpenAI:
    default_text: str = "Here is a clear explanation from the model."
    fixed_delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    _script: deque = field(default_factory=deque)

    # -- scripting --------------------------------------------------------------------
    def reply(self, text: str, delay_s: float = 0.0) -> None:
        self._script.append(Scripted("text", text, delay_s=delay_s))

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
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
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
    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        step = self._script.popleft() if self._script else Scripted("text", self.default_text)
        delay = step.delay_s + self.fixed_delay_s
        if delay:
            await asyncio.sleep(delay)
        if step.kind == "error":
            return JSONResponse(
                {"error": {"message": f"scripted {step.status}", "type": "fake", "code": None}},
                status_code=step.status,
                headers={"retry-after": "0"},
            )
        model = body.get("model", "fake-model")
        if body.get("stream"):
            return StreamingResponse(self._stream(step, model), media_type="text/event-stream")
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
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }
        )

    async def _stream(self, step: Scripted, model: str):
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
        text = str(step.content)
        yield chunk({"role": "assistant", "content": ""})
        for word in text.split(" "):
            yield chunk({"content": word + " "})
            await asyncio.sleep(0)
        yield chunk({}, "stop")
        yield "data: [DONE]\n\n"
