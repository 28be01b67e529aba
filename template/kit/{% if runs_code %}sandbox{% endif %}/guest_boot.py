"""Runs INSIDE the WebAssembly guest (CPython 3.11 on WASI), before the learner's program.

It loads the standard library a learner's program is likely to use, then calls
os.sched_yield(): that is where the zygote forks, so this much runs once per worker, not once
per program. Each fork continues below with its own /sandbox (main.py and friends), input and
output, runs main.py as __main__ the way `python main.py` would, and exits.

This code is ours but runs where the learner's code runs: it holds no secret and decides
nothing. Verdicts are made outside the guest.
"""

import os
import sys

PRELOAD = (
    "abc", "array", "ast", "base64", "binascii", "bisect", "calendar", "cmath", "collections",
    "collections.abc", "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal", "enum",
    "fractions", "functools", "hashlib", "heapq", "io", "itertools", "json", "keyword",
    "linecache", "math", "numbers", "operator", "pathlib", "pprint", "random", "re",
    "statistics", "string", "struct", "textwrap", "time", "traceback", "types", "typing",
    "unicodedata", "uuid", "warnings", "weakref", "zoneinfo",
)  # fmt: skip

for _name in PRELOAD:
    try:
        __import__(_name)
    except ImportError:
        pass

os.sched_yield()  # <- each run starts here, in its own forked copy of this guest

import random  # noqa: E402  (already loaded above; bound here for the run)
import traceback  # noqa: E402
import types  # noqa: E402

# The zygote's random state was copied into every fork: give each run its own.
random.seed()
os.chdir("/sandbox")
sys.path.insert(0, "/sandbox")
sys.argv = ["main.py"]


def run_main() -> int:
    with open("main.py", "rb") as handle:
        source = handle.read()
    # A fresh module registered as __main__, as `python main.py` (runpy) makes one: dataclasses,
    # pickle and typing look classes up through sys.modules[cls.__module__].
    main = types.ModuleType("__main__")
    main.__file__ = "main.py"
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    try:
        exec(compile(source, "main.py", "exec"), main.__dict__)
    except SystemExit as stop:
        if stop.code is None:
            return 0
        if isinstance(stop.code, int):
            return stop.code & 0xFF
        print(stop.code, file=sys.stderr)
        return 1
    except BaseException as error:  # noqa: BLE001 - the learner's error, shown to them
        # The learner's frames only: this runner's would confuse a traceback reader.
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != "main.py":
            tb = tb.tb_next
        traceback.print_exception(type(error), error, tb)
        return 1
    return 0


_status = run_main()
try:
    sys.stdout.flush()
    sys.stderr.flush()
finally:
    os._exit(_status)
