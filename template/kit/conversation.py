"""A learner's conversation with this agent: the last few turns, older ones folded into one
short note, kept in the state store with a TTL.

What is kept is bounded three ways: at most CONVERSATION_TURNS turns verbatim (a setting),
each question and answer cut to a fixed length, and the turns before them summarised as the
questions they asked, cut short, in one note of at most SUMMARY_CHARS. The summary is made
here, without calling a model: it costs nothing, cannot fail, and sends the model nothing it
was not sent before. The record expires CONVERSATION_TTL_S after the last turn, and
`DELETE /conversations/{user_id}` removes it at once.

What the model is sent from it is exactly that: the note and the turns' questions and answers.
Without a model nothing reads the note, so none is kept then (kit/llm_session.py).
Each turn also keeps a few facts the agent's offline logic reads (`meta`: the concept it
explained, the hint level it gave); they never reach the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kit.clock import utc_now_iso
from kit.interfaces import StateItem, StateStore, update_with_retry

QUESTION_CHARS = 600
ANSWER_CHARS = 600
SUMMARY_CHARS = 500
# A question in the summary: enough to say what it was about.
SUMMARY_QUESTION_CHARS = 80
# Facts kept per turn for the offline path: short values only.
META_VALUE_CHARS = 4000


def conversation_key(user_id: str) -> str:
    return f"conversation||{user_id}"


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# One per request of an agent that remembers: slotted and not frozen (a frozen dataclass sets
# each field through object.__setattr__, three times the cost of making one). A turn is
# never changed once made; the Conversation holding it is frozen.
@dataclass(slots=True)
class Turn:
    question: str
    answer: str
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"q": self.question, "a": self.answer, "meta": self.meta}

    @classmethod
    def from_dict(cls, value: Any) -> Turn | None:
        if not isinstance(value, dict):
            return None
        meta = value.get("meta")
        return cls(
            question=str(value.get("q") or ""),
            answer=str(value.get("a") or ""),
            meta=meta if isinstance(meta, dict) else {},
        )


@dataclass(frozen=True)
class Conversation:
    """What is remembered of a learner's conversation: the note, then the last turns."""

    #: The older turns' questions, cut short, oldest first: the note.
    earlier: tuple[str, ...] = ()
    turns: tuple[Turn, ...] = ()

    @classmethod
    def from_value(cls, value: Any) -> Conversation:
        if not isinstance(value, dict):
            return cls()
        turns = [Turn.from_dict(t) for t in value.get("turns") or []]
        earlier = value.get("earlier")
        return cls(
            earlier=tuple(map(str, earlier)) if isinstance(earlier, list) else (),
            turns=tuple(t for t in turns if t is not None),
        )

    @property
    def summary(self) -> str:
        return "; ".join(f"«{q}»" for q in self.earlier)

    def to_value(self) -> dict[str, Any]:
        return {
            "earlier": list(self.earlier),
            "turns": [t.to_dict() for t in self.turns],
            "updated_at": utc_now_iso(),
        }

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def with_turn(self, turn: Turn, keep: int, *, note: bool = True) -> Conversation:
        """This conversation plus `turn`, the oldest turns beyond `keep` folded into the note
        (with `note` false: dropped, and no note kept)."""
        turns = [*self.turns, turn]
        older, recent = turns[:-keep] if keep else turns, turns[-keep:] if keep else []
        if not note:
            return Conversation(turns=tuple(recent))
        earlier = self.earlier
        for old in older:
            earlier = fold_into_summary(earlier, old.question)
        return Conversation(earlier=earlier, turns=tuple(recent))

    def messages(self) -> list[dict[str, Any]]:
        """The conversation as chat messages, oldest first: the note (a system message), then
        each turn's question and answer."""
        found: list[dict[str, Any]] = []
        if self.summary:
            found.append(
                {
                    "role": "system",
                    "content": f"Earlier in this conversation the student asked: {self.summary}",
                }
            )
        for turn in self.turns:
            found.append({"role": "user", "content": turn.question})
            found.append({"role": "assistant", "content": turn.answer})
        return found


