"""The baseline: a bare FastAPI app that validates the same request model and echoes it."""

from fastapi import FastAPI
from kit.contracts import ProcessReply, ProcessRequest

app = FastAPI()


@app.post("/process", response_model=ProcessReply)
async def process(request: ProcessRequest) -> ProcessReply:
    return ProcessReply(agent="echo", response=request.query, next_steps=[], data=request.context)
