"""The LLM through Dapr's Conversation API (alpha2): the sidecar calls the provider that a
conversation component names (OpenAI by default, dapr-component.yaml; any provider Dapr
supports by editing the component), so the app holds no provider key at all.

Needs Dapr 1.17 or later: ConverseAlpha2 exists from 1.16, but structured output
(`response_format`) and token usage in the answer first appear in 1.17.0 (dapr/dapr
dapr/proto/runtime/v1/ai.proto ConversationRequestAlpha2.response_format,
ConversationResultAlpha2.usage). Differences from the OpenAI adapter, all from upstream:
- No completion cap: daprd's ConversationRequestAlpha2 has no max_tokens field it reads
  (ai.proto lists MaxCompletionTokens as a TODO; components-contrib
  conversation/langchaingokit/model.go getOptionsFromRequest leaves llms.WithMaxTokens
  commented out), so `max_tokens` is not sent. The daily budget still counts what each answer
  cost, from the usage the sidecar reports.
- No streaming: alpha2 answers whole, so `stream` yields the answer as one piece.
- A JSON schema the component cannot translate is dropped with a warning, not refused
  (components-contrib conversation/langchaingokit/workarounds.go
  convertToStructuredOutputSchema needs one string `type` per node, so nullable types
  ["string", "null"] and untyped nodes fail; model.go getOptionsFromRequest then continues
  without structured output): such schemas are also given to the model as an instruction.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import structlog
from dapr.clients.exceptions import DaprGrpcError, DaprInternalError
from dapr.clients.grpc import conversation as dapr_conversation
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct

from kit.adapters.dapr import DaprConnection, grpc_code
from kit.adapters.openai import run_tool, structured_answer
from kit.interfaces import DependencyUnavailable, TokenUsage, Tool

log = structlog.get_logger("llm")

JSON_INSTRUCTION = (
    "Reply with one JSON object and nothing else. It must match this JSON schema:\n{schema}"
)


def schema_survives(schema: Any) -> bool:
    """Whether components-contrib can turn `schema` into structured output: every node has
    one string `type`, object properties are objects, array items typed (conversation/
    langchaingokit/workarounds.go convertToStructuredOutputSchema)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("type"), str):
        return False
    properties = schema.get("properties")
    if schema["type"] == "object" and isinstance(properties, dict):
        if not all(schema_survives(value) for value in properties.values()):
            return False
    items = schema.get("items")
    return not (
        schema["type"] == "array" and isinstance(items, dict) and not schema_survives(items)
    )


def _text(content: Any) -> list[dapr_conversation.ConversationMessageContent]:
    text = content if isinstance(content, str) else json.dumps(content) if content else ""
    return [dapr_conversation.ConversationMessageContent(text=text)] if text else []


def to_dapr_message(message: dict[str, Any]) -> dapr_conversation.ConversationMessage:
    """An OpenAI-shaped message as the Conversation API's typed one: the role is the message's
    type there (dapr pkg/api/universal/conversation.go ConverseAlpha2 maps each type to a
    langchaingo role)."""
    role, content = message.get("role"), message.get("content")
    if role == "system":
        return dapr_conversation.ConversationMessage(
            of_system=dapr_conversation.ConversationMessageOfSystem(content=_text(content))
        )
    if role == "assistant":
        calls = [
            dapr_conversation.ConversationToolCalls(
                id=call.get("id"),
                function=dapr_conversation.ConversationToolCallsOfFunction(
                    name=call["function"]["name"], arguments=call["function"]["arguments"]
                ),
            )
            for call in message.get("tool_calls") or []
        ]
        return dapr_conversation.ConversationMessage(
            of_assistant=dapr_conversation.ConversationMessageOfAssistant(
                content=_text(content), tool_calls=calls
            )
        )
    if role == "tool":
        return dapr_conversation.ConversationMessage(
            of_tool=dapr_conversation.ConversationMessageOfTool(
                tool_id=message.get("tool_call_id"),
                name=str(message.get("name") or ""),
                content=_text(content),
            )
        )
    return dapr_conversation.ConversationMessage(
        of_user=dapr_conversation.ConversationMessageOfUser(content=_text(content))
    )


