"""The LearnFlow stack's events: one payload model per topic, the `data` of each CloudEvent.

Topics cross services (the exercise agent publishes exercise.grades, the progress agent
consumes it), so these models are the stack's contracts, the same in every service. They say
what a publisher sends; the consumers are lenient (kit.agent_base.request_from_event reads only
the fields it needs), so a field added here must stay optional for them. kit/asyncapi.py turns
them into the service's asyncapi.yaml; `validated_payload` checks an event before it is sent.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel, model_validator
from pydantic.json_schema import JsonDict

from kit.contracts import (
    MAX_CONTEXT_KEYS,
    USER_ID_PATTERN,
    ProcessReply,
    ProcessRequest,
    StrictModel,
)

#: The version of these contracts (asyncapi.yaml's info.version): the major part changes when
#: a field a consumer reads is removed or changes meaning.
EVENTS_VERSION = "1.0.0"

Level = Literal["beginner", "intermediate", "advanced"]
# kit.content.SLUG: the form of topic and exercise ids.
SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"

# The context keys some agent reads, documented in the schema without constraining them: the
# context is the learner's own (any JSON object passes /process), forwarded as it came.
CONTEXT_KEYS: JsonDict = {
    "level": {
        "description": "beginner, intermediate or advanced (anything else reads as beginner).",
        "examples": ["beginner"],
    },
    "topic": {
        "description": "A kit/topics.yaml id. The router adds the topic of the question unless "
        "the learner gave one, so every agent files it under the same id.",
        "examples": ["loops"],
    },
    "code": {
        "description": "The learner's code, sent beside the question (debug agent, router).",
        "examples": ["total = 0\nprint(totl)\n"],
    },
    "error": {"description": "Error text sent beside the question (router)."},
    "traceback": {"description": "A traceback sent beside the question (router)."},
    "hint_level": {
        "description": "1 to 3, how specific the debug agent's hint is (default 1).",
        "examples": [1],
    },
    "timezone": {
        "description": "An IANA zone name: the progress agent counts streaks in the learner's "
        "calendar days and remembers it.",
        "examples": ["Europe/Paris"],
    },
    "new_exercise": {
        "description": "true: the exercise agent writes a new exercise with the LLM (when it "
        "has a key) instead of choosing one from its bank.",
        "examples": [True],
    },
}


def _example(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


# -- learner requests -------------------------------------------------------------------------


class LearnerRequest(ProcessRequest):
    """A learner's question, as the frontend publishes it on learning.requests. The same
    fields as POST /process, plus the request id the answer carries back."""

    model_config = _example(
        {
            "request_id": "req-7f3a",
            "user_id": "12345",
            "query": "How do for loops work?",
            "context": {"level": "beginner"},
        }
    )

    request_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="Correlates the answer with this request: the answering agent copies it "
        "into its response event. Absent: the CloudEvent id is used.",
        examples=["req-7f3a"],
    )
    context: dict[str, Any] = Field(
        default_factory=dict,
        max_length=MAX_CONTEXT_KEYS,
        description="Optional hints for the agents, any JSON object of at most "
        f"{MAX_CONTEXT_KEYS} keys; the keys an agent reads are listed.",
        json_schema_extra={"properties": CONTEXT_KEYS},
    )


class RoutedRequest(LearnerRequest):
    """A learner's question handed over by the router (learning.requests or its /process).
    The answering agent reads user_id, query and context; request_id comes back in its
    answer."""

    routed_by: str | None = Field(
        default=None,
        description="The Dapr app-id of the router that forwarded the question.",
        examples=["triage-agent"],
    )


def _routed_example(intent: str, query: str, topic: str) -> ConfigDict:
    return _example(
        {
            "request_id": "req-7f3a",
            "user_id": "12345",
            "query": query,
            "context": {"level": "beginner", "topic": topic},
            "intent": intent,
            "routed_by": "triage-agent",
        }
    )


class ConceptRequest(RoutedRequest):
    """A question asking for a Python idea to be explained."""

    model_config = _routed_example("concept", "How do for loops work?", "loops")
    intent: Literal["concept"] | None = Field(
        default=None, description="The router's decision (absent if not from the router)."
    )


class DebugRequest(RoutedRequest):
    """A question about an error, a traceback or code that misbehaves."""

    model_config = _routed_example(
        "debug", "NameError: name 'totl' is not defined, why?", "exceptions"
    )
    intent: Literal["debug"] | None = Field(
        default=None, description="The router's decision (absent if not from the router)."
    )


class ExerciseRequest(RoutedRequest):
    """A request for something to practise."""

    model_config = _routed_example("exercise", "Give me a loop exercise", "loops")
    intent: Literal["exercise"] | None = Field(
        default=None, description="The router's decision (absent if not from the router)."
    )


class ProgressRequest(RoutedRequest):
    """A learner asking about their own progress, streak or what to study next."""

    model_config = _routed_example("progress", "How am I doing with loops?", "loops")
    intent: Literal["progress"] | None = Field(
        default=None, description="The router's decision (absent if not from the router)."
    )


# -- answers ----------------------------------------------------------------------------------


class AgentResponse(StrictModel):
    """An agent's answer to a request it received as an event."""

    request_id: str = Field(
        min_length=1,
        description="The request's request_id, or its CloudEvent id when it had none.",
        examples=["req-7f3a"],
    )
    user_id: str = Field(pattern=USER_ID_PATTERN, description="The learner who asked.")
    reply: ProcessReply = Field(description="The answer, exactly as POST /process returns it.")


