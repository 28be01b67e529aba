"""This service's settings: every knob an environment variable with a default.

The kit's knobs (ports, Dapr, state store and pub/sub names, the LLM, sandbox limits) come from
KitSettings, with defaults from the answers this service was rendered with. Add your own here:
a field `my_knob: int = 3` is read from MY_KNOB.
"""

from __future__ import annotations

from functools import lru_cache

from kit.settings import KitSettings


class Settings(KitSettings):
    pass


@lru_cache
def get_settings() -> Settings:
    return Settings()
