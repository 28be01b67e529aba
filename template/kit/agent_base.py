"""What every agent type shares: its dependencies, the LLM-or-offline decision, and the reply.

agent.py (the file service owners edit) subclasses BaseAgent; this module stays the template's,
so `copier update` can improve it without touching anyone's prompt or tools.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog

from kit.contracts import LEVELS, ProcessReply, ProcessRequest
from kit.interfaces import (
    DependencyUnavailable,
    EventBus,
    LanguageModel,
    ServiceInvoker,
    StateStore,
    Tool,
)
from kit.settings import KitSettings

T = TypeVar("T")


class PoisonMessage(Exception):
    """An event that can never succeed (malformed data); Dapr should DROP it, not retry."""


@dataclass
class AgentDeps:
    settings: KitSettings
    state: StateStore
    events: EventBus
    invoker: ServiceInvoker | None = None
    llm: LanguageModel | None = None
    log: Any = field(default_factory=lambda: structlog.get_logger("agent"))


@dataclass
class Answer:
    """What an agent decided: the text for the learner plus type-specific data."""

    response: str
    next_steps: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    mode: str = "offline"
    #: Set when another agent wrote the answer (the router returning the target's reply).
    agent: str | None = None


class BaseAgent:
    #: Name the learner sees in `agent` (the LearnFlow name, e.g. "triage").
    name: str = "agent"
    #: Filled with the learner's level per request; {specialty} is fixed per agent.
    system_prompt_template: str = (
        "You are a Python tutor specializing in {specialty}. "
        "Adapt explanations to {level} level students."
    )
    specialty: str = "Python"
    #: True for agents that run learner or LLM code: the service starts the sandbox for them.
    runs_code: bool = False
    #: A question a learner might send this agent: the kit's tests send it, the docs show it.
    sample_query: str = "how do for loops work?"
    #: A valid payload for each topic this agent consumes (the kit's tests, the event docs).
    sample_events: dict[str, dict[str, Any]] = {}
    #: Context that makes the agent answer with the LLM, where it only does when asked to.
    llm_context: dict[str, Any] = {}

    def __init__(self, deps: AgentDeps) -> None:
        self.deps = deps
        self.log = deps.log

    # -- what subclasses implement -------------------------------------------------------
    async def answer(self, request: ProcessRequest) -> Answer:
        raise NotImplementedError

    async def on_event(self, topic: str, event_id: str, data: dict[str, Any]) -> None:
        raise PoisonMessage(f"{self.name} does not handle topic {topic!r}")

    # -- shared behaviour ---------------------------------------------------------------
    def system_prompt(self, level: str) -> str:
        level = level if level in LEVELS else "beginner"
        return self.system_prompt_template.format(specialty=self.specialty, level=level)

    async def process(self, request: ProcessRequest) -> ProcessReply:
        answer = await self.answer(request)
        return ProcessReply(
            agent=answer.agent or self.name,
            response=answer.response,
            next_steps=answer.next_steps,
            data={**answer.data, "mode": answer.mode},
        )

    async def stream(self, request: ProcessRequest) -> AsyncIterator[dict[str, Any]]:
        """Server-sent events: `delta` chunks of text, then one `done` with the full reply.

        Types whose answer is written by the LLM override `stream_llm_messages` so the text
        streams token by token; everything else streams the finished answer.
        """
        messages = await self.stream_llm_messages(request)
        if messages is not None and self.deps.llm is not None:
            parts: list[str] = []
            try:
                async for delta in self.deps.llm.stream(messages):
                    parts.append(delta)
                    yield {"event": "delta", "data": {"text": delta}}
            except DependencyUnavailable as error:
                self.log.warning("llm_stream_failed", error=str(error), streamed=bool(parts))
            if parts:
                reply = await self.process_offline(request)
                reply.response = "".join(parts)
                reply.data["mode"] = "llm"
                yield {"event": "done", "data": reply.model_dump()}
                return
            reply = await self.process_offline(request)
            reply.data["mode"] = "degraded"
        else:
            reply = await self.process(request)
        yield {"event": "delta", "data": {"text": reply.response}}
        yield {"event": "done", "data": reply.model_dump()}

    async def stream_llm_messages(self, request: ProcessRequest) -> list[dict[str, Any]] | None:
        """Messages to stream from the LLM for this request, or None to stream the answer."""
        return None

    async def process_offline(self, request: ProcessRequest) -> ProcessReply:
        llm, self.deps.llm = self.deps.llm, None
        try:
            return await self.process(request)
        finally:
            self.deps.llm = llm

    def llm_messages(self, request: ProcessRequest, user_content: str) -> list[dict[str, Any]]:
        return [
            {"role": "system", "content": self.system_prompt(request.level)},
            {"role": "user", "content": user_content},
        ]

    async def _ask(self, call: Callable[[LanguageModel], Awaitable[T]]) -> tuple[T | None, str]:
        """(answer, mode) from one LLM call, or (None, "offline"/"degraded") when there is no
        key or the call failed; the caller then answers offline."""
        if self.deps.llm is None:
            return None, "offline"
        try:
            return await call(self.deps.llm), "llm"
        except DependencyUnavailable as error:
            self.log.warning("llm_unavailable", error=str(error))
            return None, "degraded"

    async def ask_llm(
        self, request: ProcessRequest, user_content: str, *, tools: Sequence[Tool] = ()
    ) -> tuple[str | None, str]:
        messages = self.llm_messages(request, user_content)
        return await self._ask(lambda llm: llm.complete(messages, tools=tools))

    async def ask_llm_json(
        self,
        request: ProcessRequest,
        user_content: str,
        *,
        schema_name: str,
        schema: dict[str, Any],
    ) -> tuple[dict[str, Any] | None, str]:
        messages = self.llm_messages(request, user_content)
        return await self._ask(
            lambda llm: llm.complete_json(messages, schema_name=schema_name, schema=schema)
        )

    async def publish(self, topic: str, data: dict[str, Any]) -> bool:
        """Publish, reporting (not raising) an unavailable bus: a learner's answer should not
        fail because an analytics event could not be sent. Event handlers that must not lose
        the event call deps.events.publish directly and let the error become RETRY."""
        try:
            await self.deps.events.publish(topic, data)
            return True
        except DependencyUnavailable as error:
            self.log.warning("publish_failed", topic=topic, error=str(error))
            return False


def request_from_event(data: dict[str, Any]) -> ProcessRequest:
    """The `/process` request carried in a *.requests event, or PoisonMessage."""
    from pydantic import ValidationError

    try:
        return ProcessRequest.model_validate(
            {k: data[k] for k in ("user_id", "query", "context") if k in data}
        )
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'data'}: {e['msg']}" for e in error.errors()
        )
        raise PoisonMessage(f"event data is not a learner request ({problems})") from error


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)
