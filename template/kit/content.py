"""Teaching content is data: the loader every content file goes through, and the one topic
taxonomy every LearnFlow agent shares (kit/topics.yaml).

Content (concepts, exercises, error kinds, labeled queries) lives in YAML or JSON Lines files
under content/, which teachers can review without reading code. Each type validates its files
with its own Pydantic model through this loader at start-up and in its tests, so a mistake in a
file is an error that names the file, the entry and the field, never a wrong answer to a
learner. The taxonomy is the template's: explainer concepts, exercise topics, the tracker's
mastery and the topic the router attaches to a forwarded question all use its ids, so the
stack agrees on what "loops" means.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: The service's own content directory (content/ beside app.py).
CONTENT_DIR = Path(__file__).resolve().parents[1] / "content"
TOPICS_FILE = Path(__file__).with_name("topics.yaml")
SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"

Model = TypeVar("Model", bound=BaseModel)


class ContentError(ValueError):
    """A content file does not match its model; the message names the file, entry and field."""


class ContentModel(BaseModel):
    """Base for content entries: unknown fields are mistakes, entries never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Topic(ContentModel):
    id: str = Field(pattern=SLUG)
    title: str = Field(min_length=3)
    # How learners name it ("dictionary", "for loop"), lower case.
    aliases: tuple[str, ...] = ()


# libyaml's loader when PyYAML was built with it: about 8x faster than the pure-Python one,
# which a service with hundreds of lessons would otherwise pay at every start.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml_list(path: Path) -> list[Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except yaml.YAMLError as error:
        raise ContentError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(data, list):
        raise ContentError(f"{path}: expected a list of entries at the top level")
    return data


def validate_entries(model: type[Model], entries: Iterable[Any], source: str) -> list[Model]:
    items: list[Model] = []
    for index, entry in enumerate(entries, start=1):
        name = entry.get("id", f"entry {index}") if isinstance(entry, dict) else f"entry {index}"
        try:
            items.append(model.model_validate(entry))
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in e['loc']) or 'entry'}: {e['msg']}"
                for e in error.errors()
            )
            raise ContentError(f"{source}: {name}: {problems}") from None
    return items


def load_yaml_dir(model: type[Model], directory: Path) -> list[Model]:
    """Every *.yaml file in `directory`, in name order, each a list of `model` entries."""
    if not directory.is_dir():
        raise ContentError(f"{directory}: the content directory is missing")
    items: list[Model] = []
    for path in sorted(directory.glob("*.yaml")):
        items += validate_entries(model, read_yaml_list(path), str(path))
    return items


def load_jsonl(model: type[Model], path: Path) -> list[Model]:
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except ValueError as error:
            raise ContentError(f"{path}:{number}: not JSON ({error})") from None
    return validate_entries(model, entries, str(path))


def check_unique_ids(items: Iterable[Any], what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ContentError(f"two {what} have the id {item.id!r}")
        seen.add(item.id)


@lru_cache(maxsize=1)
def topics() -> tuple[Topic, ...]:
    """The taxonomy, in the order a beginner meets the topics."""
    found = tuple(validate_entries(Topic, read_yaml_list(TOPICS_FILE), str(TOPICS_FILE)))
    check_unique_ids(found, "topics")
    return found


@lru_cache(maxsize=1)
def topic_ids() -> tuple[str, ...]:
    return tuple(topic.id for topic in topics())


def check_topics(items: Iterable[Any], what: str) -> None:
    """Every item's `topic` is one of the taxonomy's ids."""
    known = set(topic_ids())
    for item in items:
        if item.topic not in known:
            raise ContentError(
                f"{what} {item.id!r} has topic {item.topic!r}, which kit/topics.yaml does not "
                f"define; use one of {', '.join(topic_ids())}"
            )


_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1)
def _alias_patterns() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    """(alias, topic id, pattern) for every alias, longest first, so the most specific name
    wins ("list comprehension" is comprehensions, not lists)."""
    found = [
        (alias, topic.id, _whole_alias(alias))
        for topic in topics()
        for alias in (topic.id, *topic.aliases)
    ]
    return tuple(sorted(found, key=lambda item: -len(item[0])))


def _whole_alias(alias: str) -> re.Pattern[str]:
    """The alias with no word character either side. The "none before" is checked after its
    first character, not before it: a pattern that starts with a literal lets the regex engine
    jump between that character's places in the text, where a leading lookbehind is tried at
    every position (a pasted program is thousands)."""
    first, rest = re.escape(alias[:1]), re.escape(alias[1:])
    return re.compile(rf"{first}(?<!\w{first}){rest}(?!\w)")


@lru_cache(maxsize=1)
def _aliases_by_word() -> tuple[dict[str, tuple[int, ...]], tuple[int, ...]]:
    """The aliases (by their place in _alias_patterns) that each word can start to match, and
    those with no word in them. An alias matched between non-word characters holds each of
    its words as a whole word of the text, so an alias whose first word the text lacks
    cannot match: a question is tried against the few aliases its words name, not all 230
    (which cost 50-290 µs a question)."""
    by_word: dict[str, list[int]] = {}
    wordless: list[int] = []
    for rank, (alias, _, _) in enumerate(_alias_patterns()):
        words = _WORD.findall(alias)
        if words:
            by_word.setdefault(words[0], []).append(rank)
        else:
            wordless.append(rank)
    return {word: tuple(ranks) for word, ranks in by_word.items()}, tuple(wordless)


def topic_of(text: str) -> str | None:
    """The taxonomy topic a learner's text is about, by the longest alias it contains, or
    None when it names none."""
    lowered = " ".join(text.lower().split())
    by_word, wordless = _aliases_by_word()
    ranks = set(wordless)
    for word in set(_WORD.findall(lowered)):
        ranks.update(by_word.get(word, ()))
    patterns = _alias_patterns()
    for rank in sorted(ranks):  # the order of _alias_patterns: the longest alias first
        alias, topic_id, pattern = patterns[rank]
        # `in` first: a plain substring search rules most candidates out at C speed.
        if alias in lowered and pattern.search(lowered):
            return topic_id
    return None
