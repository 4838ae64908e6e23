"""Grading what the learner wrote, point by point, with the passage that teaches each missed point.

- multiple choice and contrast: exact; the answer may be the letter, the number or the option's text;
- short answers and flashcards: each key point is hit when the answer has most of its keywords, or
  a sentence of the answer means the same (cosine of the embeddings), or, when it is a near miss and
  a chat model is given, the model judges it covered (a yes/no under a JSON schema).

The score is the share of points hit. The hint ladder (hint, stronger hint, reveal) is built from
the item itself, and each hint used lowers the rating recorded for the attempt. The rating is the
tutor's own ``Rating`` (again, hard, good, easy); only the learner database hands it to FSRS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from pydantic import BaseModel, StrictBool, ValidationError

from tutor.embedding import Embedder
from tutor.llm import ChatModel, LLMError
from tutor.quiz import QuizItem, normalise
from tutor.records import Citation
from tutor.siblings import name_of
from tutor.text import keywords, overlap

WORDS_HIT = 0.6  # share of a point's keywords in the answer
MEANING_HIT = 0.75  # cosine similarity of a point and a sentence of the answer (MiniLM: paraphrases 0.75-0.9)
NEAR_MISS = 0.45  # from here up to a hit, a chat model (when given) judges the point
PASS = 0.85  # a score from here up counts as correct
REVEAL = 3  # the third step of the hint ladder shows the answer
# Embeddings put opposites close ("higher accuracy" / "lower accuracy": cosine 0.91 with MiniLM), so
# an answer that uses the opposite of a word of the point is never a hit by meaning alone.
OPPOSITES = dict(p.split("/") for p in (
    "higher/lower lower/higher more/less less/more most/least least/most high/low low/high increase/decrease "
    "decrease/increase faster/slower slower/faster best/worst worst/best first/last last/first easy/hard "
    "hard/easy cheap/expensive expensive/cheap scalable/unscalable supervised/unsupervised "
    "unsupervised/supervised").split())


class Rating(IntEnum):
    """How well an attempt went, as the review schedule is told (the numbers FSRS uses too)."""

    Again = 1
    Hard = 2
    Good = 3
    Easy = 4


class JudgeReply(BaseModel):
    """The chat model's verdict on one key point; anything but ``{"covered": true}`` counts as not covered."""

    covered: StrictBool


JUDGE_SCHEMA = JudgeReply.model_json_schema()


@dataclass(frozen=True)
class PointResult:
    point: str
    hit: bool
    how: str = ""  # "choice", "words", "meaning" or "judge" when hit
    similarity: float = 0.0  # the best signal seen: keyword share or cosine
    teaching: Citation | None = None  # for a missed point: the cited passage that teaches it

    def to_dict(self) -> dict[str, Any]:
        return {"point": self.point, "hit": self.hit, "how": self.how, "similarity": round(self.similarity, 3),
                "teaching": self.teaching.to_dict() if self.teaching else None}


@dataclass(frozen=True)
class Grade:
    item_id: str
    kind: str
    score: float  # 0-1: share of the points hit
    points: tuple[PointResult, ...]
    hints_used: int = 0
    chosen: int | None = None  # the option picked, for choice items
    note: str = ""  # why nothing could be graded, e.g. an empty answer

    @property
    def correct(self) -> bool:
        return self.score >= PASS

    @property
    def hit(self) -> tuple[str, ...]:
        return tuple(p.point for p in self.points if p.hit)

    @property
    def missed(self) -> tuple[PointResult, ...]:
        return tuple(p for p in self.points if not p.hit)

    @property
    def rating(self) -> Rating:
        return rating_for(self.score, self.hints_used)

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "kind": self.kind, "score": round(self.score, 3), "correct": self.correct,
                "rating": self.rating.name.lower(), "hints_used": self.hints_used, "chosen": self.chosen,
                "hit": list(self.hit), "missed": [p.to_dict() for p in self.missed], "note": self.note}


def rating_for(score: float, hints_used: int) -> Rating:
    """Good, Hard or Again from the score; each hint lowers it one step; a revealed answer is Again.

    >>> [rating_for(1.0, h).name for h in range(4)]
    ['Good', 'Hard', 'Again', 'Again']
    >>> rating_for(0.6, 0).name, rating_for(0.2, 0).name
    ('Hard', 'Again')
    """
    if hints_used >= REVEAL:
        return Rating.Again
    base = Rating.Good if score >= PASS else Rating.Hard if score >= 0.5 else Rating.Again
    return Rating(max(Rating.Again, base - hints_used))


def hint(item: QuizItem, level: int) -> str:
    """Step ``level`` (1-3) of the hint ladder: where to look, a stronger hint, the answer."""
    where = item.citations[0].label() if item.citations else item.section
    if level >= REVEAL:
        return f"Answer: {item.answer}  (from {where})"
    if level == 1:
        points = f" A full answer has {len(item.key_points)} points." if item.kind == "short" else ""
        parent, _, leaf = item.section.rpartition(" > ")
        if item.options and normalise(name_of(leaf)) == normalise(item.answer):  # the heading is the answer
            return f"Look in your notes under “{parent.rpartition(' > ')[2]}”." if parent else "Look in your notes."
        return f"Look in your notes under “{leaf}”.{points}"
    if item.kind == "mcq" and item.answer_index is not None:
        wrong = [o for i, o in enumerate(item.options) if i != item.answer_index][:2]
        return "It is not " + " and not ".join(f"“{o}”" for o in wrong) + "."
    if item.kind == "contrast":
        other = item.extra.get("other")
        return f"For comparison — {other}." if other else f"It starts with “{item.answer[:3]}…”."
    return "It starts: " + "; ".join(_opening(p) for p in item.key_points)


