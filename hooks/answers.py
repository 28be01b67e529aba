"""Answer checks shared by copier.yml and scripts/generate_agent.py.

copier.yml stays the single source of truth: this module reads its questions, choices,
defaults and validator expressions and evaluates them the way Copier does (a sandboxed Jinja
environment with the same filters), so the wrapper can refuse bad input before anything is
written, with Copier's own words.

Run as a script to check a service's answers file (e.g. after editing it by hand):
    python hooks/answers.py services/triage/.copier-answers.yml
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2.sandbox import SandboxedEnvironment

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
COPIER_YML = TEMPLATE_ROOT / "copier.yml"


@dataclass(frozen=True)
class Question:
    name: str
    type: str
    help: str
    default: Any
    # A mapping label -> value, or a Jinja string that renders to one (built from the registry).
    choices: dict[str, Any] | str | None
    validator: str | None
    computed: bool


@lru_cache
def questions(path: Path = COPIER_YML) -> dict[str, Question]:
    raw = yaml.safe_load(path.read_text())
    found: dict[str, Question] = {}
    for name, spec in raw.items():
        if name.startswith("_") or not isinstance(spec, dict):
            continue
        choices = spec.get("choices")
        if isinstance(choices, list):
            choices = {str(c): c for c in choices}
        found[name] = Question(
            name=name,
            type=spec.get("type", "str"),
            help=str(spec.get("help", "")).strip(),
            default=spec.get("default"),
            choices=choices,
            validator=spec.get("validator"),
            computed=spec.get("when") is False,
        )
    return found


def choices(name: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """label -> value for a question, rendering templated choices as Copier does."""
    question = questions()[name]
    if isinstance(question.choices, str):
        rendered = yaml.safe_load(render(question.choices, context or registry_context()))
        return dict(rendered or {})
    return dict(question.choices or {})


def choice_values(name: str) -> list[Any]:
    return list(choices(name).values())


def choice_help(name: str) -> dict[Any, str]:
    """value -> the one-line description copier shows for it."""
    return {value: label for label, value in choices(name).items()}


def computed_value(question: Question, context: dict[str, Any]) -> Any:
    """A `when: false` question's value: its default, rendered, and parsed when it is YAML."""
    value = question.default
    if isinstance(value, str):
        value = render(value, context)
        if question.type in ("yaml", "bool", "int"):
            value = yaml.safe_load(value)
    return value


@lru_cache
def registry_context() -> dict[str, Any]:
    """The computed facts that need no answer (the agent type registry, the stack boundary)."""
    context: dict[str, Any] = {}
    for name, question in questions().items():
        if question.computed and not _mentions_answers(question.default):
            context[name] = computed_value(question, context)
    return context


def registry() -> dict[str, dict[str, Any]]:
    """copier.yml's agent type registry: type -> its facts (stack name, topics, intent...)."""
    return registry_context()["agent_types"]


def _mentions_answers(default: Any) -> bool:
    return isinstance(default, str) and ("{{" in default or "{%" in default)


@lru_cache
def _environment() -> SandboxedEnvironment:
    # Copier renders validators and defaults with these filters (regex_search, to_nice_yaml...).
    return SandboxedEnvironment(extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"])


def render(expression: Any, context: dict[str, Any]) -> Any:
    if not isinstance(expression, str):
        return expression
    return _environment().from_string(expression).render(**context)


def _cast(question: Question, value: Any) -> Any:
    if question.type == "int":
        if isinstance(value, bool):
            raise ValueError(f"Validation error for question '{question.name}': expected a number")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"Validation error for question '{question.name}': "
                f"{value!r} is not a whole number; give a number such as {question.default}."
            ) from None
    if question.type == "str":
        return "" if value is None else str(value)
    return value


def resolve(answers: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults in question order, check every answer, and return the full context.

    Raises ValueError with the same "Validation error for question 'x': ..." line Copier gives.
    """
    context: dict[str, Any] = dict(registry_context())
    known = questions()
    asked = {name for name, question in known.items() if not question.computed}
    unknown = sorted(set(answers) - asked)
    if unknown:
        raise ValueError(f"Unknown question(s) {', '.join(unknown)}; known: {', '.join(asked)}.")
    for name, question in known.items():
        if question.computed:
            if name not in context:
                context[name] = computed_value(question, context)
            continue
        if name in answers:
            value = _cast(question, answers[name])
        elif question.default is not None:
            value = _cast(question, render(question.default, context))
        else:
            raise ValueError(f"Validation error for question '{name}': an answer is required.")
        options = list(choices(name, context).values()) if question.choices else []
        if options and value not in options:
            # Copier's own wording for a value outside `choices`.
            raise ValueError(f"Invalid choice for '{name}': {value!r} is not in {options}")
        if question.validator:
            message = render(question.validator, {**context, name: value}).strip()
            if message:
                raise ValueError(f"Validation error for question '{name}': {message}")
        context[name] = value
    return context


def check_answers_file(path: Path) -> dict[str, Any]:
    """Validate a service's .copier-answers.yml; ValueError with one line if it is wrong."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ValueError(
            f"{path} does not exist; is this a service made by the template?"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ValueError(f"{path} is not valid YAML{where}; restore it from git.") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path} must be a mapping of answers; restore it from git.")
    for key in ("_src_path", "_commit"):
        if key not in raw:
            raise ValueError(f"{path} has no {key}; restore it from git (copier writes it).")
    answers = {k: v for k, v in raw.items() if not k.startswith("_")}
    try:
        return resolve(answers)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python hooks/answers.py path/to/.copier-answers.yml", file=sys.stderr)
        return 2
    try:
        check_answers_file(Path(argv[0]))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{argv[0]}: answers are valid")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
