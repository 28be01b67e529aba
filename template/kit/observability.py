"""Structured logs and Prometheus metrics. Each request gets one log line, written by the
access-log middleware (kit/middleware.py); a handler puts fields on it with `annotate`."""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import sys
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, MutableMapping
from contextvars import ContextVar
from math import inf
from typing import Any

import prometheus_client.metrics
import structlog
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString
from pydantic_core import to_json

from kit.clock import SecondsText

REDACTED = "[redacted]"

# Fields of the request being served, on every line logged while it is served. One dict per
# request, shared by reference, so what a handler adds reaches the middleware's line even
# from a child task (a streaming response), and one ContextVar set costs less than binding
# each field through structlog.contextvars.
request_fields: ContextVar[dict[str, Any] | None] = ContextVar("request_fields", default=None)


def annotate(**fields: Any) -> None:
    """Put fields (the user id, how the agent answered) on the current request's log lines."""
    current = request_fields.get()
    if current is not None:
        current.update(fields)


def log_published(log: Any, **fields: Any) -> None:
    """Record a published event: on the request's line when a request published it (one line
    per request), as its own `event_published` line otherwise (event handlers, start-up)."""
    current = request_fields.get()
    if current is None:
        log.info("event_published", **fields)
    else:
        current.setdefault("published", []).append(fields)


# structlog's method names that are not the level's name.
_LEVEL_OF_METHOD = {"warn": "warning", "exception": "error", "fatal": "critical"}
_ascii_json = json.JSONEncoder(separators=(",", ":"), default=repr).encode


def render_line(secrets: list[str]) -> Callable[[Any, str, MutableMapping[str, Any]], str]:
    """The last processor: the request's fields, level, UTC timestamp, formatted exception and
    scrubbed secrets, then one compact JSON object. What structlog's add_log_level,
    TimeStamper, format_exc_info and JSONRenderer would do as four processors, done in one
    call, because it runs on every request: pydantic-core encodes (a third of the json
    module's time), and a line with anything but ASCII is encoded by the json module
    instead, escaped, so no terminal or log shipper sees a byte it cannot decode."""

    def render(logger: Any, method: str, event: MutableMapping[str, Any]) -> str:
        fields = request_fields.get()
        if fields:
            for key, value in fields.items():
                event.setdefault(key, value)
        event["level"] = _LEVEL_OF_METHOD.get(method, method)
        event["timestamp"] = utc_timestamp()
        if "exc_info" in event:
            event = structlog.processors.format_exc_info(logger, method, event)
        if secrets:
            _scrub(event, secrets)
        line = to_json(event, fallback=repr).decode()
        return line if line.isascii() else _ascii_json(event)

    return render


_LOG_SECOND = SecondsText("%Y-%m-%dT%H:%M:%S")


def utc_timestamp() -> str:
    """Now as ISO 8601 in UTC with microseconds ("2026-11-29T21:10:00.123456Z", as structlog's
    TimeStamper writes it), formatting the date and time once a second."""
    now = time.time()
    second = int(now)
    return f"{_LOG_SECOND.of(second)}.{int((now - second) * 1_000_000):06d}Z"


# Values that cannot hold a secret. A tuple: isinstance builds a union anew on every call.
_NOT_TEXT = (int, float, bool, type(None))


def _scrub(event: MutableMapping[str, Any], secrets: list[str]) -> None:
    for key, value in event.items():
        text = value if isinstance(value, str) else None
        if text is None and not isinstance(value, _NOT_TEXT):
            text = str(value)
        if text is not None and any(secret in text for secret in secrets):
            for secret in secrets:
                text = text.replace(secret, REDACTED)
            event[key] = text


def configure_logging(level: str, secrets: list[str]) -> None:
    """JSON logs on stdout, one object per line, with every known secret value scrubbed.
    Fields bound with structlog.contextvars (an owner's own) are merged in too."""
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, render_line(list(secrets))],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=LineWriter,
        cache_logger_on_first_use=False,
    )


# How long an info line may wait before it is written (flush_logs_every), and how many may
# wait at most. A warning or an error is written at once, with those before it.
LOG_FLUSH_SECONDS = 0.05
LOG_BUFFER_LINES = 64
_pending: list[str] = []
_pending_lock = threading.Lock()


class LineWriter:
    """structlog's logger. Lines wait in a buffer of ours and are written to sys.stdout
    (whichever it is then, as print() does) several at a time, one write call: with Python
    unbuffered, as containers run it (PYTHONUNBUFFERED=1), each line was its own write system
    call, as costly as rendering it. The running app writes what waits every
    LOG_FLUSH_SECONDS; a warning or worse is written at once, with what waited before it, so
    what explains a failure is out first; the rest is written at exit."""

    def __init__(self, *_args: Any) -> None:
        pass

    @staticmethod
    def write(message: str) -> None:
        with _pending_lock:
            _pending.append(message)
            full = len(_pending) >= LOG_BUFFER_LINES
        if full:
            flush_logs()

    @staticmethod
    def write_now(message: str) -> None:
        with _pending_lock:
            _pending.append(message)
        flush_logs()

    debug = info = msg = log = write
    warning = warn = error = err = critical = fatal = exception = write_now


def flush_logs() -> None:
    """Write every line still waiting, in order, in one call."""
    with _pending_lock:
        if not _pending:
            return
        text = "\n".join(_pending) + "\n"
        _pending.clear()
        stream = sys.stdout
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            pass  # stdout closed (at exit, under a test runner): nowhere left to write


atexit.register(flush_logs)


async def flush_logs_every(seconds: float = LOG_FLUSH_SECONDS) -> None:
    """flush_logs() every `seconds` for the app's lifetime, and once more at its end."""
    try:
        while True:
            await asyncio.sleep(seconds)
            flush_logs()
    finally:
        flush_logs()


