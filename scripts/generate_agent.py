#!/usr/bin/env python3
# /// script
# requires-python = ">=3.11"
# dependencies = ["copier==9.19.1"]
# ///
"""Render a LearnFlow agent service from this template, or update existing ones.

A thin mapping of flags onto Copier's Python API (run_copy / run_update). Every choice and
default comes from copier.yml (through hooks/answers.py), so the two never disagree.

Where it runs: `make generate` (the repository's .venv), `.venv/bin/python scripts/...`, or
anywhere with `uv run scripts/generate_agent.py` / `pipx run scripts/generate_agent.py`, which
read the dependencies declared above (PEP 723).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TEMPLATE_ROOT))
EXIT_BAD_INPUT = 2


def require_dependencies() -> None:
    """One line and exit 2, not a traceback, when this Python lacks what the script needs."""
    missing = [
        name
        for name in ("copier", "yaml", "jinja2", "jinja2_ansible_filters")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        print(
            f"error: {', '.join(missing)} not installed for {sys.executable}; run `make install` "
            "and then `make generate ...` or `.venv/bin/python scripts/generate_agent.py ...`, "
            "or run it with `uv run` / `pipx run`, which install what the script declares",
            file=sys.stderr,
        )
        raise SystemExit(EXIT_BAD_INPUT)


require_dependencies()

import preflight  # noqa: E402
import stack  # noqa: E402

from hooks import answers as template_answers  # noqa: E402

ANSWERS_FILE = ".copier-answers.yml"
CONFLICT_MARKER = "<<<<<<< "
EXIT_CONFLICTS = 1
# The flag a user types for each question (errors name the flag, not copier's question).
FLAGS = {
    "agent_name": "--name",
    "agent_type": "--type",
    "port": "--port",
    "dapr_http_port": "--dapr-port",
    "openai_model": "--openai-model",
    "openai_fallback_model": "--fallback-model",
    "llm_backend": "--llm-backend",
}
# The questions whose flags mean the same for every agent of a stack, so --all takes them too.
MODEL_QUESTIONS = ("openai_model", "openai_fallback_model", "llm_backend")


class BadInput(Exception):
    """Something the user must change; printed as one line, exit code 2."""


# -- argument parsing ---------------------------------------------------------------------


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (not the whole usage block), exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def type_descriptions() -> str:
    lines = ["agent types:"]
    for value, label in template_answers.choice_help("agent_type").items():
        description = label.split(":", 1)[1].strip() if ":" in label else label
        lines.append(f"  {value:<10} {description}")
    return "\n".join(lines)


EXAMPLES = """examples:
  python scripts/generate_agent.py --name triage --type router --output-dir services/triage
  python scripts/generate_agent.py --name concepts --type explainer --port 5001
  python scripts/generate_agent.py --all --output-dir services
  python scripts/generate_agent.py update services/*
  python scripts/generate_agent.py check services
"""


def build_parser() -> argparse.ArgumentParser:
    questions = template_answers.questions()
    parser = OneLineParser(
        prog="generate_agent.py",
        description="Render a LearnFlow tutoring agent service (FastAPI + Dapr) from the "
        "template, or update services rendered earlier (`generate_agent.py update`).",
        epilog=f"{type_descriptions()}\n\n{EXAMPLES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--name", help=questions["agent_name"].help)
    parser.add_argument(
        "--type",
        choices=template_answers.choice_values("agent_type"),
        help="which agent (see the list below)",
    )
    parser.add_argument(
        "--output-dir", type=Path, help="where to write the service (default: ./services/<name>)"
    )
    parser.add_argument(
        "--port", type=int, help=f"{questions['port'].help} (default: {questions['port'].default})"
    )
    parser.add_argument(
        "--dapr-port",
        type=int,
        help=f"{questions['dapr_http_port'].help} (default: {questions['dapr_http_port'].default})",
    )
    parser.add_argument(
        "--openai-model",
        help=f"{questions['openai_model'].help} (default: {questions['openai_model'].default})",
    )
    parser.add_argument(
        "--fallback-model",
        help=f"{questions['openai_fallback_model'].help} (default: none)",
    )
    parser.add_argument(
        "--llm-backend",
        choices=template_answers.choice_values("llm_backend"),
        help=f"{questions['llm_backend'].help} (default: {questions['llm_backend'].default})",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="render all five LearnFlow agents (triage, concepts, debug, exercise, progress) "
        "into --output-dir (default: ./services) with a stack dapr.yaml and kustomization.yaml",
    )
    add_template_flags(parser)
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty --output-dir, replacing "
        "the template's files there and keeping the others",
    )
    return parser


def build_update_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="generate_agent.py update",
        description="Update services rendered from this template to its latest version, "
        "keeping their owners' edits (copier update, conflicts marked inline).",
        epilog="exit status: 0 all updated or current, 1 conflicts remain, 2 bad input",
    )
    parser.add_argument(
        "services",
        nargs="*",
        type=Path,
        help="service directories (default: every services/* with a .copier-answers.yml)",
    )
    # A service is updated from the template recorded in its answers file (_src_path).
    parser.add_argument(
        "--vcs-ref", help="template git ref to update to (default: Copier's choice, the latest tag)"
    )
    return parser


def add_template_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--template",
        default=str(TEMPLATE_ROOT),
        help="template path or git URL (default: the repository this script lives in)",
    )
    parser.add_argument(
        "--vcs-ref",
        help="template git ref to use, e.g. a release tag v0.2.0 (default: for this "
        "repository, the checkout you are running, HEAD with its uncommitted changes; for "
        "another --template, its latest release tag, as copier chooses)",
    )


def default_ref(template: str, vcs_ref: str | None) -> str | None:
    """The template you run is the template you get: from its own repository the wrapper
    renders HEAD (copier would pick the latest release tag, older than a development checkout
    and unable to update a service rendered from it). Anywhere else, copier's choice."""
    if vcs_ref is None and Path(template).resolve() == TEMPLATE_ROOT:
        return "HEAD"
    return vcs_ref


# -- copy ---------------------------------------------------------------------------------


def check_template_ref(template: str, vcs_ref: str | None) -> None:
    path = Path(template)
    if not path.exists():
        if "://" in template or template.startswith(("git@", "gh:", "gl:")):
            return  # a remote template: Copier reports problems with it
        raise BadInput(
            f"template {template} does not exist; pass --template with a path or git URL"
        )
    if not (path / "copier.yml").exists() and not (path / "copier.yaml").exists():
        raise BadInput(f"{template} has no copier.yml; pass --template pointing at this template")
    if vcs_ref:
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{vcs_ref}^{{commit}}"],
            cwd=path,
            capture_output=True,
            text=True,
        )
        if found.returncode != 0:
            raise BadInput(
                f"template ref {vcs_ref!r} does not exist in {template}; "
                "list refs with `git tag` / `git branch` there"
            )


def check_output_dir(output: Path, force: bool) -> None:
    if output.exists() and not output.is_dir():
        raise BadInput(f"{output} is a file; choose a directory for --output-dir")
    if output.is_dir() and any(output.iterdir()) and not force:
        raise BadInput(
            f"{output} is not empty; choose another --output-dir or pass --force to write over "
            "the template's files there"
        )
    parent = nearest_existing(output)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInput(f"cannot write in {parent}; choose an --output-dir you can write to")


def nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def render_service(
    answers: dict, output: Path, *, template: str, vcs_ref: str | None, force: bool
) -> None:
    """Render into a scratch directory beside `output`, then move it into place, so a failure
    at any point leaves `output` exactly as it was."""
    import copier

    output = output.absolute()
    staging_parent = nearest_existing(output.parent)
    scratch = Path(tempfile.mkdtemp(prefix=".render-", dir=staging_parent))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DirtyLocalWarning: the caller chose the template
            copier.run_copy(
                template,
                scratch / "service",
                data=answers,
                defaults=True,
                vcs_ref=vcs_ref,
                quiet=True,
                unsafe=False,
            )
        output.parent.mkdir(parents=True, exist_ok=True)
        if not output.exists():
            (scratch / "service").rename(output)
        else:
            merge_into(scratch / "service", output)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def merge_into(source: Path, target: Path) -> None:
    for item in sorted(source.rglob("*")):
        destination = target / item.relative_to(source)
        if item.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(item, destination)


# Copier's wording names questions by their role; the wrapper's user typed flags.
ROLE_FLAGS = {
    "app port": "app port (--port)",
    "Dapr HTTP port": "Dapr HTTP port (--dapr-port)",
}


def in_flags(message: str, typed: dict[str, object]) -> str:
    """Copier's "Validation error for question 'x': ..." as the flag the user typed (or left
    at its default), so the line names what to change on the command line."""
    found = re.match(
        r"(?:Validation error for question|Invalid choice for) '(\w+)': (.*)", message, re.S
    )
    if not found:
        return message
    question, detail = found.groups()
    for role, with_flag in ROLE_FLAGS.items():
        detail = detail.replace(role, with_flag)
    default = template_answers.questions()[question].default
    if question not in FLAGS:
        # A question this script has no flag for keeps its default: the flag to change is the
        # other one the message names.
        return f"{detail} ({question} is not a flag here; it stays {default})"
    flag = FLAGS[question]
    if question in typed:
        value = str(typed[question])
        shown = value if value.isprintable() and " " not in value else repr(value)
        return f"{flag} {shown}: {detail}"
    return f"{flag} (not given, so its default {default}): {detail}"


def reported(action) -> int:
    """Run `action`; bad input of any kind becomes one line on stderr and exit code 2."""
    try:
        action()
    except (BadInput, ValueError) as error:
        # One line, whatever the user typed: a value with a newline in it is shown escaped.
        print(f"error: {error}".replace("\n", "\\n"), file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        # e.g. a read-only filesystem that os.access() cannot foresee (root, /proc, mounts)
        where = f" {error.filename}" if error.filename else ""
        print(
            f"error: cannot write{where} ({error.strerror}); choose an --output-dir you can "
            "write to",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    return 0


def copy_main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.all:
        if args.name or args.type:
            parser.error("--all renders the five LearnFlow agents; leave out --name and --type")
        if args.port is not None or args.dapr_port is not None:
            parser.error("--all gives each agent its own ports; leave out --port and --dapr-port")
        return stack_main(args)
    if args.name is None or args.type is None:
        missing = [f for f, v in (("--name", args.name), ("--type", args.type)) if v is None]
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    answers = {"agent_name": args.name, "agent_type": args.type, **model_answers(args)}
    for flag, question in (("port", "port"), ("dapr_port", "dapr_http_port")):
        value = getattr(args, flag)
        if value is not None:
            answers[question] = value
    output = args.output_dir or Path("services") / args.name

    def render() -> None:
        try:  # Copier's validators, before anything is written
            template_answers.resolve(answers)
        except ValueError as error:
            raise BadInput(in_flags(str(error), answers)) from None
        check_template_ref(args.template, args.vcs_ref)
        check_output_dir(output, args.force)
        render_service(
            answers,
            output,
            template=args.template,
            vcs_ref=default_ref(args.template, args.vcs_ref),
            force=args.force,
        )

    if status := reported(render):
        return status
    print(f"rendered {args.type} agent '{args.name}' into {output}")
    print(f"next: cd {output} && make test && make run")
    return 0


def model_answers(args: argparse.Namespace) -> dict[str, object]:
    """The answers the model flags give (those the user typed)."""
    # argparse keeps each flag's value under its name without the dashes: --llm-backend
    # is args.llm_backend.
    given = {q: getattr(args, FLAGS[q].lstrip("-").replace("-", "_")) for q in MODEL_QUESTIONS}
    return {question: value for question, value in given.items() if value is not None}


def stack_main(args: argparse.Namespace) -> int:
    root = args.output_dir or Path("services")
    plan = [
        stack.stack_answers(i, name, kind) | model_answers(args)
        for i, (name, kind) in enumerate(stack.STACK)
    ]
    written: list[Path] = []

    def render() -> None:
        check_template_ref(args.template, args.vcs_ref)
        for answers in plan:
            try:
                template_answers.resolve(answers)
            except ValueError as error:
                raise BadInput(in_flags(str(error), answers)) from None
            check_output_dir(root / answers["agent_name"], args.force)
        for answers in plan:
            render_service(
                answers,
                root / answers["agent_name"],
                template=args.template,
                vcs_ref=default_ref(args.template, args.vcs_ref),
                force=args.force,
            )
        written[:] = stack.write_stack_files(root, plan)

    if status := reported(render):
        return status
    for answers in plan:
        print(
            f"rendered {answers['agent_type']} agent '{answers['agent_name']}' into "
            f"{root / answers['agent_name']} (port {answers['port']})"
        )
    print(f"stack files: {', '.join(str(path) for path in written)}")
    return 0


def check_main(argv: list[str]) -> int:
    parser = OneLineParser(
        prog="generate_agent.py check",
        description="Check a directory of services as one stack: unique app-ids and ports, "
        "every published topic consumed and every consumed topic published (entry and exit "
        "topics excepted), one template version, and which services are behind the template. "
        "Then the preflight (scripts/preflight.py): what a cluster would refuse in "
        "`kubectl apply -k DIR`. Given a single service directory, only the preflight runs.",
    )
    parser.add_argument("services_dir", nargs="?", type=Path, default=Path("services"))
    parser.add_argument("--template", type=Path, default=TEMPLATE_ROOT)
    args = parser.parse_args(argv)
    problems, behind, summary = [], [], []
    if not (args.services_dir / ANSWERS_FILE).is_file():
        report = stack.check_stack(args.services_dir, args.template)
        problems += report.problems
        behind += report.behind
        if report.ok:
            summary.append(f"{len(report.services)} services: stack is consistent and current")
    try:
        flight = preflight.check(args.services_dir)
    except preflight.Unusable as error:
        problems.append(str(error))
    except ValueError as error:  # an answers file that does not check
        problems.append(str(error))
    else:
        problems += flight.problems
        if not flight.problems:
            summary.append(f"preflight: {flight.objects} objects, nothing a cluster would refuse")
    problems += leftover_conflicts(args.services_dir)
    for problem in problems:
        print(f"problem: {problem}")
    for service in behind:
        print(f"behind the template: {service}")
    if problems or behind:
        return 1
    for line in summary:
        print(line)
    return 0


def leftover_conflicts(root: Path) -> list[str]:
    """Conflict markers `copier update` left inline and nobody resolved: file:line each.
    (Plain `copier update` exits 0 even when it leaves them.)"""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or {".git", ".venv", "node_modules"} & set(path.parts):
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(lines, start=1):
            if line.startswith((CONFLICT_MARKER, ">>>>>>> ")):
                found.append(
                    f"{path}:{number}: a conflict marker left by `copier update`; "
                    "merge the two versions and delete the markers"
                )
                break
    return found


# -- update -------------------------------------------------------------------------------


@dataclass
class UpdateResult:
    service: Path
    status: str  # "updated" | "already current" | "conflicts"
    conflicts: list[str]


def default_services() -> list[Path]:
    return sorted(p.parent for p in Path("services").glob(f"*/{ANSWERS_FILE}"))


