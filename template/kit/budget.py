"""Each learner's daily token budget with this agent, kept in the state store.

A learner may spend LLM_DAILY_TOKEN_BUDGET tokens (prompt plus completion, as the provider
reports them) per UTC day on this agent; past it, the agent answers from its offline logic
and says so (data.mode "offline", data.reason "budget") until the day ends. The count lives
under one key per learner and day, written with a TTL that ends with the day, so nothing is
left to clean up. The check is made before a request and the cost added after it: one request
can overshoot by at most its own cost, which max_tokens bounds. Each agent keeps its own
count (the sidecar prefixes keys with the app-id), so the budget is per learner per agent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kit.interfaces import StateItem, StateStore, update_with_retry

# The key outlives the day by a little, so a request that straddles midnight still finds it.
TTL_SLACK_S = 300


def utc_day(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%d")


def budget_key(user_id: str, day: str) -> str:
    return f"llm-tokens||{user_id}||{day}"


def seconds_to_day_end(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return int((tomorrow - now).total_seconds()) + TTL_SLACK_S


def spent_of(item: StateItem) -> int:
    tokens = item.value.get("tokens") if isinstance(item.value, dict) else None
    return max(tokens, 0) if isinstance(tokens, int) else 0


class TokenBudget:
    def __init__(self, state: StateStore, *, daily_tokens: int) -> None:
        self._state = state
        #: 0 switches the budget off.
        self.daily_tokens = daily_tokens

    @property
    def enabled(self) -> bool:
        return self.daily_tokens > 0

    async def read(self, user_id: str) -> StateItem:
        return await self._state.get(budget_key(user_id, utc_day()))

    def exhausted(self, item: StateItem) -> bool:
        return self.enabled and spent_of(item) >= self.daily_tokens

    async def spend(self, user_id: str, tokens: int, read: StateItem | None = None) -> int:
        """Add `tokens` to today's count; returns the bytes written."""
        import json

        def add(value: object) -> dict[str, int]:
            spent = spent_of(StateItem(value=value, etag=None))
            return {"tokens": spent + tokens}

        written = await update_with_retry(
            self._state,
            budget_key(user_id, utc_day()),
            add,
            ttl_s=seconds_to_day_end(),
            current=read,
        )
        return len(json.dumps(written))
