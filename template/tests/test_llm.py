"""The LLM path, on both backends (the `llm_client` fixture runs each test twice: the real
`openai` client against a local OpenAI-compatible server, and the real dapr.aio client's
Conversation API against the fake sidecar, whose component calls that same server). Answers
come from the model when it works, from the cheaper fallback model when it does not, and from
the offline logic (data.mode "degraded") when neither does, never hanging past the timeout.
Each learner's recent conversation goes with their question, and nothing else about them; a
spent daily budget means offline answers that say so; a request without a level gets the
learner's from the tracker."""

from __future__ import annotations

import json
import time

import pytest
from conftest import FALLBACK_MODEL, LLM_KEY, PRIMARY_MODEL, llm_service
from test_api import SAMPLE_QUERY

from agent import Agent
from kit.agent_base import BaseAgent
from kit.content import topic_of
from kit.conversation import conversation_key, new_turn
from kit.identity import TRACKER_APP_ID

# Context that makes each type ask its LLM (the generator only authors on request).
CONTEXT = Agent.llm_context
# Agents that ask the tracker for a learner's level (the tracker answers from its own record,
# the router leaves it to the agent it hands the question to).
ASKS_THE_TRACKER = Agent.adapts_level and Agent.topic_mastery is BaseAgent.topic_mastery


def ask(client, query=None, user_id="u1", **context):
    return client.post(
        "/process",
        json={
            "user_id": user_id,
            "query": query or SAMPLE_QUERY,
            "context": {**CONTEXT, **context},
        },
    )


