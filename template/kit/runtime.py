"""Builds the agent's dependencies for the mode this process runs in, and tears them down.

Dapr mode: adapters over one dapr.aio client, connected in the background once the sidecar
answers (the app serves /health meanwhile and /ready says 503). Embedded mode: SQLite state
and an in-process bus, no network at all. The LLM adapters (the primary model and the cheaper
fallback) exist only when their backend can be reached: a key for OpenAI, the sidecar for
Dapr's Conversation API.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import structlog

from kit.agent_base import AgentDeps, BaseAgent
from kit.interfaces import (
    DependencyUnavailable,
    EventBus,
    EventHandler,
    LanguageModel,
    ServiceInvoker,
    StateStore,
)
from kit.settings import KitSettings

if TYPE_CHECKING:
    from kit.adapters.dapr import DaprConnection
    from kit.adapters.embedded import InProcessEventBus, SqliteDatabase

log = structlog.get_logger("runtime")


class ServiceRuntime:
    def __init__(
        self,
        settings: KitSettings,
        agent_factory: type[BaseAgent],
        input_topics: Sequence[str],
        metrics: Any = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self._agent_factory = agent_factory
        self._input_topics = tuple(input_topics)
        self.agent: BaseAgent | None = None
        self.dapr: DaprConnection | None = None
        self.bus: InProcessEventBus | None = None
        self._db: SqliteDatabase | None = None
        self._llm: LanguageModel | None = None
        self._fallback_llm: LanguageModel | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._event_handler: EventHandler | None = None

    @property
    def mode(self) -> Literal["dapr", "embedded"]:
        return "dapr" if self.settings.use_dapr else "embedded"

    def dapr_status(self) -> Literal["connected", "disconnected", "disabled"]:
        if self.dapr is None:
            return "disabled"
        return "connected" if self.dapr.connected else "disconnected"

    def on_local_event(self, handler: EventHandler) -> None:
        """Where the in-process bus delivers events for our own topics (embedded mode)."""
        self._event_handler = handler

    async def start(self, *, background: bool = True) -> BaseAgent:
        invoker: ServiceInvoker | None = None
        if self.settings.use_dapr:
            state, events, invoker = await self._connect_dapr(background)
        else:
            state, events = await self._open_embedded(background)
        self._llm, self._fallback_llm = self._language_models()
        deps = AgentDeps(
            settings=self.settings,
            state=state,
            events=events,
            invoker=invoker,
            llm=self._llm,
            fallback_llm=self._fallback_llm,
            metrics=self.metrics,
        )
        agent = self._agent_factory(deps)
        self.agent = agent
        if self._agent_factory.runs_code:
            self._start_sandbox(background)
        log.info(
            "service_started",
            mode=self.mode,
            llm=self.llm_status(),
            model=self._llm.model if self._llm else None,
            fallback_model=self._fallback_llm.model if self._fallback_llm else None,
        )
        return agent

    async def _connect_dapr(self, background: bool) -> tuple[StateStore, EventBus, ServiceInvoker]:
        from kit.adapters.dapr import (
            DaprConnection,
            DaprEventBus,
            DaprServiceInvoker,
            DaprStateStore,
        )

        settings = self.settings
        token = settings.dapr_api_token.get_secret_value() if settings.dapr_api_token else None
        dapr = DaprConnection(
            host=settings.dapr_host,
            http_port=settings.effective_dapr_http_port,
            grpc_port=settings.dapr_grpc_port,
            api_token=token,
            call_timeout_s=settings.dapr_call_timeout_s,
        )
        self.dapr = dapr
        if background:
            self._tasks.append(asyncio.create_task(dapr.monitor(settings.dapr_probe_interval_s)))
        else:
            await dapr.probe()
        return (
            DaprStateStore(dapr, settings.state_store_name),
            DaprEventBus(dapr, settings.pubsub_name),
            DaprServiceInvoker(dapr, settings.invoke_timeout_s),
        )

    async def _open_embedded(self, background: bool) -> tuple[StateStore, EventBus]:
        from kit.adapters.embedded import InProcessEventBus, SqliteDatabase, SqliteStateStore

        db = SqliteDatabase(self.settings.embedded_state_path)
        await db.open(background=background)
        self._db = db
        bus = InProcessEventBus(db, self._input_topics, write_behind=background)
        if self._event_handler is not None:
            bus.attach(self._event_handler)
        self.bus = bus
        return SqliteStateStore(db), bus

    def llm_status(self) -> Literal["openai", "dapr-conversation", "offline"]:
        return self.settings.llm_backend if self.settings.llm_enabled else "offline"

    def _language_models(self) -> tuple[LanguageModel | None, LanguageModel | None]:
        """The primary model and the cheaper fallback (None where there is none)."""
        settings = self.settings
        if not settings.llm_enabled:
            if settings.llm_backend == "dapr-conversation":
                log.info("llm_offline", why="dapr-conversation needs the Dapr sidecar")
            return None, None
        if settings.llm_backend == "dapr-conversation":
            return self._conversation_models()
        from kit.adapters.openai import ChatModel

        assert settings.openai_api_key is not None  # llm_enabled says so
        primary = ChatModel(
            api_key=settings.openai_api_key.get_secret_value(),
            model=settings.openai_model,
            base_url=settings.openai_base_url,
            timeout_s=settings.openai_timeout_s,
            max_retries=settings.openai_max_retries,
            max_tokens_field=settings.llm_max_tokens_field,
        )
        fallback = settings.openai_fallback_model
        return primary, primary.with_model(fallback) if fallback else None

    def _conversation_models(self) -> tuple[LanguageModel | None, LanguageModel | None]:
        from kit.adapters.dapr_conversation import DaprConversationModel

        settings = self.settings
        assert self.dapr is not None  # the backend is enabled in Dapr mode only
        primary = DaprConversationModel(
            self.dapr,
            component=settings.conversation_component,
            model=settings.openai_model,
            timeout_s=settings.openai_timeout_s,
        )
        fallback = None
        if settings.conversation_fallback_component:
            fallback = DaprConversationModel(
                self.dapr,
                component=settings.conversation_fallback_component,
                model=settings.openai_fallback_model or settings.conversation_fallback_component,
                timeout_s=settings.openai_timeout_s,
            )
        return primary, fallback

    def _start_sandbox(self, background: bool) -> None:
        """Types that run learner code start their sandbox worker now, off the request path:
        the first start may compile the WebAssembly guest (seconds). /ready says when it can
        take programs; a request that needs it before then waits for it."""
        runner = _sandbox_runner()

        def start() -> None:
            try:
                runner.start_sandbox(self.settings)
            except Exception as error:  # noqa: BLE001 - reported by /ready and per request
                log.error("sandbox_unavailable", error=str(error))
            else:
                log.info("sandbox_ready")

        if background:
            self._tasks.append(asyncio.create_task(asyncio.to_thread(start)))
        else:
            start()

    async def ready(self) -> tuple[bool, list[str]]:
        """Whether every dependency this mode needs can serve now, and what is missing."""
        problems: list[str] = []
        if self.agent is None:
            problems.append("the service is still starting")
        if self._agent_factory.runs_code:
            sandbox_ok, why = _sandbox_runner().sandbox_status()
            if not sandbox_ok:
                problems.append(why or "the code sandbox is not ready")
        if self.dapr is not None and not await self.dapr.probe():
            problems.append(
                f"the Dapr sidecar does not answer on port {self.dapr.http_port} "
                "(/v1.0/healthz/outbound)"
            )
        return not problems, problems

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.agent is not None:
            await self.agent.sessions.drain()  # the last turns, before the store closes
        if self.bus is not None:
            await self.bus.drain()
        if self.dapr is not None:
            await self.dapr.close()
        if self._db is not None:
            await self._db.close()
        for llm in (self._fallback_llm, self._llm):
            if llm is not None:
                await llm.close()
        log.info("service_stopped")


def _sandbox_runner() -> ModuleType:
    # Only types that run code carry kit/sandbox; imported by name so the others, which do
    # not have it, still import (and type-check) this module.
    return importlib.import_module("kit.sandbox.runner")


__all__ = ["DependencyUnavailable", "ServiceRuntime"]
