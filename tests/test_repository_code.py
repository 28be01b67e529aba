"""The template repository's own code (the wrapper, the hooks, the stack, the preflight, the
bench) passes the same checks a service's does: ruff and the type checker."""

from __future__ import annotations

import subprocess
import sys

from conftest import MAX_FUNCTION_LINES, REPO_ROOT, functions_longer_than, working_tree_files


def test_the_repository_code_type_checks():
    done = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-4000:]


def test_the_repository_code_is_ruff_clean():
    for command in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command], cwd=REPO_ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout[-4000:]


def test_no_function_in_the_repository_code_is_over_the_line_limit():
    files = [
        REPO_ROOT / name
        for name in working_tree_files()
        if name.endswith(".py") and name.split("/")[0] in {"scripts", "hooks", "bench", "tests"}
    ]
    assert files
    assert not functions_longer_than(MAX_FUNCTION_LINES, files, REPO_ROOT)
