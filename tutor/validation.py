"""Checks every quiz item must pass before a learner sees it; each check names what is wrong.

- citations: each cites a chunk of the notes, with that chunk's exact text, section and lines;
- multiple choice and contrast: the answer index is in range, the options are distinct (compared
  normalised), the correct option is supported by the cited chunk (its words are in it, or, with an
  embedder, it means the same), and the question does not give the answer away;
- short answers and cards: every key point is supported by the cited chunk and not in the question;
- no duplicate of an item already in the bank (same normalised question, or nearly the same meaning).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from tutor.embedding import Embedder
from tutor.quiz import KINDS, QuizItem, normalise
from tutor.records import Chunk
from tutor.retrieval import tokenize

SUPPORTED = 0.5  # share of an answer's keywords that must occur in the cited chunk
SUPPORTED_MEANING = 0.6  # or: cosine similarity of the answer and the chunk, with an embedder
GIVEN_AWAY = 0.8  # share of an answer's keywords found in the question that gives it away
DUPLICATE_MEANING = 0.92  # cosine similarity of two questions of one kind that makes them duplicates
MAX_CHARS = 300
LISTED = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")  # a bullet or numbered line (table cells are not)


def keywords(text: str) -> set[str]:
    return set(tokenize(text))


def overlap(text: str, source: str) -> float:
    """Share of ``text``'s keywords that occur in ``source`` (0 when ``text`` has none).

    >>> overlap("Higher accuracy", "- **Advantage**: Higher accuracy")
    1.0
    >>> overlap("Lower latency", "- **Advantage**: Higher accuracy")
    0.0
    """
    words = keywords(text)
    return len(words & keywords(source)) / len(words) if words else 0.0


def gives_away(answer: str, question: str) -> bool:
    """True when the question's wording already contains the answer."""
    a, q = normalise(answer), normalise(question)
    return bool(a) and (f" {a} " in f" {q} " or overlap(answer, question) >= GIVEN_AWAY)


