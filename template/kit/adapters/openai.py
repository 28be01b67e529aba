"""The LLM behind a small adapter: an OpenAI-compatible chat model, or nothing.

`openai` is imported only when a key is configured, so a service running offline never pays
for it in start-up time or memory. Every failure of the API surfaces as DependencyUnavailable;
the agent then answers from its offline logic and says so (data.mode = "degraded").
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog

from kit.interfaces import DependencyUnavailable, Tool

log = structlog.get_logger("llm")


class ChatModel:
    """AsyncOpenAI, created once, with explicit timeout and retries."""

    def __init__(
        self, *, api_key: str, model: str, base_url: str | None, timeout_s: float, max_retries: int
    ) -> None:
        from openai import AsyncOpenAI

        self.model = model
        # Messages are plain dicts the agents build; the SDK's TypedDicts would make every agent
        # build SDK types, so the client is typed loosely at this one boundary.
        self._client: Any = AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries
        )

    async def close(self) -> None:
        await self._client.close()

    async def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: Sequence[Tool] = (),
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
                kwargs: dict[str, Any] = {}
                if tools:
                    kwargs["tools"] = [tool.spec() for tool in tools]
                completion = await self._client.chat.completions.create(
                    model=self.model, messages=conversation, temperature=temperature, **kwargs
                )
                message = completion.choices[0].message
                if not message.tool_calls:
                    if not message.content:
                        raise DependencyUnavailable("the model returned an empty answer")
                    return str(message.content)
                conversation.append(message.model_dump(exclude_none=True))
                for call in message.tool_calls:
                    result = await self._run_tool(
                        by_name, call.function.name, call.function.arguments
                    )
                    conversation.append(
                        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
                    )
            raise DependencyUnavailable("the model kept calling tools without answering")
        except openai.OpenAIError as error:
            raise DependencyUnavailable(f"LLM call failed ({type(error).__name__})") from error

    async def _run_tool(self, tools: dict[str, Tool], name: str, arguments: str) -> dict[str, Any]:
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

    async def complete_json(
        self, messages: list[dict[str, Any]], *, schema_name: str, schema: dict[str, Any]
    ) -> dict[str, Any]:
        """Structured output: the answer must be JSON matching `schema` (strict mode)."""
        import openai

        try:
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=0,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": schema_name, "schema": schema, "strict": True},
                },
            )
            content = completion.choices[0].message.content or ""
            value = json.loads(content)
        except openai.OpenAIError as error:
            raise DependencyUnavailable(f"LLM call failed ({type(error).__name__})") from error
        except ValueError as error:
            raise DependencyUnavailable("the model's structured answer was not JSON") from error
        if not isinstance(value, dict):
            raise DependencyUnavailable("the model's structured answer was not a JSON object")
        return value

    async def stream(self, messages: list[dict[str, Any]]) -> AsyncIterator[str]:
        """Text deltas as they arrive. A failure before the first delta raises
        DependencyUnavailable (the caller can still fall back); later ones end the stream."""
        import openai

        try:
            chunks = await self._client.chat.completions.create(
                model=self.model, messages=messages, stream=True, temperature=0.3
            )
            async for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except openai.OpenAIError as error:
            raise DependencyUnavailable(f"LLM stream failed ({type(error).__name__})") from error
        except ValueError as error:  # a garbled chunk that is not JSON
            raise DependencyUnavailable("LLM stream was garbled") from error
