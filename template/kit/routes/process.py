"""The agent's own route: a learner's question in, the agent's answer out (or streamed)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from kit.contracts import COMMON_RESPONSES, ProcessReply, ProcessRequest
from kit.deps import current_agent
from kit.observability import annotate

router = APIRouter(tags=["agent"], responses=COMMON_RESPONSES)


# What /process documents as its body: the same as FastAPI writes for a ProcessRequest
# parameter (the model is in the schema's components through /process/stream's parameter).
PROCESS_BODY_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ProcessRequest"}}
        },
        "required": True,
    }
}


async def learner_request(request: Request) -> ProcessRequest:
    """The body as a ProcessRequest, decoded and validated by pydantic-core in one pass.
    FastAPI's own path for a body parameter parses the content type, decodes the JSON with the
    json module and then validates the objects: about a sixth of a bare app's CPU per request.
    A bad body is FastAPI's RequestValidationError all the same: 422, naming the field."""
    try:
        raw = await request.body()
    except ClientDisconnect:
        # The client went, or BodyLimit answered 413 and ended the body: nobody reads this.
        raise HTTPException(400, "the request body ended early") from None
    try:
        return ProcessRequest.model_validate_json(raw)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError(
            [
                {**p, "msg": f"not JSON ({p['msg']}); send a JSON object with user_id and query"}
                if p["type"] == "json_invalid"
                else {**p, "loc": ("body", *p["loc"])}
                for p in problems
            ]
        ) from None


@router.post("/process", response_model=ProcessReply, openapi_extra=PROCESS_BODY_DOC)
async def process(request: Request) -> Response:
    body = await learner_request(request)
    agent = await current_agent(request)
    # On every line logged for this request, including the access log's closing line.
    annotate(user_id=body.user_id, query_chars=len(body.query))
    reply = await agent.process(body)
    mode = reply.data.get("mode", "offline")
    request.app.state.metrics.answered(mode)
    annotate(mode=mode)
    # The reply is a ProcessReply already: serialized once here, where FastAPI would check it
    # against response_model again and then encode it (response_model still documents it).
    return Response(reply.model_dump_json(), media_type="application/json")


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