def git_toplevel(path: Path) -> Path:
    done = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=path, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BadInput(f"{path} is not inside a git repository; `git init` and commit it first")
    return Path(done.stdout.strip())


def check_updatable(service: Path) -> None:
    if not service.is_dir():
        raise BadInput(f"{service} is not a directory")
    template_answers.check_answers_file(service / ANSWERS_FILE)
    top = git_toplevel(service)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", str(service.absolute())],
        cwd=top,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if dirty:
        raise BadInput(f"{service} has uncommitted changes; commit or stash them, then update")


def read_source(service: Path) -> str:
    import yaml

    return str((yaml.safe_load((service / ANSWERS_FILE).read_text()) or {}).get("_src_path", ""))


def read_commit(service: Path) -> str | None:
    import yaml

    return (yaml.safe_load((service / ANSWERS_FILE).read_text()) or {}).get("_commit")


def files_with_conflicts(service: Path) -> list[str]:
    top = git_toplevel(service)
    listed = subprocess.run(
        ["git", "status", "--porcelain", "-uall", "--", str(service.absolute())],
        cwd=top,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    conflicted = []
    for line in listed:
        path = top / line[3:].strip().strip('"')
        if path.suffix == ".rej":
            conflicted.append(str(path.relative_to(service.absolute())))
            continue
        try:
            text = path.read_text(errors="replace")
        except (IsADirectoryError, FileNotFoundError):
            continue
        if any(row.startswith(CONFLICT_MARKER) for row in text.splitlines()):
            conflicted.append(str(path.relative_to(service.absolute())))
    return sorted(conflicted)


def update_service(service: Path, *, vcs_ref: str | None) -> UpdateResult:
    import copier

    check_updatable(service)
    before = read_commit(service)
    vcs_ref = default_ref(read_source(service), vcs_ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_update(
            service,
            vcs_ref=vcs_ref,
            defaults=True,
            overwrite=True,
            conflict="inline",
            quiet=True,
            unsafe=False,
            skip_answered=True,
        )
    conflicts = files_with_conflicts(service)
    if conflicts:
        return UpdateResult(service, "conflicts", conflicts)
    return UpdateResult(
        service, "already current" if read_commit(service) == before else "updated", []
    )


def update_main(argv: list[str]) -> int:
    args = build_update_parser().parse_args(argv)
    services = args.services or default_services()
    if not services:
        print(
            "error: no services given and none found under services/*; pass service directories",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    results, bad = [], False
    for service in services:
        try:
            result = update_service(service, vcs_ref=args.vcs_ref)
        except (BadInput, ValueError) as error:
            print(f"{service}: error: {error}", file=sys.stderr)
            bad = True
            continue
        results.append(result)
        detail = f" ({', '.join(result.conflicts)})" if result.conflicts else ""
        print(f"{service}: {result.status}{detail}")
    if any(r.status == "conflicts" for r in results):
        print("resolve the conflict markers (<<<<<<< / >>>>>>>), then commit", file=sys.stderr)
        return EXIT_CONFLICTS
    return EXIT_BAD_INPUT if bad else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["update"]:
        return update_main(argv[1:])
    if argv[:1] == ["check"]:
        return check_main(argv[1:])
    return copy_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
