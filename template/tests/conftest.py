"""Tests run the service as it starts by default: no sidecar, no API key, embedded state.

This module runs before any test module imports `app`, so the environment it sets is the one
`from app import app` sees. Tests that need Dapr or an LLM build their own app with
`make_client(...)`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

for variable in (
    "DAPR_HTTP_PORT",
    "DAPR_GRPC_PORT",
    "DAPR_API_TOKEN",
    "APP_API_TOKEN",
    "RUNTIME_MODE",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
):
    os.environ.pop(variable, None)
# Every file the tests write goes under one directory, removed when the run ends.
TEST_TMP = Path(tempfile.mkdtemp(prefix="agent-test-"))
atexit.register(shutil.rmtree, TEST_TMP, ignore_errors=True)
os.environ["EMBEDDED_STATE_PATH"] = str(TEST_TMP / "state.db")


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(dir=TEST_TMP))


@contextmanager
def make_client(**settings_overrides) -> Iterator:
    """A TestClient on a fresh app built from explicit settings (lifespan run)."""
    from fastapi.testclient import TestClient

    from app import build_app
    from config import Settings

    overrides = {"embedded_state_path": scratch_dir() / "state.db"}
    overrides.update(settings_overrides)
    app = build_app(Settings(**overrides))
    with TestClient(app) as client:
        yield client


LLM_KEY = "sk-test-llm-key"


@pytest.fixture
def fake_openai():
    """A local OpenAI-compatible server (tests/fakes/fake_openai.py) for the real client."""
    from fakes.fake_openai import FakeOpenAI

    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def llm_client(fake_openai) -> Iterator:
    """A service with a key, pointed at the fake server: no retries, a short timeout."""
    with make_client(
        openai_api_key=LLM_KEY,
        openai_base_url=fake_openai.base_url,
        openai_max_retries=0,
        openai_timeout_s=1.5,
        openai_model="gpt-test",
    ) as client:
        yield client


@pytest.fixture
def client() -> Iterator:
    with make_client() as test_client:
        yield test_client


def cloud_event(data, *, event_id: str = "evt-1", topic: str = "") -> dict:
    return {
        "id": event_id,
        "source": "test",
        "type": "com.dapr.event.sent",
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "topic": topic,
        "pubsubname": "pubsub",
        "data": data,
    }
