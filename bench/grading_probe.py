"""Run inside a rendered generator service (its directory first on sys.path): sum-of-evens
graded in the WebAssembly sandbox against a bare `python -I -S` subprocess running the same
calls, and the sandbox's compile, start and memory figures. Prints one JSON line.

    python bench/grading_probe.py <generator service dir> <runs>

bench/run.py starts it as a subprocess so the service's modules never load into the bench.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SERVICE, RUNS = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, SERVICE)
os.environ["SANDBOX_CONCURRENCY"] = "4"

from exercise_bank import get_exercise  # type: ignore[import-not-found]  # noqa: E402
from grading import grade_submission  # type: ignore[import-not-found]  # noqa: E402
from kit.sandbox.client import SandboxClient  # noqa: E402
from kit.sandbox.runner import run_python, sandbox_client  # noqa: E402


def quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
    }


def latencies(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def throughput(fn: Callable[[], object], workers: int, n: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda _: fn(), range(n)))
    return round(n / (time.perf_counter() - started), 1)


def compile_and_start() -> dict[str, float]:
    """The guest's first compile (an empty cache) and a worker's start from the cached module."""
    with tempfile.TemporaryDirectory() as empty:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "kit.sandbox.build", empty],
            cwd=SERVICE,
            check=True,
            capture_output=True,
        )
        compile_s = time.perf_counter() - started
    starts = []
    for _ in range(5):
        client = SandboxClient(memory_bytes=256 << 20)
        started = time.perf_counter()
        client.start()
        starts.append(time.perf_counter() - started)
        client.close()
    return {
        "first_compile_s": round(compile_s, 2),
        "cached_worker_start_s": round(statistics.median(starts), 3),
    }


def private_kib(pid: int) -> int:
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    return sum(
        int(line.split()[1])
        for line in text.splitlines()
        if line.startswith(("Private_Clean", "Private_Dirty"))
    )


def memory() -> dict[str, float | None]:
    """The worker (zygote) once, and what each concurrent run adds (its private pages; the
    rest it shares copy-on-write with the worker)."""
    zygote = sandbox_client()._process.pid
    samples: list[int] = []

    def sample() -> None:
        time.sleep(0.4)
        children = Path(f"/proc/{zygote}/task/{zygote}/children").read_text().split()
        samples.extend(private_kib(int(pid)) for pid in children)

    threading.Thread(target=sample).start()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: run_python("import time, json\ntime.sleep(1)"), range(4)))
    status = Path(f"/proc/{zygote}/status").read_text().splitlines()
    rss_kib = next(line for line in status if line.startswith("VmRSS")).split()[1]
    return {
        "worker_rss_mib": round(int(rss_kib) / 1024, 1),
        "run_private_mib": round(statistics.median(samples) / 1024, 1) if samples else None,
    }


def main() -> None:
    exercise = get_exercise("sum-of-evens")
    code = exercise.solution
    calls = [list(c.args) for c in (*exercise.examples, *exercise.hidden_tests)]
    bare_source = f"{code}\nimport json\nprint(json.dumps([sum_of_evens(*a) for a in {calls!r}]))"

    def bare() -> object:
        return subprocess.run(
            [sys.executable, "-I", "-S", "-c", bare_source], capture_output=True, check=True
        )

    def grade() -> object:
        return grade_submission(exercise, code)

    result: dict[str, object] = dict(compile_and_start())
    grade()  # warm both before timing
    bare()
    result["sandbox"] = quantiles(latencies(grade, RUNS))
    result["bare"] = quantiles(latencies(bare, RUNS))
    result["throughput"] = {
        str(workers): {
            "sandbox_per_s": throughput(grade, workers, RUNS * 2),
            "bare_per_s": throughput(bare, workers, RUNS * 2),
        }
        for workers in (1, 2, 4)
    }
    result |= memory()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
