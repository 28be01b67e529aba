"""The LLM path with the real `openai` client against a local OpenAI-compatible server:
answers come from the model when it works, and from the offline logic (data.mode =
"degraded") when it fails, never hanging past the configured timeout."""

from __future__ import annotations

import json
import time

import pytest
from conftest import LLM_KEY
from test_api import SAMPLE_QUERY

from agent import Agent

# Context that makes each type ask its LLM (the generator only authors on request).
CONTEXT = Agent.llm_context


def ask(client, query=None):
    return client.post(
        "/process",
        json={"user_id": "u1", "query": query or SAMPLE_QUERY, "context": CONTEXT},
    )


def test_health_reports_the_llm(llm_client):
    assert llm_client.get("/health").json()["llm"] == "openai"


def test_model_is_called_with_the_key_model_and_system_prompt(llm_client, fake_openai):
    reply = ask(llm_client).json()
    assert reply["data"]["mode"] in ("llm", "degraded")  # the canned text may not fit a schema
    request = fake_openai.requests[0]
    assert request["headers"]["authorization"] == f"Bearer {LLM_KEY}"
    assert request["body"]["model"] == "gpt-test"
    system = request["body"]["messages"][0]
    assert system["role"] == "system" and "beginner" in system["content"]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_api_errors_fall_back_to_the_offline_answer(llm_client, fake_openai, status):
    fake_openai.fail(status, times=3)
    started = time.monotonic()
    reply = ask(llm_client).json()
    assert reply["data"]["mode"] == "degraded"
    assert reply["response"].strip()
    assert time.monotonic() - started < 5


def test_timeout_falls_back_within_the_limit(llm_client, fake_openai):
    fake_openai.hang(5)
    started = time.monotonic()
    reply = ask(llm_client).json()
    assert reply["data"]["mode"] == "degraded"
    assert time.monotonic() - started < 4  # openai_timeout_s=1.5, no retries


def stream(client, query=None) -> tuple[list[str], dict]:
    with client.stream(
        "POST",
        "/process/stream",
        json={"user_id": "u1", "query": query or SAMPLE_QUERY, "context": CONTEXT},
    ) as response:
        text = "".join(response.iter_text())
    blocks = [b for b in text.split("\n\n") if b.strip()]
    deltas = [
        json.loads(b.split("data: ", 1)[1])["text"] for b in blocks if b.startswith("event: delta")
    ]
    done = json.loads(blocks[-1].split("data: ", 1)[1])
    assert blocks[-1].startswith("event: done")
    return deltas, done


def test_garbled_stream_still_ends_with_an_answer(llm_client, fake_openai):
    for _ in range(3):
        fake_openai.garble_stream()
    deltas, done = stream(llm_client)
    assert done["response"] and done["data"]["mode"] in ("degraded", "llm")
    assert "".join(deltas) == done["response"]