def metric(client, name: str, **labels) -> float:
    """The value of one Prometheus sample from /metrics (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    total = 0.0
    for line in client.get("/metrics").text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = line[len(name) + 1 : line.index("}")].split(",")
        if all(pair in found for pair in wanted.split(",") if pair):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_health_reports_the_backend(llm_client, llm_backend):
    assert llm_client.get("/health").json()["llm"] == llm_backend


def test_model_is_called_with_the_key_model_system_prompt_and_a_cap(
    llm_client, fake_openai, llm_backend
):
    reply = ask(llm_client).json()
    assert reply["data"]["mode"] in ("llm", "degraded")  # the canned text may not fit a schema
    request = fake_openai.requests[0]
    assert request["headers"]["authorization"] == f"Bearer {LLM_KEY}"
    assert request["body"]["model"] == PRIMARY_MODEL
    system = request["body"]["messages"][0]
    assert system["role"] == "system" and "beginner" in system["content"]
    if llm_backend == "openai":
        assert request["body"]["max_completion_tokens"] == Agent.max_tokens
    else:
        # Dapr's Conversation API cannot carry a cap yet (kit/adapters/dapr_conversation.py).
        assert "max_completion_tokens" not in request["body"]


def test_the_cap_is_a_setting(fake_openai):
    with llm_service("openai", fake_openai, llm_max_tokens=123) as client:
        ask(client)
    assert fake_openai.requests[0]["body"]["max_completion_tokens"] == 123


@pytest.mark.parametrize("status", [429, 500, 503])
def test_api_errors_fall_back_to_the_offline_answer(llm_client, fake_openai, status):
    fake_openai.fail(status, times=3)
    started = time.monotonic()
    reply = ask(llm_client).json()
    assert reply["data"]["mode"] == "degraded"
    assert reply["data"]["reason"] == "llm_unavailable"
    assert reply["response"].strip()
    assert time.monotonic() - started < 5


def test_timeout_falls_back_within_the_limit(llm_client, fake_openai):
    fake_openai.hang(5)
    started = time.monotonic()
    reply = ask(llm_client).json()
    assert reply["data"]["mode"] == "degraded"
    assert time.monotonic() - started < 4  # openai_timeout_s=1.5, no retries


# -- the fallback chain ------------------------------------------------------------------


def test_a_failing_primary_falls_back_to_the_cheaper_model(fake_openai, llm_backend):
    fake_openai.fail_model(PRIMARY_MODEL, 503)
    with llm_service(llm_backend, fake_openai, openai_fallback_model=FALLBACK_MODEL) as client:
        reply = ask(client).json()
        fallbacks = metric(
            client, "agent_llm_fallbacks_total", failed_model=PRIMARY_MODEL, next=FALLBACK_MODEL
        )
        tokens = metric(client, "agent_llm_tokens_total", model=FALLBACK_MODEL)
    assert [r["body"]["model"] for r in fake_openai.requests][:2] == [PRIMARY_MODEL, FALLBACK_MODEL]
    # The canned text answers a plain question; where a JSON answer is wanted it fits no
    # schema, and the answer is offline after the fallback model too (the type's own tests
    # script answers that fit).
    assert reply["data"]["mode"] in ("llm", "degraded")
    assert fallbacks == 1 and tokens > 0


def test_when_both_models_fail_the_answer_is_offline_and_each_step_is_counted(
    fake_openai, llm_backend
):
    fake_openai.fail_model(PRIMARY_MODEL, 500)
    fake_openai.fail_model(FALLBACK_MODEL, 429)
    with llm_service(llm_backend, fake_openai, openai_fallback_model=FALLBACK_MODEL) as client:
        reply = ask(client).json()
        to_fallback = metric(client, "agent_llm_fallbacks_total", next=FALLBACK_MODEL)
        to_offline = metric(client, "agent_llm_fallbacks_total", next="offline")
    assert reply["data"]["mode"] == "degraded" and reply["data"]["reason"] == "llm_unavailable"
    assert reply["response"].strip()
    assert to_fallback == 1 and to_offline == 1


# -- the conversation ----------------------------------------------------------------------


def test_the_model_gets_the_system_prompt_this_learners_history_and_the_question(
    llm_client, fake_openai
):
    first, second, third = SAMPLE_QUERY, f"{SAMPLE_QUERY} (again)", f"{SAMPLE_QUERY} (more)"
    answers = [ask(llm_client, first, user_id="ada").json()]
    ask(llm_client, "something from someone else", user_id="bob")
    answers.append(ask(llm_client, second, user_id="ada").json())
    calls_before = len(fake_openai.requests)
    ask(llm_client, third, user_id="ada")
    messages = fake_openai.messages(calls_before)  # the third question's first call
    assert messages[0]["role"] == "system"
    # Each turn as the learner asked it and as they were answered (both cut to a bound).
    turns = [
        new_turn(first, answers[0]["response"], {}),
        new_turn(second, answers[1]["response"], {}),
    ]
    assert messages[1:-1] == [
        {"role": "user", "content": turns[0].question},
        {"role": "assistant", "content": turns[0].answer},
        {"role": "user", "content": turns[1].question},
        {"role": "assistant", "content": turns[1].answer},
    ]
    assert messages[-1]["role"] == "user" and third in messages[-1]["content"]
    sent = json.dumps(messages)
    assert "ada" not in sent and "someone else" not in sent  # no id, no other learner


def test_older_turns_are_folded_into_one_short_note(fake_openai, llm_backend):
    with llm_service(llm_backend, fake_openai, conversation_turns=1) as client:
        for n in range(3):
            ask(client, f"{n}) {SAMPLE_QUERY}")
        calls_before = len(fake_openai.requests)
        ask(client, f"3) {SAMPLE_QUERY}")
    messages = fake_openai.messages(calls_before)
    note = messages[1]
    assert note["role"] == "system" and "Earlier in this conversation" in note["content"]
    assert "0) " in note["content"] and "1) " in note["content"]
    assert [m["role"] for m in messages[2:]] == ["user", "assistant", "user"]
    assert messages[2]["content"].startswith("2) ")


def test_a_learner_can_clear_their_conversation(llm_client, fake_openai):
    ask(llm_client, user_id="ada")
    assert llm_client.delete("/conversations/ada").status_code == 204
    assert llm_client.delete("/conversations/ada").status_code == 204  # nothing left: same
    calls_before = len(fake_openai.requests)
    ask(llm_client, user_id="ada")
    messages = fake_openai.messages(calls_before)
    assert [m["role"] for m in messages] == ["system", "user"]


def test_without_a_model_only_agents_whose_offline_answers_read_it_keep_the_conversation(client):
    ask(client, user_id="offline-learner")
    runtime = client.app.state.runtime
    client.portal.call(runtime.agent.sessions.drain)
    kept = client.portal.call(runtime.agent.deps.state.get, conversation_key("offline-learner"))
    # Nothing else reads it without a model: no state read or write per request for it.
    assert (kept.value is not None) is Agent.remembers_offline


@pytest.mark.skipif(
    not Agent.remembers_offline, reason="this agent keeps no conversation without a model"
)
def test_without_a_model_the_last_turn_alone_is_kept(client):
    queries = [SAMPLE_QUERY, f"{SAMPLE_QUERY} (again)", f"{SAMPLE_QUERY} (third time)"]
    for query in queries:
        assert ask(client, query=query, user_id="offline-three").status_code == 200
    runtime = client.app.state.runtime
    client.portal.call(runtime.agent.sessions.drain)
    kept = client.portal.call(runtime.agent.deps.state.get, conversation_key("offline-three"))
    # The offline answers read the last turn only, and only a model reads the note of older
    # questions: neither is made without one.
    assert [turn["q"] for turn in kept.value["turns"]] == [queries[-1]]
    assert kept.value["earlier"] == []


def test_clearing_needs_a_valid_learner_id(llm_client):
    refused = llm_client.delete("/conversations/not%20valid")
    assert refused.status_code == 422 and "user_id" in refused.json()["detail"]


# -- the daily token budget -----------------------------------------------------------------


def test_past_the_daily_budget_the_answer_is_offline_and_says_so(fake_openai, llm_backend):
    # One token a day: the first answer spends it, whatever its size.
    with llm_service(llm_backend, fake_openai, llm_daily_token_budget=1) as client:
        first = ask(client, user_id="ada").json()
        calls = len(fake_openai.requests)
        second = ask(client, user_id="ada").json()
        calls_for_second = len(fake_openai.requests) - calls
        other = ask(client, user_id="bob").json()
        prompt_tokens = metric(client, "agent_llm_tokens_total", kind="prompt")
        exhausted = metric(client, "agent_llm_budget_exhausted_total")
    assert first["data"]["mode"] in ("llm", "degraded")
    assert first["data"].get("reason") != "budget"
    assert second["data"]["mode"] == "offline" and second["data"]["reason"] == "budget"
    assert "used today's AI-written answers" in second["response"]
    assert calls_for_second == 0  # the model was not asked
    assert other["data"].get("reason") != "budget"  # another learner has their own
    assert prompt_tokens > 0 and exhausted == 1


def test_a_budget_of_zero_means_no_limit(fake_openai):
    with llm_service("openai", fake_openai, llm_daily_token_budget=0) as client:
        replies = [ask(client).json() for _ in range(3)]
    assert all(r["data"].get("reason") != "budget" for r in replies)


# -- the learner's level -----------------------------------------------------------------


def topic_context() -> dict[str, str]:
    """The question's topic as the router forwards it, when the question names none."""
    return {} if topic_of(SAMPLE_QUERY) else {"topic": "loops"}


