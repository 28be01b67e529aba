"""FastAPI dependencies shared by app.py and the type's extra routes."""

from __future__ import annotations

from fastapi import Request

from kit.agent_base import BaseAgent
from kit.runtime import ServiceRuntime


async def current_runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    if runtime.agent is None:
        # The lifespan did not run (e.g. a TestClient used without `with`): start inline.
        await runtime.start(background=False)
    return runtime


async def current_agent(request: Request) -> BaseAgent:
    return (await current_runtime(request)).agent
