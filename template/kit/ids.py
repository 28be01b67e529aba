"""Ids that must be unique (request ids, embedded etags and event ids), made without a system
call each: uuid4 reads os.urandom on every call, a cost on every request. A random prefix per
process, redrawn in a forked child, then a counter: as unique as uuid4's hex for our purposes,
32 hex characters like it."""

from __future__ import annotations

import itertools
import os

_prefix = ""
_numbers = itertools.count(1)


def _draw_prefix() -> None:
    global _prefix, _numbers
    _prefix = os.urandom(8).hex()
    _numbers = itertools.count(1)


_draw_prefix()
os.register_at_fork(after_in_child=_draw_prefix)


def unique_id() -> str:
    return f"{_prefix}{next(_numbers):016x}"