@pytest.mark.skipif(not ASKS_THE_TRACKER, reason="this agent does not ask the tracker")
@pytest.mark.parametrize(
    ("record", "level"),
    [
        ({"mastery": 97.5, "attempts": 4}, "advanced"),
        ({"mastery": 97.5, "attempts": 2}, "intermediate"),
        ({"mastery": 72.0, "attempts": 2}, "intermediate"),
        ({"mastery": 30.0, "attempts": 3}, "beginner"),
        (None, "beginner"),
    ],
)
def test_without_a_level_the_trackers_mastery_decides_it(fake_openai, llm_backend, record, level):
    with llm_service(llm_backend, fake_openai, dapr=True) as client:
        topic = topic_context().get("topic") or topic_of(SAMPLE_QUERY)
        topics = {} if record is None else {topic: record}
        client.sidecar.on_invoke(TRACKER_APP_ID, "progress/ada", lambda _: {"topics": topics})
        reply = ask(client, user_id="ada", **topic_context()).json()
        again = ask(client, user_id="ada", **topic_context()).json()
        invoked = [i for i in client.sidecar.invoked if i[0] == TRACKER_APP_ID]
    assert reply["data"]["level"] == level and again["data"]["level"] == level
    assert topic in reply["data"]["level_reason"]
    if record is not None:
        assert f"{record['mastery']:g}%" in reply["data"]["level_reason"]
    assert f"{level} level" in fake_openai.messages(0)[0]["content"]
    assert len(invoked) == 1  # the second answer reused the first lookup


