"""What a new user meets, done as they would do it: commands that work as written, errors that
name what they typed, copier with only a destination, conflicts that never pass silently,
releases and updating across one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import copier
import pytest

from conftest import (
    REGISTRY,
    REPO_ROOT,
    SCRIPT,
    STACK_NAMES,
    commit_all,
    git,
    new_git_repo,
    run_wrapper,
    working_tree_files,
)

PREVIOUS_RELEASE = "v0.1.0"
# The commit that release tags: a clone made without tags (as CI's can be) still has the
# history, so the test tags it itself instead of skipping.
PREVIOUS_RELEASE_COMMIT = "3134dcde3dc4ab5a17ab268c69d774cfcb1815f6"


def test_the_wrapper_without_its_dependencies_says_how_to_get_them(tmp_path):
    # -S: a Python without site-packages, as a system python3 without copier would be.
    done = subprocess.run(
        [sys.executable, "-S", str(SCRIPT), "--name", "t", "--type", "router"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "make install" in done.stderr and "uv run" in done.stderr
    header = SCRIPT.read_text().split('"""', 1)[0]
    assert "# /// script" in header and '"copier==' in header  # PEP 723, for uv/pipx run


def test_errors_name_the_flag_the_user_typed(tmp_path):
    done = run_wrapper("--name", "t", "--type", "router", "--port", "3500", cwd=tmp_path)
    assert done.returncode == 2
    line = done.stderr.strip()
    assert line.startswith("error: --dapr-port (not given, so its default 3500)")
    assert "app port (--port)" in line and "Dapr HTTP port (--dapr-port)" in line


def test_make_generate_quotes_what_it_is_given(tmp_path):
    done = subprocess.run(
        [
            "make",
            "-o",
            "install",  # the repository's environment is already installed
            "generate",
            "NAME=my agent",
            f"PY={sys.executable}",
            f"OUT={tmp_path / 'out'}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "'my agent' is not a lowercase DNS label" in done.stderr
    assert "unrecognized arguments" not in done.stderr


@pytest.mark.parametrize("agent_type", ["router", "explainer"])
def test_copier_copy_with_only_a_destination_names_the_service_after_it(
    template_repo, tmp_path, agent_type
):
    name = STACK_NAMES[agent_type]
    service = tmp_path / "services" / name
    copier.run_copy(str(template_repo), service, defaults=True, quiet=True, vcs_ref="v1.0.0")
    answers = (service / ".copier-answers.yml").read_text()
    assert f"agent_name: {name}" in answers and f"agent_type: {agent_type}" in answers


def test_copier_copy_into_a_folder_of_another_name_asks_for_the_type(template_repo, tmp_path):
    with pytest.raises(ValueError, match="agent_type"):
        copier.run_copy(
            str(template_repo), tmp_path / "tutor", defaults=True, quiet=True, vcs_ref="v1.0.0"
        )


def test_check_reports_conflict_markers_left_behind(render, tmp_path):
    service = tmp_path / "services" / "triage"
    shutil.copytree(render("router"), service)
    agent = service / "agent.py"
    lines = agent.read_text().splitlines()
    lines[5:5] = ["<<<<<<< before updating", "x = 1", "=======", "x = 2", ">>>>>>> after updating"]
    agent.write_text("\n".join(lines) + "\n")
    done = run_wrapper("check", str(service), cwd=tmp_path)
    assert done.returncode == 1
    assert f"{agent}:6: a conflict marker left by `copier update`" in done.stdout


# -- releases -------------------------------------------------------------------------------


@pytest.fixture
def clone(tmp_path) -> Path:
    """The repository's history and tags in a temporary clone, with the working tree (and its
    uncommitted edits) committed on top: releases are made there, never here."""
    target = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--no-hardlinks", str(REPO_ROOT), str(target)], check=True
    )
    for name in git("ls-files", cwd=target).splitlines():
        (target / name).unlink(missing_ok=True)
    for name in working_tree_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, destination)
    commit_all(target, "the working tree")
    return target