class Validator:
    """Validates items against the current chunks (by content hash) and the items already accepted."""

    def __init__(self, chunks: Mapping[str, Chunk], existing: Iterable[QuizItem] = (),
                 embedder: Embedder | None = None) -> None:
        self.chunks = chunks
        self.embedder = embedder
        self.accepted: list[QuizItem] = []
        self._seen: dict[str, str] = {}  # normalised question -> item id
        self._vectors: dict[str, list[float]] = {}
        for item in existing:
            self.accept(item)

    def accept(self, item: QuizItem) -> None:
        """Count ``item`` as in the bank: later items may not duplicate it."""
        self.accepted.append(item)
        self._seen[normalise(item.question)] = item.id

    def problems(self, item: QuizItem) -> list[str]:
        if item.kind not in KINDS:
            return [f"unknown kind {item.kind!r}"]
        out = self._citation_problems(item)
        if out:
            return out  # nothing else can be checked against invented or stale sources
        if len(normalise(item.question).split()) < 3:
            out.append("the question is too short")
        if len(item.question) > MAX_CHARS:
            out.append("the question is too long")
        out += self._choice_problems(item) if item.kind in ("mcq", "contrast") else self._point_problems(item)
        if not out:
            out += self._duplicate_problems(item)
        return out

    def _citation_problems(self, item: QuizItem) -> list[str]:
        if not item.citations:
            return ["the item cites nothing"]
        if len(item.citations) != len(item.chunk_hashes):
            return ["the citations do not match the chunks the item was written from"]
        out = []
        for citation, h in zip(item.citations, item.chunk_hashes):
            chunk = self.chunks.get(h)
            if chunk is None:
                out.append(f"citation [{citation.n}] names a passage that is not in the notes")
            elif (citation.text, citation.section, citation.source, tuple(citation.lines)) != (
                    chunk.text, chunk.section, chunk.source, chunk.lines):
                out.append(f"citation [{citation.n}] does not quote {chunk.source} lines {chunk.start}-{chunk.end}")
        return out

    def _source(self, item: QuizItem) -> str:
        return "\n".join(f"{c.section}\n{c.text}" for c in item.citations)

    def _supported(self, text: str, item: QuizItem) -> bool:
        source = self._source(item)
        if overlap(text, source) >= SUPPORTED:
            return True
        if self.embedder is None or not keywords(text):
            return False
        a, *chunks = self.embedder.embed([text, *(c.embed_text() for c in map(self.chunks.get, item.chunk_hashes)
                                                  if c is not None)])
        return max((sum(x * y for x, y in zip(a, v)) for v in chunks), default=0.0) >= SUPPORTED_MEANING

    @staticmethod
    def _listed(option: str, item: QuizItem) -> bool:
        """True when ``option`` is a whole bullet of a cited chunk, or its bold label, or the text after it."""
        want = normalise(option)
        for citation in item.citations:
            for line in citation.text.splitlines():
                if not LISTED.match(line):
                    continue
                label, _, rest = LISTED.sub("", line).partition(":")
                if want in (normalise(line), normalise(label), normalise(rest)):
                    return True
        return False

    def _choice_problems(self, item: QuizItem) -> list[str]:
        out = []
        if item.kind == "mcq" and len(item.options) != 4:
            out.append(f"a multiple-choice item needs 4 options, not {len(item.options)}")
        if item.kind == "contrast" and len(item.options) < 2:
            out.append("a contrast drill needs at least 2 options")
        if not isinstance(item.answer_index, int) or not 0 <= item.answer_index < len(item.options):
            return [*out, f"the answer index {item.answer_index!r} is not one of the {len(item.options)} options"]
        names = [normalise(o) for o in item.options]
        if any(not n for n in names):
            out.append("an option is empty")
        elif len(set(names)) < len(names):
            dup = next(o for o, n in zip(item.options, names) if names.count(n) > 1)
            out.append(f"the option {dup!r} appears twice")
        if any(len(o) > MAX_CHARS for o in item.options):
            out.append("an option is too long")
        correct = item.options[item.answer_index]
        stated = [o for i, o in enumerate(item.options) if i != item.answer_index and self._listed(o, item)]
        if item.kind == "mcq" and stated:
            out.append(f"the wrong option {stated[0]!r} is also listed in the cited notes: two answers fit")
        if not self._supported(correct, item):
            out.append(f"the correct answer {correct!r} is not what the cited notes say")
        if gives_away(correct, item.question):
            out.append("the question gives away the correct answer")
        return out

    def _point_problems(self, item: QuizItem) -> list[str]:
        if item.options or item.answer_index is not None:
            return [f"a {item.kind} item has no options"]
        want = (2, 3) if item.kind == "short" else (1, 1)
        if not want[0] <= len(item.key_points) <= want[1]:
            return [f"a {item.kind} item needs {want[0]}-{want[1]} key points, not {len(item.key_points)}"]
        out = []
        names = [normalise(p) for p in item.key_points]
        if any(not n for n in names):
            out.append("a key point is empty")
        elif len(set(names)) < len(names):
            out.append("a key point appears twice")
        for point in item.key_points:
            if len(point) > MAX_CHARS:
                out.append("a key point is too long")
            elif not self._supported(point, item):
                out.append(f"the key point {point!r} is not what the cited notes say")
            elif gives_away(point, item.question):
                out.append(f"the question gives away the key point {point!r}")
        return out

    def _duplicate_problems(self, item: QuizItem) -> list[str]:
        same = self._seen.get(normalise(item.question))
        if same is not None and same != item.id:
            return ["the same question is already in the bank"]
        if same == item.id:
            return []
        if self.embedder is None:
            return []
        peers = [o for o in self.accepted if o.kind == item.kind and o.id != item.id]
        if not peers:
            return []
        missing = [o.question for o in peers if o.question not in self._vectors]
        texts = [item.question, *missing]
        vectors = self.embedder.embed(texts)
        self._vectors.update(zip(texts, vectors))
        mine = self._vectors[item.question]
        for other in peers:
            if sum(x * y for x, y in zip(mine, self._vectors[other.question])) >= DUPLICATE_MEANING:
                return [f"nearly the same question is already in the bank: {other.question!r}"]
        return []