@pytest.mark.skipif(not ASKS_THE_TRACKER, reason="this agent does not ask the tracker")
@pytest.mark.parametrize("first_level", [None, "beginner"])
def test_a_follow_up_naming_no_topic_gets_the_level_of_the_previous_questions_topic(
    fake_openai, llm_backend, first_level
):
    # Also when the previous request said its own level, so that nothing was looked up then.
    record = {"mastery": 97.5, "attempts": 4}
    with llm_service(llm_backend, fake_openai, dapr=True) as client:
        client.sidecar.on_invoke(
            TRACKER_APP_ID, "progress/ada", lambda _: {"topics": {"recursion": record}}
        )
        said = {"level": first_level} if first_level else {}
        ask(client, "how does recursion work?", user_id="ada", **said)
        follow_up = ask(client, "can you say that again more simply", user_id="ada").json()
    assert follow_up["data"]["level"] == "advanced"
    assert "recursion" in follow_up["data"]["level_reason"]


@pytest.mark.skipif(not ASKS_THE_TRACKER, reason="this agent does not ask the tracker")
def test_a_level_in_the_request_is_not_looked_up(fake_openai, llm_backend):
    with llm_service(llm_backend, fake_openai, dapr=True) as client:
        reply = ask(client, user_id="ada", level="advanced", **topic_context()).json()
        invoked = [i for i in client.sidecar.invoked if i[0] == TRACKER_APP_ID]
    assert reply["data"]["level"] == "advanced" and not invoked
    assert "request" in reply["data"]["level_reason"]


@pytest.mark.skipif(not ASKS_THE_TRACKER, reason="this agent does not ask the tracker")
@pytest.mark.parametrize("failure", ["slow", "down"])
def test_a_slow_or_failing_tracker_means_beginner_never_a_failed_answer(
    fake_openai, llm_backend, failure
):
    def slow(_):
        time.sleep(0.6)
        return {"topics": {}}

    # A first call to the sidecar may take a while on a busy machine: only the slow tracker
    # gets the short timeout.
    timeout = 0.1 if failure == "slow" else 2.0
    with llm_service(llm_backend, fake_openai, dapr=True, level_lookup_timeout_s=timeout) as client:
        if failure == "slow":
            client.sidecar.on_invoke(TRACKER_APP_ID, "progress/ada", slow)
        else:
            client.sidecar.on_invoke(TRACKER_APP_ID, "progress/ada", lambda _: (500, {}))
        started = time.monotonic()
        reply = ask(client, user_id="ada", **topic_context())
        elapsed = time.monotonic() - started
    assert reply.status_code == 200
    assert reply.json()["data"]["level"] == "beginner"
    reason = reply.json()["data"]["level_reason"]
    assert ("100 ms" in reason) if failure == "slow" else ("could not be reached" in reason)
    assert elapsed < 2.5  # the lookup gave up at 100 ms; the rest is the model's answer


@pytest.mark.skipif(not ASKS_THE_TRACKER, reason="this agent does not ask the tracker")
def test_embedded_mode_has_no_tracker_and_says_so(client):
    reply = client.post(
        "/process",
        json={"user_id": "ada", "query": SAMPLE_QUERY, "context": topic_context()},
    ).json()
    assert reply["data"]["level"] == "beginner"
    assert "embedded mode" in reply["data"]["level_reason"]


# -- streaming ----------------------------------------------------------------------------


