"""Quiz items: the record, the JSON schemas the model must follow, and generation with repair.

An item is written from one chunk of the notes by the chat model under a JSON schema (llama.cpp
``response_format`` schema, Ollama ``format``), then built into a ``QuizItem`` in code: the options
are shuffled here, and the citations are made from the chunk itself, never from model output.
Every item is checked by ``tutor.validation``; a failed item is sent back once or twice with the
problem named (bounded repair), and skipped when it still fails. Contrast drills are not written by
the model: ``tutor.contrast`` builds them from the pairs the notes define.

Multiple-choice items take their key and wrong options from the notes (``tutor.choices``): the model
writes only the question and our code inserts the options (``tutor.phrasing``; a question that fails
a check gives way to the plan's own wording); ordering and "which is NOT" items are worded by the plan.
A definition in the notes (``**Term** - A ...``) becomes a flashcard with no model at all. The model
sees a note without its meta lines (links, images, pointers to courses or books).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tutor.choices import Plan
from tutor.llm import ChatModel, Message
from tutor.records import Chunk, Citation, plain
from tutor.replies import SCHEMAS, CardReply, McqReply, ShortReply, validate
from tutor.siblings import content

KINDS = ("mcq", "short", "card", "contrast")
LLM_KINDS = ("mcq", "short", "card")  # contrast drills are built from the notes' structure, not written
KIND_NAMES = {"mcq": "multiple choice", "short": "short answer", "card": "flashcard", "contrast": "contrast drill"}
ATTEMPTS = 3  # first try, a repair naming the problem, a fresh try at a higher temperature; then skipped
RETRY_TEMPERATURE = 0.7  # greedy decoding repeats its mistake; the last try samples another item
MAX_TOKENS = {"mcq": 200, "short": 260, "card": 110}  # short: up to 3 lines of the note copied whole


@dataclass(frozen=True)
class QuizItem:
    """One question on the notes, with what a right answer is and the chunks that teach it."""

    id: str
    kind: str  # one of KINDS
    question: str
    options: tuple[str, ...] = ()  # mcq (4) and contrast (2+)
    answer_index: int | None = None  # index into options: mcq and contrast
    key_points: tuple[str, ...] = ()  # short (2-3 points) and card (the back, as one point)
    citations: tuple[Citation, ...] = ()  # made from the chunks below, in the same order
    chunk_hashes: tuple[str, ...] = ()  # content hashes of the cited chunks: the bank's key
    section: str = ""  # the section of the first cited chunk
    generator: str = ""  # the model that wrote it, or "notes" for drills built in code
    extra: dict[str, str] = field(default_factory=dict, compare=False)  # e.g. the contrast's other side

    @property
    def answer(self) -> str:
        """The right answer in words, as revealed to the learner."""
        if self.answer_index is not None and 0 <= self.answer_index < len(self.options):
            return self.options[self.answer_index]
        return "; ".join(self.key_points)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "kind": self.kind, "section": self.section, "question": self.question,
                                "options": list(self.options)}
        if self.kind in ("mcq", "contrast"):
            data["answer_index"] = self.answer_index
        else:
            data["key_points"] = list(self.key_points)
        data["answer"] = self.answer
        data["citations"] = [c.to_dict() for c in self.citations]
        return data

    def to_record(self) -> dict[str, Any]:
        """What the question bank stores: no citation text (rebuilt from the chunks when served)."""
        return {"id": self.id, "kind": self.kind, "question": self.question, "options": list(self.options),
                "answer_index": self.answer_index, "key_points": list(self.key_points),
                "chunk_hashes": list(self.chunk_hashes), "section": self.section, "generator": self.generator,
                "extra": dict(self.extra)}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> QuizItem:
        return cls(id=str(data["id"]), kind=str(data["kind"]), question=str(data["question"]),
                   options=tuple(data.get("options", ())), answer_index=data.get("answer_index"),
                   key_points=tuple(data.get("key_points", ())), chunk_hashes=tuple(data["chunk_hashes"]),
                   section=str(data.get("section", "")), generator=str(data.get("generator", "")),
                   extra=dict(data.get("extra", {})))

    def bind(self, chunks: Sequence[Chunk]) -> QuizItem:
        """The item citing these chunks (one per content hash, in order), with their current lines."""
        return replace(self, citations=tuple(Citation.of(n, c) for n, c in enumerate(chunks, 1)),
                       section=chunks[0].section if chunks else self.section)


def item_id(kind: str, chunk_hashes: Sequence[str], question: str) -> str:
    key = "\n".join([kind, *chunk_hashes, normalise(question)])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def normalise(text: str) -> str:
    """Lower case, no markdown, no punctuation, single spaces: how options and questions are compared.

    >>> normalise("  **Higher** accuracy! ")
    'higher accuracy'
    """
    text = plain(text).lower()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


_MARKER = re.compile(r"^\s*(?:[-*•]\s+|\(?[A-Da-d1-4][).:]\s+)")


def clean(text: Any) -> str:
    """A model string tidied: no list marker or option letter in front, no markdown emphasis."""
    text = plain(str(text)).strip()
    return " ".join(_MARKER.sub("", text).split())


# --- what the model must produce (the reply models and schemas are in ``tutor.replies``) ----------------

SYSTEM = ("You write quiz items that test a student on their own study notes. Use only facts stated in the note. "
          "Never put the answer, or its key words, in the question. Reply with JSON only.")
ASK = {
    "mcq": 'Write one multiple-choice question on a fact in this note. "correct": the right answer, in words from '
           'the note. "distractors": three wrong but plausible answers that the note does not state (never another '
           'item listed in the note, which would also be right).',
    "short": 'Write one question whose full answer needs 2 or 3 facts from this note. "key_points": those facts, '
             'short, copied from the note.',
    "card": 'Write one flashcard on a fact in this note. "front": a short question; "back": its answer in a few '
            'words from the note.',
}



def note_text(chunk: Chunk) -> str:
    """What the model is shown of a chunk: plain text without meta lines."""
    return plain(content(chunk)).strip()


def messages_for(chunk: Chunk, kind: str) -> list[Message]:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f'Note (section "{chunk.section}"):\n{note_text(chunk)}\n\n{ASK[kind]}'}]


def planned_extra(plan: Plan) -> dict[str, str]:
    """What the validator needs to check an item against its plan (stored with the item)."""
    extra = {"shape": plan.shape, "fact": plan.fact, "key": plan.answer, "siblings": "\n".join(plan.allowed),
             "noun": plan.noun if plan.shape in ("which", "label") else ""}
    return {k: v for k, v in extra.items() if v}


def from_plan(plan: Plan, question: str, generator: str) -> QuizItem:
    """The item a plan makes with ``question`` as its wording."""
    question = clean(question)
    hashes = tuple(c.content_hash for c in plan.chunks)
    extra = planned_extra(plan)
    return QuizItem(id=item_id("mcq", hashes, question), kind="mcq", question=question, options=plan.options,
                    answer_index=plan.answer_index, chunk_hashes=hashes, generator=generator,
                    extra=extra).bind(list(plan.chunks))


def definition_card(chunk: Chunk, term: str, meaning: str) -> QuizItem:
    """A flashcard on a definition the notes state: "What is TERM?" and the definition as its back."""
    question = f"What is {term}?"
    hashes = (chunk.content_hash,)
    return QuizItem(id=item_id("card", hashes, question), kind="card", question=question,
                    key_points=(clean(meaning).rstrip("."),), chunk_hashes=hashes, generator="notes",
                    extra={"shape": "definition"}).bind([chunk])


def build(kind: str, data: Any, chunk: Chunk, generator: str) -> QuizItem:
    """The model's JSON as an item citing ``chunk``; raises ValueError when the shape is wrong."""
    if kind not in LLM_KINDS:
        raise ValueError(f"the model does not write {kind} items")
    reply = validate(kind, data)
    if isinstance(reply, McqReply):
        question, correct = clean(reply.question), clean(reply.correct)
        distractors = [clean(d) for d in reply.distractors]
        slot = int(hashlib.sha256(normalise(question).encode()).hexdigest(), 16) % 4  # stable shuffle
        options = distractors[:slot] + [correct] + distractors[slot:]
        fields: dict[str, Any] = {"options": tuple(options), "answer_index": slot}
    elif isinstance(reply, ShortReply):
        question = clean(reply.question)
        fields = {"key_points": tuple(clean(p) for p in reply.key_points)}
    else:
        assert isinstance(reply, CardReply)
        question = clean(reply.front)
        fields = {"key_points": (clean(reply.back),)}
    hashes = (chunk.content_hash,)
    return QuizItem(id=item_id(kind, hashes, question), kind=kind, question=question, chunk_hashes=hashes,
                    generator=generator, **fields).bind([chunk])