class DaprConversationModel:
    """One conversation component, called through the process's one dapr.aio client."""

    backend = "dapr-conversation"

    def __init__(
        self, connection: DaprConnection, *, component: str, model: str, timeout_s: float
    ) -> None:
        self._dapr = connection
        self.component = component
        #: The model the component is rendered with (the answer names the one it used).
        self.model = model
        self._timeout_s = timeout_s

    async def close(self) -> None:
        """The client belongs to the Dapr connection, which closes it."""

    async def _converse(
        self,
        messages: list[dict[str, Any]],
        *,
        usage: TokenUsage | None,
        tools: Sequence[Tool] = (),
        response_format: Struct | None = None,
        temperature: float | None = None,
    ) -> dapr_conversation.ConversationResultAlpha2Message:
        client = self._dapr.require()
        specs = [
            dapr_conversation.ConversationTools(
                function=dapr_conversation.ConversationToolsFunction(
                    name=tool.name, description=tool.description, parameters=tool.parameters
                )
            )
            for tool in tools
        ]
        try:
            response = await asyncio.wait_for(
                client.converse_alpha2(
                    self.component,
                    [
                        dapr_conversation.ConversationInputAlpha2(
                            messages=[to_dapr_message(m) for m in messages]
                        )
                    ],
                    tools=specs or None,
                    response_format=response_format,
                    temperature=temperature,
                ),
                self._timeout_s,
            )
        except (DaprGrpcError, DaprInternalError, grpc.aio.AioRpcError, TimeoutError) as error:
            code = grpc_code(error)
            detail = f"{code.name}: {error}" if code else type(error).__name__
            raise DependencyUnavailable(f"Dapr conversation failed ({detail})") from error
        if not response.outputs or not response.outputs[0].choices:
            raise DependencyUnavailable("the conversation component returned no answer")
        output = response.outputs[0]
        if usage is not None and output.usage is not None:
            # Every output carries the whole response's usage (dapr universal/conversation.go
            # ConverseAlpha2: convertUsageForResponse(resp.Usage) per output): count it once.
            usage.add(output.usage.prompt_tokens, output.usage.completion_tokens, output.model)
        return output.choices[0].message

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
        """A plain answer, running the tools the model asks for between rounds, as the OpenAI
        adapter does (the Conversation API hands tool calls back to the app to run)."""
        conversation = list(messages)
        by_name = {tool.name: tool for tool in tools}
        for _ in range(max_tool_rounds + 1):
            message = await self._converse(
                conversation, usage=usage, tools=tools, temperature=temperature
            )
            if not message.tool_calls:
                if not message.content:
                    raise DependencyUnavailable("the model returned an empty answer")
                return message.content
            calls = [c for c in message.tool_calls if c.function is not None]
            conversation.append(
                {
                    "role": "assistant",
                    "content": message.content or None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {
                                "name": call.function.name,
                                "arguments": call.function.arguments,
                            },
                        }
                        for call in calls
                        if call.function is not None
                    ],
                }
            )
            for call in calls:
                assert call.function is not None
                result = await run_tool(by_name, call.function.name, call.function.arguments)
                conversation.append(
                    {
                        "role": "tool",
                        "tool_call_id": call.id,
                        "name": call.function.name,
                        "content": json.dumps(result),
                    }
                )
        raise DependencyUnavailable("the model kept calling tools without answering")

    async def complete_json(
        self,
        messages: list[dict[str, Any]],
        *,
        schema_name: str,
        schema: dict[str, Any],
        max_tokens: int | None = None,
        usage: TokenUsage | None = None,
    ) -> dict[str, Any]:
        """Structured output: the schema travels as the Conversation API's response_format
        (the JSON schema itself, with its name and strictness beside `type`: components-contrib
        langchaingokit/workarounds.go convertToStructuredOutputDefinition)."""
        response_format = Struct()
        json_format.ParseDict({**schema, "name": schema_name, "strict": True}, response_format)
        if not schema_survives(schema) and messages and messages[0].get("role") == "system":
            # Said in the system prompt, so the model still reads: instructions, conversation,
            # question.
            instruction = JSON_INSTRUCTION.format(schema=json.dumps(schema))
            system = {**messages[0], "content": f"{messages[0]['content']}\n\n{instruction}"}
            messages = [system, *messages[1:]]
        # Temperature 0 is not sent on (langchaingokit/model.go passes it only when > 0): the
        # provider's default applies, and the schema does the constraining.
        message = await self._converse(
            messages, usage=usage, response_format=response_format, temperature=0
        )
        return structured_answer(_strip_fence(message.content or ""))

    async def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int | None = None,
        usage: TokenUsage | None = None,
    ) -> AsyncIterator[str]:
        """The Conversation API has no streaming (alpha2): the whole answer, as one piece."""
        yield await self.complete(messages, usage=usage)


def _strip_fence(text: str) -> str:
    """A model answering JSON without enforced structure often fences it (```json ... ```)."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```"):
        stripped = stripped.split("\n", 1)[-1].rsplit("```", 1)[0]
    return stripped
