"""Small typed records passed between pipeline stages.

Data flows one way: notes -> Chunk -> Hit -> Retrieval -> Citation/Answer. An answer streams as
``AnswerEvent``s: ``TextDelta`` pieces (and ``Notice``s), then the ``Answer``. Every record is frozen
and serialises to the JSON contract with ``to_dict``; nothing here imports a heavy library.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)  # slots: a semester of notes is tens of thousands of chunks
class Chunk:
    """A heading-bounded piece of one note file."""

    id: str  # unique in the index: "<source>:<start line>"
    source: str  # path relative to the corpus folder, e.g. "ml-process-summary.md"
    section: str  # heading path, e.g. "Professional Roles in ML > Data Scientist vs. ..."
    start: int  # first line, 1-based, inclusive
    end: int  # last line, 1-based, inclusive
    text: str  # the raw lines of the note
    content_hash: str  # sha256 of title, section, lead and text: stable while the words are unchanged
    page: int | None = None  # the PDF page the lines are on (1-based); lines count within the page's text
    cell: int | None = None  # the notebook cell the lines are in (1-based); lines count within the cell
    title: str = ""  # the document's title: its H1, else the file name made readable
    lead: str = ""  # the list item or table header this piece was cut from, when cut inside one

    @property
    def context(self) -> str:
        """Where the piece sits: title > heading path, then the lead it was cut from."""
        path = self.section if not self.title or self.section.startswith(self.title) else \
            f"{self.title} > {self.section}"
        return f"{path}\n{self.lead}" if self.lead else path

    @property
    def lines(self) -> tuple[int, int]:
        return (self.start, self.end)

    def embed_text(self) -> str:
        """What the embedder and keyword index see: title, heading path and lead, then the text."""
        return f"{self.context}\n{plain(self.text)}"

    def to_dict(self) -> dict[str, Any]:
        """Its fields by name (all plain values, so no deep copy: ``asdict`` took 1.9 s for 33,000 chunks)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class Hit:
    """A chunk found for a query, with its fused rank score and the signals behind it."""

    chunk: Chunk
    score: float  # fused score (reciprocal rank fusion); higher is better
    dense: float | None = None  # cosine similarity of the query and the chunk, if ranked densely
    keyword: float | None = None  # BM25 score, if the chunk matched a query term

    def to_dict(self, rank: int) -> dict[str, Any]:
        return {
            "rank": rank,
            "score": round(self.score, 6),
            "dense": None if self.dense is None else round(self.dense, 4),
            "keyword": None if self.keyword is None else round(self.keyword, 4),
            "source": self.chunk.source,
            "section": self.chunk.section,
            "lines": list(self.chunk.lines),
            "text": self.chunk.text,
        } | _place(self.chunk.page, self.chunk.cell)


@dataclass(frozen=True)
class Retrieval:
    """What retrieval found for one query: the hits, and whether the notes plausibly cover it."""

    query: str  # as asked (cleaned; in chat, the standalone question)
    expanded: str  # the query with abbreviations spelled out: what was searched, and what the prompt shows
    hits: tuple[Hit, ...]  # best first
    relevant: bool  # False: the notes don't cover the query, so no model is asked
    unknown: tuple[str, ...] = ()  # names the query gives that the notes never write ("Kafka"): not relevant


@dataclass(frozen=True)
class Citation:
    """What an ``[n]`` marker in an answer points at."""

    n: int
    source: str
    section: str
    lines: tuple[int, int]
    text: str
    page: int | None = None  # PDF page: ``lines`` count within its text
    cell: int | None = None  # notebook cell: ``lines`` count within it

    @classmethod
    def of(cls, n: int, chunk: Chunk) -> Citation:
        return cls(n=n, source=chunk.source, section=chunk.section, lines=chunk.lines, text=chunk.text,
                   page=chunk.page, cell=chunk.cell)

    def label(self) -> str:
        """Where the passage is, e.g. ``notes.md › Roles (lines 4-9)`` or ``slides.pdf › p. 2 (lines 1-5)``."""
        return f"{self.where()} (lines {self.lines[0]}-{self.lines[1]})"

    def where(self) -> str:
        """The file, page or cell, and section, without the lines."""
        return where(self.source, self.section, self.page, self.cell)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "source": self.source,
            "section": self.section,
            "lines": list(self.lines),
            "text": self.text,
        } | _place(self.page, self.cell)


@dataclass(frozen=True)
class Timings:
    retrieve_ms: float = 0.0
    first_token_ms: float | None = None
    total_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 1)

        return {
            "retrieve_ms": r(self.retrieve_ms),
            "first_token_ms": r(self.first_token_ms),
            "total_ms": r(self.total_ms),
        }


