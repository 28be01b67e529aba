"""Every type ships asyncapi.yaml: an AsyncAPI 3.0 document the AsyncAPI Initiative's own parser
accepts, covering the topics copier.yml's registry gives the type and their dead-letter topics,
made from template/kit/events.py through a data file that is never stale and never shipped; the
README links it and names every event. (That the file is exactly what the service's models make
is the service's own test, tests/test_events_contract.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import REGISTRY, REPO_ROOT

CATALOG_SCRIPT = REPO_ROOT / "scripts" / "asyncapi_catalog.py"
RUNNER = REPO_ROOT / "tests" / "asyncapi_runner.cjs"


def registry_topics(agent_type: str) -> tuple[list[str], list[str]]:
    entry = REGISTRY[agent_type]
    return list(entry["input_topics"]), list(entry["output_topics"])


def test_the_schema_data_file_is_what_kit_events_makes():
    done = subprocess.run(
        [sys.executable, str(CATALOG_SCRIPT), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_asyncapi_yaml_passes_the_asyncapi_parser(render, agent_type):
    path = render(agent_type) / "asyncapi.yaml"
    done = subprocess.run(
        ["node", str(RUNNER), str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode == 3:
        pytest.fail("run `npm ci` in the template repository (make install does)")
    assert done.returncode == 0, done.stderr
    findings = json.loads(done.stdout)
    # Info-level findings are advice (e.g. "3.1.0 exists"); errors and warnings are problems.
    problems = [f for f in findings if f["severity"] in ("error", "warning")]
    assert problems == []


def test_asyncapi_yaml_covers_the_registry_topics_and_is_shipped_alone(render, agent_type):
    root = render(agent_type)
    document = yaml.safe_load((root / "asyncapi.yaml").read_text())
    consumed, produced = registry_topics(agent_type)
    addresses = [channel["address"] for channel in document["channels"].values()]
    assert sorted(addresses) == sorted(
        {*consumed, *produced, *(f"{topic}.deadletter" for topic in consumed)}
    )
    assert document["asyncapi"].startswith("3.0")
    # The template's data file stays in the template.
    assert not (root / "kit" / "asyncapi_catalog.json").exists()


def test_readme_links_the_schema_and_names_every_event(render, agent_type):
    root = render(agent_type)
    readme = (root / "README.md").read_text()
    document = yaml.safe_load((root / "asyncapi.yaml").read_text())
    assert "[`asyncapi.yaml`](asyncapi.yaml)" in readme
    consumed, produced = registry_topics(agent_type)
    for topic in {*consumed, *produced}:
        payload = document["components"]["messages"][topic]["payload"]["allOf"][1]
        event = payload["properties"]["data"]["$ref"].rsplit("/", 1)[1]
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{topic}` |")), "")
        assert f"**{event}**" in row, topic
    for topic in consumed:
        assert f"| `{topic}.deadletter` |" in readme
