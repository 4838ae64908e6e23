"""What the chat model replies when it writes a quiz item, as pydantic models checked on arrival.

The model is held to a JSON schema while it writes (``SCHEMAS``: llama.cpp ``response_format``,
Ollama ``format``); the reply is then validated here, so a wrong shape becomes one short problem
("distractors: needs 3 items") that the repair prompt can name, never a ``KeyError`` deep in the
builder. Extra keys are ignored: a model that adds a field it was not asked for still counts.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Text = Annotated[str, Field(min_length=1)]


class Reply(BaseModel):
    """A reply's common rules: strings only (no number coerced to a question), extra keys ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _not_blank(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("is blank")
        if isinstance(value, list) and any(isinstance(v, str) and not v.strip() for v in value):
            raise ValueError("has a blank entry")
        return value


class McqReply(Reply):
    """A multiple-choice item the model wrote whole (no plan: its own key and wrong options)."""

    question: Text
    correct: Text
    distractors: Annotated[list[str], Field(min_length=3, max_length=3)]


class ShortReply(Reply):
    """A short-answer item: the question and the 2-3 facts of the note that answer it."""

    question: Text
    key_points: Annotated[list[str], Field(min_length=1)]  # 2-3: the validator names a wrong count


class CardReply(Reply):
    """A flashcard: a short question and its answer in a few words of the note."""

    front: Text
    back: Text


class StemReply(Reply):
    """The question of an item whose options the notes supply: the model writes the stem and nothing else."""

    question: Text


REPLIES: dict[str, type[Reply]] = {"mcq": McqReply, "short": ShortReply, "card": CardReply, "stem": StemReply}

_TEXT = {"type": "string"}
SCHEMAS: dict[str, dict[str, Any]] = {
    "mcq": {"type": "object", "properties": {
        "question": _TEXT, "correct": _TEXT,
        "distractors": {"type": "array", "items": _TEXT, "minItems": 3, "maxItems": 3}},
        "required": ["question", "correct", "distractors"]},
    "short": {"type": "object", "properties": {
        "question": _TEXT, "key_points": {"type": "array", "items": _TEXT, "minItems": 2, "maxItems": 3}},
        "required": ["question", "key_points"]},
    "card": {"type": "object", "properties": {"front": _TEXT, "back": _TEXT}, "required": ["front", "back"]},
    "stem": {"type": "object", "properties": {"question": _TEXT}, "required": ["question"]},
}


def validate(kind: str, data: Any) -> Reply:
    """``data`` (parsed JSON) as the reply of ``kind``; raises ValueError naming the first thing wrong.

    >>> validate("card", {"front": "What is ML?", "back": "Learning from data", "extra": 1}).back
    'Learning from data'
    >>> validate("mcq", {"question": "Which?", "correct": "A", "distractors": ["B"]})
    Traceback (most recent call last):
    ValueError: distractors: needs 3 items, not 1
    """
    if not isinstance(data, dict):
        raise ValueError("the reply is not a JSON object")
    try:
        return REPLIES[kind].model_validate(data)
    except ValidationError as exc:
        raise ValueError(_first(exc, kind)) from None


def parse(kind: str, text: str) -> Reply:
    """The model's raw reply of ``kind``, parsed and validated; raises ValueError (bad JSON included)."""
    return validate(kind, json.loads(text))


def _first(exc: ValidationError, kind: str) -> str:
    """One short line for the first error of a validation: the field, then what is wrong with it."""
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in error["loc"]) or "reply"
    if error["type"] == "missing":
        return f"{where}: missing"
    if error["type"] in ("too_short", "too_long"):
        low, high = {"distractors": (3, 3)}.get(where, (1, 1))
        got = len(error.get("input") or ())
        return f"{where}: needs {low if low == high else f'{low}-{high}'} items, not {got}"
    if error["type"].endswith("_type"):
        return f"{where}: not {error['type'].removesuffix('_type').replace('list', 'a list').replace('string', 'text')}"
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"