def release(clone: Path, version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(clone / "scripts" / "release.py"), version],
        cwd=clone,
        capture_output=True,
        text=True,
    )


def test_release_refuses_without_a_changelog_section_and_tags_with_one(clone):
    missing = release(clone, "7.0.0")
    assert missing.returncode == 1 and "## [7.0.0] - YYYY-MM-DD" in missing.stderr
    assert release(clone, "seven").returncode == 1
    changelog = clone / "CHANGELOG.md"
    changelog.write_text(
        changelog.read_text().replace(
            "## [Unreleased]", "## [Unreleased]\n\n## [7.0.0] - 2026-12-01\n\n- A test release.", 1
        )
    )
    dirty = release(clone, "7.0.0")
    assert dirty.returncode == 1 and "uncommitted" in dirty.stderr
    commit_all(clone, "changelog for 7.0.0")
    done = release(clone, "7.0.0")
    assert done.returncode == 0, done.stderr
    assert "v7.0.0" in git("tag", "--list", cwd=clone).split()
    assert release(clone, "6.9.9").returncode == 1  # not newer than the latest


OWNER_FILES = {
    "OWNERS.md": "team-tutors\n",
    "house_rules.py": '"""Our school\'s own additions."""\n\nMAX_LEVEL = "intermediate"\n',
}


def own(service: Path) -> None:
    """What an owner typically adds: files of their own and a line in a template file."""
    for name, text in OWNER_FILES.items():
        (service / name).write_text(text)
    # At the top: the template's own additions go at the end, and a line each would be a
    # real conflict for copier to mark.
    gitignore = service / ".gitignore"
    gitignore.write_text("local-notes/\n" + gitignore.read_text())


def tree(root: Path) -> dict[str, bytes]:
    skip = {".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not skip & set(p.relative_to(root).parts)
    }


@pytest.mark.parametrize("agent_type", list(REGISTRY))
def test_updating_from_the_previous_release_equals_a_fresh_render(clone, tmp_path, agent_type):
    if PREVIOUS_RELEASE not in git("tag", "--list", cwd=clone).split():
        has_commit = subprocess.run(
            ["git", "cat-file", "-e", f"{PREVIOUS_RELEASE_COMMIT}^{{commit}}"], cwd=clone
        )
        if has_commit.returncode != 0:
            pytest.skip(f"this clone has neither {PREVIOUS_RELEASE} nor its commit (shallow?)")
        git("tag", PREVIOUS_RELEASE, PREVIOUS_RELEASE_COMMIT, cwd=clone)
    old_types = git("show", f"{PREVIOUS_RELEASE}:copier.yml", cwd=clone)
    if f": {agent_type}\n" not in old_types:
        pytest.skip(f"{agent_type} did not exist in {PREVIOUS_RELEASE}")
    git("tag", "v99.0.0", cwd=clone)  # the working tree, as the next release
    answers = {"agent_name": STACK_NAMES[agent_type], "agent_type": agent_type}
    platform = new_git_repo(tmp_path / "platform")
    service = platform / "services" / answers["agent_name"]
    copier.run_copy(
        str(clone), service, data=answers, defaults=True, quiet=True, vcs_ref=PREVIOUS_RELEASE
    )
    commit_all(platform, f"{agent_type} at {PREVIOUS_RELEASE}")
    own(service)
    commit_all(platform, "the owner's changes")
    done = run_wrapper("update", str(service), "--vcs-ref", "v99.0.0", cwd=platform)
    assert done.returncode == 0, done.stdout + done.stderr
    fresh = tmp_path / "fresh" / answers["agent_name"]
    copier.run_copy(str(clone), fresh, data=answers, defaults=True, quiet=True, vcs_ref="v99.0.0")
    own(fresh)
    updated, expected = tree(service), tree(fresh)
    assert sorted(updated) == sorted(expected), (
        set(updated) ^ set(expected),
        done.stdout,
    )
    different = [name for name in expected if updated[name] != expected[name]]
    assert different == [], different
