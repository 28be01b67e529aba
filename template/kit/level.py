"""The learner's level when the request does not give one: from the tracker's mastery of the
question's topic.

Mastery is the tracker's Bayesian Knowledge Tracing estimate that the learner knows the topic,
in percent (its progress_model.py documents the parameters). The thresholds:

| mastery of the topic                          | level        |
|-----------------------------------------------|--------------|
| 95% or more over at least 3 graded attempts   | advanced     |
| 60% or more                                   | intermediate |
| below 60%, or the topic never practised       | beginner     |

95% is the tracker's own bar for "mastered" (progress_model.MASTERED); the attempts floor keeps
two lucky passes (BKT puts a learner at 99% after two in a row from its 20% prior) from
skipping the intermediate explanations. 60% is about one passed exercise after a failed one:
the learner has the basics. Whenever the level cannot be known (no topic in the question, no
tracker in embedded mode, the tracker slow or down) the answer is for a beginner, and the reply
says why (data.level_reason): explaining too simply costs a learner less than too tersely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ADVANCED_MASTERY = 95.0
ADVANCED_MIN_ATTEMPTS = 3
INTERMEDIATE_MASTERY = 60.0


class LevelUnknown(Exception):
    """The learner's mastery cannot be asked for; the message says why (the learner reads it
    in data.level_reason)."""


@dataclass(frozen=True)
class LevelChoice:
    level: str
    reason: str
    #: "request": the learner said; "tracker": from their mastery; "default": could not tell.
    source: str


def level_from_mastery(topic: str, record: Any) -> LevelChoice:
    """The level for a learner whose tracker record of `topic` is `record` ({mastery,
    attempts}, or None when they never practised it)."""
    if not isinstance(record, dict) or not isinstance(record.get("mastery"), int | float):
        return LevelChoice(
            "beginner", f"no level given, and no graded practice of {topic} yet", "tracker"
        )
    mastery = float(record["mastery"])
    attempts = int(record.get("attempts") or 0)
    seen = f"mastery of {topic} is {mastery:g}% over {attempts} graded attempt(s)"
    if mastery >= ADVANCED_MASTERY and attempts >= ADVANCED_MIN_ATTEMPTS:
        return LevelChoice("advanced", f"no level given; {seen}", "tracker")
    if mastery >= INTERMEDIATE_MASTERY:
        return LevelChoice("intermediate", f"no level given; {seen}", "tracker")
    return LevelChoice("beginner", f"no level given; {seen}", "tracker")


def default_level(why: str) -> LevelChoice:
    return LevelChoice("beginner", f"no level given, and {why}", "default")
