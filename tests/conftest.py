"""Shared fixtures: the template under test, rendered services, the answers tests start from.

Tests never render from the developer's checkout directly: the working tree (with uncommitted
edits) is committed and tagged in a throwaway git repository first, so what is tested is exactly
what a user would get from `copier copy` of the next release.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import copier
import pytest
import yaml

from hooks import answers as template_answers

REPO_ROOT = Path(__file__).resolve().parents[1]
COPIER_YML = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
# copier.yml's registry of agent types: what every type-parametrised test runs over.
REGISTRY: dict[str, dict] = template_answers.registry()
AGENT_TYPES: tuple[str, ...] = tuple(REGISTRY)
# The LearnFlow names the product uses for each type (the stack renders these).
STACK_NAMES = {kind: entry["stack_name"] for kind, entry in REGISTRY.items()}
TEMPLATE_VERSION = "v1.0.0"
# Copier commits in scratch repositories during updates; a fresh machine may have no git
# identity, and the tests must not depend on one.
for _variable, _value in (
    ("GIT_AUTHOR_NAME", "template tests"),
    ("GIT_AUTHOR_EMAIL", "tests@learnflow.invalid"),
    ("GIT_COMMITTER_NAME", "template tests"),
    ("GIT_COMMITTER_EMAIL", "tests@learnflow.invalid"),
):
    os.environ.setdefault(_variable, _value)


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


def working_tree_files(root: Path = REPO_ROOT) -> list[str]:
    """Files git tracks or would track (untracked but not ignored), as they are on disk."""
    out = git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=root)
    return [name for name in out.split("\0") if name and (root / name).is_file()]


def snapshot_template(dst: Path, tag: str = TEMPLATE_VERSION) -> Path:
    """Copy the working tree into a fresh git repo at `dst`, commit it and tag it."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in working_tree_files():
        target = dst / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target)
    git("init", "-q", "-b", "main", cwd=dst)
    commit_all(dst, f"template {tag}")
    git("tag", tag, cwd=dst)
    return dst


def commit_all(repo: Path, message: str) -> None:
    git("add", "-A", cwd=repo)
    git(
        "-c",
        "user.name=test",
        "-c",
        "user.email=test@example.invalid",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        message,
        cwd=repo,
    )


# The ceiling on a function: past it, a function does more than one thing.
MAX_FUNCTION_LINES = 80


def functions_longer_than(limit: int, files: list[Path], root: Path) -> list[str]:
    """Every function (nested ones too) in `files` whose span from `def` to its last line
    exceeds `limit` lines, as "path:line name (N lines)"."""
    import ast

    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                span = (node.end_lineno or node.lineno) - node.lineno + 1
                if span > limit:
                    where = f"{path.relative_to(root)}:{node.lineno}"
                    found.append(f"{where} {node.name} ({span} lines)")
    return found


SCRIPT = REPO_ROOT / "scripts" / "generate_agent.py"


def run_wrapper(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    """scripts/generate_agent.py as a user runs it: a subprocess, from `cwd`."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def render_with_wrapper(
    template: Path,
    name: str,
    agent_type: str,
    *extra: str,
    cwd: Path,
    out: Path | str | None = None,
    tag: str = TEMPLATE_VERSION,
    env: dict | None = None,
) -> subprocess.CompletedProcess[str]:
    """The wrapper rendering one service from a test template, pinned to the template's tag."""
    args = ["--name", name, "--type", agent_type]
    if out is not None:
        args += ["--output-dir", str(out)]
    return run_wrapper(
        *args, *extra, "--template", str(template), "--vcs-ref", tag, cwd=cwd, env=env
    )


def new_git_repo(path: Path) -> Path:
    """An empty git repository (a platform repo services are rendered into)."""
    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "-b", "main", cwd=path)
    return path


def stack_answers(agent_type: str, **overrides: object) -> dict[str, object]:
    answers: dict[str, object] = {"agent_name": STACK_NAMES[agent_type], "agent_type": agent_type}
    answers.update(overrides)
    return answers


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def render(tmp_path_factory: pytest.TempPathFactory, template_repo: Path):
    """render(agent_type, **answers) -> a service rendered by copier (cached per answers)."""
    cache: dict[tuple, Path] = {}

    def _render(agent_type: str, **overrides: object) -> Path:
        answers = stack_answers(agent_type, **overrides)
        key = tuple(sorted((k, str(v)) for k, v in answers.items()))
        if key not in cache:
            dst = tmp_path_factory.mktemp(f"svc-{agent_type}")
            copier.run_copy(
                str(template_repo),
                dst,
                data=answers,
                defaults=True,
                unsafe=False,
                quiet=True,
                vcs_ref=TEMPLATE_VERSION,
            )
            cache[key] = dst
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def rendered_stack(tmp_path_factory: pytest.TempPathFactory, template_repo: Path) -> Path:
    """Every type rendered as the LearnFlow stack (`--all`), once per session: copy it with
    `stack_copy` before changing anything."""
    root = tmp_path_factory.mktemp("stack") / "services"
    done = run_wrapper(
        "--all",
        "--output-dir",
        str(root),
        "--template",
        str(template_repo),
        "--vcs-ref",
        TEMPLATE_VERSION,
        cwd=root.parent,
    )
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def stack_copy(rendered_stack: Path, tmp_path: Path) -> Path:
    """A copy of the rendered stack this test may change."""
    copy = tmp_path / "services"
    shutil.copytree(rendered_stack, copy)
    return copy


@pytest.fixture(scope="session", params=AGENT_TYPES)
def agent_type(request: pytest.FixtureRequest) -> str:
    return request.param
