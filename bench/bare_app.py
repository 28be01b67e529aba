"""The baseline: a bare FastAPI app that validates the same request model and echoes it."""

from contracts import ProcessReply, ProcessRequest
from fastapi import FastAPI

app = FastAPI()


@app.post("/process", response_model=ProcessReply)
async def process(request: ProcessRequest) -> ProcessReply:
    return ProcessReply(agent="echo", response=request.query, next_steps=[], data=request.context)
