"""The one way any route reaches the service's runtime and agent (the kit's own routes call
these directly; the type's routes use them through Depends)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request

from kit.agent_base import BaseAgent
from kit.runtime import ServiceRuntime

A = TypeVar("A", bound=BaseAgent)


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def current_runtime(request: Request) -> ServiceRuntime:
    runtime = runtime_of(request)
    if runtime.agent is None:
        # The lifespan did not run (e.g. a TestClient used without `with`): start inline.
        await runtime.start(background=False)
    return runtime


async def current_agent(request: Request) -> BaseAgent:
    runtime = runtime_of(request)
    return runtime.agent or await runtime.start(background=False)


def agent_of(agent_class: type[A]) -> Callable[[Request], Awaitable[A]]:
    """A dependency giving a type's routes its own Agent class, typed: `agent: Agent =
    Depends(agent_of(Agent))` lets the type checker see the methods only that agent has."""

    async def dependency(request: Request) -> A:
        agent = await current_agent(request)
        if not isinstance(agent, agent_class):
            raise TypeError(f"this service runs {type(agent).__name__}, not {agent_class.__name__}")
        return agent

    return dependency
