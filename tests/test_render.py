"""Every agent type renders, through copier and through the wrapper, into a service that
passes its own checks (its tests, ruff) and starts with uvicorn and answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import (
    MAX_FUNCTION_LINES,
    REGISTRY,
    STACK_NAMES,
    TEMPLATE_VERSION,
    functions_longer_than,
    render_with_wrapper,
)

COMMON_FILES = {
    ".copier-answers.yml",
    "resiliency.yaml",
    "hpa.yaml",
    "pdb.yaml",
    "networkpolicy.yaml",
    "kustomization.yaml",
    "dapr.yaml",
    "dapr/resources/statestore.yaml",
    "dapr/resources/pubsub.yaml",
    "tests/fakes/fake_sidecar.py",
    "tests/fakes/fake_openai.py",
    ".gitignore",
    ".dockerignore",
    ".pre-commit-config.yaml",
    ".github/workflows/ci.yml",
    "Makefile",
    "README.md",
    "Dockerfile",
    "pyproject.toml",
    "requirements.txt",
    "requirements-dev.txt",
    # The owner's files: the reference document's app.py, agent.py, config.py, plus routes.
    "app.py",
    "agent.py",
    "config.py",
    "routes.py",
    # The template's kit: owners don't edit it; copier update keeps it current.
    "kit/__init__.py",
    "kit/agent_base.py",
    "kit/app_factory.py",
    "kit/contracts.py",
    "kit/deps.py",
    "kit/identity.py",
    "kit/interfaces.py",
    "kit/observability.py",
    "kit/runtime.py",
    "kit/settings.py",
    "kit/adapters/__init__.py",
    "kit/adapters/dapr.py",
    "kit/adapters/embedded.py",
    "kit/adapters/openai.py",
    "deployment.yaml",
    "service.yaml",
    "dapr-component.yaml",
    "tests/conftest.py",
    "tests/test_agent.py",
    "tests/test_api.py",
}
# Every type that runs learner code carries the WebAssembly sandbox and its tests.
SANDBOX_FILES = {
    "kit/sandbox/__init__.py",
    "kit/sandbox/build.py",
    "kit/sandbox/client.py",
    "kit/sandbox/guest_boot.py",
    "kit/sandbox/runner.py",
    "kit/sandbox/wasi.py",
    "kit/sandbox/zygote.py",
    "tests/test_sandbox.py",
    "tests/test_sandbox_in_production.py",
    "tests/support/production.py",
    "tests/support/restricted_launch.py",
}
# The type's own logic, from copier.yml's registry: rendered into that type's services only.
TYPE_FILES = {
    kind: {*entry["files"], *(SANDBOX_FILES if entry["runs_code"] else ())}
    for kind, entry in REGISTRY.items()
}


# What running a service's own checks leaves behind; not part of what was rendered.
TOOL_CACHES = {
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
    ".learnflow",
}


def rendered_files(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not TOOL_CACHES & set(p.relative_to(root).parts)
    }


def clean_env() -> dict[str, str]:
    """The environment a developer's shell would have: none of our runtime variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAPR_", "OPENAI_", "APP_"))}
    env.pop("RUNTIME_MODE", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _present(entry: str, files: set[str]) -> bool:
    """A registry entry names a file, or a directory (ending in /) with files in it."""
    if entry.endswith("/"):
        return any(f.startswith(entry) for f in files)
    return entry in files


def test_file_list(render, agent_type):
    files = rendered_files(render(agent_type))
    assert COMMON_FILES <= files, sorted(COMMON_FILES - files)
    missing = [e for e in TYPE_FILES[agent_type] if not _present(e, files)]
    assert not missing, missing
    others = set().union(*TYPE_FILES.values()) - TYPE_FILES[agent_type]
    leaked = [e for e in others if _present(e, files)]
    assert not leaked, leaked
    assert not [f for f in files if f.endswith(".jinja") or "{" in f]


def test_no_jinja_left_in_rendered_files(render, agent_type):
    root = render(agent_type)
    for name in rendered_files(root):
        if name.startswith("tests/buggy_programs/") or name.endswith(".jsonl"):
            continue
        text = (root / name).read_text(errors="replace")
        assert "{{ " not in text.replace("${{ ", ""), name
        assert "{%" not in text, name


def test_answers_file_has_no_secret_and_records_the_template(render, agent_type):
    import yaml

    answers = yaml.safe_load((render(agent_type) / ".copier-answers.yml").read_text())
    assert answers["agent_type"] == agent_type
    assert answers["_commit"] == TEMPLATE_VERSION
    assert not [k for k in answers if "key" in k.lower() or "token" in k.lower()]


def test_service_passes_its_own_tests_and_lint(render, agent_type):
    root = render(agent_type)
    for command in (
        [sys.executable, "-m", "ruff", "check", "."],
        [sys.executable, "-m", "ruff", "format", "--check", "."],
        [sys.executable, "-m", "mypy"],  # make typecheck: strict on kit/
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"],
    ):
        done = subprocess.run(
            command, cwd=root, env=clean_env(), capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, (
            f"{' '.join(command[2:])} failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_service_starts_with_uvicorn_and_answers(render, agent_type, tmp_path):
    root = render(agent_type)
    port = free_port()
    env = clean_env() | {"EMBEDDED_STATE_PATH": str(tmp_path / "state.db")}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    health = json.load(r)
                break
            except OSError:
                time.sleep(0.05)
        assert health == {
            "status": "healthy",
            "dapr": "disabled",
            "mode": "embedded",
            "llm": "offline",
            "agent": STACK_NAMES[agent_type],
            "agent_type": agent_type,
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/process",
            data=json.dumps({"user_id": "u1", "query": "How do for loops work?"}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            reply = json.load(r)
        assert reply["response"] and reply["data"]["mode"] == "offline"
        assert rss_mib(process.pid) < 200
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
    assert "Traceback" not in output, output


def test_wrapper_renders_what_copier_renders(render, agent_type, template_repo, tmp_path):
    out = tmp_path / "svc"
    done = render_with_wrapper(
        template_repo, STACK_NAMES[agent_type], agent_type, out=out, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    copied = render(agent_type)
    assert rendered_files(out) == rendered_files(copied)
    for name in rendered_files(out):
        assert (out / name).read_bytes() == (copied / name).read_bytes(), name


@pytest.mark.parametrize("agent_type", ["tracker"])
def test_generated_makefile_runs_lint_typecheck_validate_and_tests(render, agent_type, tmp_path):
    root = render(agent_type)
    targets = ["lint", "typecheck", "validate", "test"]
    done = subprocess.run(
        ["make", *targets, f"PY={sys.executable}", f"VENV={tmp_path / 'venv'}"],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_a_key_in_the_environment_never_reaches_rendered_files(template_repo, tmp_path):
    canary = "sk-canary-render-7d3f9a1c"
    out = tmp_path / "svc"
    done = render_with_wrapper(
        template_repo,
        "triage",
        "router",
        out=out,
        cwd=tmp_path,
        env=os.environ | {"OPENAI_API_KEY": canary, "DAPR_API_TOKEN": canary},
    )
    assert done.returncode == 0, done.stderr
    assert canary not in done.stdout + done.stderr
    for name in rendered_files(out):
        assert canary not in (out / name).read_text(errors="ignore"), name


def _distribution_closure(names: set[str]) -> set[str]:
    """The distributions `names` pull in, transitively (as pip would install them)."""
    import re
    from importlib import metadata

    seen: set[str] = set()
    pending = [n.lower().replace("_", "-") for n in names]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            if "extra ==" in requirement and "fastapi" not in requirement:
                continue  # only the extras the service asks for, e.g. dapr[fastapi]
            found = re.match(r"[A-Za-z0-9_.-]+", requirement)
            if found:
                pending.append(found.group(0).lower().replace("_", "-"))
    return seen


def imported_modules(path: Path) -> list[str]:
    """The absolute module names a Python file imports, anywhere in it."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


def test_runtime_requirements_cover_every_import_the_service_makes(render, agent_type):
    """The image installs requirements.txt only: every third-party module the service's own
    code imports (tests aside) must come from it or from what it pulls in."""
    import re
    from importlib import metadata

    root = render(agent_type)
    listed = {
        re.match(r"[A-Za-z0-9_.-]+", line).group(0)
        for line in (root / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    installed = _distribution_closure(listed)
    providers = metadata.packages_distributions()
    local = {p.stem for p in root.glob("*.py")} | {"kit"}
    missing = set()
    for path in root.rglob("*.py"):
        if {"tests", ".venv"} & set(path.relative_to(root).parts):
            continue
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in local or top not in providers:
                continue
            if not {d.lower().replace("_", "-") for d in providers[top]} & installed:
                missing.add(f"{top} ({path.relative_to(root)})")
    assert not missing, sorted(missing)


def test_no_function_in_a_rendered_service_is_over_the_line_limit(render, agent_type):
    root = render(agent_type)
    # The debugger's corpus of buggy programs is learners' code, most of it not even Python.
    files = [p for p in root.rglob("*.py") if not {"buggy_programs", ".venv"} & set(p.parts)]
    assert not functions_longer_than(MAX_FUNCTION_LINES, files, root)


def test_the_kit_depends_on_interfaces_never_on_owner_code(render, agent_type):
    """The kit (template code owners don't edit) imports nothing of the owner's top-level
    modules; only its composition root, kit/runtime.py, picks adapters; adapters reach no
    higher than the interfaces and shared helpers (not the app, the routes or the runtime)."""
    root = render(agent_type)
    owner = {p.stem for p in root.glob("*.py")}
    upward = ("kit.runtime", "kit.app_factory", "kit.routes", "kit.deps", "kit.agent_base")
    wrong = []
    for path in (root / "kit").rglob("*.py"):
        where = path.relative_to(root).as_posix()
        for module in imported_modules(path):
            if module.split(".")[0] in owner:
                wrong.append(f"{where} imports the owner's {module}")
            if module.startswith("kit.adapters") and not where.startswith(
                ("kit/adapters/", "kit/runtime.py")
            ):
                wrong.append(f"{where} imports the adapter {module}")
            if where.startswith("kit/adapters/") and module.startswith(upward):
                wrong.append(f"{where} reaches up to {module}")
    assert not wrong, wrong