@dataclass
class GenerationStats:
    """How generation went, for the learner's status line and the measured validity rate."""

    tried: int = 0  # (chunk, kind) slots the model was asked to write
    valid: int = 0  # items that passed validation
    first_try: int = 0  # items valid on the model's first reply
    replies: int = 0  # model calls in all
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    built: int = 0  # items made from the notes with no model call (ordering, "not one of", definitions)
    phrased: int = 0  # planned items that kept the model's question (``tutor.phrasing``)
    fallback: int = 0  # planned items whose model question failed a check: the plan's template wording instead
    rejected: dict[str, int] = field(default_factory=dict)  # replies rejected, by reason (see ``reason``)
    rejections: list[tuple[str, ...]] = field(default_factory=list)  # (reason, section, problem, question)

    @property
    def first_try_rate(self) -> float:
        return self.first_try / self.tried if self.tried else 0.0

    def reject(self, problems: Sequence[str], section: str, question: str = "") -> None:
        """Count a rejected reply by the reason of its first problem, and remember on what."""
        self.problems.extend(problems)
        why = reason(problems[0])
        self.rejected[why] = self.rejected.get(why, 0) + 1
        self.rejections.append((why, section, problems[0], question))


REASONS = {"giveaway": ("gives away", "restates", "points at"), "key": ("not what the cited notes say", "not stated",
           "contradicts", "meta"), "json": ("not the JSON",), "duplicate": ("already in the bank",),
           "off-fact": ("not about the line", "does not ask which", "borrows the worked example")}


