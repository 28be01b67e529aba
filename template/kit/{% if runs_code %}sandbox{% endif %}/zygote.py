"""The sandbox worker: one process that holds an initialised guest and forks it per run.

Started by the service (client.py) with an empty environment. It loads the compiled guest,
starts CPython inside it and lets the guest's bootstrap (guest_boot.py) import the standard
library; when the bootstrap calls os.sched_yield() the worker takes over inside that host call
and serves requests, one JSON line each on stdin, answering one JSON line each on stdout. For
every request it forks: the child returns from sched_yield into its own copy of the guest with
its own files, input and output, runs the program and exits. The parent never resumes its
guest; it multiplexes children, enforces their wall clock and collects their output.

Why fork: a fresh guest costs about 60 ms of CPython start-up plus the imports, in every run;
a fork costs about a millisecond and shares the initialised memory copy-on-write. Runs cannot
see each other: each is a separate process that dies when its program ends.

Limits, each reported to the learner by name:
- cpu: a watchdog thread in the child bumps the engine epoch once the child's CPU time passes
  the limit; the guest traps at its next epoch check ("took too long"). RLIMIT_CPU backs it.
- wall: the parent kills a child that outlives its deadline, e.g. one sleeping in a host call,
  which neither fuel nor epochs can interrupt.
- memory: the guest's linear memory is capped by the store's limiter (MemoryError in the guest).
- output: the child stops the guest once stdout+stderr pass the cap; the parent caps reads too.
- file_size / disk: the in-memory writable directory refuses writes past the caps (wasi.py).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import selectors
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script by client.py (python -I cannot add the package dir itself).
if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    __package__ = "kit.sandbox"

from kit.sandbox import build  # noqa: E402
from kit.sandbox.wasi import (  # noqa: E402
    FsLimits,
    GuestExit,
    LimitReached,
    Node,
    WasiHost,
    define_imports,
    directory,
    tree_from_files,
)

STDLIB_MOUNT = "/usr/local/lib"
WORK_MOUNT = "/sandbox"
WORK_FD = 4  # the preopens are fds 3 (stdlib) and 4 (the run's directory)
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
CHILD_STATUS_OK = 0


@dataclass
class Child:
    """A run in progress, as the parent sees it."""

    request_id: Any
    pid: int
    pidfd: int
    pipes: dict[int, str]  # fd -> "stdout" | "stderr" | "status"
    deadline: float
    started: float
    output_cap: int
    chunks: dict[str, bytearray] = field(
        default_factory=lambda: {
            "stdout": bytearray(),
            "stderr": bytearray(),
            "status": bytearray(),
        }
    )
    exited: bool = False
    wait_status: int = 0
    timed_out: bool = False
    truncated: bool = False


class Worker:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, Child] = {}  # pid -> child
        self.control_buffer = b""
        self.in_child = False
        self.network_isolated = False

    # -- set-up, in the worker ----------------------------------------------------------
    def start_guest(self) -> None:
        from wasmtime import Engine, Func, Linker, Memory, Store

        self.engine = Engine(build.engine_config())
        module = build.load_module(self.engine, _cache_dir(self.settings))
        stdlib = tree_from_files(build.stdlib_files(), writable=False)
        boot = (Path(__file__).with_name("guest_boot.py")).read_text(encoding="utf-8")
        self.host = WasiHost(
            argv=["python", "-I", "-S", "-c", boot],
            preopens=[(STDLIB_MOUNT, stdlib), (WORK_MOUNT, directory(writable=True))],
            on_yield=self.on_yield,
        )
        self.store = Store(self.engine)
        self.store.set_limits(memory_size=int(self.settings["memory_bytes"]))
        # The worker never advances the epoch; a child's watchdog does, once, to stop it.
        self.store.set_epoch_deadline(1)
        linker = Linker(self.engine)
        define_imports(linker, module, self.host)
        instance = linker.instantiate(self.store, module)
        exports = instance.exports(self.store)
        memory, start = exports["memory"], exports["_start"]
        if not isinstance(memory, Memory) or not isinstance(start, Func):
            raise TypeError("the guest module does not export its memory and _start")
        self.host.memory = memory
        self.host.store = self.store
        self.start = start

    def run_guest(self) -> None:
        """Start CPython in the guest. In the worker this returns only if the guest failed to
        reach its bootstrap's sched_yield; in each forked child it is where the run ends."""
        from wasmtime import Trap, WasmtimeError

        outcome: dict[str, Any]
        try:
            self.start(self.store)
            outcome = {"exit_code": 0}
        except GuestExit as stop:
            outcome = {"exit_code": stop.code}
        except LimitReached as reached:
            outcome = {"exit_code": 1, "limit": reached.limit}
        except Trap as trap:
            outcome = self._trap_outcome(trap)
        except WasmtimeError as error:
            outcome = {"exit_code": 1, "limit": None, "trap": str(error).splitlines()[0]}
        if self.in_child:
            self._finish_child(outcome)
        _answer({"ready": False, "error": f"the guest stopped before it was ready: {outcome}"})
        os._exit(1)

    def _trap_outcome(self, trap: Any) -> dict[str, Any]:
        from wasmtime import TrapCode

        code = trap.trap_code
        text = str(trap)
        if code == TrapCode.INTERRUPT:
            return {"exit_code": 1, "limit": "cpu"}
        if code == TrapCode.STACK_OVERFLOW or _wrapped_stack_pointer(text):
            return {"exit_code": 1, "limit": "stack"}
        pages = self.host.memory.size(self.store)
        near_cap = pages * 65536 + (8 << 20) >= int(self.settings["memory_bytes"])
        return {
            "exit_code": 1,
            "limit": "memory" if near_cap else "crash",
            "trap": (code.name if code else "trap") + ": " + text.splitlines()[-1].strip(),
        }

    # -- the worker's loop, inside the guest's sched_yield ---------------------------------
    def on_yield(self) -> int:
        if self.in_child:
            return 0  # the learner's own os.sched_yield(): a no-op
        _answer(
            {
                "ready": True,
                "python": build.GUEST_PYTHON,
                "pid": os.getpid(),
                "network_namespace": self.network_isolated,
            }
        )
        self.selector.register(0, selectors.EVENT_READ, "control")
        while True:
            timeout = self._next_timeout()
            for key, _ in self.selector.select(timeout):
                if key.data == "control":
                    for request in self._read_control():
                        if self._start_child(request):
                            return 0  # we are the child: back into the guest to run it
                elif key.data == "pidfd":
                    self._reap(key.fd)
                else:
                    self._read_pipe(key.fd)
            self._enforce_deadlines()

    def _next_timeout(self) -> float | None:
        deadlines = [c.deadline for c in self.children.values() if not c.timed_out]
        if deadlines:
            return max(0.0, min(deadlines) - time.monotonic())
        return 0.05 if self.children else None  # killed children still to be reaped

    def _read_control(self) -> list[dict[str, Any]]:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            self._shutdown()  # the service closed the channel: it is gone or stopping us
        self.control_buffer += chunk
        *lines, self.control_buffer = self.control_buffer.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]

    def _start_child(self, request: dict[str, Any]) -> bool:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        status_r, status_w = os.pipe()
        try:
            pid = os.fork()
        except OSError as error:
            for fd in (out_r, out_w, err_r, err_w, status_r, status_w):
                os.close(fd)
            _answer({"id": request["id"], "error": f"could not start the run ({error})"})
            return False
        if pid == 0:
            for fd in (out_r, err_r, status_r):
                os.close(fd)
            self._become_child(request, out_w, err_w, status_w)
            return True
        for fd in (out_w, err_w, status_w):
            os.close(fd)
        limits = request["limits"]
        now = time.monotonic()
        child = Child(
            request_id=request["id"],
            pid=pid,
            pidfd=os.pidfd_open(pid),
            pipes={out_r: "stdout", err_r: "stderr", status_r: "status"},
            deadline=now + float(limits["wall_seconds"]),
            started=now,
            output_cap=int(limits["output_bytes"]),
        )
        self.children[pid] = child
        self.selector.register(child.pidfd, selectors.EVENT_READ, "pidfd")
        for fd in child.pipes:
            self.selector.register(fd, selectors.EVENT_READ, "pipe")
        return False

    def _read_pipe(self, fd: int) -> None:
        child = next(c for c in self.children.values() if fd in c.pipes)
        kind = child.pipes[fd]
        chunk = os.read(fd, 65536)
        if not chunk:
            self.selector.unregister(fd)
            os.close(fd)
            del child.pipes[fd]
            self._maybe_answer(child)
            return
        buffer = child.chunks[kind]
        room = child.output_cap + 4096 - len(buffer) if kind != "status" else 65536
        buffer += chunk[: max(room, 0)]
        if len(chunk) > room:
            child.truncated = True
            _kill(child.pid)

    def _reap(self, pidfd: int) -> None:
        child = next(c for c in self.children.values() if c.pidfd == pidfd)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        # Closed: a run forked from now on must not close this number again (it may already
        # be one of that run's own pipes).
        child.pidfd = -1
        _, child.wait_status = os.waitpid(child.pid, 0)
        child.exited = True
        self._maybe_answer(child)

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for child in self.children.values():
            if not child.timed_out and now >= child.deadline:
                child.timed_out = True
                _kill(child.pid)

    def _maybe_answer(self, child: Child) -> None:
        if not child.exited or child.pipes:
            return
        del self.children[child.pid]
        _answer(_reply(child))

    def _shutdown(self) -> None:
        for child in self.children.values():
            _kill(child.pid)
        os._exit(0)

    # -- in the child ----------------------------------------------------------------------
    def _become_child(self, request: dict[str, Any], out_w: int, err_w: int, status_w: int) -> None:
        self.in_child = True
        self.status_fd = status_w
        # Nothing of the worker's or of other runs stays open in this run's process.
        for other in self.children.values():
            for fd in (other.pidfd, *other.pipes):
                if fd >= 0:
                    os.close(fd)
        self.children.clear()
        self.selector.close()
        os.close(0)  # the control channel is the worker's, never a run's
        os.close(1)
        limits = request["limits"]
        _die_with_parent()
        cap = int(limits["output_bytes"])
        written = [0]
        streams = {1: out_w, 2: err_w}

        def sink(fd: int, data: bytes) -> None:
            room = cap - written[0]
            written[0] += len(data)
            _write_all(streams[fd], data[: max(room, 0)])
            if written[0] > cap:
                raise LimitReached("output")

        files = directory(writable=True)
        self.host.limits = FsLimits(
            file_bytes=int(limits["file_size_bytes"]),
            total_bytes=int(limits["disk_bytes"]),
            entries=int(limits["max_files"]),
            open_files=int(limits["open_files"]),
        )
        for name, text in request["files"].items():
            files.add(name, Node(is_dir=False, writable=True, data=bytearray(text.encode())))
        self.host.start_run(
            stdin=request.get("stdin", "").encode(), sink=sink, workdir_fd=WORK_FD, files=files
        )
        cpu = float(limits["cpu_seconds"])
        threading.Thread(target=_cpu_watchdog, args=(self.engine, cpu), daemon=True).start()
        _confine_run_process(cpu)

    def _finish_child(self, outcome: dict[str, Any]) -> None:
        _write_all(self.status_fd, json.dumps(outcome).encode())
        os._exit(CHILD_STATUS_OK)


