"""The LLM behind a small adapter: an OpenAI-compatible chat model, or nothing.

`openai` is imported only when a key is configured, so a service running offline never pays
for it in start-up time or memory. Every failure of the API surfaces as DependencyUnavailable;
the agent then tries its fallback model, then answers from its offline logic and says so.
Every request carries a completion cap, and every call's reported usage is added to the
caller's TokenUsage (the daily budget and the token metrics are made of it).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

import structlog

from kit.interfaces import DependencyUnavailable, TokenUsage, Tool

log = structlog.get_logger("llm")

#: How the completion cap is named on the wire. OpenAI's chat completions API deprecated
#: `max_tokens` for `max_completion_tokens`, and its reasoning models (o-series, gpt-5) refuse
#: `max_tokens` outright; some OpenAI-compatible servers know only `max_tokens`.
MaxTokensField = Literal["max_completion_tokens", "max_tokens"]


def _count(usage: TokenUsage | None, reported: Any) -> None:
    """Add a response's `usage` object (None when the server sent none) to the caller's."""
    if usage is not None and reported is not None:
        usage.add(getattr(reported, "prompt_tokens", 0), getattr(reported, "completion_tokens", 0))


class ChatModel:
    """AsyncOpenAI, created once, with explicit timeout and retries."""

    backend = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None,
        timeout_s: float,
        max_retries: int,
        max_tokens_field: MaxTokensField = "max_completion_tokens",
        client: Any = None,
    ) -> None:
        self.model = model
        self.max_tokens_field = max_tokens_field
        self._owns_client = client is None
        if client is None:
            from openai import AsyncOpenAI

            # Messages are plain dicts the agents build; the SDK's TypedDicts would make every
            # agent build SDK types, so the client is typed loosely at this one boundary.
            client = AsyncOpenAI(
                api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries
            )
        self._client: Any = client

    def with_model(self, model: str) -> ChatModel:
        """The same server and client, another model (the cheaper fallback)."""
        return ChatModel(
            api_key="",
            model=model,
            base_url=None,
            timeout_s=0,
            max_retries=0,
            max_tokens_field=self.max_tokens_field,
            client=self._client,
        )

    async def close(self) -> None:
        if self._owns_client:
            await self._client.close()

    def _cap(self, max_tokens: int | None) -> dict[str, Any]:
        return {self.max_tokens_field: max_tokens} if max_tokens else {}

    async def _post(self, body: dict[str, Any], *, stream: bool = False) -> Any:
        """POST /chat/completions through the client (its auth, timeout and retries), the body
        as given. The SDK's create() first runs every message through its TypedDict transform,
        which changes nothing in the plain JSON messages the agents build and costs about
        0.3 ms a message: a learner's conversation would make every answer slower by that."""
        from openai import AsyncStream
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        return await self._client.post(
            "/chat/completions",
            body={"model": self.model, **body, **({"stream": True} if stream else {})},
            cast_to=ChatCompletion,
            options={"security": {"bearer_auth": True}},
            stream=stream,
            stream_cls=AsyncStream[ChatCompletionChunk],
        )

    async def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: Sequence[Tool] = (),
        max_tokens: int | None = None,
        usage: TokenUsage | None = None,
        max_tool_rounds: int = 3,
        temperature: float = 0.3,
    ) -> str:
        """A plain answer; when tools are given, run the calls the model asks for (bounded
        rounds) and feed the results back until it answers in text."""
        import openai

        conversation = list(messages)
        by_name = {tool.name: tool for tool in tools}
        try:
            for _ in range(max_tool_rounds + 1):
                body: dict[str, Any] = {
                    "messages": conversation,
                    "temperature": temperature,
                    **self._cap(max_tokens),
                }
                if tools:
                    body["tools"] = [tool.spec() for tool in tools]
                completion = await self._post(body)
                _count(usage, completion.usage)
                message = completion.choices[0].message
                if not message.tool_calls:
                    if not message.content:
                        raise DependencyUnavailable("the model returned an empty answer")
                    return str(message.content)
                conversation.append(message.model_dump(exclude_none=True))
                for call in message.tool_calls:
                    result = await run_tool(by_name, call.function.name, call.function.arguments)
                    conversation.append(
                        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
                    )
            raise DependencyUnavailable("the model kept calling tools without answering")
        except openai.OpenAIError as error:
            raise DependencyUnavailable(f"LLM call failed ({type(error).__name__})") from error

    async def complete_json(
        self,
        messages: list[dict[str, Any]],
        *,
        schema_name: str,
        schema: dict[str, Any],
        max_tokens: int | None = None,
        usage: TokenUsage | None = None,
    ) -> dict[str, Any]:
        """Structured output: the answer must be JSON matching `schema` (strict mode)."""
        import openai

        try:
            completion = await self._post(
                {
                    "messages": messages,
                    "temperature": 0,
                    "response_format": {
                        "type": "json_schema",
                        "json_schema": {"name": schema_name, "schema": schema, "strict": True},
                    },
                    **self._cap(max_tokens),
                }
            )
            _count(usage, completion.usage)
        except openai.OpenAIError as error:
            raise DependencyUnavailable(f"LLM call failed ({type(error).__name__})") from error
        return structured_answer(completion.choices[0].message.content or "")

    async def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int | None = None,
        usage: TokenUsage | None = None,
    ) -> AsyncIterator[str]:
        """Text deltas as they arrive. A failure before the first delta raises
        DependencyUnavailable (the caller can still fall back); later ones end the stream.
        The usage comes in one last chunk with no choices, which the API sends only when
        asked (stream_options.include_usage)."""
        import openai

        try:
            chunks = await self._post(
                {
                    "messages": messages,
                    "stream_options": {"include_usage": True},
                    "temperature": 0.3,
                    **self._cap(max_tokens),
                },
                stream=True,
            )
            async for chunk in chunks:
                _count(usage, getattr(chunk, "usage", None))
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except openai.OpenAIError as error:
            raise DependencyUnavailable(f"LLM stream failed ({type(error).__name__})") from error
        except ValueError as error:  # a garbled chunk that is not JSON
            raise DependencyUnavailable("LLM stream was garbled") from error


def structured_answer(content: str) -> dict[str, Any]:
    """The JSON object a structured answer must be (either backend); anything else is the
    model failing, so the caller falls back."""
    try:
        value = json.loads(content)
    except ValueError as error:
        raise DependencyUnavailable("the model's structured answer was not JSON") from error
    if not isinstance(value, dict):
        raise DependencyUnavailable("the model's structured answer was not a JSON object")
    return value


async def run_tool(tools: dict[str, Tool], name: str, arguments: str) -> dict[str, Any]:
    """Run the tool the model asked for, with its JSON arguments; a bad name or bad arguments
    become an error result the model reads, never an exception."""
    tool = tools.get(name)
    if tool is None:
        return {"error": f"unknown tool {name!r}"}
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        return {"error": "arguments were not valid JSON"}
    if not isinstance(parsed, dict):
        return {"error": "arguments must be a JSON object"}
    log.info("llm_tool_call", tool=name)
    return await tool.run(parsed)
