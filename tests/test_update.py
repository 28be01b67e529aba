"""`copier update` (through the wrapper's update mode) keeps owners' edits and brings
template changes; conflicting edits are marked inline and reported with a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import (
    commit_all,
    git,
    new_git_repo,
    render_with_wrapper,
    run_wrapper,
    snapshot_template,
)

AGENT_FILE = "{% if agent_type == 'router' %}agent.py{% endif %}"


def release(template: Path, tag: str, change) -> None:
    """Change the template in its repo and tag the result as a new version."""
    change(template)
    commit_all(template, f"template {tag}")
    git("tag", tag, cwd=template)


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def platform(tmp_path):
    """A template at v1.0.0 and a platform repo with services/triage rendered from it."""
    template = snapshot_template(tmp_path / "template", tag="v1.0.0")
    platform = new_git_repo(tmp_path / "platform")
    done = render_with_wrapper(
        template, "triage", "router", out="services/triage", cwd=platform, tag="v1.0.0"
    )
    assert done.returncode == 0, done.stderr
    commit_all(platform, "add triage service")
    return template, platform, platform / "services" / "triage"


def test_update_keeps_owner_edits_and_brings_template_changes(platform):
    template, repo, service = platform
    replace_in(
        service / "agent.py",
        "You are the triage agent of LearnFlow, a Python tutoring platform.",
        "You are Ada, the triage agent of our school's Python course.",
    )
    (service / "OWNERS.md").write_text("team-triage\n")
    commit_all(repo, "our prompt")

    def add_template_change(t: Path) -> None:
        replace_in(
            t / "template" / AGENT_FILE,
            'ROUTING_PROMPT = "Classify this student message:',
            "# Added in v1.1.0: learners paste long tracebacks; keep the whole message.\n"
            'ROUTING_PROMPT = "Classify this student message:',
        )
        (t / "template" / "CHANGELOG.md").write_text("v1.1.0: routing prompt note\n")

    release(template, "v1.1.0", add_template_change)
    done = run_wrapper("update", str(service), "--vcs-ref", "v1.1.0", cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{service}: updated" in done.stdout
    agent = (service / "agent.py").read_text()
    assert "You are Ada, the triage agent" in agent
    assert "# Added in v1.1.0" in agent
    assert (service / "OWNERS.md").read_text() == "team-triage\n"
    assert (service / "CHANGELOG.md").is_file()
    assert "_commit: v1.1.0" in (service / ".copier-answers.yml").read_text()
    assert "<<<<<<<" not in agent

    commit_all(repo, "take v1.1.0")
    again = run_wrapper("update", str(service), "--vcs-ref", "v1.1.0", cwd=repo)
    assert again.returncode == 0, again.stderr
    assert f"{service}: already current" in again.stdout


def test_conflicting_edit_is_marked_inline_and_exits_non_zero(platform):
    template, repo, service = platform
    line = 'ROUTING_PROMPT = "Classify this student message:\\n---\\n{query}\\n---"'
    replace_in(service / "agent.py", line, 'ROUTING_PROMPT = "Which tutor for:\\n{query}"')
    commit_all(repo, "our routing prompt")
    release(
        template,
        "v1.1.0",
        lambda t: replace_in(
            t / "template" / AGENT_FILE,
            line,
            'ROUTING_PROMPT = "Classify the message between the lines:\\n---\\n{query}\\n---"',
        ),
    )
    done = run_wrapper("update", str(service), "--vcs-ref", "v1.1.0", cwd=repo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{service}: conflicts (agent.py)" in done.stdout
    agent = (service / "agent.py").read_text()
    assert "<<<<<<< before updating" in agent and ">>>>>>> after updating" in agent
    assert "Which tutor for" in agent and "between the lines" in agent


def test_update_refuses_a_hand_broken_answers_file(platform):
    _template, repo, service = platform
    answers = service / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("agent_type: router", "agent_type: teacher"))
    commit_all(repo, "oops")
    before = answers.read_text()
    done = run_wrapper("update", str(service), cwd=repo)
    assert done.returncode == 2
    assert "Invalid choice for 'agent_type': 'teacher'" in done.stderr
    assert answers.read_text() == before


def test_update_refuses_uncommitted_changes(platform):
    _template, repo, service = platform
    (service / "agent.py").write_text((service / "agent.py").read_text() + "\n# wip\n")
    done = run_wrapper("update", str(service), cwd=repo)
    assert done.returncode == 2
    assert "uncommitted changes" in done.stderr
    assert (service / "agent.py").read_text().endswith("# wip\n")


def test_update_without_services_says_what_to_pass(tmp_path):
    done = run_wrapper("update", cwd=tmp_path)
    assert done.returncode == 2
    assert "pass service directories" in done.stderr