_EMPTY = Conversation()


def summary_entry(question: str) -> str:
    """A question, cut short for the note. A question of several lines (a traceback, code) is
    its first and last lines: the last is where a traceback says what went wrong."""
    lines = question.splitlines()
    # Only the first and last lines that are not blank are used: found without tidying the
    # lines between (a pasted program can be hundreds).
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return ""
    last = next(i for i in range(len(lines) - 1, first - 1, -1) if lines[i].strip())
    opening = " ".join(lines[first].split())
    if last > first:
        opening = _cut(opening, SUMMARY_QUESTION_CHARS // 3)
        closing = " ".join(lines[last].split())
        return _cut(f"{opening} … {closing}", SUMMARY_QUESTION_CHARS)
    return _cut(opening, SUMMARY_QUESTION_CHARS)


def fold_into_summary(earlier: tuple[str, ...], question: str) -> tuple[str, ...]:
    """The note with one more question in it; the oldest questions give way when it is full."""
    entries = (*earlier, summary_entry(question))
    size = sum(len(e) + 4 for e in entries)
    dropped = 0
    while size > SUMMARY_CHARS and len(entries) - dropped > 1:
        size -= len(entries[dropped]) + 4
        dropped += 1
    return entries[dropped:]


# A tuple rather than `str | int | float | bool`: isinstance builds the union object anew on
# every call, four times a turn.
_META_TYPES = (str, int, float, bool)


def new_turn(question: str, answer: str, meta: dict[str, Any]) -> Turn:
    kept = {
        k: (_cut(v, META_VALUE_CHARS) if isinstance(v, str) else v)
        for k, v in meta.items()
        if v is not None and isinstance(v, _META_TYPES)
    }
    return Turn(_cut(question, QUESTION_CHARS), _cut(answer, ANSWER_CHARS), kept)


class ConversationStore:
    """Reads and writes learners' conversations in the agent's state store."""

    def __init__(
        self, state: StateStore, *, keep_turns: int, ttl_s: int, keep_note: bool = True
    ) -> None:
        self._state = state
        self.keep_turns = keep_turns
        self.ttl_s = ttl_s
        #: Whether older questions are folded into the note (only a model reads it).
        self.keep_note = keep_note
        #: Whether the record after a turn is that turn alone (at most one turn kept, no
        #: note): it is then written without reading what it replaces.
        self.turn_alone = keep_turns <= 1 and not keep_note

    async def load(self, user_id: str) -> tuple[Conversation, StateItem]:
        item = await self._state.get(conversation_key(user_id))
        return Conversation.from_value(item.value), item

    async def append(
        self,
        user_id: str,
        turn: Turn,
        read: StateItem | None = None,
        conversation: Conversation | None = None,
    ) -> None:
        """Add a turn (etag-checked: a learner's two requests at once both land). `read` and
        `conversation` are what load() returned, if the caller has them: the first attempt
        then neither reads nor parses the record again."""
        if self.turn_alone:
            # Nothing of the old record survives this turn: no read, no etag round trip.
            record = _EMPTY.with_turn(turn, self.keep_turns, note=False)
            await self._state.put(conversation_key(user_id), record.to_value(), ttl_s=self.ttl_s)
            return

        def add(value: Any) -> dict[str, Any]:
            if conversation is not None and read is not None and value is read.value:
                base = conversation
            else:
                base = Conversation.from_value(value)
            return base.with_turn(turn, self.keep_turns, note=self.keep_note).to_value()

        await update_with_retry(
            self._state, conversation_key(user_id), add, ttl_s=self.ttl_s, current=read
        )

    async def clear(self, user_id: str) -> None:
        await self._state.delete(conversation_key(user_id))