def stream(client, query=None) -> tuple[list[str], dict]:
    with client.stream(
        "POST",
        "/process/stream",
        json={"user_id": "u1", "query": query or SAMPLE_QUERY, "context": CONTEXT},
    ) as response:
        text = "".join(response.iter_text())
    blocks = [b for b in text.split("\n\n") if b.strip()]
    deltas = [
        json.loads(b.split("data: ", 1)[1])["text"] for b in blocks if b.startswith("event: delta")
    ]
    done = json.loads(blocks[-1].split("data: ", 1)[1])
    assert blocks[-1].startswith("event: done")
    return deltas, done


def test_garbled_stream_still_ends_with_an_answer(llm_client, fake_openai):
    for _ in range(3):
        fake_openai.garble_stream()
    deltas, done = stream(llm_client)
    assert done["response"] and done["data"]["mode"] in ("degraded", "llm")
    assert "".join(deltas) == done["response"]


def test_a_streamed_answer_is_remembered_like_any_other(llm_client, fake_openai):
    _, done = stream(llm_client)
    calls_before = len(fake_openai.requests)
    ask(llm_client)
    history = fake_openai.messages(calls_before)[1:-1]
    turn = new_turn(SAMPLE_QUERY, done["response"], {})
    assert history == [
        {"role": "user", "content": turn.question},
        {"role": "assistant", "content": turn.answer},
    ]


# -- the fake sidecar's Conversation API, as daprd answers --------------------------------


def converse(sidecar, component: str, messages: list[dict], **kwargs):
    """One ConverseAlpha2 call through the real dapr.aio client."""
    import asyncio

    from conftest import sidecar_connection
    from dapr.clients.grpc import conversation

    from kit.adapters.dapr_conversation import to_dapr_message

    async def call():
        async with sidecar_connection(sidecar) as connection:
            inputs = [conversation.ConversationInputAlpha2([to_dapr_message(m) for m in messages])]
            return await connection.client.converse_alpha2(
                component, inputs if messages else [], **kwargs
            )

    return asyncio.run(call())


@pytest.fixture
def conversation_sidecar(fake_openai):
    from fakes.fake_sidecar import ConversationComponent, FakeSidecar

    component = ConversationComponent(
        model=PRIMARY_MODEL, key=LLM_KEY, endpoint=fake_openai.base_url
    )
    sidecar = FakeSidecar(conversations={"llm": component}).start()
    yield sidecar
    sidecar.stop()


def test_every_output_carries_the_usage_and_the_components_model(conversation_sidecar, fake_openai):
    fake_openai.reply("Loops repeat.", usage=(21, 4))
    answer = converse(conversation_sidecar, "llm", [{"role": "user", "content": "loops?"}])
    [output] = answer.outputs
    assert output.choices[0].message.content == "Loops repeat."
    assert output.choices[0].finish_reason == "stop"
    assert (output.usage.prompt_tokens, output.usage.completion_tokens) == (21, 4)
    assert output.model == PRIMARY_MODEL


@pytest.mark.parametrize(
    ("component", "messages", "code", "message"),
    [
        (
            "nope",
            [{"role": "user", "content": "hi"}],
            "INVALID_ARGUMENT",
            "failed finding conversation component nope",
        ),
        ("llm", [], "INVALID_ARGUMENT", "missing inputs in request"),
    ],
)
def test_requests_daprd_refuses_are_refused(
    conversation_sidecar, component, messages, code, message
):
    from dapr.clients.exceptions import DaprGrpcError

    with pytest.raises(DaprGrpcError) as refused:
        converse(conversation_sidecar, component, messages)
    assert refused.value.code().name == code and message in refused.value.details()


def test_a_provider_error_is_internal_and_names_the_status(conversation_sidecar, fake_openai):
    from dapr.clients.exceptions import DaprGrpcError

    fake_openai.fail(429)
    with pytest.raises(DaprGrpcError) as failed:
        converse(conversation_sidecar, "llm", [{"role": "user", "content": "hi"}])
    assert failed.value.code().name == "INTERNAL"
    assert "failed conversing with component llm: API returned unexpected status code: 429" in (
        failed.value.details()
    )