def _opening(point: str) -> str:
    words = point.split()
    return " ".join(words[: max(1, len(words) // 3)]) + " …"


_LETTER = re.compile(r"\(?([a-zA-Z])[).]?")


def choose(options: tuple[str, ...], answer: str) -> int | None:
    """The option an answer names: a letter, a number, or the option's words; None if none or several.

    >>> choose(("Scalable", "Higher accuracy"), "b)"), choose(("Scalable", "Higher accuracy"), "2")
    (1, 1)
    >>> choose(("Data Scientist", "Machine Learning Engineer"), "the machine learning engineer")
    1
    """
    text = answer.strip()
    m = _LETTER.fullmatch(text)
    if m and ord(m.group(1).lower()) - ord("a") < len(options):
        return ord(m.group(1).lower()) - ord("a")
    if text.isdigit() and 1 <= int(text) <= len(options):
        return int(text) - 1
    said = normalise(text)
    names = [normalise(o) for o in options]
    if said in names:
        return names.index(said)
    close = [i for i, o in enumerate(options) if keywords(o) and overlap(o, text) >= 0.8]
    return close[0] if len(close) == 1 else None


def teaching(point: str, item: QuizItem) -> Citation | None:
    """The cited passage that best teaches ``point``."""
    if not item.citations:
        return None
    return max(item.citations, key=lambda c: overlap(point, f"{c.section}\n{c.text}"))


def grade(item: QuizItem, answer: str, *, hints_used: int = 0, embedder: Embedder | None = None,
          judge: ChatModel | None = None) -> Grade:
    """Grade ``answer`` to ``item``. Empty or off-topic answers score 0; nothing here raises on them."""
    if item.kind in ("mcq", "contrast"):
        chosen = choose(item.options, answer)
        right = chosen is not None and chosen == item.answer_index
        note = "" if chosen is not None else ("no answer given" if not answer.strip() else "not one of the options")
        point = PointResult(item.answer, right, "choice" if right else "", 1.0 if right else 0.0,
                            None if right else teaching(item.answer, item))
        return Grade(item.id, item.kind, 1.0 if right else 0.0, (point,), hints_used, chosen, note)
    results, note = _points(item, answer, embedder, judge)
    score = sum(p.hit for p in results) / len(results) if results else 0.0
    return Grade(item.id, item.kind, score, tuple(results), hints_used, None, note)


def _segments(answer: str) -> list[str]:
    parts = re.split(r"[.;:!?\n]+|,\s+|\s+(?:and|but|while|whereas)\s+", answer)
    return [p.strip() for p in parts if keywords(p)]


def _points(item: QuizItem, answer: str, embedder: Embedder | None,
            judge: ChatModel | None) -> tuple[list[PointResult], str]:
    if not keywords(answer):
        note = "no answer given" if not answer.strip() else "the answer has no words to grade"
        return [PointResult(p, False, teaching=teaching(p, item)) for p in item.key_points], note
    segments = [answer, *_segments(answer)]
    cosines = [0.0] * len(item.key_points)
    if embedder is not None:
        vectors = embedder.embed([*item.key_points, *segments])
        points, parts = vectors[: len(item.key_points)], vectors[len(item.key_points):]
        cosines = [max(sum(x * y for x, y in zip(p, s)) for s in parts) for p in points]
    results, note = [], ""
    for point, cosine in zip(item.key_points, cosines):
        share = overlap(point, answer)
        best = max(share, cosine)
        if share >= WORDS_HIT:
            results.append(PointResult(point, True, "words", best))
        elif cosine >= MEANING_HIT and not contradicts(point, answer):
            results.append(PointResult(point, True, "meaning", best))
        elif judge is not None and best >= NEAR_MISS:
            try:
                covered = _judge(judge, point, answer)
            except LLMError as exc:
                covered, note = False, f"the model could not judge a near miss ({exc.message})"
            results.append(PointResult(point, covered, "judge" if covered else "", best,
                                       None if covered else teaching(point, item)))
        else:
            results.append(PointResult(point, False, "", best, teaching(point, item)))
    return results, note


def contradicts(point: str, answer: str) -> bool:
    """True when the answer uses the opposite of a word of the point (and not the word itself).

    >>> contradicts("Higher accuracy", "it has lower accuracy"), contradicts("Higher accuracy", "more accurate")
    (True, False)
    """
    said = set(normalise(answer).split())
    return any(OPPOSITES.get(w) in said and w not in said for w in normalise(point).split())


def _judge(model: ChatModel, point: str, answer: str) -> bool:
    messages = [{"role": "system", "content": "You grade a student's answer against one key point. "
                                              "Reply with JSON only."},
                {"role": "user", "content": f"Key point: {point}\nStudent's answer: {answer[:600]}\n\n"
                                            "Does the student's answer state this key point (any wording)?"}]
    reply = "".join(model.stream(messages, max_tokens=16, temperature=0.0, schema=JUDGE_SCHEMA))  # type: ignore[arg-type]
    try:
        return JudgeReply.model_validate_json(reply).covered
    except ValidationError:
        return False
