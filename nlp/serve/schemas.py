"""Typed request and response bodies of the moderation service (FastAPI validates them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from nlp.conflict import Alert

MAX_TEXT = 4000  # characters per message; chat messages are far shorter, pasted articles are cut off here


class MessageIn(BaseModel):
    """A chat message as in ../shared/DESIGN.md: only ``text`` is required."""

    model_config = ConfigDict(extra="allow")

    text: str = Field(max_length=MAX_TEXT)
    id: str | None = None
    group: str | None = None
    user: str | None = None
    ts: str | float | None = None
    reply_to: str | None = None
    group_topic: str | None = None


class ModerateRequest(BaseModel):
    messages: list[MessageIn]


class VerdictOut(BaseModel):
    id: str
    labels: list[str]
    scores: dict[str, float]
    suggestion: Literal["block", "review", "pass"]
    reasons: list[str]


class ModerateResponse(BaseModel):
    results: list[VerdictOut]
    dry_run: bool = False


class ModerationsRequest(BaseModel):
    """OpenAI moderation request: ``input`` is a string or a list of strings."""

    input: str | list[str]
    model: str | None = None


class ModerationResult(BaseModel):
    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]


class ModerationsResponse(BaseModel):
    id: str
    model: str
    results: list[ModerationResult]


class TopicAssignment(BaseModel):
    id: str
    topic: int
    topic_label: str
    is_new: bool


class GroupMessagesResponse(BaseModel):
    results: list[VerdictOut]
    alerts: list[Alert]  # nlp.conflict's own record: one definition of an alert
    topics: list[TopicAssignment]
    dry_run: bool = False


class FeedbackIn(BaseModel):
    """A moderator's verdict on one message: which labels it really has (``labels``), e.g. ``["ad"]``
    for an ad that was recalled, ``[]`` for a false alarm."""

    message_id: str
    text: str = Field(max_length=MAX_TEXT)
    labels: list[Literal["ad", "negativity", "offtopic"]]
    group: str | None = None
    group_topic: str | None = None
    moderator: str | None = None
    note: str | None = None


class FeedbackOut(BaseModel):
    feedback_id: int
    stored: bool = True
