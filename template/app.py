"""The service's ASGI app: the kit's app factory around this service's agent and routes.

Yours to edit (add routers or middleware here); run it with `uvicorn app:app`.
"""

from __future__ import annotations

from fastapi import FastAPI

from agent import Agent
from config import Settings, get_settings
from kit.app_factory import create_app
from routes import router


def build_app(settings: Settings | None = None) -> FastAPI:
    return create_app(Agent, routers=[router], settings=settings or get_settings())


app = build_app()
