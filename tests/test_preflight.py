"""The preflight reads a rendered stack or service as a cluster would (`kubectl kustomize`, then
what Kubernetes, the Dapr injector, operator and sidecar do with it): it finds nothing in what
the template renders, and finds each problem when a rendered copy is broken on purpose."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REGISTRY, REPO_ROOT, SCRIPT, run_wrapper

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import preflight  # noqa: E402

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl is not installed (kubectl kustomize)"
)


def problems(root: Path) -> list[str]:
    return preflight.check(root).problems


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert text.count(old) >= count, (path, old)
    path.write_text(text.replace(old, new))


def the_problem(root: Path, *fragments: str) -> str:
    """The one problem line that has every fragment."""
    found = [p for p in problems(root) if all(f in p for f in fragments)]
    assert found, (fragments, problems(root))
    return found[0]


# -- what the template renders is clean ------------------------------------------------------


def test_the_rendered_stack_has_nothing_a_cluster_would_refuse(rendered_stack):
    report = preflight.check(rendered_stack)
    assert report.problems == []
    assert report.services == 5 and report.objects > 30


def test_each_type_alone_has_nothing_a_cluster_would_refuse(render, agent_type):
    report = preflight.check(render(agent_type))
    assert report.problems == []
    assert report.services == 1


def test_with_tokens_the_secrets_are_documented_and_nothing_is_refused(render):
    root = render("router", dapr_authentication=True)
    assert problems(root) == []
    readme = (root / "README.md").read_text()
    assert "kubectl create secret generic dapr-api-token" in readme


def test_check_runs_the_preflight_for_the_stack_and_for_one_service(
    rendered_stack, template_repo, tmp_path
):
    done = run_wrapper("check", str(rendered_stack), "--template", str(template_repo), cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert f"{len(REGISTRY)} services: stack is consistent and current" in done.stdout
    assert "preflight: " in done.stdout and "nothing a cluster would refuse" in done.stdout
    alone = run_wrapper("check", str(rendered_stack / "debug"), cwd=tmp_path)
    assert alone.returncode == 0, alone.stdout
    assert alone.stdout.startswith("preflight: ")


# -- and each problem is found --------------------------------------------------------------


def test_a_missing_namespace(stack_copy):
    edit(stack_copy / "kustomization.yaml", "- namespace.yaml\n", "")
    line = the_problem(stack_copy, "Deployment learnflow/triage-agent", "does not create")
    assert "fresh cluster" in line


def test_the_builtin_secret_store_without_a_token(stack_copy):
    edit(
        stack_copy / "triage/deployment.yaml",
        'dapr.io/disable-builtin-k8s-secret-store: "true"',
        "",
    )
    the_problem(stack_copy, "Deployment learnflow/triage-agent", "built-in", "sidecar exits")
    assert not [p for p in problems(stack_copy) if "concepts-agent" in p]


def test_a_secret_nobody_creates(stack_copy):
    for readme in stack_copy.glob("*/README.md"):
        edit(readme, "kubectl create secret generic postgres-credentials", "kubectl get secret")
    line = the_problem(stack_copy, "Secret learnflow/postgres-credentials (key connection-string)")
    assert "Dapr operator for Component learnflow/statestore" in line


def test_a_documented_secret_with_the_wrong_key(stack_copy):
    for readme in stack_copy.glob("*/README.md"):
        edit(readme, "--from-literal=connection-string=", "--from-literal=dsn=")
    the_problem(stack_copy, "postgres-credentials", "gives no key connection-string")


def test_a_secret_in_the_build_counts(stack_copy):
    for readme in stack_copy.glob("*/README.md"):
        edit(readme, "kubectl create secret generic postgres-credentials", "kubectl get secret")
    with (stack_copy / "kustomization.yaml").open("a") as kustomization:
        kustomization.write(
            "secretGenerator:\n"
            "- name: postgres-credentials\n"
            "  namespace: learnflow\n"
            "  literals: [connection-string=host=db]\n"
            "generatorOptions:\n"
            "  disableNameSuffixHash: true\n"
        )
    assert problems(stack_copy) == []


def test_token_secrets_the_injector_needs(render, tmp_path):
    root = tmp_path / "triage"
    shutil.copytree(render("router", dapr_authentication=True), root)
    edit(root / "README.md", "kubectl create secret generic dapr-api-token", "true")
    edit(root / "README.md", "kubectl create secret generic app-api-token", "true")
    injector = the_problem(root, "Secret learnflow/dapr-api-token (key token)", "Dapr injector")
    assert "dapr.io/api-token-secret" in injector
    the_problem(root, "Secret learnflow/app-api-token (key token)", "dapr.io/app-token-secret")
    the_problem(root, "app-api-token", "container fastapi, env APP_API_TOKEN")


def components_of(root: Path) -> tuple[Path, list[dict]]:
    path = root / "dapr-components.yaml"
    return path, [d for d in yaml.safe_load_all(path.read_text()) if d]


def write_components(path: Path, components: list[dict]) -> None:
    path.write_text(yaml.safe_dump_all(components, sort_keys=False))


def test_an_unscoped_component(stack_copy):
    path, components = components_of(stack_copy)
    del components[0]["scopes"]
    write_components(path, components)
    the_problem(stack_copy, "Component learnflow/statestore has no scopes")


def test_an_app_missing_from_a_components_scopes(stack_copy):
    path, components = components_of(stack_copy)
    components[1]["scopes"].remove("progress-agent")
    write_components(path, components)
    the_problem(stack_copy, "Component learnflow/pubsub does not list progress-agent in its scopes")


def test_pubsub_topics_left_open_or_missing(stack_copy):
    edit(stack_copy / "dapr-components.yaml", ";debug-agent=debug.requests", "")
    edit(stack_copy / "dapr-components.yaml", ",learning.requests.deadletter;", ";")
    the_problem(stack_copy, "debug-agent has no subscriptionScopes entry", "every topic")
    the_problem(
        stack_copy,
        "publishingScopes does not let triage-agent publish learning.requests.deadletter",
    )


def test_run_file_flags_that_do_nothing(stack_copy):
    edit(
        stack_copy / "triage/dapr.yaml", "enableAppHealthCheck: true", "enableAppHealthCheck: false"
    )
    edit(stack_copy / "dapr.yaml", "daprHTTPPort: 3510", "daprHTTPPort: 3500")
    line = the_problem(stack_copy, "triage/dapr.yaml: app triage-agent sets appHealthCheckPath")
    assert "without enableAppHealthCheck: true" in line
    the_problem(stack_copy, "port 3500 is also used by app triage-agent")


def test_components_resiliency_and_subscriptions_against_daprs_crds(stack_copy):
    edit(stack_copy / "dapr-components.yaml", "  version: v1\n", "  version: v1\n  versoin: v1\n")
    edit(stack_copy / "triage/resiliency.yaml", "        matching:", "        matchin:")
    (stack_copy / "subscription.yaml").write_text(
        "apiVersion: dapr.io/v2alpha1\n"
        "kind: Subscription\n"
        "metadata: {name: extra, namespace: learnflow}\n"
        "spec: {pubsubname: pubsub, topic: learning.requests, route: /events}\n"
        "scopes: [triage-agent]\n"
    )
    edit(
        stack_copy / "kustomization.yaml",
        "- dapr-components.yaml\n",
        "- dapr-components.yaml\n- subscription.yaml\n",
    )
    the_problem(stack_copy, "Component learnflow/statestore: spec", "'versoin' was unexpected")
    the_problem(stack_copy, "Resiliency learnflow/triage-agent-resiliency", "'matchin'")
    the_problem(stack_copy, "Subscription learnflow/extra: spec", "'route' was unexpected")


def test_resources_dapr_does_not_serve_or_policies_that_do_not_exist(stack_copy):
    edit(
        stack_copy / "progress/resiliency.yaml",
        "apiVersion: dapr.io/v1alpha1",
        "apiVersion: dapr.io/v9",
    )
    edit(stack_copy / "debug/resiliency.yaml", "retry: deliver", "retry: redeliver")
    the_problem(stack_copy, "Resiliency learnflow/progress-agent-resiliency", "not served")
    the_problem(stack_copy, "targets.components.pubsub.inbound.retry names redeliver")


def test_a_stack_that_leaves_out_part_of_a_service(stack_copy):
    edit(stack_copy / "kustomization.yaml", "- ./triage/hpa.yaml\n", "")
    the_problem(
        stack_copy, "the stack does not build HorizontalPodAutoscaler learnflow/triage-agent-hpa"
    )


def test_a_build_kustomize_refuses(stack_copy):
    (stack_copy / "triage/pdb.yaml").unlink()
    assert problems(stack_copy) == [the_problem(stack_copy, "`kubectl kustomize", "fails")]


def test_the_command_line_one_line_per_problem(stack_copy, tmp_path):
    edit(stack_copy / "kustomization.yaml", "- namespace.yaml\n", "")
    for readme in stack_copy.glob("*/README.md"):
        edit(readme, "kubectl create secret generic postgres-credentials", "kubectl get secret")
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts/preflight.py"), str(stack_copy)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines and all(line.startswith("problem: ") for line in lines)
    assert len(lines) == len(set(lines)) == len(problems(stack_copy))
    check = subprocess.run(
        [sys.executable, str(SCRIPT), "check", str(stack_copy)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 1
    assert set(lines) <= set(check.stdout.splitlines())


def test_a_directory_that_is_not_a_rendered_service(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts/preflight.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "has no kustomization.yaml" in done.stderr
