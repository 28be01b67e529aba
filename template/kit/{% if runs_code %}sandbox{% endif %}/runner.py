"""Running learner (or LLM-written) code: always in the WebAssembly sandbox, never here.

One sandbox worker per service process, started in the lifespan (in a thread: the first start
may compile the guest). A semaphore bounds how many programs run at once, so a burst of
submissions cannot starve the web server of its CPUs; each blocking call runs in a thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kit.interfaces import DependencyUnavailable, Tool
from kit.sandbox.client import RunResult, SandboxClient, SandboxLimits, SandboxUnavailable

__all__ = [
    "RunResult",
    "SandboxLimits",
    "SandboxUnavailable",
    "in_sandbox",
    "limits_from",
    "run_code",
    "run_code_tool",
    "run_python",
    "sandbox_client",
    "sandbox_status",
    "start_sandbox",
]

T = TypeVar("T")
_client: SandboxClient | None = None
_client_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None


def limits_from(settings: Any) -> SandboxLimits:
    return SandboxLimits(
        cpu_seconds=settings.sandbox_cpu_seconds,
        wall_seconds=settings.sandbox_wall_seconds,
        memory_bytes=settings.sandbox_memory_mb * 1024 * 1024,
    )


def sandbox_client(settings: Any | None = None) -> SandboxClient:
    """The process's one sandbox worker (started on first use if the lifespan did not)."""
    global _client, _slots
    with _client_lock:
        if _client is None:
            if settings is None:
                from kit.settings import KitSettings

                settings = KitSettings()
            cache = settings.sandbox_cache_dir
            _client = SandboxClient(
                memory_bytes=settings.sandbox_memory_mb * 1024 * 1024,
                cache_dir=Path(cache) if cache else None,
            )
            # A thread semaphore (not asyncio's): the runs happen in worker threads, and tests
            # drive the service from more than one event loop.
            _slots = threading.BoundedSemaphore(settings.sandbox_concurrency)
        return _client


def start_sandbox(settings: Any) -> None:
    """Blocking: start the worker (compiling the guest if its cache is empty)."""
    sandbox_client(settings).start()


def sandbox_status() -> tuple[bool, str | None]:
    """(ready, why not) for /ready."""
    if _client is None:
        return False, "the code sandbox has not started"
    if _client.ready:
        return True, None
    return False, _client.error or "the code sandbox is starting"


def run_python(
    code: str,
    *,
    stdin: str = "",
    limits: SandboxLimits | None = None,
    extra_files: dict[str, str] | None = None,
) -> RunResult:
    """Blocking: run `code` as main.py (with `extra_files` beside it) in the sandbox."""
    client = sandbox_client()
    files = {**(extra_files or {}), "main.py": code}
    assert _slots is not None
    with _slots:
        return client.run(files, stdin=stdin, limits=limits)


async def in_sandbox(settings: Any, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking sandbox call (run_python, grade_submission) without blocking the loop.
    A sandbox that cannot run code is a dependency that is down: 503 / RETRY, never a 500."""
    sandbox_client(settings)
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except SandboxUnavailable as error:
        raise DependencyUnavailable(f"the code sandbox is unavailable ({error})") from error


async def run_code(settings: Any, code: str, stdin: str = "") -> RunResult:
    return await in_sandbox(settings, run_python, code, stdin=stdin, limits=limits_from(settings))


def run_code_tool(settings: Any) -> Tool:
    """`run_code_safely` for the LLM: run a short Python snippet, get stdout/stderr back."""

    async def run(arguments: dict[str, Any]) -> dict[str, Any]:
        code = arguments.get("code")
        if not isinstance(code, str) or not code.strip():
            return {"error": "pass the Python source to run in `code`"}
        try:
            result = await run_code(settings, code[:20_000])
        except DependencyUnavailable as error:
            return {"error": f"the sandbox is unavailable: {error}"}
        return {
            "stdout": result.stdout[-4000:],
            "stderr": result.stderr[-4000:],
            "exit_code": result.exit_code,
            "stopped_by_limit": result.limit,
        }

    return Tool(
        name="run_code_safely",
        description="Run a short, self-contained Python 3.11 snippet in an isolated "
        "WebAssembly sandbox (no network, no files kept, a few seconds of CPU) and return "
        "its output.",
        parameters={
            "type": "object",
            "properties": {"code": {"type": "string", "description": "Python source to run"}},
            "required": ["code"],
            "additionalProperties": False,
        },
        run=run,
    )
