"""The whole LearnFlow stack: rendered in one go, checked as one system."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import commit_all, git, run_wrapper, snapshot_template


@pytest.fixture(scope="module")
def stack_template(tmp_path_factory) -> Path:
    return snapshot_template(tmp_path_factory.mktemp("stack-template"), tag="v1.0.0")


@pytest.fixture
def stack(stack_copy) -> Path:
    return stack_copy


def set_answer(service: Path, key: str, value) -> None:
    path = service / ".copier-answers.yml"
    answers = yaml.safe_load(path.read_text())
    answers[key] = value
    path.write_text(yaml.safe_dump(answers))


def test_all_renders_five_agents_with_stack_files(stack):
    names = sorted(p.name for p in stack.iterdir() if p.is_dir())
    assert names == ["concepts", "debug", "exercise", "progress", "triage"]
    run_file = yaml.safe_load((stack / "dapr.yaml").read_text())
    app_ids = [app["appID"] for app in run_file["apps"]]
    assert app_ids == [
        "triage-agent",
        "concepts-agent",
        "debug-agent",
        "exercise-agent",
        "progress-agent",
    ]
    for app in run_file["apps"]:
        assert (stack / app["appDirPath"] / "app.py").is_file()
    for app in run_file["apps"]:
        assert app["enableAppHealthCheck"] is True and app["appHealthCheckPath"] == "/health"
    kustomization = yaml.safe_load((stack / "kustomization.yaml").read_text())
    # The namespace and the shared components once, then each agent's own manifests.
    assert kustomization["resources"][:2] == ["namespace.yaml", "dapr-components.yaml"]
    for name in names:
        own = yaml.safe_load((stack / name / "kustomization.yaml").read_text())["resources"]
        standalone = ("namespace.yaml", "dapr-component.yaml")
        expected = [f"./{name}/{r}" for r in own if r not in standalone]
        assert [r for r in kustomization["resources"] if r.startswith(f"./{name}/")] == expected
    assert len(kustomization["images"]) == 5


def without_scopes(component: dict) -> dict:
    component = dict(component, scopes=None)
    component["spec"] = dict(component["spec"])
    component["spec"]["metadata"] = [
        m for m in component["spec"]["metadata"] if not m["name"].endswith("Scopes")
    ]
    return component


def test_stack_components_are_the_services_scoped_to_every_agent(stack):
    shared = list(yaml.safe_load_all((stack / "dapr-components.yaml").read_text()))
    app_ids = [f"{n}-agent" for n in ("triage", "concepts", "debug", "exercise", "progress")]
    for component in shared:
        assert component["scopes"] == app_ids
    for name in ("triage", "progress"):
        own = list(yaml.safe_load_all((stack / name / "dapr-component.yaml").read_text()))
        assert [without_scopes(c) for c in own] == [without_scopes(c) for c in shared]
    pubsub = next(c for c in shared if c["spec"]["type"] == "pubsub.kafka")
    metadata = {m["name"]: m["value"] for m in pubsub["spec"]["metadata"] if "value" in m}
    publishing = dict(entry.split("=") for entry in metadata["publishingScopes"].split(";"))
    subscribing = dict(entry.split("=") for entry in metadata["subscriptionScopes"].split(";"))
    assert set(publishing) == set(subscribing) == set(app_ids)  # nobody left unscoped
    assert publishing["triage-agent"].split(",") == [
        "concept.requests",
        "debug.requests",
        "exercise.requests",
        "progress.requests",
        "learning.requests.deadletter",
    ]
    assert subscribing["progress-agent"].split(",") == ["progress.requests", "exercise.grades"]
    namespaces = list(yaml.safe_load_all((stack / "namespace.yaml").read_text()))
    assert [n["metadata"]["name"] for n in namespaces if n] == ["learnflow"]


def test_a_component_only_some_agents_render_is_scoped_to_them(render):
    """A stack whose agents differ (here one on Dapr's Conversation API): each component once,
    loaded only by the apps that render it."""
    import sys

    from conftest import REPO_ROOT

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    import stack as stack_module

    services = [
        stack_module.load_service(render("explainer", llm_backend="dapr-conversation")),
        stack_module.load_service(render("tracker")),
    ]
    shared = [d for d in yaml.safe_load_all(stack_module.stack_components(services)) if d]
    scopes = {c["metadata"]["name"]: c["scopes"] for c in shared}
    assert scopes.pop("llm") == ["concepts-agent"]
    assert scopes and all(s == ["concepts-agent", "progress-agent"] for s in scopes.values())


def test_rendered_stack_checks_clean(stack, stack_template):
    done = run_wrapper("check", str(stack), "--template", str(stack_template), cwd=stack)
    assert done.returncode == 0, done.stdout
    assert "5 services: stack is consistent and current" in done.stdout


def test_check_finds_duplicate_ports_and_app_ids(stack, stack_template):
    set_answer(stack / "concepts", "port", 5000)
    set_answer(stack / "debug", "agent_name", "triage")
    done = run_wrapper("check", str(stack), "--template", str(stack_template), cwd=stack)
    assert done.returncode == 1
    assert "port 5000 is used by both" in done.stdout
    assert "app-id triage-agent is used by both" in done.stdout


def test_check_finds_topics_without_subscribers_or_publishers(stack, stack_template):
    import shutil

    shutil.rmtree(stack / "progress")
    shutil.rmtree(stack / "exercise")
    done = run_wrapper("check", str(stack), "--template", str(stack_template), cwd=stack)
    assert done.returncode == 1
    assert "topic progress.requests is published by triage but nobody subscribes" in done.stdout
    assert "topic exercise.requests is published by triage but nobody subscribes" in done.stdout


def test_check_reports_services_behind_the_template(stack, stack_template):
    (stack_template / "NEWS.md").write_text("v1.1.0\n")
    commit_all(stack_template, "v1.1.0")
    git("tag", "v1.1.0", cwd=stack_template)
    try:
        done = run_wrapper("check", str(stack), "--template", str(stack_template), cwd=stack)
        assert done.returncode == 1
        assert "behind the template: triage (v1.0.0 < v1.1.0)" in done.stdout
    finally:
        git("tag", "-d", "v1.1.0", cwd=stack_template)


def test_all_refuses_name_and_type(tmp_path):
    done = run_wrapper("--all", "--name", "x", "--type", "router", cwd=tmp_path)
    assert done.returncode == 2
    assert "leave out --name and --type" in done.stderr


def test_readme_creates_every_topic_the_stack_uses():
    """README "Deploying to Kubernetes" creates the topics up front (Dapr's Kafka component
    creates none): every input, output and dead-letter topic of copier.yml's graph, no more."""
    import re
    import sys

    from conftest import REPO_ROOT, STACK_NAMES

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    import stack as stack_module

    readme = (REPO_ROOT / "README.md").read_text()
    listed = re.search(r'^TOPICS="([^"]+)"$', readme, re.MULTILINE)
    assert listed, "README has no TOPICS= line"
    expected = set()
    for agent_type in STACK_NAMES:
        publishes, subscribes = stack_module.pubsub_scopes(f"{agent_type}-agent", agent_type)
        expected |= set(publishes) | set(subscribes)
    assert sorted(listed.group(1).split()) == sorted(expected)
    # ... and states the Dapr version the resiliency policies need, as the template does.
    resiliency = (REPO_ROOT / "template" / "resiliency.yaml.jinja").read_text()
    assert "Dapr 1.15 or later" in readme and "Needs Dapr 1.15 or later" in resiliency
