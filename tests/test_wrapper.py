"""scripts/generate_agent.py: bad input is refused with exit 2 and one clear line, and
leaves nothing behind; its flags agree with copier.yml."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import copier
import pytest

from conftest import (
    COPIER_YML,
    REPO_ROOT,
    SCRIPT,
    TEMPLATE_VERSION,
    render_with_wrapper,
    run_wrapper,
)

sys.path.insert(0, str(REPO_ROOT))

from hooks import answers as template_answers  # noqa: E402


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# (flags, words the one-line error must contain)
BAD_FLAGS = [
    (["--name", "", "--type", "router"], "Give the agent a name"),
    (["--name", "Triage", "--type", "router"], "e.g. 'triage'"),
    (["--name", "TRIAGE", "--type", "router"], "lowercase DNS label"),
    (["--name", "my agent", "--type", "router"], "e.g. 'my-agent'"),
    (["--name", "1triage", "--type", "router"], "starting with a letter"),
    (["--name=-triage", "--type", "router"], "starting with a letter"),
    (["--name", "triage-", "--type", "router"], "ending with a letter or digit"),
    (["--name", "tri_age", "--type", "router"], "e.g. 'tri-age'"),
    (["--name", "a" * 41, "--type", "router"], "use at most 40"),
    (["--name", "../x", "--type", "router"], "lowercase DNS label"),
    (["--name", "x/../../etc", "--type", "router"], "lowercase DNS label"),
    (["--name", "x;rm -rf ~", "--type", "router"], "lowercase DNS label"),
    (["--name", "$(whoami)", "--type", "router"], "lowercase DNS label"),
    (["--name", "`id`", "--type", "router"], "lowercase DNS label"),
    (["--name", "tri.age", "--type", "router"], "lowercase DNS label"),
    (["--name", "triage\n", "--type", "router"], "lowercase DNS label"),
    (["--name", "triäge", "--type", "router"], "lowercase DNS label"),
    (["--name", "triage", "--type", "teacher"], "invalid choice: 'teacher'"),
    (["--name", "triage", "--type", "Router"], "invalid choice: 'Router'"),
    (["--name", "triage"], "the following arguments are required: --type"),
    (["--type", "router"], "the following arguments are required: --name"),
    (["--name", "triage", "--type", "router", "--port", "80"], "outside 1024-65535"),
    (["--name", "triage", "--type", "router", "--port", "70000"], "outside 1024-65535"),
    (["--name", "triage", "--type", "router", "--port", "-1"], "outside 1024-65535"),
    (["--name", "triage", "--type", "router", "--port", "abc"], "invalid int value: 'abc'"),
    (
        ["--name", "triage", "--type", "router", "--port", "3500"],
        "--dapr-port (not given, so its default 3500): The app port (--port) and the Dapr HTTP "
        "port (--dapr-port) are both 3500",
    ),
    (
        ["--name", "triage", "--type", "router", "--port", "9090"],
        "used inside the pod by the Dapr sidecar",
    ),
    (
        ["--name", "triage", "--type", "router", "--port", "50002"],
        "used inside the pod by the Dapr sidecar",
    ),
    (
        ["--name", "triage", "--type", "router", "--port", "50001"],
        "The Dapr gRPC port and the app port (--port) are both 50001",
    ),
    (
        ["--name", "triage", "--type", "router", "--dapr-port", "5000"],
        "--dapr-port 5000: The app port (--port) and the Dapr HTTP port (--dapr-port) are both",
    ),
    (["--name", "triage", "--type", "router", "--dapr-port", "3501"], "used inside the pod"),
    (
        ["--name", "triage", "--type", "router", "--dapr-port", "50001"],
        "The Dapr gRPC port and the Dapr HTTP port (--dapr-port) are both 50001",
    ),
    (["--name", "triage", "--type", "router", "--openai-model", "gpt 4"], "is not a model name"),
    (["--name", "triage", "--type", "router", "--openai-model", ""], "is not a model name"),
    (
        ["--name", "triage", "--type", "router", "--fallback-model", "gpt-4"],
        "--fallback-model gpt-4: 'gpt-4' is already the primary model",
    ),
    (["--name", "triage", "--type", "router", "--llm-backend", "anthropic"], "invalid choice"),
    (["--all", "--port", "5001"], "leave out --port and --dapr-port"),
    (["--all", "--fallback-model", "gpt 4"], "--fallback-model 'gpt 4': 'gpt 4' is not a model"),
    (["--name", "triage", "--type", "router", "--vcs-ref", "v9.9.9"], "does not exist"),
    (
        ["--name", "triage", "--type", "router", "--template", "/nonexistent/template"],
        "does not exist",
    ),
]


@pytest.mark.parametrize("flags, expected", BAD_FLAGS, ids=[" ".join(f)[:60] for f, _ in BAD_FLAGS])
def test_bad_flags_exit_2_with_one_line_and_write_nothing(tmp_path, flags, expected):
    if "--output-dir" not in flags:
        flags = [*flags, "--output-dir", str(tmp_path / "out" / "svc")]
    done = run_wrapper(*flags, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [
        line
        for line in done.stderr.splitlines()
        if line.startswith(("error:", "generate_agent.py: error:"))
    ]
    assert len(lines) == 1, done.stderr
    assert expected in done.stderr, done.stderr
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_refuses_a_non_empty_output_dir_and_leaves_it_untouched(tmp_path):
    out = tmp_path / "svc"
    out.mkdir()
    (out / "agent.py").write_text("# my edits\n")
    before = snapshot(out)
    done = run_wrapper(
        "--name", "triage", "--type", "router", "--output-dir", str(out), cwd=tmp_path
    )
    assert done.returncode == 2
    assert "is not empty" in done.stderr and "--force" in done.stderr
    assert snapshot(out) == before


def test_output_dir_that_is_a_file(tmp_path):
    target = tmp_path / "svc"
    target.write_text("not a dir")
    done = run_wrapper(
        "--name", "triage", "--type", "router", "--output-dir", str(target), cwd=tmp_path
    )
    assert done.returncode == 2 and "is a file" in done.stderr
    assert target.read_text() == "not a dir"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_parent(tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        done = run_wrapper(
            "--name",
            "triage",
            "--type",
            "router",
            "--output-dir",
            str(parent / "svc"),
            cwd=tmp_path,
        )
        assert done.returncode == 2 and "cannot write" in done.stderr
    finally:
        parent.chmod(0o700)


def test_output_dir_on_a_filesystem_nobody_can_write(tmp_path):
    done = run_wrapper(
        "--name", "triage", "--type", "router", "--output-dir", "/proc/learnflow-svc", cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert "error: cannot write" in done.stderr
    assert not Path("/proc/learnflow-svc").exists()


def test_force_writes_over_template_files_and_keeps_others(tmp_path, template_repo):
    out = tmp_path / "svc"
    out.mkdir()
    (out / "NOTES.md").write_text("mine\n")
    (out / "app.py").write_text("stale\n")
    done = render_with_wrapper(template_repo, "triage", "router", "--force", out=out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (out / "NOTES.md").read_text() == "mine\n"
    assert "create_app" in (out / "app.py").read_text()


def test_default_output_dir_is_services_name_from_any_cwd(tmp_path, template_repo):
    done = render_with_wrapper(template_repo, "triage", "router", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "services" / "triage" / "app.py").is_file()


def test_flags_flow_into_the_service(tmp_path, template_repo):
    out = tmp_path / "svc"
    flags = (
        *("--port", "5101", "--dapr-port", "3601", "--openai-model", "gpt-4o"),
        *("--fallback-model", "gpt-4o-mini", "--llm-backend", "dapr-conversation"),
    )
    done = render_with_wrapper(
        template_repo, "concepts", "explainer", *flags, out=out, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    config = (out / "kit" / "settings.py").read_text()
    assert "app_port: int = 5101" in config
    assert "dapr_default_http_port: int = 3601" in config
    assert 'openai_model: str = "gpt-4o"' in config
    assert 'openai_fallback_model: str = "gpt-4o-mini"' in config
    assert '] = "dapr-conversation"' in config  # llm_backend's default
    assert (out / "dapr" / "resources" / "conversation.yaml").is_file()


def test_help_lists_types_with_descriptions_and_an_example(tmp_path):
    done = run_wrapper("--help", cwd=tmp_path)
    assert done.returncode == 0
    for value, label in template_answers.choice_help("agent_type").items():
        assert value in done.stdout
        assert label.split(":", 1)[1].strip()[:40] in done.stdout.replace("\n ", " ")
    assert "--name triage --type router --output-dir services/triage" in done.stdout


def test_wrapper_choices_and_defaults_come_from_copier_yml():
    sys.path.insert(0, str(SCRIPT.parent))
    import generate_agent

    parser = generate_agent.build_parser()
    by_flag = {a.option_strings[0]: a for a in parser._actions if a.option_strings}
    assert list(by_flag["--type"].choices) == list(COPIER_YML["agent_types"]["default"])
    for flag, question in (
        ("--port", "port"),
        ("--dapr-port", "dapr_http_port"),
        ("--openai-model", "openai_model"),
        ("--llm-backend", "llm_backend"),
    ):
        assert f"(default: {COPIER_YML[question]['default']})" in by_flag[flag].help
    assert list(by_flag["--llm-backend"].choices) == list(
        COPIER_YML["llm_backend"]["choices"].values()
    )


BAD_ANSWERS = [
    {"agent_name": "Triage", "agent_type": "router"},
    {"agent_name": "t", "agent_type": "teacher"},
    {"agent_name": "t", "agent_type": "router", "port": 80},
    {"agent_name": "t", "agent_type": "router", "port": 5000, "dapr_http_port": 5000},
    {"agent_name": "t", "agent_type": "router", "dapr_grpc_port": 3500},
    {"agent_name": "t", "agent_type": "router", "namespace": "Learn Flow"},
    {"agent_name": "t", "agent_type": "router", "pubsub_name": "statestore"},
    {"agent_name": "t", "agent_type": "router", "image_name": "Learnflow/T:latest"},
    {"agent_name": "t", "agent_type": "router", "description": "two\nlines"},
]


@pytest.mark.parametrize("answers", BAD_ANSWERS)
def test_wrapper_check_gives_copiers_own_message(answers, template_repo, tmp_path):
    with pytest.raises(ValueError) as copier_error:
        copier.run_copy(
            str(template_repo),
            tmp_path / "svc",
            data=answers,
            defaults=True,
            quiet=True,
            vcs_ref=TEMPLATE_VERSION,
        )
    with pytest.raises(ValueError) as ours:
        template_answers.resolve(answers)
    assert str(ours.value) == str(copier_error.value)
    assert not (tmp_path / "svc").exists()


def test_good_answers_resolve_to_copier_defaults():
    resolved = template_answers.resolve({"agent_name": "triage", "agent_type": "router"})
    assert resolved["port"] == 5000
    assert resolved["dapr_http_port"] == 3500
    assert resolved["dapr_grpc_port"] == 50001
    assert resolved["openai_model"] == "gpt-4"
    assert resolved["namespace"] == "learnflow"
    assert resolved["image_name"] == "learnflow/triage-agent"
