"""What the agent needs from the outside world, as small Protocols.

The agent depends only on these; adapters decide whether a call goes to the Dapr sidecar, to
the embedded SQLite store and in-process bus, or to an OpenAI-compatible server.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class DependencyUnavailable(Exception):
    """A dependency (sidecar, state store, broker, LLM) cannot serve now; trying later may work."""


class ConcurrencyConflict(Exception):
    """Someone else wrote the key since we read it (etag mismatch / first-write lost)."""


class InvocationFailed(Exception):
    """The invoked app answered, but with an error."""


@dataclass(frozen=True)
class StateItem:
    value: Any | None  # decoded JSON, None when the key is missing
    etag: str | None  # None when the key is missing


class StateStore(Protocol):
    #: Whether its calls leave the process (a sidecar, a database server). A write to a
    #: remote store is worth doing after the answer has gone; a local one costs less inline
    #: than the task that would defer it.
    remote: bool

    async def get(self, key: str) -> StateItem: ...

    async def save(
        self, key: str, value: Any, *, etag: str | None, ttl_s: int | None = None
    ) -> None:
        """First-write-wins: with etag=None the key must not exist yet; otherwise the etag
        must still match. Raises ConcurrencyConflict when it does not. With `ttl_s` the item
        expires that many seconds later (a read then finds nothing)."""

    async def put(self, key: str, value: Any, *, ttl_s: int | None = None) -> None:
        """Last write wins: the key holds `value` whatever it held before (Dapr's last-write
        concurrency, no etag). For a value that does not depend on the one it replaces, it
        saves the read that `save` needs for its etag."""

    async def delete(self, key: str, *, etag: str | None = None) -> None: ...


class EventBus(Protocol):
    async def publish(self, topic: str, data: dict[str, Any]) -> None: ...


class ServiceInvoker(Protocol):
    async def invoke(
        self,
        app_id: str,
        method: str,
        payload: dict[str, Any] | None,
        *,
        http_verb: str = "POST",
    ) -> dict[str, Any]:
        """The JSON object `app_id` answers to `method` (a POST with `payload`, or a GET with
        none)."""


ToolFunction = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Tool:
    """A function the model may call: its JSON schema and the coroutine that runs it."""

    name: str
    description: str
    parameters: dict[str, Any]
    run: ToolFunction

    def spec(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass
class TokenUsage:
    """What one answer cost: the tokens the provider reported, over every call it took (a tool
    round is a call of its own). The adapter adds to it as calls return, so a failure after
    some calls still reports what those cost."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    #: The model the provider says answered, when it says (Dapr's Conversation API reports the
    #: component's model, which an operator may have changed by editing the component).
    model: str | None = None

    def add(
        self, prompt_tokens: int | None, completion_tokens: int | None, model: str | None = None
    ) -> None:
        self.prompt_tokens += max(int(prompt_tokens or 0), 0)
        self.completion_tokens += max(int(completion_tokens or 0), 0)
        self.calls += 1
        self.model = model or self.model

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class LanguageModel(Protocol):
    """A chat model. Every failure surfaces as DependencyUnavailable, so the agent can answer
    offline instead.

    `max_tokens` caps each completion (None: the provider's default); `usage`, when given, is
    added to with what every call cost. `backend` names the provider path ("openai",
    "dapr-conversation"). `stream` yields tokens as they come where the backend can, else the
    whole answer as one piece."""

    model: str
    backend: str

    async def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: Sequence[Tool] = (),
        max_tokens: int | None = None,
        usage: TokenUsage | None = None,
    ) -> str: ...

    async def complete_json(
        self,
        messages: list[dict[str, Any]],
        *,
        schema_name: str,
        schema: dict[str, Any],
        max_tokens: int | None = None,
        usage: TokenUsage | None = None,
    ) -> dict[str, Any]: ...

    def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int | None = None,
        usage: TokenUsage | None = None,
    ) -> AsyncIterator[str]: ...

    async def close(self) -> None: ...


EventHandler = Callable[[str, str, dict[str, Any]], Awaitable[None]]
"""(topic, event_id, data) -> None; how the in-process bus hands events to our own routes."""


async def update_with_retry(
    store: StateStore,
    key: str,
    change: Callable[[Any | None], Any],
    *,
    attempts: int = 100,
    ttl_s: int | None = None,
    current: StateItem | None = None,
) -> Any:
    """Read-modify-write under optimistic concurrency: re-read and re-apply on conflict.

    `change` gets the current value (None when missing) and returns the new one; it must be a
    pure function of its input because it may run several times. `ttl_s` makes every write
    expire that many seconds later; `current`, an item the caller has just read, saves the
    first read (a conflict re-reads as usual).
    """
    for attempt in range(attempts):
        item = current if current is not None and attempt == 0 else await store.get(key)
        new_value = change(item.value)
        try:
            await store.save(key, new_value, etag=item.etag, ttl_s=ttl_s)
            return new_value
        except ConcurrencyConflict:
            # Back off a little, at random, so writers that collided do not collide again.
            await asyncio.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
    raise DependencyUnavailable(f"state key {key!r} kept changing under us ({attempts} tries)")