def _response_example(agent: str, response: str, data: dict[str, Any]) -> ConfigDict:
    return _example(
        {
            "request_id": "req-7f3a",
            "user_id": "12345",
            "reply": {
                "agent": agent,
                "response": response,
                "next_steps": ["Try an exercise on this topic"],
                "data": {**data, "mode": "offline"},
            },
        }
    )


class ConceptResponse(AgentResponse):
    """The concepts agent's explanation."""

    model_config = _response_example(
        "concepts", "A for loop repeats its body once for each item...", {"concept": "for-loops"}
    )


class DebugResponse(AgentResponse):
    """The debug agent's explanation of an error, with hints (never the corrected code)."""

    model_config = _response_example(
        "debug", "NameError means Python met a name nothing defined...", {"error_type": "NameError"}
    )


class ExerciseResponse(AgentResponse):
    """The exercise the exercise agent chose (or wrote) for the learner."""

    model_config = _response_example(
        "exercise", "Sum of evens (beginner, loops)...", {"exercise": {"id": "sum-of-evens"}}
    )


# -- exercises --------------------------------------------------------------------------------


class ExerciseSubmission(StrictModel):
    """A learner's code for an exercise, to be graded (the frontend publishes it)."""

    model_config = _example(
        {
            "submission_id": "sub-19c2",
            "user_id": "12345",
            "exercise_id": "sum-of-evens",
            "code": "def sum_of_evens(numbers):\n"
            "    return sum(n for n in numbers if n % 2 == 0)\n",
        }
    )

    submission_id: str | None = Field(
        default=None,
        min_length=1,
        description="Copied into the grade. Absent: the CloudEvent id is used.",
    )
    user_id: str = Field(pattern=USER_ID_PATTERN, description="The learner who submitted.")
    exercise_id: str = Field(
        min_length=1,
        max_length=128,
        description="The exercise (GET /exercises lists them; the LLM may have written it).",
    )
    code: str = Field(min_length=1, description="The learner's Python source.")


class GradedTest(BaseModel):
    """One test of a graded submission."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description='"example 1".. (visible) or "hidden test 1"..')
    passed: bool = Field(description="Whether the submission's answer was right.")
    message: str = Field(description="What went wrong; hidden tests never show their input.")


class ExerciseGrade(StrictModel):
    """A graded submission: published by the exercise agent, read by the progress agent to
    update the learner's mastery, streak and struggles."""

    model_config = _example(
        {
            "user_id": "12345",
            "exercise_id": "sum-of-evens",
            "topic": "lists",
            "difficulty": "beginner",
            "score": 1.0,
            "passed": 5,
            "total": 5,
            "error_type": None,
            "graded_at": "2026-01-05T10:00:00+00:00",
            "submission_id": "sub-19c2",
            "results": [{"name": "example 1", "passed": True, "message": "ok"}],
        }
    )

    user_id: str = Field(pattern=USER_ID_PATTERN, description="The learner who submitted.")
    exercise_id: str = Field(min_length=1, description="The exercise graded.")
    topic: str = Field(pattern=SLUG, description="The exercise's kit/topics.yaml id.")
    difficulty: Level = Field(description="The exercise's level.")
    score: float = Field(ge=0, le=1, description="The share of tests passed, 0 to 1.")
    passed: int = Field(ge=0, description="Tests passed.")
    total: int = Field(ge=0, description="Tests run (visible examples and hidden tests).")
    error_type: str | None = Field(
        default=None,
        description="The exception the submission raised first (e.g. TypeError, SyntaxError); "
        "null when none did.",
    )
    graded_at: AwareDatetime = Field(description="When it was graded (ISO 8601, with a zone).")
    submission_id: str | None = Field(
        default=None,
        description="The submission's id (submitted as an event; absent for POST "
        "/exercises/{id}/submissions).",
    )
    results: list[GradedTest] | None = Field(
        default=None, description="Each test's outcome (submitted as an event; absent otherwise)."
    )

    @model_validator(mode="after")
    def _passed_within_total(self) -> ExerciseGrade:
        if self.passed > self.total:
            raise ValueError(f"passed ({self.passed}) cannot exceed total ({self.total})")
        return self


# -- progress ---------------------------------------------------------------------------------


class TopicMastery(BaseModel):
    """A learner's standing on one topic."""

    model_config = ConfigDict(extra="forbid")

    mastery: float = Field(ge=0, le=100, description="Estimated mastery, percent.")
    attempts: int = Field(ge=0, description="Graded attempts on the topic.")
    last_seen: AwareDatetime | None = Field(description="The latest graded attempt (UTC).")


