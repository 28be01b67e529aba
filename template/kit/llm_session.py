"""What the kit keeps around one learner request: their recent conversation, their level, their
token budget, and what the model cost. BaseAgent opens a session around `process` and
`stream`; the agent reads it through `self.history(request)`.

Opening a session reads the conversation and today's token count and chooses the level, all
at once; closing it writes the new turn and what the answer cost once the answer is on its way
(this process's next request from the same learner waits for that write). None of it can fail
an answer: a state store that cannot be read means no history (and no budget check), one
that cannot be written loses that turn, and a tracker that is slow or down means the beginner
level; each is logged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import structlog

from kit.budget import TokenBudget
from kit.content import topic_ids, topic_of
from kit.contracts import LEVELS, ProcessReply, ProcessRequest
from kit.conversation import Conversation, ConversationStore, Turn, new_turn
from kit.interfaces import (
    DependencyUnavailable,
    InvocationFailed,
    LanguageModel,
    StateItem,
    TokenUsage,
)
from kit.level import LevelChoice, LevelUnknown, default_level, level_from_mastery
from kit.observability import annotate

if TYPE_CHECKING:
    from kit.agent_base import AgentDeps, Answer, BaseAgent

log = structlog.get_logger("agent")

# A learner's mastery changes only when a grade arrives: a lookup is reused this long, so a
# conversation asks the tracker once a minute at most, not once a message.
MASTERY_CACHE_S = 60.0
MASTERY_CACHE_SIZE = 4096
# Verbatim turns kept for an agent without a model (BaseAgent.remembers_offline).
OFFLINE_TURNS = 1


# What a learner who has said nothing yet has: shared, as a Conversation is never changed.
NO_CONVERSATION = Conversation()
# The level of a request that names one, by level: made once, as a LevelChoice is never
# changed (most requests name theirs).
_ASKED_FOR = {
    level: LevelChoice(level, "the request asked for this level", "request") for level in LEVELS
}


@dataclass(slots=True)
class RequestScope:
    conversation: Conversation = NO_CONVERSATION
    #: The conversation and budget items as read (their etags save the first re-read).
    conversation_read: StateItem | None = None
    budget_read: StateItem | None = None
    budget_exhausted: bool = False
    #: The taxonomy topic of the question (or of the previous turn, for "that" and "it"),
    #: found when the level is looked up.
    topic: str | None = None
    level: LevelChoice | None = None
    #: Set while the agent answers without the model (the stream's offline half).
    offline: bool = False
    #: Why the answer is not the model's: "budget", "llm_unavailable".
    reason: str | None = None
    usage: dict[str, TokenUsage] = field(default_factory=dict)
    fallbacks: list[str] = field(default_factory=list)
    reply: ProcessReply | None = None
    remember: dict[str, Any] = field(default_factory=dict)

    def level_data(self) -> dict[str, Any]:
        if self.level is None:
            return {}
        return {"level": self.level.level, "level_reason": self.level.reason}

    def finish_with(self, reply: ProcessReply, answer: Answer) -> None:
        self.reply, self.remember = reply, dict(answer.remember)

    @property
    def tokens(self) -> int:
        return sum(u.total for u in self.usage.values())


async def together(
    calls: list[Coroutine[Any, Any, Any]], *, return_exceptions: bool = False
) -> list[Any]:
    """asyncio.gather, except that a single call is simply awaited: gather would wrap it in a
    task, which costs more than most of these state reads and writes."""
    if not calls:
        return []
    if len(calls) > 1:
        return list(await asyncio.gather(*calls, return_exceptions=return_exceptions))
    try:
        return [await calls[0]]
    except Exception as error:
        if not return_exceptions:
            raise
        return [error]


class Session:
    """SessionKeeper.session's context manager. A class rather than @asynccontextmanager: an
    async generator per request costs its creation and asyncio's finaliser bookkeeping, on
    every request."""

    __slots__ = ("chose_level", "keeper", "outermost", "request", "scope")

    def __init__(self, keeper: SessionKeeper, request: ProcessRequest) -> None:
        self.keeper, self.request = keeper, request
        self.scope: RequestScope | None = None
        self.outermost = self.chose_level = False

    async def __aenter__(self) -> RequestScope:
        request = self.request
        keeper = self.keeper
        current = keeper.scopes.get(id(request))
        if current is not None:
            return current
        scope = self.scope = await keeper.open(request)
        self.outermost = True
        keeper.scopes[id(request)] = scope
        if scope.level is not None and request.requested_level is None:
            request._chosen_level = scope.level.level  # what request.level answers
            self.chose_level = True
        return scope

    async def __aexit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        if not self.outermost or self.scope is None:
            return
        try:
            if error_type is None:  # a failed answer is not a turn
                await self.keeper.close(self.request, self.scope)
        finally:
            del self.keeper.scopes[id(self.request)]
            if self.chose_level:
                self.request._chosen_level = None


class SessionKeeper:
    """One per agent: opens and closes the sessions of its requests."""

    def __init__(self, agent: BaseAgent, deps: AgentDeps) -> None:
        self.agent = agent
        self.deps = deps
        self._models = tuple(m for m in (deps.llm, deps.fallback_llm) if m is not None)
        #: Whether anything reads the conversation: the model, or the agent's offline answers.
        self.keeps_conversation = bool(self._models) or agent.remembers_offline
        #: The scope of each request being answered, by the request's id: held here rather
        #: than on the request (a pydantic private attribute costs a lookup through
        #: __getattr__ on every access).
        self.scopes: dict[int, RequestScope] = {}
        self._mastery: dict[tuple[str, str], tuple[float, dict[str, Any] | None]] = {}
        # Each learner's turn still being written, by user id.
        self._writing: dict[str, asyncio.Future[None]] = {}

    # Made on first use: an agent built for a test of event delivery has no settings.
    @cached_property
    def conversations(self) -> ConversationStore:
        settings = self.deps.settings
        keep = settings.conversation_turns
        with_model = bool(self._models)
        if not with_model:
            # Only the offline answers read it then, and they read the last turn alone: the
            # other verbatim turns, and the note of older questions that only a model is
            # given, would be made, encoded, written, read and decoded on every request for
            # nothing (the note was 7% of the debugger's work per request). A model added
            # later starts from the last turn.
            keep = min(keep, OFFLINE_TURNS)
        return ConversationStore(
            self.deps.state,
            keep_turns=keep,
            ttl_s=settings.conversation_ttl_s,
            keep_note=with_model,
        )

    @cached_property
    def budget(self) -> TokenBudget:
        return TokenBudget(self.deps.state, daily_tokens=self.deps.settings.llm_daily_token_budget)

    # -- the scope of a request -----------------------------------------------------------
    def scope_of(self, request: ProcessRequest) -> RequestScope:
        scope = self.scopes.get(id(request))
        return scope if scope is not None else RequestScope()

    def session(self, request: ProcessRequest) -> Session:
        """`async with` it for the request's scope; the outermost session of a request opens
        and closes it."""
        return Session(self, request)

    async def open(self, request: ProcessRequest) -> RequestScope:
        writing = self._writing.get(request.user_id)
        if writing is not None:
            await asyncio.wait([writing])
        needs_lookup = self.needs_lookup(request)
        # The topic serves the level lookup alone: a request that says its level needs none
        # (topic_of was a twentieth of the debugger's work per request).
        scope = RequestScope(topic=self.question_topic(request) if needs_lookup else None)
        wants_budget = bool(self._models) and self.budget.enabled
        reads: list[Any] = []
        if self.keeps_conversation and (
            self._models
            or self.agent.reads_last_turn(request)
            or (needs_lookup and scope.topic is None)  # the previous question's topic, then
        ):
            reads.append(self._read_conversation(request.user_id, scope))
        if wants_budget:
            reads.append(self._read_budget(request.user_id, scope))
        if not needs_lookup:
            # The request says the level, or this agent does not adapt: nothing to look up.
            self._choose_level_now(request, scope)
            await together(reads)
            return scope
        if scope.topic is not None:
            # The level does not depend on the conversation: look it up meanwhile.
            reads.append(self._choose_level(request, scope))
            await together(reads)
            return scope
        await together(reads)
        if scope.conversation.last is not None:
            scope.topic = self.previous_topic(scope.conversation.last)
        await self._choose_level(request, scope)
        return scope

    async def close(self, request: ProcessRequest, scope: RequestScope) -> None:
        """Report the turn on the request's log line, and write it and what it cost. To a
        remote store (the sidecar) that happens after the answer has gone: the learner does
        not wait for it, and this process's next request from the same learner waits for the
        write (read-your-writes). A local store is written at once: its write costs less than
        the task (about an eighth of the explainer's CPU per request, measured)."""
        annotate(
            level=scope.level.level if scope.level else None,
            level_source=scope.level.source if scope.level else None,
            history_turns=len(scope.conversation.turns),
            **self._usage_fields(scope),
        )
        writes: list[Any] = []
        if scope.reply is not None and self.keeps_conversation:
            meta = {**scope.remember, "topic": scope.topic}
            turn = new_turn(request.query, scope.reply.response, meta)
            writes.append(
                self.conversations.append(
                    request.user_id, turn, scope.conversation_read, scope.conversation
                )
            )
        tokens = scope.tokens
        if tokens and self.budget.enabled:
            writes.append(self.budget.spend(request.user_id, tokens, scope.budget_read))
        if not writes:
            return
        user_id = request.user_id
        if not self.deps.state.remote:
            await self._write(writes, None)
            return
        task = asyncio.ensure_future(self._write(writes, self._writing.get(user_id)))
        self._writing[user_id] = task

        def forget(done: asyncio.Future[None]) -> None:
            if self._writing.get(user_id) is done:
                del self._writing[user_id]

        task.add_done_callback(forget)

    @staticmethod
    async def _write(writes: list[Any], previous: asyncio.Future[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # this learner's turns land in order
        for result in await together(writes, return_exceptions=True):
            if isinstance(result, BaseException):
                log.warning("conversation_not_saved", error=str(result))

    async def drain(self) -> None:
        """Wait for the writes still under way (shutdown, tests)."""
        while self._writing:
            await asyncio.wait(list(self._writing.values()))

    @staticmethod
    def _usage_fields(scope: RequestScope) -> dict[str, Any]:
        if not scope.usage and not scope.fallbacks:
            return {}
        return {
            "llm_models": sorted(scope.usage),
            "prompt_tokens": sum(u.prompt_tokens for u in scope.usage.values()),
            "completion_tokens": sum(u.completion_tokens for u in scope.usage.values()),
            "llm_fallbacks": scope.fallbacks,
        }

    async def _read_conversation(self, user_id: str, scope: RequestScope) -> None:
        try:
            scope.conversation, scope.conversation_read = await self.conversations.load(user_id)
        except DependencyUnavailable as error:
            log.warning("conversation_unavailable", error=str(error))

    async def _read_budget(self, user_id: str, scope: RequestScope) -> None:
        try:
            scope.budget_read = await self.budget.read(user_id)
        except DependencyUnavailable as error:
            log.warning("token_budget_unavailable", error=str(error))
            return
        scope.budget_exhausted = self.budget.exhausted(scope.budget_read)

    # -- the level ----------------------------------------------------------------------
    @staticmethod
    def question_topic(request: ProcessRequest) -> str | None:
        given = request.context.get("topic")
        if isinstance(given, str) and given in topic_ids():
            return given
        return topic_of(request.query)

    @staticmethod
    def previous_topic(turn: Turn) -> str | None:
        """The topic a question naming none ("and that?") is looked up under: the previous
        question's, as looked up for it, or found in its text when its request said its level
        (nothing was looked up then)."""
        topic = turn.meta.get("topic")
        if isinstance(topic, str):
            return topic
        return topic_of(turn.question)

    def needs_lookup(self, request: ProcessRequest) -> bool:
        return self.agent.adapts_level and request.requested_level is None

    async def _choose_level(self, request: ProcessRequest, scope: RequestScope) -> None:
        if not self._choose_level_now(request, scope) and self.agent.adapts_level:
            scope.level = await self.looked_up_level(request.user_id, scope.topic)

    @staticmethod
    def _choose_level_now(request: ProcessRequest, scope: RequestScope) -> bool:
        """The level the request asks for, if it names one (True then)."""
        given = request.requested_level
        if given is None:
            return False
        scope.level = _ASKED_FOR[given]
        return True

    async def looked_up_level(self, user_id: str, topic: str | None) -> LevelChoice:
        if topic is None:
            return default_level("the question names no topic to look up")
        timeout = self.deps.settings.level_lookup_timeout_s
        cached = self._mastery.get((user_id, topic))
        if cached is not None and cached[0] > time.monotonic():
            return level_from_mastery(topic, cached[1])
        try:
            record = await asyncio.wait_for(self.agent.topic_mastery(user_id, topic), timeout)
        except LevelUnknown as unknown:
            return default_level(str(unknown))
        except TimeoutError:
            log.warning("level_lookup_slow", timeout_s=timeout)
            return default_level(f"the tracker did not answer within {timeout * 1000:.0f} ms")
        except (DependencyUnavailable, InvocationFailed) as error:
            log.warning("level_lookup_failed", error=str(error))
            return default_level("the tracker could not be reached")
        if len(self._mastery) >= MASTERY_CACHE_SIZE:
            self._mastery.pop(next(iter(self._mastery)))
        self._mastery[(user_id, topic)] = (time.monotonic() + MASTERY_CACHE_S, record)
        return level_from_mastery(topic, record)

    async def tracker_mastery(self, user_id: str, topic: str) -> dict[str, Any] | None:
        """The tracker's record of the learner's topic, through Dapr service invocation of its
        GET /progress/{user_id} (the tracker's app-id is TRACKER_APP_ID)."""
        invoker = self.deps.invoker
        if invoker is None:
            raise LevelUnknown("this agent runs alone (embedded mode), with no tracker to ask")
        # Bounded by the caller (LEVEL_LOOKUP_TIMEOUT_S), which cancels the call.
        report = await invoker.invoke(
            self.deps.settings.tracker_app_id,
            f"progress/{quote(user_id, safe='')}",
            None,
            http_verb="GET",
        )
        topics = report.get("topics")
        record = topics.get(topic) if isinstance(topics, dict) else None
        return record if isinstance(record, dict) else None

    # -- the models ---------------------------------------------------------------------
    def models(self) -> tuple[LanguageModel, ...]:
        """The primary model, then the fallback, those configured."""
        return self._models

    def may_ask(self, scope: RequestScope) -> bool:
        """Whether this request may call a model; says why not when it is the budget."""
        if self.deps.llm is None or scope.offline:
            return False
        if scope.budget_exhausted:
            if scope.reason != "budget":
                scope.reason = "budget"
                log.info("token_budget_spent", daily_tokens=self.budget.daily_tokens)
                if self.deps.metrics is not None:
                    self.deps.metrics.budget_exhausted()
            return False
        return True

    def spent(self, scope: RequestScope, llm: LanguageModel, usage: TokenUsage) -> None:
        if not usage.calls:
            return
        model = usage.model or llm.model
        total = scope.usage.setdefault(model, TokenUsage(model=model))
        total.prompt_tokens += usage.prompt_tokens
        total.completion_tokens += usage.completion_tokens
        total.calls += usage.calls
        if self.deps.metrics is not None:
            self.deps.metrics.tokens(model, usage.prompt_tokens, usage.completion_tokens)

    def fell_back(self, scope: RequestScope, llm: LanguageModel) -> None:
        """The model failed: say what is tried next (the fallback model, or offline)."""
        models = self.models()
        position = next((i for i, m in enumerate(models) if m is llm), len(models))
        following = models[position + 1].model if position + 1 < len(models) else "offline"
        scope.fallbacks.append(f"{llm.model}->{following}")
        log.warning("llm_fallback", failed=llm.model, next=following, backend=llm.backend)
        if self.deps.metrics is not None:
            self.deps.metrics.fallback(llm.model, following)
