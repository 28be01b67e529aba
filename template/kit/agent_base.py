"""What every agent type shares: its dependencies, the LLM-or-offline decision, and the reply.

agent.py (the file service owners edit) subclasses BaseAgent; this module stays the template's,
so `copier update` can improve it without touching anyone's prompt or tools.

Around every answer (`process`, `stream`) the base class keeps the request's scope
(kit/llm_session.py): the learner's recent conversation, their level, and what the model cost.
The LLM path sends the system prompt, that conversation and the new question, nothing else
about the learner; it tries the primary model, then the cheaper fallback, then answers offline,
and not at all once the learner's daily token budget is spent.
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
    TokenUsage,
    Tool,
)
from kit.llm_session import RequestScope, SessionKeeper
from kit.settings import KitSettings

T = TypeVar("T")
#: What the learner's message to the model says, or a function that writes it when needed.
UserContent = str | Callable[[], str]

#: Said to a learner whose answer came offline because their daily token budget is spent.
BUDGET_NOTE = (
    "You have used today's AI-written answers with this tutor, so this one comes from its "
    "built-in material; they are back after midnight (UTC)."
)


class PoisonMessage(Exception):
    """An event that can never succeed (malformed data); Dapr should DROP it, not retry."""


@dataclass
class AgentDeps:
    settings: KitSettings
    state: StateStore
    events: EventBus
    invoker: ServiceInvoker | None = None
    llm: LanguageModel | None = None
    #: The cheaper model tried when `llm` fails (None: straight to the offline answer).
    fallback_llm: LanguageModel | None = None
    #: The app's Prometheus metrics (kit/observability.py Metrics); None in unit tests.
    metrics: Any = None
    log: Any = field(default_factory=lambda: structlog.get_logger("agent"))


@dataclass(slots=True)
class Answer:
    """What an agent decided: the text for the learner plus type-specific data."""

    response: str
    next_steps: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    mode: str = "offline"
    #: Set when another agent wrote the answer (the router returning the target's reply).
    agent: str | None = None
    #: Facts the agent's offline logic wants from this turn next time (the concept explained,
    #: the hint given); kept with the conversation, never shown, never sent to the model.
    remember: dict[str, Any] = field(default_factory=dict)


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
    #: The cap on each completion this agent asks for (LLM_MAX_TOKENS overrides it).
    max_tokens: int = 600
    #: Whether a request without a level gets the learner's level from the tracker.
    adapts_level: bool = True
    #: Whether the offline answers read the learner's previous turn (the explainer's "that",
    #: the debugger's next hint). Without a model, only such agents keep the conversation,
    #: and only its last turn verbatim (kit/llm_session.py OFFLINE_TURNS): for the others it
    #: would be a state read and write per request that nothing reads.
    remembers_offline: bool = False

    def __init__(self, deps: AgentDeps) -> None:
        self.deps = deps
        self.log = deps.log
        self.sessions = SessionKeeper(self, deps)

    # -- what subclasses implement -------------------------------------------------------
    async def answer(self, request: ProcessRequest) -> Answer:
        raise NotImplementedError

    async def on_event(self, topic: str, event_id: str, data: dict[str, Any]) -> None:
        raise PoisonMessage(f"{self.name} does not handle topic {topic!r}")

    def reads_last_turn(self, request: ProcessRequest) -> bool:
        """Whether answering `request` offline may read the learner's previous turn
        (`self.history(request).conversation.last`), for an agent that remembers_offline.
        Without a model the conversation is read only for requests this says yes to; every
        turn is written either way. Saying yes too often costs a read; saying no to a request
        that reads it gives that request no previous turn."""
        return True

    async def topic_mastery(self, user_id: str, topic: str) -> dict[str, Any] | None:
        """The learner's {mastery, attempts} on `topic`, None if never practised: the tracker's
        answer by default (Dapr invocation); the tracker overrides this with its own record."""
        return await self.sessions.tracker_mastery(user_id, topic)

    # -- shared behaviour ---------------------------------------------------------------
    def system_prompt(self, level: str) -> str:
        level = level if level in LEVELS else "beginner"
        return self.system_prompt_template.format(specialty=self.specialty, level=level)

    def history(self, request: ProcessRequest) -> RequestScope:
        """This request's scope: `.conversation` (the learner's recent turns, `.last` the
        previous one) and `.level`. Empty outside process/stream."""
        return self.sessions.scope_of(request)

    async def process(self, request: ProcessRequest) -> ProcessReply:
        async with self.sessions.session(request) as scope:
            reply, answer = await self._reply(request, scope)
            scope.finish_with(reply, answer)
        return reply

    async def _reply(
        self, request: ProcessRequest, scope: RequestScope
    ) -> tuple[ProcessReply, Answer]:
        answer = await self.answer(request)
        data = {**answer.data, "mode": answer.mode, **scope.level_data()}
        response = answer.response
        if scope.reason:
            data["reason"] = scope.reason
            if scope.reason == "budget" and answer.agent is None:
                response = f"{response}\n\n({BUDGET_NOTE})"
        reply = ProcessReply(
            agent=answer.agent or self.name,
            response=response,
            next_steps=answer.next_steps,
            data=data,
        )
        return reply, answer

    async def stream(self, request: ProcessRequest) -> AsyncIterator[dict[str, Any]]:
        """Server-sent events: `delta` chunks of text, then one `done` with the full reply.

        Types whose answer is the model's prose override `stream_llm_messages`, and the text
        streams token by token from a backend that streams; everything else (answers checked
        before a learner may see them) streams the finished answer."""
        async with self.sessions.session(request) as scope:
            messages = await self.stream_llm_messages(request)
            parts: list[str] = []
            if messages is not None and self.sessions.may_ask(scope):
                async for delta in self._stream_chain(scope, messages, parts):
                    yield {"event": "delta", "data": {"text": delta}}
            if parts:
                reply, answer = await self.process_offline_pair(request, scope)
                reply.response = "".join(parts)
                reply.data["mode"] = "llm"
                reply.data.pop("reason", None)
            elif messages is not None and self.sessions.may_ask(scope):
                reply, answer = await self.process_offline_pair(request, scope)
                reply.data["mode"] = "degraded"
                reply.data["reason"] = scope.reason = "llm_unavailable"
            else:
                reply, answer = await self._reply(request, scope)
            if not parts:
                yield {"event": "delta", "data": {"text": reply.response}}
            scope.finish_with(reply, answer)
        yield {"event": "done", "data": reply.model_dump()}

    async def _stream_chain(
        self, scope: RequestScope, messages: list[dict[str, Any]], parts: list[str]
    ) -> AsyncIterator[str]:
        for llm in self.sessions.models():
            usage = TokenUsage()
            try:
                async for delta in llm.stream(
                    messages, max_tokens=self.completion_cap(), usage=usage
                ):
                    parts.append(delta)
                    yield delta
            except DependencyUnavailable as error:
                self.log.warning("llm_stream_failed", error=str(error), streamed=bool(parts))
                self.sessions.spent(scope, llm, usage)
                if parts:
                    return  # the learner has part of an answer: end it there
                self.sessions.fell_back(scope, llm)
                continue
            self.sessions.spent(scope, llm, usage)
            return

    async def stream_llm_messages(self, request: ProcessRequest) -> list[dict[str, Any]] | None:
        """Messages to stream from the LLM for this request, or None to stream the answer."""
        return None

    async def process_offline(self, request: ProcessRequest) -> ProcessReply:
        async with self.sessions.session(request) as scope:
            reply, _ = await self.process_offline_pair(request, scope)
        return reply

    async def process_offline_pair(
        self, request: ProcessRequest, scope: RequestScope
    ) -> tuple[ProcessReply, Answer]:
        """The answer without asking the model (this request only; others still may)."""
        scope.offline = True
        try:
            return await self._reply(request, scope)
        finally:
            scope.offline = False

    def completion_cap(self) -> int:
        return self.deps.settings.llm_max_tokens or self.max_tokens

    def llm_messages(
        self, request: ProcessRequest, user_content: UserContent
    ) -> list[dict[str, Any]]:
        """The system prompt, the learner's recent conversation with this agent, and the new
        question: all the model is ever told."""
        scope = self.history(request)
        content = user_content() if callable(user_content) else user_content
        return [
            {"role": "system", "content": self.system_prompt(request.level)},
            *scope.conversation.messages(),
            {"role": "user", "content": content},
        ]

    async def _ask(
        self,
        request: ProcessRequest,
        call: Callable[[LanguageModel, TokenUsage], Awaitable[T]],
    ) -> tuple[T | None, str]:
        """(answer, mode) from the first model that answers: the primary, then the cheaper
        fallback. (None, "offline") when there is no model or the learner's budget is spent,
        (None, "degraded") when every model failed; the caller then answers offline."""
        if self.deps.llm is None:  # most answers: no model, nothing to look up
            return None, "offline"
        scope = self.history(request)
        if not self.sessions.may_ask(scope):
            return None, "offline"
        for llm in self.sessions.models():
            usage = TokenUsage()
            try:
                value = await call(llm, usage)
            except DependencyUnavailable as error:
                self.log.warning("llm_unavailable", model=llm.model, error=str(error))
                self.sessions.spent(scope, llm, usage)
                self.sessions.fell_back(scope, llm)
                continue
            self.sessions.spent(scope, llm, usage)
            return value, "llm"
        scope.reason = "llm_unavailable"
        return None, "degraded"

    async def ask_llm(
        self, request: ProcessRequest, user_content: UserContent, *, tools: Sequence[Tool] = ()
    ) -> tuple[str | None, str]:
        """`user_content` may be a function making the text: it is then made only when a
        model is asked (most answers are offline ones), as are the messages."""
        cap = self.completion_cap()
        return await self._ask(
            request,
            lambda llm, usage: llm.complete(
                self.llm_messages(request, user_content), tools=tools, max_tokens=cap, usage=usage
            ),
        )

    async def ask_llm_json(
        self,
        request: ProcessRequest,
        user_content: UserContent,
        *,
        schema_name: str,
        schema: dict[str, Any],
    ) -> tuple[dict[str, Any] | None, str]:
        cap = self.completion_cap()
        return await self._ask(
            request,
            lambda llm, usage: llm.complete_json(
                self.llm_messages(request, user_content),
                schema_name=schema_name,
                schema=schema,
                max_tokens=cap,
                usage=usage,
            ),
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
