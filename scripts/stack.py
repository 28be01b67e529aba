"""The LearnFlow stack: every agent type rendered together, and checks across a services dir.

Neither the agents nor their topics are listed here: both come from copier.yml's registry of
agent types (`agent_types`), so a type added there joins the stack.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hooks import answers as template_answers

# The product's agents, from copier.yml's registry: the name each is deployed under, its type.
STACK = tuple((entry["stack_name"], kind) for kind, entry in template_answers.registry().items())
# Topics that cross the stack's boundary, so nobody inside the stack is expected to publish
# (entry) or consume (exit) them (copier.yml's stack_boundary).
_BOUNDARY = template_answers.registry_context()["stack_boundary"]
ENTRY_TOPICS = frozenset(_BOUNDARY["entry_topics"])
EXIT_TOPICS = frozenset(_BOUNDARY["exit_topics"])
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
    entry = template_answers.registry()[agent_type]
    return list(entry["input_topics"]), list(entry["output_topics"])


def dead_letter_topic(topic: str) -> str:
    """Where Dapr puts an event of `topic` it gave up on: the app declares it in its
    subscriptions (app.py dead_letter_topic), with the same rule."""
    return f"{topic}.deadletter"


def pubsub_scopes(app_id: str, agent_type: str) -> tuple[list[str], list[str]]:
    """(publishes, subscribes) for one app: its output topics plus the dead-letter topics of its
    inputs (its sidecar publishes those, under its app-id), and its input topics."""
    inputs, outputs = topics_for(agent_type)
    return outputs + [dead_letter_topic(t) for t in inputs], inputs


def scopes_value(apps: dict[str, list[str]]) -> str:
    """Dapr's scope syntax: app1=topic1,topic2;app2=topic3 (dapr pkg/scopes/scopes.go)."""
    return ";".join(f"{app}={','.join(topics)}" for app, topics in apps.items())


def stack_run_file(services: list[dict[str, Any]]) -> str:
    """A Dapr Multi-App Run file that starts every service with its sidecar."""
    apps = [
        {
            "appID": f"{s['agent_name']}-agent",
            "appDirPath": f"./{s['agent_name']}",
            "appPort": s["port"],
            "appProtocol": "http",
            "daprHTTPPort": s["dapr_http_port"],
            "daprGRPCPort": s["dapr_grpc_port"],
            # appHealthCheckPath does nothing without enableAppHealthCheck (dapr
            # pkg/runtime/config.go); the preflight checks the two go together.
            "enableAppHealthCheck": True,
            "appHealthCheckPath": "/health",
            "appHealthProbeInterval": 5,
            "command": ["python", "-m", "uvicorn", "app:app", "--port", str(s["port"])],
        }
        for s in services
    ]
    header = "# Runs the whole LearnFlow stack locally: `dapr run -f .` (after `dapr init`).\n"
    body = {
        "version": 1,
        "common": {"resourcesPaths": [f"./{services[0]['agent_name']}/dapr/resources"]},
        "apps": apps,
    }
    return header + yaml.safe_dump(body, sort_keys=False)


# What a service's own kustomization adds so it deploys alone; the stack writes its own.
STANDALONE_ONLY = frozenset({"namespace.yaml", "dapr-component.yaml"})


@dataclass
class RenderedService:
    path: Path
    answers: dict[str, Any]

    @property
    def app_id(self) -> str:
        return f"{self.answers['agent_name']}-agent"

    @property
    def namespace(self) -> str:
        return self.answers["namespace"]


def load_service(path: Path) -> RenderedService:
    return RenderedService(path, template_answers.check_answers_file(path / ANSWERS_FILE))


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def stack_namespaces(services: list[RenderedService]) -> str:
    """Each namespace the services live in, once (each service's namespace.yaml, deduplicated:
    kustomize refuses the same object twice)."""
    by_name: dict[str, dict[str, Any]] = {}
    for service in services:
        for doc in _docs(service.path / "namespace.yaml"):
            by_name.setdefault(doc["metadata"]["name"], doc)
    header = "# The namespaces of the LearnFlow stack (from the services' namespace.yaml).\n"
    return header + yaml.safe_dump_all(list(by_name.values()), sort_keys=False)


def stack_components(services: list[RenderedService]) -> str:
    """The shared Dapr components, once per namespace, scoped to every agent there: `scopes`
    lists the app-ids that load them, publishingScopes / subscriptionScopes the topics each may
    use (computed from copier.yml's topic graph, as each service's own dapr-component.yaml)."""
    by_namespace: dict[str, list[RenderedService]] = {}
    for service in services:
        by_namespace.setdefault(service.namespace, []).append(service)
    documents = []
    for namespace_services in by_namespace.values():
        publishes, subscribes = {}, {}
        for service in namespace_services:
            publishes[service.app_id], subscribes[service.app_id] = pubsub_scopes(
                service.app_id, service.answers["agent_type"]
            )
        # Each component once, scoped to the apps that render it: services may differ (one
        # with llm_backend dapr-conversation has a conversation component the others lack).
        components: dict[str, dict[str, Any]] = {}
        for service in namespace_services:
            for component in _docs(service.path / "dapr-component.yaml"):
                name = component["metadata"]["name"]
                components.setdefault(name, {**component, "scopes": []})
                components[name]["scopes"].append(service.app_id)
        for component in components.values():
            for item in component["spec"].get("metadata", []):
                if item["name"] == "publishingScopes":
                    item["value"] = scopes_value(publishes)
                elif item["name"] == "subscriptionScopes":
                    item["value"] = scopes_value(subscribes)
            documents.append(component)
    header = (
        "# The Dapr components the LearnFlow agents share, applied once per namespace and scoped\n"
        "# to every agent: each may publish and subscribe to its own topics only (its outputs and\n"
        "# the dead-letter topics of its inputs; its inputs). Written by generate_agent.py --all\n"
        "# from the services' dapr-component.yaml (see there for what each field does).\n"
    )
    return header + yaml.safe_dump_all(documents, sort_keys=False)


def stack_kustomization(services: list[RenderedService]) -> str:
    """Every agent's own manifests (its kustomization's resources, less what only a standalone
    deploy needs), the namespaces and the shared components once, and every agent's image."""
    resources = ["namespace.yaml", "dapr-components.yaml"]
    images: list[dict[str, Any]] = []
    for service in services:
        own = _docs(service.path / "kustomization.yaml")[0]
        resources += [
            f"./{service.path.name}/{name}"
            for name in own.get("resources", [])
            if name not in STANDALONE_ONLY
        ]
        images += [image for image in own.get("images", []) if image not in images]
    header = (
        "# Applies every LearnFlow agent together: `kubectl apply -k .` (create the Secrets\n"
        '# first, README "Deploying to Kubernetes"). Check it first: generate_agent.py check\n'
    )
    body = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
        "images": images,
    }
    return header + yaml.safe_dump(body, sort_keys=False)


def write_stack_files(root: Path, plan: list[dict[str, Any]]) -> list[Path]:
    """The stack's own files beside the rendered services."""
    services = [load_service(root / answers["agent_name"]) for answers in plan]
    files = {
        "dapr.yaml": stack_run_file(plan),
        "namespace.yaml": stack_namespaces(services),
        "dapr-components.yaml": stack_components(services),
        "kustomization.yaml": stack_kustomization(services),
    }
    for name, text in files.items():
        (root / name).write_text(text)
    return [root / name for name in files]


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
