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
from contextlib import asynccontextmanager, contextmanager
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


def logged(capsys) -> str:
    """What was logged since the last call. Lines wait in the kit's buffer until the app
    writes them (every LOG_FLUSH_SECONDS), so this writes them out before reading."""
    from kit.observability import flush_logs

    flush_logs()
    return str(capsys.readouterr().out)


LLM_KEY = "sk-test-llm-key"


@pytest.fixture
def fake_openai():
    """A local OpenAI-compatible server (tests/fakes/fake_openai.py) for the real client."""
    from fakes.fake_openai import FakeOpenAI

    server = FakeOpenAI().start()
    yield server
    server.stop()


# The same LLM tests run on both backends: the real openai client against the fake server,
# and the real dapr.aio client's Conversation API against the fake sidecar, whose
# conversation component calls the same fake server (as daprd's conversation.openai would).
LLM_BACKENDS = ("openai", "dapr-conversation")
PRIMARY_MODEL = "gpt-test"
FALLBACK_MODEL = "gpt-cheap"


@pytest.fixture(params=LLM_BACKENDS)
def llm_backend(request) -> str:
    return request.param


def wait_for(predicate, seconds: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@asynccontextmanager
async def sidecar_connection(sidecar, token: str | None = None):
    """The service's own DaprConnection to a fake sidecar, made as the service makes it,
    probed, and closed after: its `.client` is the real dapr.aio client."""
    from kit.adapters.dapr import DaprConnection

    connection = DaprConnection(
        host="127.0.0.1",
        http_port=sidecar.http_port,
        grpc_port=sidecar.grpc_port,
        api_token=token,
        call_timeout_s=2.0,
    )
    try:
        assert await connection.probe()
        yield connection
    finally:
        await connection.close()


@contextmanager
def llm_service(backend: str, fake, *, dapr: bool | None = None, **overrides) -> Iterator:
    """A service whose model is the fake server, through `backend`: no retries, a short
    timeout. `dapr=True` runs the openai backend in Dapr mode too (dapr-conversation always
    does); the client's `.sidecar` is the fake sidecar then, else None."""
    from fakes.fake_sidecar import ConversationComponent, FakeSidecar

    from kit.identity import APP_ID

    settings = {
        "openai_max_retries": 0,
        "openai_timeout_s": 1.5,
        "openai_model": PRIMARY_MODEL,
        "openai_fallback_model": "",
        "conversation_fallback_component": "",
        "llm_backend": backend,
        **overrides,
    }
    if backend == "openai":
        settings.update(openai_api_key=LLM_KEY, openai_base_url=fake.base_url)
    sidecar = None
    if dapr or backend == "dapr-conversation":
        components = {
            "llm": ConversationComponent(
                model=PRIMARY_MODEL, key=LLM_KEY, endpoint=fake.base_url, timeout_s=5
            ),
            "llm-fallback": ConversationComponent(
                model=FALLBACK_MODEL, key=LLM_KEY, endpoint=fake.base_url, timeout_s=5
            ),
        }
        components_file = Path(__file__).resolve().parents[1] / "dapr-component.yaml"
        sidecar = FakeSidecar.for_app(APP_ID, components_file, conversations=components).start()
        settings = {**sidecar.settings(), **settings}
        if settings["openai_fallback_model"] and not settings["conversation_fallback_component"]:
            settings["conversation_fallback_component"] = "llm-fallback"
    try:
        with make_client(**settings) as client:
            if sidecar is not None:
                assert wait_for(lambda: client.get("/health").json()["dapr"] == "connected")
            client.sidecar = sidecar
            yield client
    finally:
        if sidecar is not None:
            sidecar.stop()


@pytest.fixture
def llm_client(fake_openai, llm_backend) -> Iterator:
    """A service with a model, on each backend in turn, pointed at the fake server."""
    with llm_service(llm_backend, fake_openai) as client:
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