# The request-duration histogram's upper bounds, in seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_REQUEST_LABELS = ("agent", "method", "route", "outcome")
# Each bucket's `le` label as prometheus_client writes it ("0.005", "1.0", "+Inf"); its
# floatToGoString has no type hints.
_BUCKET_EDGES: tuple[str, ...] = tuple(
    floatToGoString(bound)  # type: ignore[no-untyped-call]
    for bound in (*DURATION_BUCKETS, inf)
)


class RequestTally(Collector):
    """`agent_requests_total`, `agent_request_duration_seconds` and `agent_answers_total`,
    counted in plain numbers and turned into Prometheus samples when scraped, as
    prometheus_client's Counter and Histogram would write them. These three change on every
    request, and prometheus_client's metrics take a lock and check their own state on each
    increment (three a request: 2% of the debugger's /process). Every request is counted on
    the event loop's thread, and /metrics (an async route) reads them on it too."""

    def __init__(self, agent: str) -> None:
        self.agent = agent
        # By (method, route, status // 100): [count, seconds, per-bucket counts, created].
        self._requests: dict[tuple[str, str, int], list[Any]] = {}
        # By mode: [count, created].
        self._answers: dict[str, list[Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status // 100)
        stats = self._requests.get(key)
        if stats is None:
            stats = self._requests[key] = [0, 0.0, [0] * len(_BUCKET_EDGES), time.time()]
        stats[0] += 1
        stats[1] += seconds
        # The first bound at or above the duration: Prometheus buckets count `<= le`.
        stats[2][bisect_left(DURATION_BUCKETS, seconds)] += 1

    def answered(self, mode: str) -> None:
        stats = self._answers.get(mode)
        if stats is None:
            stats = self._answers[mode] = [0, time.time()]
        stats[0] += 1

    def collect(self) -> Iterator[Metric]:
        # What prometheus_client's own metrics follow (PROMETHEUS_DISABLE_CREATED_SERIES).
        with_created = getattr(prometheus_client.metrics, "_use_created", True)
        requests = CounterMetricFamily(
            "agent_requests", "HTTP requests by route and outcome.", labels=_REQUEST_LABELS
        )
        duration = HistogramMetricFamily(
            "agent_request_duration_seconds",
            "HTTP request duration by route and outcome.",
            labels=_REQUEST_LABELS,
        )
        for (method, route, hundreds), (count, seconds, buckets, created) in list(
            self._requests.items()
        ):
            labels = [self.agent, method, route, f"{hundreds}xx"]
            requests.add_metric(labels, count, created=created if with_created else None)
            cumulative, below = [], 0
            for edge, in_bucket in zip(_BUCKET_EDGES, buckets, strict=True):
                below += in_bucket
                cumulative.append((edge, below))
            duration.add_metric(labels, cumulative, seconds)
            if with_created:
                label_values = dict(zip(_REQUEST_LABELS, labels, strict=True))
                duration.samples.append(Sample(f"{duration.name}_created", label_values, created))
        answers = CounterMetricFamily(
            "agent_answers",
            "Answers given by mode (llm, offline, degraded).",
            labels=("agent", "mode"),
        )
        for mode, (count, created) in list(self._answers.items()):
            answers.add_metric([self.agent, mode], count, created=created if with_created else None)
        yield from (requests, duration, answers)


class Metrics:
    """Per-app registry, so several apps in one process (tests) don't collide."""

    def __init__(self, agent: str) -> None:
        self.registry = CollectorRegistry()
        self.tally = RequestTally(agent)
        self.registry.register(self.tally)
        self.events = Counter(
            "agent_events_total",
            "Pub/sub events by topic, status (SUCCESS/RETRY/DROP) and reason.",
            ["agent", "topic", "status", "reason"],
            registry=self.registry,
        )
        self.llm_tokens = Counter(
            "agent_llm_tokens_total",
            "Tokens the model reported, by model and kind (prompt, completion).",
            ["agent", "model", "kind"],
            registry=self.registry,
        )
        self.llm_fallbacks = Counter(
            "agent_llm_fallbacks_total",
            "A model failed and the next step was taken: the fallback model, or offline.",
            ["agent", "failed_model", "next"],
            registry=self.registry,
        )
        self.llm_budget_exhausted = Counter(
            "agent_llm_budget_exhausted_total",
            "Answers given offline because the learner's daily token budget was spent.",
            ["agent"],
            registry=self.registry,
        )
        self.router_disagreements = Counter(
            "agent_router_disagreements_total",
            "The model's intent and a confident classifier's differed; winner: whose was kept.",
            ["agent", "model_intent", "classifier_intent", "winner"],
            registry=self.registry,
        )
        self.agent = agent
        #: What every request calls, straight to the tally.
        self.observe = self.tally.observe
        self.answered = self.tally.answered

    def event(self, topic: str, status: str, reason: str) -> None:
        self.events.labels(self.agent, topic, status, reason).inc()

    def tokens(self, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        if prompt_tokens:
            self.llm_tokens.labels(self.agent, model, "prompt").inc(prompt_tokens)
        if completion_tokens:
            self.llm_tokens.labels(self.agent, model, "completion").inc(completion_tokens)

    def fallback(self, failed_model: str, following: str) -> None:
        self.llm_fallbacks.labels(self.agent, failed_model, following).inc()

    def budget_exhausted(self) -> None:
        self.llm_budget_exhausted.labels(self.agent).inc()

    def router_disagreement(self, model_intent: str, classifier_intent: str, winner: str) -> None:
        self.router_disagreements.labels(self.agent, model_intent, classifier_intent, winner).inc()
