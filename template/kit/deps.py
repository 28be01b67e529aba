"""The one way any route reaches the service's runtime and agent (the kit's own routes call
these directly; the type's routes use them through Depends)."""

from __future__ import annotations

from fastapi import Request

from kit.agent_base import BaseAgent
from kit.runtime import ServiceRuntime


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
