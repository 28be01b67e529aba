#!/usr/bin/env python3
"""Tag a release of the template: `make release VERSION=1.2.0`.

Refuses, with one line and exit status 1, unless: VERSION is a semantic version newer than
every release tag; CHANGELOG.md has a `## [VERSION] - YYYY-MM-DD` section with content (the
Unreleased notes moved into it); and the working tree is clean. Then it creates the annotated
tag vVERSION on HEAD. It does not push: `git push origin vVERSION` publishes it, after which
services pin it with `--vcs-ref vVERSION`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


class ReleaseRefused(Exception):
    pass


def git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ReleaseRefused(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def release_tags(root: Path) -> list[tuple[int, int, int]]:
    versions = []
    for tag in git("tag", "--list", "v*", cwd=root).split():
        found = SEMVER.match(tag[1:])
        if found:
            versions.append(tuple(int(part) for part in found.groups()))
    return sorted(versions)  # type: ignore[arg-type]


def changelog_section(changelog: str, version: str) -> str:
    """The notes under `## [version] - date`, up to the next `## ` heading."""
    heading = re.search(
        rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}\s*$", changelog, re.M
    )
    if heading is None:
        raise ReleaseRefused(
            f"CHANGELOG.md has no '## [{version}] - YYYY-MM-DD' section; move the Unreleased "
            f"notes under that heading first"
        )
    rest = changelog[heading.end() :]
    following = re.search(r"^## ", rest, re.M)
    notes = rest[: following.start()] if following else rest
    if not notes.strip():
        raise ReleaseRefused(f"CHANGELOG.md's section for {version} is empty; say what changed")
    return notes.strip()


def release(version: str, root: Path = ROOT) -> str:
    found = SEMVER.match(version)
    if not found:
        raise ReleaseRefused(
            f"VERSION={version or '(empty)'} is not a semantic version; use e.g. VERSION=1.2.0"
        )
    wanted = tuple(int(part) for part in found.groups())
    existing = release_tags(root)
    if existing and wanted <= existing[-1]:
        latest = ".".join(map(str, existing[-1]))
        raise ReleaseRefused(f"v{version} is not newer than the latest release v{latest}")
    notes = changelog_section((root / "CHANGELOG.md").read_text(encoding="utf-8"), version)
    if git("status", "--porcelain", cwd=root).strip():
        raise ReleaseRefused("the working tree has uncommitted changes; commit them first")
    git("tag", "-a", f"v{version}", "-m", f"learnflow-agent {version}\n\n{notes}", cwd=root)
    return f"v{version}"


def main(argv: list[str]) -> int:
    version = argv[0].strip() if argv else ""
    try:
        tag = release(version)
    except ReleaseRefused as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"tagged {tag}; publish it with: git push origin {tag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
