"""The agent's own route: a learner's question in, the agent's answer out (or streamed)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from kit.contracts import ProcessReply, ProcessRequest
from kit.deps import current_agent
from kit.observability import annotate

router = APIRouter(tags=["agent"])


@router.post("/process", response_model=ProcessReply)
async def process(body: ProcessRequest, request: Request) -> ProcessReply:
    agent = await current_agent(request)
    # On every line logged for this request, including the access log's closing line.
    annotate(user_id=body.user_id, query_chars=len(body.query))
    reply = await agent.process(body)
    mode = reply.data.get("mode", "offline")
    request.app.state.metrics.answered(mode)
    annotate(mode=mode)
    return reply


@router.post(
    "/process/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def process_stream(body: ProcessRequest, request: Request) -> StreamingResponse:
    """The same answer as /process, as server-sent events: `delta` chunks, then one `done`
    with the full reply.

    Which agents stream the model's tokens as they come, and which send a checked answer
    whole (one `delta`), and why:
    - progress (tracker): streams tokens. Its answer is the model's prose about numbers the
      model was given; nothing in it needs checking before the learner reads it.
    - concepts (explainer): whole. Every example the model writes is run in the sandbox first,
      its output shown as it really is and a failing one removed, which needs the full text.
    - debug (debugger): whole. Code the model writes is held back (hints, never the fix), which
      needs the full text.
    - exercise (generator) and triage (router): whole. The model answers in JSON (an exercise
      to grade before offering it, an intent); the learner reads what is made of it.
    With LLM_BACKEND=dapr-conversation every agent sends its answer whole: Dapr's
    Conversation API (alpha2) has no streaming."""
    agent = await current_agent(request)
    metrics = request.app.state.metrics
    annotate(user_id=body.user_id, query_chars=len(body.query))

    async def events() -> AsyncIterator[str]:
        async for item in agent.stream(body):
            yield f"event: {item['event']}\ndata: {json.dumps(item['data'])}\n\n"
            if item["event"] == "done":
                mode = item["data"].get("data", {}).get("mode", "offline")
                metrics.answered(mode)
                annotate(mode=mode)

    return StreamingResponse(events(), media_type="text/event-stream")
