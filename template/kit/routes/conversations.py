"""A learner's conversation with this agent: what it remembers of their last questions (kit/
conversation.py), and the way to make it forget them."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request, Response

from kit.contracts import COMMON_RESPONSES, USER_ID_PATTERN
from kit.deps import current_agent
from kit.observability import annotate

router = APIRouter(tags=["agent"], responses=COMMON_RESPONSES)


@router.delete(
    "/conversations/{user_id}",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "forgotten (also when there was nothing to forget)"}},
)
async def forget_conversation(
    request: Request,
    user_id: str = Path(
        pattern=USER_ID_PATTERN,
        description="Learner id: letters, digits and . _ @ : - (at most 128 characters).",
    ),
) -> Response:
    """Forget the learner's conversation with this agent: the next answer starts afresh. The
    conversation also expires by itself CONVERSATION_TTL_S after the last question. Their
    progress and their daily token count are kept (they are not the conversation)."""
    agent = await current_agent(request)
    annotate(user_id=user_id)
    await agent.sessions.conversations.clear(user_id)
    return Response(status_code=204)
