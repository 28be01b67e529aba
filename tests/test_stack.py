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
def stack(tmp_path, stack_template) -> Path:
    root = tmp_path / "services"
    done = run_wrapper(
        "--all",
        "--output-dir",
        str(root),
        "--template",
        str(stack_template),
        "--vcs-ref",
        "v1.0.0",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return root


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
    kustomization = yaml.safe_load((stack / "kustomization.yaml").read_text())
    assert kustomization["resources"][0] == "./triage/dapr-component.yaml"
    assert sorted(kustomization["resources"][1:]) == [f"./{n}" for n in names]
    shared = {(stack / n / "dapr-component.yaml").read_text() for n in names}
    assert len(shared) == 1  # every agent's shared components are the same, applied once


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
