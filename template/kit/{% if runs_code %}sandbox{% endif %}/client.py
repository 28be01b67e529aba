"""The service's side of the sandbox: starts the worker (zygote.py), sends it programs and
waits for their results. Thread-safe and blocking; async callers use it from a thread.

The worker is a separate process started with an empty environment (the service's
OPENAI_API_KEY and Dapr tokens never reach it) in its own session; if it dies it is started
again on the next run. There is no weaker fallback: if the WebAssembly guest cannot start, code
is not run at all and the service says so (/ready, and a clear answer to the learner).
"""

from __future__ import annotations

import itertools
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

GUEST_PYTHON_VERSION = "3.11.1"
# Compiling the guest on a machine without the cached module takes ~5-10 s on 2 cores.
START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: float = 2.0  # CPU the program may use; a busy loop stops here
    wall_seconds: float = 5.0  # real time, for a program that sleeps or waits
    memory_bytes: int = 256 * 1024 * 1024  # the guest's linear memory
    output_bytes: int = 64 * 1024  # stdout + stderr; more is a runaway loop
    file_size_bytes: int = 1024 * 1024  # any one file it writes
    disk_bytes: int = 4 * 1024 * 1024  # everything it writes
    max_files: int = 256  # files and directories it creates
    open_files: int = 32


@dataclass(frozen=True)
class RunResult:
    stdout: str
    stderr: str
    exit_code: int
    # Which limit stopped the program, if one did: "cpu", "wall", "memory", "output",
    # "file_size", "disk", "stack" or "crash" (the guest itself failed).
    limit: str | None
    truncated: bool
    duration_s: float

    @property
    def timed_out(self) -> bool:
        return self.limit in ("cpu", "wall")

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.limit is None


class SandboxUnavailable(RuntimeError):
    """The WebAssembly sandbox could not start; no code is run without it."""


class SandboxClient:
    """One worker process; many runs at once (each a forked child of the worker)."""

    def __init__(self, *, memory_bytes: int, cache_dir: Path | None = None) -> None:
        self._memory_bytes = memory_bytes
        self._cache_dir = cache_dir
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._ready = threading.Event()
        self.error: str | None = None
        self.started_s: float | None = None
        #: What the worker said when it started (guest version, network namespace, pid).
        self.worker_info: dict[str, Any] = {}

    # -- life cycle ---------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        process = self._process
        return self._ready.is_set() and process is not None and process.poll() is None

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start the worker and wait until its guest is initialised (compiling the module
        first if it is not cached). Raises SandboxUnavailable with the reason."""
        with self._lock:
            if self.ready:
                return
            self._spawn(timeout)

    def _spawn(self, timeout: float) -> None:
        started = time.perf_counter()
        _make_undumpable()
        self._stop_process()
        self._ready.clear()
        settings = {
            "memory_bytes": self._memory_bytes,
            "cache_dir": str(self._cache_dir) if self._cache_dir else None,
        }
        zygote = Path(__file__).with_name("zygote.py")
        env = {}
        if self._cache_dir is None and "SANDBOX_CACHE_DIR" in os.environ:
            settings["cache_dir"] = os.environ["SANDBOX_CACHE_DIR"]
        if "HOME" in os.environ:
            env["HOME"] = os.environ["HOME"]  # only to find the default module cache
        process = subprocess.Popen(
            [sys.executable, "-I", str(zygote), json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd="/",
            start_new_session=True,
            close_fds=True,
        )
        hello = _read_line(process, timeout)
        if not hello or not hello.get("ready"):
            reason = (hello or {}).get("error") or "the sandbox worker did not start in time"
            _kill_group(process)
            self.error = reason
            raise SandboxUnavailable(reason)
        self._process = process
        self.worker_info = hello
        self.error = None
        self.started_s = time.perf_counter() - started
        threading.Thread(target=self._read_replies, args=(process,), daemon=True).start()
        self._ready.set()

    def close(self) -> None:
        with self._lock:
            self._stop_process()

    def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            _kill_group(process)
        self._fail_pending("the sandbox worker stopped")

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(SandboxUnavailable(reason))

    def _read_replies(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            future = self._pending.pop(reply.get("id"), None)
            if future is not None and not future.done():
                future.set_result(reply)
        # The worker exited: whatever was in flight will not be answered.
        if self._process is process:
            self._ready.clear()
        self._fail_pending("the sandbox worker exited")

    # -- runs ---------------------------------------------------------------------------
    def run(
        self,
        files: dict[str, str],
        *,
        stdin: str = "",
        limits: SandboxLimits | None = None,
    ) -> RunResult:
        """Run files["main.py"] with the others beside it in the guest's /sandbox."""
        limits = limits or SandboxLimits()
        if "main.py" not in files:
            raise ValueError("the program to run must be files['main.py']")
        for name in files:
            if "/" in name or name in ("", ".", ".."):
                raise ValueError(f"file name {name!r} must be a plain name in the run's directory")
        if not self.ready:
            self.start()
        request_id = next(self._ids)
        future: Future[dict[str, Any]] = Future()
        with self._lock:
            process = self._process
            if process is None or process.stdin is None:
                raise SandboxUnavailable(self.error or "the sandbox worker is not running")
            self._pending[request_id] = future
            request = {"id": request_id, "files": files, "stdin": stdin, "limits": asdict(limits)}
            try:
                process.stdin.write(json.dumps(request).encode() + b"\n")
                process.stdin.flush()
            except OSError as error:
                self._pending.pop(request_id, None)
                self._ready.clear()
                raise SandboxUnavailable(
                    "the sandbox worker is gone; it restarts on the next run"
                ) from error
        try:
            reply = future.result(timeout=limits.wall_seconds + 10)
        except FutureTimeout:
            # The worker itself stopped answering (the wall clock is its job): replace it.
            self._pending.pop(request_id, None)
            with self._lock:
                if self._process is process:
                    self._stop_process()
            raise SandboxUnavailable("the sandbox worker stopped answering") from None
        if "error" in reply:
            raise SandboxUnavailable(reply["error"])
        return RunResult(
            stdout=reply["stdout"],
            stderr=reply["stderr"],
            exit_code=reply["exit_code"],
            limit=_limit(reply),
            truncated=reply["truncated"],
            duration_s=reply["duration_s"],
        )


def _make_undumpable() -> None:
    """Defence in depth: a process of the same user (a run that broke out of WebAssembly, in
    the worst case) cannot read a non-dumpable process's memory or /proc/<pid>/environ, where
    this service keeps its API keys. It also stops core dumps and same-user debuggers."""
    if sys.platform != "linux":
        return
    import ctypes

    PR_SET_DUMPABLE = 4
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _limit(reply: dict[str, Any]) -> str | None:
    limit = reply.get("limit")
    if limit is None and reply["exit_code"] != 0:
        last = reply["stderr"].strip().splitlines()[-1:] or [""]
        if last[0].startswith("MemoryError"):
            return "memory"
    return limit


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> dict[str, Any] | None:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    fd = process.stdout.fileno()
    buffer = b""
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return None
        buffer += chunk
    line, _, rest = buffer.partition(b"\n")
    if rest:
        raise RuntimeError("the sandbox worker said more than hello before any request")
    try:
        hello = json.loads(line)
    except ValueError:
        return None
    return hello if isinstance(hello, dict) else None


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
