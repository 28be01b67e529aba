"""The LearnFlow stack: all five agents rendered together, and checks across a services dir.

Topics are never listed here: each service's input and output topics are computed from
copier.yml (the `input_topics` / `output_topics` values) for that service's agent type.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hooks import answers as template_answers

# The product's five agents: the name each is deployed under, and its type.
STACK = (
    ("triage", "router"),
    ("concepts", "explainer"),
    ("debug", "debugger"),
    ("exercise", "generator"),
    ("progress", "tracker"),
)
# Topics that cross the stack's boundary, so nobody inside the stack is expected to publish
# (entry) or consume (exit) them: the frontend publishes learner requests and submissions and
# reads the responses; notifications read struggle alerts.
ENTRY_TOPICS = frozenset({"learning.requests", "exercise.submissions"})
EXIT_TOPICS = frozenset(
    {
        "concept.responses",
        "debug.responses",
        "exercise.responses",
        "progress.updates",
        "struggle.alerts",
    }
)
ANSWERS_FILE = ".copier-answers.yml"


def stack_answers(index: int, name: str, agent_type: str) -> dict[str, Any]:
    """Ports that never collide when the whole stack runs on one machine (dapr run -f)."""
    return {
        "agent_name": name,
        "agent_type": agent_type,
        "port": 5000 + index,
        "dapr_http_port": 3500 + 10 * index,
        "dapr_grpc_port": 50001 + 10 * index,
    }


def topics_for(agent_type: str) -> tuple[list[str], list[str]]:
    questions = template_answers.questions()
    context = {"agent_type": agent_type}
    inputs = yaml.safe_load(template_answers.render(questions["input_topics"].default, context))
    outputs = yaml.safe_load(template_answers.render(questions["output_topics"].default, context))
    return list(inputs), list(outputs)


def stack_run_file(services: list[dict[str, Any]]) -> str:
    """A Dapr Multi-App Run file that starts every service with its sidecar."""
    apps = [
        {
            "appID": f"{s['agent_name']}-agent",
            "appDirPath": f"./{s['agent_name']}",
            "appPort": s["port"],
            "daprHTTPPort": s["dapr_http_port"],
            "daprGRPCPort": s["dapr_grpc_port"],
            "command": ["uvicorn", "app:app", "--port", str(s["port"])],
        }
        for s in services
    ]
    header = "# Runs the whole LearnFlow stack locally: `dapr run -f .` (after `dapr init`).\n"
    body = {"version": 1, "common": {"resourcesPath": "./triage/dapr/resources"}, "apps": apps}
    return header + yaml.safe_dump(body, sort_keys=False)


def stack_kustomization(services: list[dict[str, Any]]) -> str:
    header = "# Applies every LearnFlow agent together: `kubectl apply -k .`\n"
    body = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        # The shared Dapr components once (every agent's copy is the same), then each agent.
        "resources": [f"./{services[0]['agent_name']}/dapr-component.yaml"]
        + [f"./{s['agent_name']}" for s in services],
    }
    return header + yaml.safe_dump(body, sort_keys=False)


@dataclass
class StackReport:
    services: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    behind: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.behind


def latest_template_tag(template: Path) -> str | None:
    done = subprocess.run(
        ["git", "tag", "--sort=-v:refname"], cwd=template, capture_output=True, text=True
    )
    tags = [t for t in done.stdout.split() if t]
    return tags[0] if tags else None


def check_stack(services_dir: Path, template: Path | None = None) -> StackReport:
    report = StackReport()
    loaded = []
    for answers_path in sorted(services_dir.glob(f"*/{ANSWERS_FILE}")):
        try:
            answers = template_answers.check_answers_file(answers_path)
        except ValueError as error:
            report.problems.append(str(error))
            continue
        raw = yaml.safe_load(answers_path.read_text())
        loaded.append((answers_path.parent, answers, raw.get("_commit")))
        report.services.append(answers_path.parent)
    if not loaded:
        report.problems.append(f"no services (*/{ANSWERS_FILE}) under {services_dir}")
        return report

    def unique(label: str, values: list[tuple[Any, Path]]) -> None:
        seen: dict[Any, Path] = {}
        for value, where in values:
            if value in seen:
                report.problems.append(
                    f"{label} {value} is used by both {seen[value].name} and {where.name}"
                )
            seen[value] = where

    unique("app-id", [(f"{a['agent_name']}-agent", p) for p, a, _ in loaded])
    ports = [
        (a[key], p) for p, a, _ in loaded for key in ("port", "dapr_http_port", "dapr_grpc_port")
    ]
    unique("port", ports)

    published: dict[str, list[str]] = {}
    subscribed: dict[str, list[str]] = {}
    for path, answers, _ in loaded:
        inputs, outputs = topics_for(answers["agent_type"])
        for topic in inputs:
            subscribed.setdefault(topic, []).append(path.name)
        for topic in outputs:
            published.setdefault(topic, []).append(path.name)
    for topic, publishers in sorted(published.items()):
        if topic not in subscribed and topic not in EXIT_TOPICS:
            report.problems.append(
                f"topic {topic} is published by {', '.join(publishers)} but nobody subscribes"
            )
    for topic, subscribers in sorted(subscribed.items()):
        if topic not in published and topic not in ENTRY_TOPICS:
            report.problems.append(
                f"topic {topic} is consumed by {', '.join(subscribers)} but nobody publishes it"
            )

    commits = {commit for _, _, commit in loaded}
    if len(commits) > 1:
        versions = ", ".join(f"{p.name}@{c}" for p, _, c in loaded)
        report.problems.append(f"services are on different template versions: {versions}")
    latest = latest_template_tag(template) if template else None
    if latest:
        report.behind = [f"{p.name} ({c} < {latest})" for p, _, c in loaded if c != latest]
    return report