class Streak(BaseModel):
    """Consecutive days with a graded attempt, in the learner's time zone."""

    model_config = ConfigDict(extra="forbid")

    current: int = Field(ge=0, description="Days in a row up to today (0 once a day is missed).")
    longest: int = Field(ge=0, description="The longest streak so far.")
    last_active: date | None = Field(description="The learner's last active day.")


class StruggleAlert(StrictModel):
    """A learner stuck on a topic, published once when the episode opens (a passing attempt
    closes it): for teachers and notifications."""

    model_config = _example(
        {
            "user_id": "12345",
            "topic": "loops",
            "pattern": "repeated_failures",
            "detail": "3 failed attempts in a row on loops",
            "attempts": 3,
            "error_type": "TypeError",
            "opened_at": "2026-01-05T10:00:00+00:00",
        }
    )

    user_id: str = Field(pattern=USER_ID_PATTERN, description="The learner.")
    topic: str = Field(pattern=SLUG, description="The kit/topics.yaml id.")
    pattern: Literal["repeated_failures", "repeated_error"] = Field(
        description="repeated_failures: 3 failed attempts in a row; repeated_error: the same "
        "error 3 times in a row."
    )
    detail: str = Field(description="The pattern in words.")
    attempts: int = Field(ge=0, description="Failed attempts in a row when it opened.")
    error_type: str | None = Field(description="The latest attempt's error, if it raised one.")
    opened_at: AwareDatetime = Field(description="When the episode opened (UTC).")


class Recommendation(BaseModel):
    """What to study next."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(description="The kit/topics.yaml id.")
    kind: Literal["practice", "review", "start"] = Field(
        description="practice: not mastered yet; review: mastered a while ago; start: next in "
        "the course."
    )
    reason: str = Field(description="Why, in words.")


class ProgressSummary(BaseModel):
    """A learner's progress as the progress agent reports it."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(description="The learner.")
    topics: dict[str, TopicMastery] = Field(description="By kit/topics.yaml id.")
    streak: Streak | None = Field(description="null while the progress records are unreachable.")
    struggles: list[StruggleAlert] = Field(description="The struggle episodes still open.")
    recommendations: list[Recommendation] = Field(description="Best first.")


class ProgressReport(StrictModel):
    """The progress a learner asked about (progress.requests, or the progress agent's
    /process)."""

    user_id: str = Field(pattern=USER_ID_PATTERN, description="The learner.")
    summary: ProgressSummary
    request_id: str | None = Field(
        default=None,
        description="The progress.requests event's request_id, or its CloudEvent id (absent "
        "when asked through /process).",
    )
    response: str | None = Field(
        default=None,
        description="The answer the learner read (absent when asked through /process).",
    )


class MasteryUpdate(StrictModel):
    """A learner's standing on one topic after a grade was applied."""

    user_id: str = Field(pattern=USER_ID_PATTERN, description="The learner.")
    topic: str = Field(pattern=SLUG, description="The graded exercise's topic.")
    exercise_id: str = Field(min_length=1, description="The graded exercise.")
    topic_progress: TopicMastery | None = Field(description="The topic after the grade.")
    streak: Streak


class ProgressUpdate(RootModel[MasteryUpdate | ProgressReport]):
    """A change in a learner's progress: after each grade (a MasteryUpdate), or when they asked
    how they are doing (a ProgressReport)."""

    model_config = _example(
        {
            "user_id": "12345",
            "topic": "lists",
            "exercise_id": "sum-of-evens",
            "topic_progress": {
                "mastery": 84.5,
                "attempts": 1,
                "last_seen": "2026-01-05T10:00:00+00:00",
            },
            "streak": {"current": 1, "longest": 1, "last_active": "2026-01-05"},
        },
        {
            "request_id": "req-7f3a",
            "user_id": "12345",
            "summary": {
                "user_id": "12345",
                "topics": {},
                "streak": {"current": 0, "longest": 0, "last_active": None},
                "struggles": [],
                "recommendations": [
                    {"topic": "basics", "kind": "start", "reason": "next in the course"}
                ],
            },
            "response": "Welcome! You have no graded exercises yet...",
        },
    )


# -- the stack's topics -----------------------------------------------------------------------

#: Each topic of the stack and the model of its events' data.
TOPIC_MODELS: dict[str, type[BaseModel]] = {
    "learning.requests": LearnerRequest,
    "concept.requests": ConceptRequest,
    "debug.requests": DebugRequest,
    "exercise.requests": ExerciseRequest,
    "progress.requests": ProgressRequest,
    "concept.responses": ConceptResponse,
    "debug.responses": DebugResponse,
    "exercise.responses": ExerciseResponse,
    "exercise.submissions": ExerciseSubmission,
    "exercise.grades": ExerciseGrade,
    "progress.updates": ProgressUpdate,
    "struggle.alerts": StruggleAlert,
}


def validated_payload(topic: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` itself, once it is a valid event for `topic` (pydantic's ValidationError
    otherwise). A topic with no model here passes unchecked."""
    model = TOPIC_MODELS.get(topic)
    if model is not None:
        model.model_validate(data)
    return data
