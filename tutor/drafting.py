"""One model call streamed into a ``Draft``, with what must not reach the learner held back.

A small model slips in three ways a reader would never accept, and each is caught while it writes:
it opens with a refusal ("NOT_COVERED"), which is held back so it never shows as text; it copies a
sentence of the prompt's worked example ("chloroplasts carry out photosynthesis") into an answer about
something else, which is left out; and it repeats a sentence over and over until the token limit,
which is stopped when a sentence comes right after itself or a third time. A sentence being written
that could still become one of these is held back until it cannot, so the learner never sees text that
the finished answer drops.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from tutor.config import Settings
from tutor.llm import ChatModel, Completion, LLMError, Message
from tutor.prompts import EXAMPLE_ANSWER, NOT_COVERED
from tutor.records import TextDelta
from tutor.text import MARKER

REFUSAL = re.compile(
    rf"^\W*(?:{NOT_COVERED}|(?:the |your |my )?notes (?:do not|don't|does not|doesn't) "
    r"(?:cover|contain|mention|answer|say|include))",
    re.IGNORECASE,
)
HOLD_CHARS = 40  # an answer's opening is shown once this long: by then a refusal would have said so
MIN_REPEAT_WORDS = 4  # shorter lines ("- None", a code fence) may repeat in a real answer
# Where a sentence or a list line ends: after . ! ? (and the markers that follow), or at a newline.
SENTENCE_END = re.compile(r"(?<=[.!?])(?:\s*\[\d+\])*[ \t]+|(?:[ \t]*\[\d+\])*[ \t]*\n+")
LEAKS = tuple(s for s in re.split(r"(?<=[.!?])\s+", EXAMPLE_ANSWER) if s)  # the worked example's sentences


def _norm(sentence: str) -> str:
    """A sentence as compared for repeats: no markers, case, punctuation or spacing."""
    return " ".join(re.findall(r"[a-z0-9]+", MARKER.sub(" ", sentence).lower()))


LEAKED = tuple(_norm(s) for s in LEAKS)


@dataclass
class Draft:
    """What one model call wrote: its text, when its first piece came, and whether it was cut off."""

    text: str = ""
    first_ms: float | None = None
    incomplete: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def said_nothing(self) -> bool:
        """A refusal, or nothing but markers."""
        return bool(REFUSAL.match(self.text)) or not MARKER.sub("", self.text).strip(" .,;:\n\t")


@dataclass
class Guard:
    """Reads the text as it grows: where the finished sentences end, which to drop, and whether the
    model has started repeating itself."""

    seen: list[str] = field(default_factory=list)  # finished sentences, normalised
    done: int = 0  # the text up to here is made of finished sentences
    kept: str = ""  # those sentences, without the dropped ones
    repeating: bool = False
    leaked: int = 0

    def read(self, text: str) -> None:
        """Take in every sentence of ``text`` finished since the last call."""
        for end in SENTENCE_END.finditer(text, self.done):
            self._take(text[self.done:end.end()])
            if self.repeating:
                return
            self.done = end.end()

    def _take(self, sentence: str) -> bool:
        """Keep one sentence, or drop it as a leak or a loop (which marks the draft ``repeating``);
        whether it was kept."""
        norm = _norm(sentence)
        if norm in LEAKED:
            self.leaked += 1
            return False
        if self._loops(norm):
            self.repeating = True
            return False
        self.kept += sentence
        self.seen.append(norm)
        return True

    def _loops(self, norm: str) -> bool:
        """A sentence said right before, or twice already: the model is looping (notes may repeat a line
        once, e.g. the same advice under two headings, and an answer may quote both)."""
        if len(norm.split()) < MIN_REPEAT_WORDS:
            return False
        return bool(self.seen) and self.seen[-1] == norm or self.seen.count(norm) >= 2

    def safe(self, text: str) -> str:
        """The text that may be shown now: the kept sentences, and the one being written unless it may
        yet become a repeat or a leak."""
        tail = text[self.done:]
        norm = _norm(tail)
        if tail.strip() and any(s.startswith(norm) for s in (*self.seen, *LEAKED)):
            return self.kept
        return self.kept + tail

    def finish(self, text: str) -> str:
        """The whole kept text once the model has stopped (its last sentence may have no ending)."""
        if not self.repeating and self._take(text[self.done:]):
            return self.kept
        return self.kept.rstrip()


def write(model: ChatModel, messages: list[Message], settings: Settings, started: float,
          draft: Draft, markers: int = 0) -> Iterator[TextDelta]:
    """Stream one model call into ``draft``, yielding its text as it comes. The opening is held back
    until it can no longer be a refusal ("NOT_COVERED", "The notes do not cover"), so a refusal never
    reaches the user as text; a copied example sentence is left out; when it starts looping the model
    is stopped. ``markers``: the highest passage number the answer may cite (0: no limit)."""
    shown = ""
    guard = Guard()
    raw = ""
    completion = Completion(model.stream(messages, max_tokens=settings.max_tokens, temperature=settings.temperature,
                                         markers=markers))
    pieces = iter(completion)
    try:
        for piece in pieces:
            if draft.first_ms is None:
                draft.first_ms = (time.perf_counter() - started) * 1000
            raw += piece
            guard.read(raw)
            if guard.repeating:
                break
            head = raw.lstrip()
            if not shown and (len(head) < HOLD_CHARS or REFUSAL.match(head)):
                continue
            visible = guard.safe(raw)
            if len(visible) > len(shown) and visible.startswith(shown):
                yield TextDelta(visible[len(shown):])
                shown = visible
    except LLMError as exc:
        if not raw:
            raise
        draft.incomplete = True
        draft.warnings.append(f"the answer was cut off: {exc}")
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()  # stops the model when it was cut short here
    draft.text = guard.finish(raw)
    if guard.repeating:
        draft.warnings.append("the model began repeating a sentence, so it was stopped there")
    if guard.leaked:
        draft.warnings.append("left out a sentence copied from the prompt's worked example")
    if not draft.said_nothing and draft.text.startswith(shown) and len(draft.text) > len(shown):
        yield TextDelta(draft.text[len(shown):])  # the rest: a short answer held back whole, or its last line
    if completion.finish_reason == "length" and not guard.repeating:
        draft.incomplete = True
        draft.warnings.append(f"the answer reached the {settings.max_tokens}-token limit and may be cut off")

