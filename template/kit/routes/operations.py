"""Liveness, readiness and metrics: what Kubernetes, Dapr and Prometheus ask."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kit.contracts import COMMON_RESPONSES, HealthReply
from kit.deps import current_runtime, runtime_of
from kit.identity import AGENT_NAME, AGENT_TYPE

router = APIRouter(tags=["operations"], responses=COMMON_RESPONSES)


@router.get("/health", response_model=HealthReply)
async def health(request: Request) -> HealthReply:
    """Liveness: the process answers. Never depends on the sidecar; reports it."""
    runtime = runtime_of(request)
    return HealthReply(
        status="healthy",
        dapr=runtime.dapr_status(),
        mode=runtime.mode,
        llm=runtime.llm_status(),
        agent=AGENT_NAME,
        agent_type=AGENT_TYPE,
    )


@router.get("/ready", responses={503: {"description": "not ready"}})
async def ready(request: Request) -> JSONResponse:
    """Readiness: 503 while a dependency this mode needs (the sidecar, the code sandbox)
    cannot serve, with the reasons."""
    runtime = await current_runtime(request)
    ok, problems = await runtime.ready()
    return JSONResponse(
        status_code=200 if ok else 503,
        content={"ready": ok, "mode": runtime.mode, "problems": problems},
    )


@router.get("/metrics", response_class=Response)
async def prometheus_metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