def reason(problem: str) -> str:
    """The family of a validation problem, for counting what the checks reject.

    >>> reason("the question gives away the correct answer"), reason("an option is empty")
    ('giveaway', 'other')
    """
    return next((name for name, marks in REASONS.items() if any(m in problem for m in marks)), "other")


Check = Callable[[QuizItem], list[str]]


def generate(chunk: Chunk, kind: str, model: ChatModel, check: Check, stats: GenerationStats | None = None,
             attempts: int = ATTEMPTS, plan: Plan | None = None) -> QuizItem | None:
    """One valid item of ``kind`` from ``chunk``, or None after ``attempts`` failed replies.

    ``check`` returns the item's problems (``tutor.validation.Validator.problems``). A model that
    cannot be reached or fails mid-reply raises ``LLMError``; nothing is returned half-made. With a
    ``plan`` (multiple choice), and for a flashcard on a chunk with a line to ask for, the model only
    phrases the question (``tutor.phrasing``); otherwise it writes the whole item, with repair.
    """
    stats = stats if stats is not None else GenerationStats()
    if plan is not None or kind == "card":
        from tutor.cards import card_fact  # cards and phrasing build on this module
        from tutor.phrasing import phrase, phrase_card

        if plan is not None:
            return phrase(plan, model, check, stats)
        if (fact := card_fact(chunk)) is not None:
            return phrase_card(chunk, fact, model, check, stats)
    stats.tried += 1
    started = time.perf_counter()
    first, schema = messages_for(chunk, kind), SCHEMAS[kind]
    fallback: QuizItem | None = None
    if kind == "short":
        from tutor.phrasing import listed_short, short_lines, short_messages, short_schema

        if len(lines := short_lines(chunk)) >= 2:  # the key points are held to the note's own lines
            first, schema = short_messages(chunk, lines), short_schema(lines)
            if (fallback := listed_short(chunk, lines)) is not None:
                attempts = 1  # a short list: one try, then the notes' own wording (no slot lost, no repair rounds)
    messages = first
    try:
        for attempt in range(attempts):
            fresh = attempt > 0 and attempt == attempts - 1
            if fresh:
                messages = first
            reply = "".join(model.stream(messages, max_tokens=MAX_TOKENS[kind],
                                         temperature=RETRY_TEMPERATURE if fresh else 0.0, schema=schema))
            stats.replies += 1
            try:
                item = build(kind, json.loads(reply), chunk, model.name)
                problems = check(item)
            except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
                problems = [f"the reply is not the JSON asked for ({_short(exc)})"]
            if not problems:
                stats.valid += 1
                stats.first_try += attempt == 0
                return item
            stats.reject(problems, chunk.section, _question(reply))
            messages = [*messages, {"role": "assistant", "content": reply[:600]},
                        {"role": "user", "content": f"That item is not usable: {problems[0]}. "
                                                    "Write a corrected item as JSON."}]
        if fallback is not None:
            if problems := check(fallback):
                stats.reject(problems, chunk.section, fallback.question)
                return None
            stats.valid += 1
            stats.fallback += 1
            return fallback
        return None
    finally:
        stats.seconds += time.perf_counter() - started


def _question(reply: str) -> str:
    """The question of a raw reply, for the record of what was rejected ("" when there is none)."""
    try:
        data = json.loads(reply)
    except ValueError:
        return ""
    return str(data.get("question") or data.get("front") or "") if isinstance(data, dict) else ""


def _short(exc: Exception) -> str:
    text = str(exc) or exc.__class__.__name__
    return text if len(text) < 80 else text[:77] + "..."



def build_planned(plan: Plan, check: Check, stats: GenerationStats | None = None) -> QuizItem | None:
    """The item of a plan in the plan's own words (ordering and "which is NOT" items need no model)."""
    stats = stats if stats is not None else GenerationStats()
    item = from_plan(plan, plan.question, "notes")
    problems = check(item)
    if problems:
        stats.reject(problems, plan.chunks[0].section)
        return None
    stats.built += 1
    return item
