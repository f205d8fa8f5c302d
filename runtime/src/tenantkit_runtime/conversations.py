"""Conversations and their messages in the tenant's database.

Layout (collections of the tenant's own database)::

    conversations   pk = user id          sk = conversation id
    messages        pk = conversation id  sk = message id

Ids start with the time in microseconds (hex), so sort-key order is creation order:
a user's conversations list newest first, a conversation's messages oldest first.
A conversation belongs to the user who created it; its messages are reached only
through it.
"""

# Annotations are evaluated at class definition (no ``from __future__ import
# annotations``): pydantic would otherwise compile each field's annotation from its
# text when the model is defined, a cost paid on every cold start.

import secrets
import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from tenantkit import ChatResponse, Message, TenantDatabase, Usage
from tenantkit.errors import NotFound

__all__ = [
    "HISTORY_MESSAGES",
    "ChatMessage",
    "Conversation",
    "Conversations",
    "new_id",
]

#: How many earlier messages are sent to the LLM with a new one.
HISTORY_MESSAGES = 40
_TITLE_CHARS = 80
_frozen = ConfigDict(frozen=True, defer_build=True)


def new_id() -> str:
    """A unique id that sorts by creation time (16 hex digits of µs, 8 random)."""
    return f"{time.time_ns() // 1000:016x}{secrets.token_hex(4)}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Conversation(BaseModel):
    model_config = _frozen
    id: str
    title: str | None = None
    created_at: str
    updated_at: str
    message_count: int = 0


class ChatMessage(BaseModel):
    model_config = _frozen
    id: str
    conversation_id: str
    role: Literal["user", "assistant"]
    content: str
    created_at: str
    model: str | None = None
    finish_reason: str | None = None
    usage: dict[str, int] | None = None

    def as_llm_message(self) -> Message:
        return Message(role=self.role, content=self.content)


class Conversations:
    """One user's conversations in one tenant's database."""

    def __init__(self, db: TenantDatabase, user_id: str) -> None:
        self._db = db
        self._user = user_id

    def create(self, title: str | None = None) -> Conversation:
        now = _now()
        conversation = Conversation(id=new_id(), title=title, created_at=now, updated_at=now)
        self._db.put(
            "conversations",
            {"pk": self._user, "sk": conversation.id, **conversation.model_dump(exclude={"id"})},
        )
        return conversation

    def get(self, conversation_id: str) -> Conversation:
        """The conversation, or ``NotFound`` (also for another user's)."""
        item = self._db.get("conversations", self._user, conversation_id)
        if item is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        return Conversation(id=item.sk, **item.data)

    def page(
        self, *, cursor: str | None = None, limit: int = 20
    ) -> tuple[list[Conversation], str | None]:
        """The user's conversations, newest first."""
        page = self._db.query(
            "conversations", self._user, descending=True, limit=limit, cursor=cursor
        )
        return [Conversation(id=i.sk, **i.data) for i in page.items], page.cursor

    def delete(self, conversation_id: str) -> None:
        """Delete the conversation and every message in it."""
        self.get(conversation_id)
        while True:
            page = self._db.query("messages", conversation_id, limit=100)
            for item in page.items:
                self._db.delete("messages", conversation_id, item.sk)
            if page.cursor is None or not page.items:
                break
        self._db.delete("conversations", self._user, conversation_id)

    def messages(
        self,
        conversation_id: str,
        *,
        cursor: str | None = None,
        limit: int = 50,
        newest_first: bool = False,
    ) -> tuple[list[ChatMessage], str | None]:
        """One page of the conversation's messages, oldest first unless ``newest_first``."""
        self.get(conversation_id)
        page = self._db.query(
            "messages", conversation_id, descending=newest_first, limit=limit, cursor=cursor
        )
        return [
            ChatMessage(id=i.sk, conversation_id=conversation_id, **i.data) for i in page.items
        ], page.cursor

    def history(self, conversation_id: str) -> list[Message]:
        """The last messages of the conversation, oldest first, as LLM messages."""
        page = self._db.query("messages", conversation_id, descending=True, limit=HISTORY_MESSAGES)
        return [Message(role=i.data["role"], content=i.data["content"]) for i in page.items][::-1]

    def record(
        self, conversation: Conversation, text: str, reply: ChatResponse
    ) -> tuple[ChatMessage, ChatMessage]:
        """Store the user's message and the LLM's reply (with its usage)."""
        asked = ChatMessage(
            id=new_id(),
            conversation_id=conversation.id,
            role="user",
            content=text,
            created_at=_now(),
        )
        answered = ChatMessage(
            id=new_id(),
            conversation_id=conversation.id,
            role="assistant",
            content=reply.text,
            created_at=_now(),
            model=reply.model,
            finish_reason=reply.finish_reason,
            usage=_usage(reply.usage),
        )
        for message in (asked, answered):
            self._db.put(
                "messages",
                {
                    "pk": conversation.id,
                    "sk": message.id,
                    **message.model_dump(exclude={"id", "conversation_id"}, exclude_none=True),
                },
            )
        changes: dict[str, Any] = {"updated_at": answered.created_at}
        if conversation.title is None:
            changes["title"] = _title(text)
        self._db.update(
            "conversations",
            self._user,
            conversation.id,
            set=changes,
            increment={"message_count": 2},
        )
        return asked, answered


def _usage(usage: Usage) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_tokens": usage.cached_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
    }


def _title(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _TITLE_CHARS else line[: _TITLE_CHARS - 1].rstrip() + "…"
