"""What a learner's conversation, level lookup and token budget cost on /process.

    python bench/llm_session.py BASE_REF [--runs 60] [--delay 0.05]

Renders the types below at BASE_REF (the LLM path before conversations) and from the working
tree, starts each with a key pointed at one fake OpenAI server that answers after the same
fixed delay, and sends the same learner's questions to both in turn (interleaved, so drift on
a shared machine hits both alike). Reports the median and p90 of /process for each and the
difference; then, on the new service, the prompt and completion tokens of each turn (the first
has no history, later ones carry up to CONVERSATION_TURNS turns and the note) and the state
each turn writes (the conversation and the day's token count, read from the SQLite file).
Embedded mode: the tracker reads the learner's mastery from its own records; the other types
have no tracker to ask, so their lookup ends at once (in Dapr mode it is one service
invocation, at most once a minute per learner and topic).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from run import PY, Server, run, sample_query, service_env, wrapper_command  # noqa: E402

TYPES = {"tracker": "progress", "debugger": "debug", "explainer": "concepts"}
FAKE = """
import json, sys, threading
sys.path.insert(0, {tests!r})
from fakes.fake_openai import FakeOpenAI
fake = FakeOpenAI(fixed_delay_s={delay}).start()
print(json.dumps({{"port": fake.port}}))
sys.stdout.flush()
threading.Event().wait()
"""


def render(agent_type: str, name: str, ref: str, out: Path) -> Path:
    run(wrapper_command(name, agent_type, out, "--force", "--vcs-ref", ref))
    return out


def post(port: int, body: dict) -> tuple[float, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/process",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        reply = json.load(response)
    return time.perf_counter() - started, reply


def tokens(port: int) -> dict[str, float]:
    found = {"prompt": 0.0, "completion": 0.0}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as response:
        for line in response.read().decode().splitlines():
            if line.startswith("agent_llm_tokens_total{"):
                kind = line.split('kind="', 1)[1].split('"', 1)[0]
                found[kind] += float(line.rsplit(" ", 1)[1])
    return found


def state_sizes(db: Path, user_id: str) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT key, length(value) FROM state WHERE key LIKE ? OR key LIKE ?",
            (f"conversation||{user_id}", f"llm-tokens||{user_id}||%"),
        ).fetchall()
    return {key.split("||", 1)[0]: size for key, size in rows}


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def compare(base: Path, new: Path, fake_port: int, runs: int, extra_env: dict) -> dict:
    servers = {}
    dbs = {}
    for label, path in (("before", base), ("after", new)):
        tmp = Path(tempfile.mkdtemp())
        dbs[label] = tmp / "state.db"
        env = service_env(tmp) | {
            "OPENAI_API_KEY": "sk-bench",
            "OPENAI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
            "OPENAI_MAX_RETRIES": "0",
            "OPENAI_FALLBACK_MODEL": "",
            # Counted and checked on every answer as usual, never reached by the benchmark.
            "LLM_DAILY_TOKEN_BUDGET": "100000000",
        }
        servers[label] = Server(path, "app:app", env | (extra_env if label == "after" else {}))
    # The type's own sample question (the new render's: an older one may not declare it).
    body = {"user_id": "bench", "query": sample_query(new), "context": {}}
    times: dict[str, list[float]] = {"before": [], "after": []}
    try:
        for label in servers:  # warm-up: imports, first connections
            for _ in range(3):
                post(servers[label].port, {**body, "user_id": "warm-up"})
        for _ in range(runs):
            for label, server in servers.items():
                elapsed, reply = post(server.port, body)
                assert reply["data"]["mode"] == "llm", (label, reply["data"])
                times[label].append(elapsed)
        turns = []
        port = servers["after"].port
        for turn in range(1, 7):
            spent = tokens(port)
            _, reply = post(port, {**body, "user_id": "turns"})
            now = tokens(port)
            time.sleep(0.1)  # the turn is written after the answer has gone
            turns.append(
                {
                    "turn": turn,
                    "prompt_tokens": now["prompt"] - spent["prompt"],
                    "completion_tokens": now["completion"] - spent["completion"],
                    "state_bytes": state_sizes(dbs["after"], "turns"),
                    "level": reply["data"].get("level"),
                }
            )
    finally:
        for server in servers.values():
            server.stop()
    summary: dict[str, Any] = {
        label: {
            "median_ms": round(statistics.median(values) * 1000, 2),
            "p90_ms": round(p90(values) * 1000, 2),
        }
        for label, values in times.items()
    }
    summary["added_median_ms"] = round(
        summary["after"]["median_ms"] - summary["before"]["median_ms"], 2
    )
    return {"latency": summary, "turns": turns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_ref")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--types", nargs="*", default=list(TYPES))
    parser.add_argument(
        "--env", nargs="*", default=[], help="KEY=VALUE settings for the new service only"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-llm-"))
    tests = render("tracker", "progress", "HEAD", work / "fake") / "tests"
    fake = subprocess.Popen(
        [PY, "-c", FAKE.format(tests=str(tests), delay=args.delay)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None  # stdout=PIPE
    try:
        port = json.loads(fake.stdout.readline())["port"]
        results = {}
        for agent_type in args.types:
            name = TYPES[agent_type]
            base = render(agent_type, name, args.base_ref, work / f"{agent_type}-base")
            new = render(agent_type, name, "HEAD", work / f"{agent_type}-new")
            extra = dict(pair.split("=", 1) for pair in args.env)
            results[agent_type] = compare(base, new, port, args.runs, extra)
            print(json.dumps({agent_type: results[agent_type]}, indent=1), flush=True)
    finally:
        fake.terminate()


if __name__ == "__main__":
    main()
