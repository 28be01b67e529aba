"""copier.yml's registry of agent types is the one place a type is described: a sixth type is
one registry entry plus its own files, and an unknown type is an error, never another type."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import copier
import pytest
import yaml

from conftest import REGISTRY, commit_all, git, run_wrapper, snapshot_template

TOY_ENTRY = {
    "stack_name": "echo",
    "summary": "repeats the learner's question back (a toy type for the registry's test)",
    "description": "LearnFlow echo agent: repeats what it is asked",
    "input_topics": ["echo.requests"],
    "output_topics": ["echo.responses"],
    "intent": None,
    "runs_code": False,
    "invokes_agents": False,
    "files": {"echo_logic.py": "how the echo is phrased"},
    "routes": {"GET /echo/{text}": "the echo of a text"},
}
TOY_FILES = {
    "echo_logic.py": '''"""How the echo agent phrases its answer."""


def echo(text: str) -> str:
    return f"You said: {text}"
''',
    "agent.py": '''"""The echo agent: answers with what it was asked, and publishes it."""

from __future__ import annotations

from typing import Any

from echo_logic import echo
from kit.agent_base import Answer, BaseAgent, request_from_event
from kit.contracts import ProcessRequest


class Agent(BaseAgent):
    name = "echo"
    sample_query = "hello there"
    sample_events = {"echo.requests": {"user_id": "u1", "query": "hello", "context": {}}}

    async def answer(self, request: ProcessRequest) -> Answer:
        # Like every LearnFlow agent: the model when a key is set, its own logic otherwise.
        text, mode = await self.ask_llm(request, request.query)
        return Answer(response=text or echo(request.query), next_steps=["Ask again"], mode=mode)

    async def on_event(self, topic: str, event_id: str, data: dict[str, Any]) -> None:
        request = request_from_event(data)
        reply = await self.process(request)
        await self.deps.events.publish("echo.responses", {"reply": reply.model_dump()})
''',
    "routes.py": '''"""Routes only the echo agent has."""

from fastapi import APIRouter

from echo_logic import echo

router = APIRouter(tags=["echo"])


@router.get("/echo/{text}")
async def echo_route(text: str) -> dict[str, str]:
    return {"echo": echo(text)}
''',
}


@pytest.fixture(scope="module")
def toy_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template with one more type: a registry entry and the type's own files."""
    root = snapshot_template(tmp_path_factory.mktemp("toy-template"), tag="v0.0.1")
    copier_yml = root / "copier.yml"
    text = copier_yml.read_text()
    entry = yaml.safe_dump({"echo": TOY_ENTRY}, sort_keys=False)
    indented = "".join(f"    {line}\n" for line in entry.splitlines())
    marker = "\n# Topics that cross the stack's boundary"
    copier_yml.write_text(text.replace(marker, indented.rstrip("\n") + "\n" + marker, 1))
    for name, source in TOY_FILES.items():
        (root / "template" / f"{{% if agent_type == 'echo' %}}{name}{{% endif %}}").write_text(
            source
        )
    commit_all(root, "a sixth type: echo")
    git("tag", "v1.0.0", cwd=root)
    return root


def test_a_sixth_type_is_one_registry_entry_plus_its_own_files(toy_template, tmp_path):
    service = tmp_path / "echo"
    copier.run_copy(
        str(toy_template),
        service,
        data={"agent_name": "echo", "agent_type": "echo"},
        defaults=True,
        quiet=True,
        vcs_ref="v1.0.0",
    )
    assert (service / "echo_logic.py").is_file() and not (service / "grading.py").exists()
    assert "echo.requests" in (service / "kit" / "identity.py").read_text()
    readme = (service / "README.md").read_text()
    assert "`echo_logic.py` | how the echo is phrased" in readme and "GET /echo/{text}" in readme
    for command in (
        [sys.executable, "-m", "ruff", "check", "."],
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"],
    ):
        done = subprocess.run(command, cwd=service, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_the_wrapper_and_the_stack_learn_the_new_type_from_the_registry(toy_template, tmp_path):
    wrapper = toy_template / "scripts" / "generate_agent.py"
    help_text = subprocess.run(
        [sys.executable, str(wrapper), "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "echo" in help_text
    done = subprocess.run(
        [sys.executable, str(wrapper), "--all", "--output-dir", str(tmp_path / "services")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    rendered = sorted(p.name for p in (tmp_path / "services").iterdir() if p.is_dir())
    assert rendered == sorted([*(e["stack_name"] for e in REGISTRY.values()), "echo"])


def test_an_unknown_type_is_an_error_not_a_default(tmp_path):
    done = run_wrapper(
        "--name", "t", "--type", "teacher", "--output-dir", str(tmp_path / "t"), cwd=tmp_path
    )
    assert done.returncode == 2 and "teacher" in done.stderr
    assert not (tmp_path / "t").exists()