@dataclass(frozen=True)
class Answer:
    """A finished answer: text with checked ``[n]`` markers and what they cite."""

    question: str
    answer: str
    citations: tuple[Citation, ...]
    refused: bool
    backend: str
    timings: Timings = field(default_factory=Timings)
    standalone_question: str | None = None  # the condensed question, in multi-turn chat
    unsupported: tuple[str, ...] = ()  # sentences that carry no valid marker
    removed_markers: tuple[int, ...] = ()  # markers that named no retrieved chunk
    nearest: tuple[str, ...] = ()  # nearest sections, when refused
    extractive: bool = False  # True when no language model wrote the answer
    incomplete: bool = False  # True when generation stopped early (fault or length limit)
    warnings: tuple[str, ...] = ()
    retrieval: Retrieval | None = None  # what the answer was written from (not in the JSON contract)

    @property
    def hits(self) -> tuple[Hit, ...]:
        """The passages the answer was written from; ``[n]`` cites ``hits[n - 1]``."""
        return self.retrieval.hits if self.retrieval is not None else ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "citations": [c.to_dict() for c in self.citations],
            "refused": self.refused,
            "backend": self.backend,
            "timings": self.timings.to_dict(),
            "standalone_question": self.standalone_question,
            "unsupported": list(self.unsupported),
            "removed_markers": list(self.removed_markers),
            "nearest": list(self.nearest),
            "extractive": self.extractive,
            "incomplete": self.incomplete,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer's text, as it is written."""

    text: str


@dataclass(frozen=True)
class Notice:
    """A message for the learner that is not part of the answer (e.g. the model is down: a fallback follows)."""

    text: str


# What an answer stream yields: text pieces and notices, then exactly one ``Answer``, last.
AnswerEvent = TextDelta | Notice | Answer


def _place(page: int | None, cell: int | None) -> dict[str, int]:
    """The ``page`` / ``cell`` fields of the JSON contract, present only for a PDF page or a notebook cell."""
    return {k: v for k, v in (("page", page), ("cell", cell)) if v is not None}


def where(source: str, section: str, page: int | None = None, cell: int | None = None) -> str:
    """A passage's place: file, then page or cell, then section (left out when it only repeats the file name).

    >>> where("ml.md", "Roles > MLE"), where("lecture-07.pdf", "lecture-07", page=2)
    ('ml.md › Roles > MLE', 'lecture-07.pdf › p. 2')
    >>> where("week2.ipynb", "Training", cell=4)
    'week2.ipynb › cell 4 › Training'
    """
    if page is None and cell is None:
        return f"{source} › {section}"
    place = f"p. {page}" if page is not None else f"cell {cell}"
    stem = source.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return f"{source} › {place}" + ("" if section in ("", stem) else f" › {section}")


# A code fence, also indented under a list item or opened on the item's own line ("- ```python").
FENCE = re.compile(r"^\s*(?:(?:[-*+]|\d+[.)])\s+)?(```|~~~)")
# What plain() takes out of a line: emphasis marks, but never inside an inline code span.
MARKS = re.compile(r"(`+).+?\1|\*\*|__")


def fenced(lines: Sequence[str]) -> list[bool]:
    """Whether each line is inside a code fence (the closing fence included, the opening not)."""
    out, inside = [], False
    for line in lines:
        out.append(inside)
        if FENCE.match(line):
            inside = not inside
    return out


def plain(markdown: str) -> str:
    r"""Markdown emphasis and heading marks removed, for embedding and display. Code keeps its marks:
    inline spans, and the lines of whole fenced blocks (``x**2``, ``__init__``, ``# a comment``); in a
    piece cut inside a long block (an odd number of fences) the fenced lines are read as text.

    >>> plain("#### **1. Business Understanding**")
    '1. Business Understanding'
    >>> print(plain("- **Use** `w**2` and `__init__`\n```python\n# a comment\nx = w**2\n```\n## __Next__"))
    - Use `w**2` and `__init__`
    ```python
    # a comment
    x = w**2
    ```
    Next
    """
    lines = markdown.splitlines()
    whole = sum(bool(FENCE.match(line)) for line in lines) % 2 == 0
    code = [whole and inside and not FENCE.match(line) for line, inside in zip(lines, fenced(lines))]
    out = []
    for line, is_code in zip(lines, code):
        line = line.strip()
        if not is_code:
            line = MARKS.sub(lambda m: m.group(0) if m.group(1) else "", line.lstrip("#")).strip()
        out.append(line)
    return "\n".join(out)
