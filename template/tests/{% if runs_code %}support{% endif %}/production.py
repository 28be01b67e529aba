"""Running this service (or its tests) the way the pod runs it: the Dockerfile's non-root
user, and a container runtime's default seccomp profile (tests/support/restricted_launch.py).

The conditions a sandbox test runs in:
- "pod": uid 10001 with the container filter (only when these tests run as root, which can
  become another user; a non-root run is already non-root);
- "root": the current user (root on most CI machines) with the container filter.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

SERVICE_ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = Path(__file__).with_name("restricted_launch.py")
POD_UID = 10001  # the Dockerfile's USER and the Deployment's runAsUser
SECCOMP_HINT = (
    "needs libseccomp's Python bindings to apply a container's seccomp profile "
    "(Debian/Ubuntu: apt-get install python3-seccomp)"
)


def pod_python() -> str:
    """A Python with this service's requirements that the pod's user can run (a CI machine's
    own interpreter may live under a home directory that user cannot enter, as an image's
    never does), built once from the system interpreter, which has libseccomp's bindings."""
    system = "/usr/bin/python3"
    probe = subprocess.run([system, "-c", "import seccomp"], capture_output=True, check=False)
    if not Path(system).exists() or probe.returncode != 0:
        if os.environ.get("LEARNFLOW_REQUIRE_SECCOMP"):
            pytest.fail(SECCOMP_HINT)
        pytest.skip(SECCOMP_HINT)
    requirements = (SERVICE_ROOT / "requirements.txt").read_bytes()
    digest = hashlib.sha256(requirements + sys.version.encode()).hexdigest()[:12]
    home = Path(tempfile.gettempdir()) / f"learnflow-pod-python-{digest}"
    python = home / "bin" / "python"
    # One builder at a time: test runs in parallel (pytest -n) share this interpreter.
    with open(f"{home}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / ".complete").exists():
            _build_pod_python(home, system)
    return str(python)


def _build_pod_python(home: Path, system: str) -> None:
    python = home / "bin" / "python"
    shutil.rmtree(home, ignore_errors=True)
    virtualenv = [sys.executable, "-m", "virtualenv", "-q", "--system-site-packages"]
    subprocess.run([*virtualenv, "-p", system, str(home)], check=True)
    requirements = str(SERVICE_ROOT / "requirements.txt")
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", requirements, "pytest"], check=True)
    (home / ".complete").touch()


def conditions() -> list[str]:
    return ["pod", "root"] if os.geteuid() == 0 else ["non-root"]


def restricted_python(condition: str, args: list[str]) -> list[str]:
    """The command line that runs `python ARGS` under the condition's user and filter."""
    python = pod_python()
    launcher = [python, str(LAUNCHER)]
    if condition == "pod":
        launcher += ["--uid", str(POD_UID), "--gid", str(POD_UID)]
    return [*launcher, "--", python, *args]


def readable_copy(condition: str) -> Path:
    """The service copied where the pod's user can read it, with a writable state dir and
    the compiled sandbox module beside it (as the image carries it from its build step)."""
    root = Path(tempfile.mkdtemp(prefix="pod-"))
    root.chmod(0o755)
    ignore = shutil.ignore_patterns(".venv", ".pytest_cache", "__pycache__", ".learnflow")
    service = root / "service"
    shutil.copytree(SERVICE_ROOT, service, ignore=ignore)
    from kit.sandbox.build import compiled_module_path
    from kit.sandbox.runner import sandbox_client

    sandbox_client().start()  # compiles the module into this user's cache if needed
    cache = root / "sandbox-cache"
    cache.mkdir()
    module = compiled_module_path()
    shutil.copy2(module, cache / module.name)
    state = root / "state"
    state.mkdir()
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    if condition == "pod":
        os.chown(state, POD_UID, POD_UID)
    return root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(base_url: str, headers: dict[str, str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(f"{base_url}/ready", headers=headers)
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError as error:
            last = error
        time.sleep(0.2)
    raise AssertionError(f"the service did not become ready: {last}")
