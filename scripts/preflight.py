#!/usr/bin/env python3
"""Read a rendered service, or a rendered stack, as a cluster would, and say what would stop it.

    python scripts/preflight.py services          # the stack (generate_agent.py --all)
    python scripts/preflight.py services/triage   # one service on its own
    python scripts/generate_agent.py check services   # the stack checks, then this

It builds the directory with `kubectl kustomize` (exactly what `kubectl apply -k` would send)
and checks what Kubernetes and Dapr would do with it:
- namespaces: every namespaced object's namespace is created by the same build;
- secrets: every Secret the pods need (secretKeyRef, secretRef, secret volumes, image pull
  secrets, unless optional), the Dapr injector adds to daprd (dapr.io/api-token-secret and
  dapr.io/app-token-secret, key "token") and the Dapr operator reads for components
  (secretKeyRef with auth.secretStore kubernetes) is in the build, or created by a
  `kubectl create secret` command in a README of the directory (or of its services);
- sidecars: daprd's built-in Kubernetes secret store is off wherever no service-account token is
  mounted (its init would fail and daprd would exit);
- scopes: every component lists the apps that load it, every app's components are scoped to
  it, and every pub/sub scopes each app's topics (publishingScopes, subscriptionScopes), covering
  what that service publishes (its outputs and its inputs' dead letters) and consumes;
- Dapr resources: Components, Resiliency and Subscriptions validate strictly against Dapr's own
  CRDs (scripts/dapr_crds, see SOURCE.md there), and resiliency targets name existing policies;
- run files (dapr.yaml): the app health-check settings come with enableAppHealthCheck: true,
  paths exist, app-ids and ports are unique;
- a stack builds everything each of its services builds (less the namespace and components the
  stack writes once).
One line per problem; exit status 1 if there is any, 0 if none, 2 if the directory is unusable.
"""

from __future__ import annotations

import copy
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS.parent))
sys.path.insert(0, str(SCRIPTS))

import stack  # noqa: E402

from hooks import answers as template_answers  # noqa: E402

CRD_DIR = SCRIPTS / "dapr_crds"
ANSWERS_FILE = ".copier-answers.yml"
DAPR_GROUP = "dapr.io"
# Objects that live outside any namespace (the kinds a LearnFlow build could hold).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "PriorityClass",
        "RuntimeClass",
        "StorageClass",
        "PersistentVolume",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    }
)
POD_TEMPLATE_PATHS = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
# The run-file settings that only mean something with enableAppHealthCheck: true (dapr/cli
# pkg/standalone/run.go passes them to daprd, which ignores them without
# --enable-app-health-check: dapr pkg/runtime/config.go).
HEALTH_SETTINGS = (
    "appHealthCheckPath",
    "appHealthProbeInterval",
    "appHealthProbeTimeout",
    "appHealthThreshold",
)


class Unusable(Exception):
    """The directory cannot be checked at all (nothing to build, no kubectl)."""


class BuildFailed(Exception):
    """kustomize refuses the directory: reported as one problem."""