def _wrapped_stack_pointer(trap_text: str) -> bool:
    """CPython's C stack lives in the guest's linear memory and grows down from a fixed
    address; C recursion past its bottom wraps the stack pointer below zero, and the access
    faults at an address near 4 GiB (far past any memory the guest has)."""
    match = re.search(r"memory fault at wasm address 0x([0-9a-f]+)", trap_text)
    return match is not None and int(match.group(1), 16) >= 1 << 31


def _cpu_watchdog(engine: Any, limit_s: float) -> None:
    # time.process_time() counts this child's CPU only: a fork starts from zero.
    while time.process_time() < limit_s:
        time.sleep(0.005)
    engine.increment_epoch()


def _isolate_network() -> bool:
    """Defence in depth, best effort: a new network namespace (no interfaces but a downed
    loopback) for the worker and every run it forks, should the guest ever escape WebAssembly.
    A pod's default seccomp profile refuses unshare; the guest has no sockets either way."""
    CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
    flags = CLONE_NEWNET if os.getuid() == 0 else CLONE_NEWUSER | CLONE_NEWNET
    try:
        return bool(ctypes.CDLL(None, use_errno=True).unshare(flags) == 0)
    except (OSError, AttributeError):
        return False


def _confine_run_process(cpu_seconds: float) -> None:
    """The run's process needs nothing but its pipes. Should the guest ever break out of
    WebAssembly, this process may not: gain privileges, start processes (the watchdog thread
    is already running), write files, or use more CPU than the run was given."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    seconds = int(cpu_seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _die_with_parent() -> None:
    # If the worker dies (or is killed by the service), so do its runs.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _answer(message: dict[str, Any]) -> None:
    _write_all(1, json.dumps(message).encode() + b"\n")


def _reply(child: Child) -> dict[str, Any]:
    status_text = bytes(child.chunks["status"]).decode("utf-8", "replace")
    try:
        outcome = json.loads(status_text) if status_text else {}
    except ValueError:
        outcome = {}
    limit = outcome.get("limit")
    exit_code = outcome.get("exit_code")
    if child.timed_out:
        limit = "wall"
    elif exit_code is None:
        # The child died without reporting: killed by a signal we sent (output) or RLIMIT_CPU.
        died_by = -os.waitstatus_to_exitcode(child.wait_status)
        if child.truncated:
            limit = "output"
        elif died_by in (signal.SIGXCPU, signal.SIGKILL):
            limit = "cpu"
        else:
            limit = limit or "crash"
    if child.truncated and limit is None:
        limit = "output"
    cap = child.output_cap
    stdout = bytes(child.chunks["stdout"])
    stderr = bytes(child.chunks["stderr"])
    return {
        "id": child.request_id,
        "stdout": stdout[:cap].decode("utf-8", "replace"),
        "stderr": stderr[:cap].decode("utf-8", "replace"),
        "exit_code": 1 if exit_code is None else int(exit_code),
        "limit": limit,
        "trap": outcome.get("trap"),
        "truncated": child.truncated or len(stdout) > cap or len(stderr) > cap,
        "duration_s": round(time.monotonic() - child.started, 4),
    }


def _cache_dir(settings: dict[str, Any]) -> Path | None:
    value = settings.get("cache_dir")
    return Path(value) if value else None


def main() -> None:
    settings = json.loads(sys.argv[1])
    # No parent-death signal here: it fires when the service THREAD that started us exits.
    # The worker stops when the service closes its end of the control pipe instead.
    worker = Worker(settings)
    worker.network_isolated = _isolate_network()
    try:
        worker.start_guest()
    except Exception as error:  # noqa: BLE001 - reported to the service, which says it on /ready
        _answer({"ready": False, "error": f"{type(error).__name__}: {error}"})
        raise SystemExit(1) from None
    worker.run_guest()


if __name__ == "__main__":
    main()