def label(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{doc.get('kind', '?')} {where}{meta.get('name', '?')}"


# -- building -------------------------------------------------------------------------------


def kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise Unusable("kubectl is not on PATH; install it to read the build as a cluster would")
    done = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        last = lines[-1] if lines else "?"
        # kubectl logs through klog: 'E1129 16:32:52.505104 24696 run.go:72] "command failed"
        # err="..."'; the err is the message.
        found = re.search(r'err="(.*)"\s*$', last)
        reason = found.group(1).replace('\\"', '"') if found else last
        raise BuildFailed(f"`kubectl kustomize {directory}` fails: {reason}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


# -- what the directory holds ---------------------------------------------------------------


@dataclass
class Layout:
    root: Path
    services: list[Path]
    is_stack: bool

    def readmes(self) -> list[Path]:
        found = [self.root / "README.md", *(s / "README.md" for s in self.services)]
        return [p for p in dict.fromkeys(found) if p.is_file()]

    def run_files(self) -> list[Path]:
        found = [self.root / "dapr.yaml", *(s / "dapr.yaml" for s in self.services)]
        return [p for p in dict.fromkeys(found) if p.is_file()]


def layout(root: Path) -> Layout:
    if not (root / "kustomization.yaml").is_file():
        raise Unusable(f"{root} has no kustomization.yaml: give a rendered service or stack")
    if (root / ANSWERS_FILE).is_file():
        return Layout(root, [root], is_stack=False)
    services = sorted(p.parent for p in root.glob(f"*/{ANSWERS_FILE}"))
    return Layout(root, services, is_stack=True)


# -- secrets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretNeed:
    namespace: str
    name: str
    key: str | None  # None: the whole Secret (envFrom, volumes, image pulls)
    who: str


ANY_KEY = "*"


def documented_secrets(readmes: list[Path]) -> dict[tuple[str, str], set[str]]:
    """(namespace, name) -> keys, for every `kubectl create secret` in the READMEs."""
    found: dict[tuple[str, str], set[str]] = {}
    for readme in readmes:
        text = re.sub(r"\\\n\s*", " ", readme.read_text())  # join continued lines
        for line in text.splitlines():
            start = line.find("kubectl create secret")
            if start < 0:
                continue
            try:
                words = shlex.split(line[start:])
            except ValueError:
                continue
            parsed = parse_create_secret(words)
            if parsed:
                namespace, name, keys = parsed
                found.setdefault((namespace, name), set()).update(keys)
    return found


def parse_create_secret(words: list[str]) -> tuple[str, str, set[str]] | None:
    end = next((i for i, w in enumerate(words) if w in ("|", "||", "&&", ";", ")")), len(words))
    words = words[:end]
    # kubectl create secret generic|tls|docker-registry NAME [flags]
    if len(words) < 5 or words[3] not in ("generic", "tls", "docker-registry"):
        return None
    kind, name, namespace, keys = words[3], words[4], "default", set()
    if kind == "tls":
        keys |= {"tls.crt", "tls.key"}
    if kind == "docker-registry":
        keys.add(".dockerconfigjson")
    flags = words[5:]
    for index, word in enumerate(flags):
        following = flags[index + 1] if index + 1 < len(flags) else ""
        if word in ("-n", "--namespace"):
            namespace = following
        elif word.startswith("--namespace="):
            namespace = word.split("=", 1)[1]
        elif word.startswith("-n") and len(word) > 2:
            namespace = word[2:]
        elif word.startswith("--from-literal="):
            keys.add(word.split("=", 2)[1])
        elif word.startswith("--from-file="):
            source = word.split("=", 1)[1]
            keys.add(source.split("=", 1)[0] if "=" in source else Path(source).name)
        elif word.startswith("--from-env-file"):
            keys.add(ANY_KEY)
    return namespace, name, keys


def secrets_in_build(docs: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    found = {}
    for doc in docs:
        if doc.get("kind") == "Secret":
            meta = doc["metadata"]
            keys = set(doc.get("data") or {}) | set(doc.get("stringData") or {})
            found[(meta.get("namespace", "default"), meta["name"])] = keys
    return found


def pod_templates(docs: list[dict[str, Any]]):
    for doc in docs:
        path = POD_TEMPLATE_PATHS.get(str(doc.get("kind")))
        if doc.get("kind") == "Pod":
            yield doc, doc
        elif path:
            template: Any = doc
            for step in path:
                template = (template or {}).get(step)
            if template:
                yield doc, template


def secret_needs(docs: list[dict[str, Any]]) -> list[SecretNeed]:
    needs: list[SecretNeed] = []
    for owner, template in pod_templates(docs):
        namespace = owner["metadata"].get("namespace", "default")
        spec = template.get("spec") or {}
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
            for env in container.get("env") or []:
                ref = ((env.get("valueFrom") or {}).get("secretKeyRef")) or None
                if ref and not ref.get("optional"):
                    who = f"{label(owner)} (container {container['name']}, env {env['name']})"
                    needs.append(SecretNeed(namespace, ref["name"], ref.get("key"), who))
            for source in container.get("envFrom") or []:
                ref = source.get("secretRef")
                if ref and not ref.get("optional"):
                    who = f"{label(owner)} (container {container['name']}, envFrom)"
                    needs.append(SecretNeed(namespace, ref["name"], None, who))
        for volume in spec.get("volumes") or []:
            ref = volume.get("secret")
            if ref and not ref.get("optional"):
                who = f"{label(owner)} (volume {volume['name']})"
                needs.append(SecretNeed(namespace, ref["secretName"], None, who))
        for pull in spec.get("imagePullSecrets") or []:
            who = f"{label(owner)} (imagePullSecrets)"
            needs.append(SecretNeed(namespace, pull["name"], None, who))
        if annotations.get("dapr.io/enabled") == "true":
            # The injector gives daprd non-optional secretKeyRefs to key "token" (dapr
            # pkg/injector/patcher/sidecar_container.go getSidecarContainer).
            for annotation in ("dapr.io/api-token-secret", "dapr.io/app-token-secret"):
                if annotations.get(annotation):
                    who = f"the Dapr injector for {label(owner)} ({annotation})"
                    needs.append(SecretNeed(namespace, annotations[annotation], "token", who))
    for component in docs:
        if component.get("kind") != "Component" or not component.get("apiVersion", "").startswith(
            DAPR_GROUP
        ):
            continue
        store = (component.get("auth") or {}).get("secretStore", "")
        if store not in ("", "kubernetes"):
            continue  # another secret store resolves these, at run time
        namespace = component["metadata"].get("namespace", "default")
        for item in (component.get("spec") or {}).get("metadata") or []:
            ref = item.get("secretKeyRef")
            if ref:
                # dapr pkg/operator/api/components.go processComponentSecrets: the operator
                # reads the Secret from the component's namespace; the key defaults to the name.
                who = f"the Dapr operator for {label(component)} ({item['name']})"
                key = ref.get("key") or ref["name"]
                needs.append(SecretNeed(namespace, ref["name"], key, who))
    return needs


def check_secrets(docs, readmes: list[Path]) -> list[str]:
    built, documented = secrets_in_build(docs), documented_secrets(readmes)
    problems = []
    for need in secret_needs(docs):
        where = (need.namespace, need.name)
        key = f" (key {need.key})" if need.key else ""
        if where in built:
            if need.key and need.key not in built[where]:
                problems.append(
                    f"Secret {need.namespace}/{need.name} in the build has no key {need.key}, "
                    f"which {need.who} needs"
                )
            continue
        if where in documented:
            keys = documented[where]
            if need.key and need.key not in keys and ANY_KEY not in keys:
                problems.append(
                    f"the documented `kubectl create secret generic {need.name}` gives no key "
                    f"{need.key}, which {need.who} needs"
                )
            continue
        problems.append(
            f"Secret {need.namespace}/{need.name}{key}, needed by {need.who}, is neither in the "
            f"build nor created by a documented `kubectl create secret` command"
        )
    return problems


# -- namespaces and sidecars -------------------------------------------------------------------


def check_namespaces(docs) -> list[str]:
    created = {d["metadata"]["name"] for d in docs if d.get("kind") == "Namespace"}
    problems = []
    for doc in docs:
        if doc.get("kind") in CLUSTER_SCOPED:
            continue
        namespace = (doc.get("metadata") or {}).get("namespace")
        if not namespace:
            problems.append(
                f"{label(doc)} has no namespace: it would land in whatever namespace kubectl's "
                f"context points at"
            )
        elif namespace not in created:
            problems.append(
                f"{label(doc)} is in namespace {namespace}, which the build does not create "
                f"(no Namespace {namespace}): `kubectl apply -k` fails on a fresh cluster"
            )
    return problems


def token_mounted(template: dict[str, Any], docs) -> bool:
    spec = template.get("spec") or {}
    if "automountServiceAccountToken" in spec:
        return bool(spec["automountServiceAccountToken"])
    account = spec.get("serviceAccountName") or "default"
    for doc in docs:
        if doc.get("kind") == "ServiceAccount" and doc["metadata"]["name"] == account:
            return doc.get("automountServiceAccountToken", True) is not False
    return True  # Kubernetes' default


def check_sidecars(docs) -> list[str]:
    problems = []
    for owner, template in pod_templates(docs):
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        if annotations.get("dapr.io/enabled") != "true":
            continue
        if not token_mounted(template, docs) and (
            annotations.get("dapr.io/disable-builtin-k8s-secret-store") != "true"
        ):
            # dapr pkg/runtime/components.go appendBuiltinSecretStore: in Kubernetes mode daprd
            # starts a "kubernetes" secret store that needs the token; its init failure exits.
            problems.append(
                f"{label(owner)}: no service-account token is mounted but daprd's built-in "
                f"kubernetes secret store is on, so the sidecar exits at start; annotate "
                f'dapr.io/disable-builtin-k8s-secret-store: "true"'
            )
    return problems


# -- scopes ----------------------------------------------------------------------------------


def metadata_values(component: dict[str, Any]) -> dict[str, str]:
    items = (component.get("spec") or {}).get("metadata") or []
    return {i["name"]: str(i.get("value", "")) for i in items if "value" in i}


def parse_scopes(value: str) -> dict[str, list[str]]:
    """dapr pkg/scopes/scopes.go GetScopedTopics: "app1=t1,t2;app2=t3", spaces ignored."""
    found: dict[str, list[str]] = {}
    for entry in value.replace(" ", "").split(";"):
        parts = entry.split("=")
        if len(parts) >= 2:
            found.setdefault(parts[0], []).extend(t for t in parts[1].split(",") if t)
    return found


def dapr_apps(docs) -> list[tuple[dict[str, Any], dict[str, Any], str, str]]:
    """(owner, template, namespace, app-id) for every Dapr-enabled pod template."""
    apps = []
    for owner, template in pod_templates(docs):
        annotations = (template.get("metadata") or {}).get("annotations") or {}
        if annotations.get("dapr.io/enabled") == "true":
            app_id = annotations.get("dapr.io/app-id") or owner["metadata"]["name"]
            namespace = owner["metadata"].get("namespace", "default")
            apps.append((owner, template, namespace, app_id))
    return apps


def container_env(template: dict[str, Any], name: str) -> str | None:
    for container in (template.get("spec") or {}).get("containers", []):
        for env in container.get("env") or []:
            if env.get("name") == name and "value" in env:
                return str(env["value"])
    return None


def check_scopes(docs, services: list[Path]) -> list[str]:
    problems = []
    components = {
        (c["metadata"].get("namespace", "default"), c["metadata"]["name"]): c
        for c in docs
        if c.get("kind") == "Component" and c.get("apiVersion", "").startswith(DAPR_GROUP)
    }
    for (namespace, _name), component in components.items():
        if not component.get("scopes"):
            problems.append(
                f"{label(component)} has no scopes: every Dapr app in namespace {namespace} "
                f"loads it"
            )
    # The components each app uses, as its container is told (STATE_STORE_NAME, PUBSUB_NAME).
    for owner, template, namespace, app_id in dapr_apps(docs):
        for variable in ("STATE_STORE_NAME", "PUBSUB_NAME"):
            wanted = container_env(template, variable)
            if wanted is None:
                continue
            component = components.get((namespace, wanted))
            if component is None:
                problems.append(
                    f"{label(owner)} uses component {wanted} ({variable}), which is not in "
                    f"namespace {namespace} in the build"
                )
            elif component.get("scopes") and app_id not in component["scopes"]:
                problems.append(
                    f"{label(component)} does not list {app_id} in its scopes, so {label(owner)} "
                    f"cannot load it"
                )
    # Every pub/sub scopes the topics of every app that loads it.
    for component in components.values():
        if not component.get("spec", {}).get("type", "").startswith("pubsub."):
            continue
        values = metadata_values(component)
        for setting in ("publishingScopes", "subscriptionScopes"):
            scoped = parse_scopes(values.get(setting, ""))
            for app_id in component.get("scopes") or []:
                if app_id not in scoped:
                    # pkg/runtime/pubsub/adapter.go IsOperationAllowed: no scope, every topic.
                    problems.append(
                        f"{label(component)}: {app_id} has no {setting} entry, so it may "
                        f"{'publish' if setting == 'publishingScopes' else 'subscribe'} to "
                        f"every topic"
                    )
    # ... and the topics each service needs, from copier.yml's topic graph.
    apps = {app_id: (namespace, template) for _, template, namespace, app_id in dapr_apps(docs)}
    for service in services:
        answers = template_answers.check_answers_file(service / ANSWERS_FILE)
        app_id = f"{answers['agent_name']}-agent"
        if app_id not in apps:
            continue
        namespace, template = apps[app_id]
        pubsub = components.get((namespace, container_env(template, "PUBSUB_NAME") or ""))
        if pubsub is None:
            continue
        values = metadata_values(pubsub)
        publishes, subscribes = stack.pubsub_scopes(app_id, answers["agent_type"])
        for setting, needed, verb in (
            ("publishingScopes", publishes, "publish"),
            ("subscriptionScopes", subscribes, "subscribe to"),
        ):
            allowed = parse_scopes(values.get(setting, "")).get(app_id)
            if allowed is None:
                continue  # reported above
            for topic in needed:
                if topic not in allowed:
                    problems.append(
                        f"{label(pubsub)}: {setting} does not let {app_id} {verb} {topic}, "
                        f"which it needs"
                    )
    return problems


# -- Dapr's CRDs -----------------------------------------------------------------------------

OBJECT_META = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "generateName": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array"},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "creationTimestamp": {},
        "deletionTimestamp": {},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "managedFields": {"type": "array"},
    },
}


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI v3 CRD schema as a JSON Schema that refuses unknown fields, as the API
    server's strict field validation does; x-kubernetes-preserve-unknown-fields keeps its
    meaning."""
    schema = {k: v for k, v in schema.items() if k != "description"}
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return {k: v for k, v in schema.items() if k == "type"}
    if schema.get("x-kubernetes-int-or-string"):
        return {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    if "properties" in schema:
        schema["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
        schema.setdefault("additionalProperties", False)
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = strict(schema["additionalProperties"])
    if isinstance(schema.get("items"), dict):
        schema["items"] = strict(schema["items"])
    return schema


@lru_cache
def crd_schemas() -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """(group, kind) -> {served version: JSON Schema}."""
    found: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            key = (crd["spec"]["group"], crd["spec"]["names"]["kind"])
            for version in crd["spec"]["versions"]:
                if not version.get("served"):
                    continue
                schema = strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
                schema["properties"]["metadata"] = OBJECT_META
                schema["required"] = sorted({*schema.get("required", []), "metadata"})
                found.setdefault(key, {})[version["name"]] = schema
    return found


def check_dapr_resources(docs) -> list[str]:
    from jsonschema import Draft7Validator

    problems = []
    schemas = crd_schemas()
    for doc in docs:
        group, _, version = str(doc.get("apiVersion", "")).rpartition("/")
        if group != DAPR_GROUP:
            continue
        versions = schemas.get((group, doc.get("kind")))
        if versions is None:
            continue  # a Dapr kind whose CRD is not vendored (Configuration, HTTPEndpoint...)
        if version not in versions:
            problems.append(
                f"{label(doc)}: apiVersion {doc['apiVersion']} is not served by Dapr's CRD "
                f"(served: {', '.join(sorted(versions))})"
            )
            continue
        errors = sorted(
            Draft7Validator(versions[version]).iter_errors(doc), key=lambda e: list(e.path)
        )
        for error in errors:
            where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
            problems.append(f"{label(doc)}: {where}: {error.message} (Dapr's {doc['kind']} CRD)")
        if doc.get("kind") == "Resiliency" and not errors:
            problems += check_resiliency_targets(doc)
    return problems


def check_resiliency_targets(doc: dict[str, Any]) -> list[str]:
    policies = doc["spec"].get("policies") or {}
    sections = {"timeout": "timeouts", "retry": "retries", "circuitBreaker": "circuitBreakers"}
    problems = []
    targets = doc["spec"].get("targets") or {}
    named: list[tuple[str, dict[str, Any]]] = []
    for kind in ("apps", "actors"):
        named += [(f"{kind}.{n}", t) for n, t in (targets.get(kind) or {}).items()]
    for name, target in (targets.get("components") or {}).items():
        for direction in ("inbound", "outbound"):
            if target.get(direction):
                named.append((f"components.{name}.{direction}", target[direction]))
    for where, target in named:
        for kind, section in sections.items():
            policy = target.get(kind)
            if policy and policy not in (policies.get(section) or {}):
                problems.append(
                    f"{label(doc)}: targets.{where}.{kind} names {policy}, which is not in "
                    f"policies.{section}"
                )
    return problems


# -- run files -------------------------------------------------------------------------------


def check_run_file(path: Path) -> list[str]:
    problems: list[str] = []
    try:
        run = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        return [f"{path}: not valid YAML ({error})"]
    base = path.parent
    common = run.get("common") or {}
    for entry in [*(common.get("resourcesPaths") or []), common.get("resourcesPath")]:
        if entry and not (base / entry).is_dir():
            problems.append(f"{path}: common resources path {entry} does not exist")
    seen: dict[str, str] = {}
    for app in run.get("apps") or []:
        app_id = app.get("appID") or app.get("appDirPath", "?")
        where = f"{path}: app {app_id}"
        for setting in HEALTH_SETTINGS:
            if setting in app and app.get("enableAppHealthCheck") is not True:
                problems.append(
                    f"{where} sets {setting} without enableAppHealthCheck: true, so daprd "
                    f"never uses it"
                )
        if app.get("enableAppHealthCheck") is True and not app.get("appPort"):
            problems.append(f"{where} enables the app health check but has no appPort")
        directory = base / str(app.get("appDirPath", ""))
        if not app.get("appDirPath") or not directory.is_dir():
            problems.append(f"{where}: appDirPath {app.get('appDirPath')} is not a directory")
        for entry in [*(app.get("resourcesPaths") or []), app.get("resourcesPath")]:
            if entry and not (directory / entry).is_dir():
                problems.append(f"{where}: resources path {entry} does not exist")
        for setting in ("appID", "appPort", "daprHTTPPort", "daprGRPCPort"):
            value = app.get(setting)
            if value is None:
                continue
            token = f"{'port' if setting != 'appID' else 'appID'} {value}"
            if token in seen:
                problems.append(f"{where}: {token} is also used by {seen[token]}")
            seen[token] = f"app {app_id}"
    return problems


# -- the stack covers its services -------------------------------------------------------------


def check_stack_covers_services(docs, services: list[Path]) -> list[str]:
    built = {
        (d.get("kind"), (d.get("metadata") or {}).get("namespace"), d["metadata"]["name"])
        for d in docs
    }
    problems = []
    for service in services:
        try:
            own = kustomize(service)
        except BuildFailed as error:
            problems.append(str(error))
            continue
        for doc in own:
            if doc.get("kind") in ("Namespace", "Component"):
                continue  # the stack writes these once, for every service
            key = (doc.get("kind"), doc["metadata"].get("namespace"), doc["metadata"]["name"])
            if key not in built:
                problems.append(
                    f"the stack does not build {label(doc)}, which {service.name} builds: "
                    f"regenerate the stack files (generate_agent.py --all --force) or add it to "
                    f"the stack's kustomization.yaml"
                )
    return problems


# -- all together ------------------------------------------------------------------------------


@dataclass
class Report:
    root: Path
    problems: list[str] = field(default_factory=list)
    objects: int = 0
    services: int = 0


def check(root: Path) -> Report:
    """Every problem a cluster would have with `kubectl apply -k root`, one line each.
    Raises Unusable when the directory cannot be checked at all."""
    where = layout(root)
    report = Report(root, services=len(where.services))
    try:
        docs = kustomize(root)
    except BuildFailed as error:
        report.problems.append(str(error))
        return report
    report.objects = len(docs)
    found = [
        *check_namespaces(docs),
        *check_secrets(docs, where.readmes()),
        *check_sidecars(docs),
        *check_scopes(docs, where.services),
        *check_dapr_resources(docs),
        *(p for run_file in where.run_files() for p in check_run_file(run_file)),
    ]
    if where.is_stack:
        found += check_stack_covers_services(docs, where.services)
    report.problems = list(dict.fromkeys(found))
    return report


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[0])
        print("usage: python scripts/preflight.py DIR   (a rendered service or stack)")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    try:
        report = check(Path(argv[0]))
    except (Unusable, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for problem in report.problems:
        print(f"problem: {problem}")
    if report.problems:
        return 1
    print(
        f"preflight: {report.root}: {report.objects} objects from {report.services} service(s), "
        f"nothing a cluster would refuse"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
