"""Contrast drills for the confusable pairs the notes define, built in code from their structure.

Two structures define a pair (or more) of things the learner must tell apart:

- a comparison table: ``| Aspect | Data Scientist | Machine Learning Engineer |``; every cell
  becomes "Which role owns “Deployment, maintenance, scaling”?" with the column names as options;
- two sibling sections with parallel labelled bullets, e.g. "Supervised Learning" and "Unsupervised
  Learning (Collaborative Filtering)" both list ``**Advantage**`` and ``**Disadvantage**``; every
  labelled bullet becomes "Which approach has advantage “Scalable”?".

No model is involved, so the drills are exact, instant, and cite the chunks they come from.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from tutor.quiz import QuizItem, item_id
from tutor.records import Chunk, plain

LABELLED = re.compile(r"^\s*[-*+]\s+\*\*(.+?)\*\*\s*:?\s*(.+?)\s*$")
VERBS = {"responsibilities": "owns", "deliverables": "delivers"}


def _cells(line: str) -> list[str]:
    return [plain(c).strip() for c in line.strip().strip("|").split("|")]


def table_drills(chunk: Chunk) -> list[QuizItem]:
    """Drills from a comparison table in ``chunk``: one per cell, the column names as options."""
    rows = [line for line in chunk.text.splitlines() if line.lstrip().startswith("|")]
    if len(rows) < 3 or not set(rows[1].replace("|", "").strip()) <= set("-: "):
        return []
    header = _cells(rows[0])
    subjects = header[1:]
    if len(subjects) < 2 or len({s.lower() for s in subjects}) < len(subjects) or not all(subjects):
        return []
    noun = "role" if "role" in chunk.section.lower() else "one"
    items = []
    for row in rows[2:]:
        cells = _cells(row)
        if len(cells) != len(header) or not cells[0]:
            continue
        aspect = cells[0]
        for j, value in enumerate(cells[1:]):
            if not value:
                continue
            verb = VERBS.get(aspect.lower())
            question = (f"Which {noun} {verb} “{value}”?" if verb
                        else f"Which {noun} has {aspect.lower()} “{value}”?")
            others = [f"{s}: {v}" for s, v in zip(subjects, cells[1:]) if s != subjects[j]]
            items.append(_item(question, subjects, j, [chunk], {"aspect": aspect, "other": "; ".join(others)}))
    return items


def _labels(chunk: Chunk) -> dict[str, tuple[str, str]]:
    """lower-cased label -> (label, value) for each ``- **Label**: value`` bullet."""
    out = {}
    for line in chunk.text.splitlines():
        m = LABELLED.match(line)
        if m:
            out[m.group(1).strip().lower()] = (m.group(1).strip(), plain(m.group(2)).strip().strip('"“”'))
    return out


def _parent(section: str) -> str:
    return section.rpartition(" > ")[0]


def _name(section: str) -> str:
    return section.rpartition(" > ")[2]


def pairs(chunks: Iterable[Chunk]) -> list[tuple[Chunk, Chunk]]:
    """Sibling sections that come in twos and list at least one bullet label in common."""
    groups: dict[tuple[str, str], list[Chunk]] = defaultdict(list)
    for chunk in chunks:
        if " > " in chunk.section:
            groups[(chunk.source, _parent(chunk.section))].append(chunk)
    out = []
    for members in groups.values():
        if len(members) != 2 or len({m.section for m in members}) != 2:
            continue
        a, b = sorted(members, key=lambda c: c.start)
        if set(_labels(a)) & set(_labels(b)):
            out.append((a, b))
    return out


def pair_drills(a: Chunk, b: Chunk) -> list[QuizItem]:
    """One drill per labelled bullet of either side; the two section names are the options."""
    names = [_name(a.section), _name(b.section)]
    noun = "approach" if "approach" in _parent(a.section).lower() else "one"
    labels = [_labels(a), _labels(b)]
    items = []
    for side, (this, other) in enumerate(((a, b), (b, a))):
        mine, theirs = labels[side], labels[1 - side]
        for key, (label, value) in mine.items():
            if not value:
                continue
            if key in theirs:
                question = f"Which {noun} has {label.lower()} “{value}”?"
                extra = {"aspect": label, "other": f"{names[1 - side]}: {theirs[key][1]}"}
            else:
                question = f"Which {noun} is this: {label} — “{value}”?"
                extra = {"aspect": label, "other": ""}
            items.append(_item(question, names, side, [this, other], extra))
    return items


def _item(question: str, options: Sequence[str], index: int, chunks: Sequence[Chunk],
          extra: dict[str, str]) -> QuizItem:
    hashes = tuple(c.content_hash for c in chunks)
    return QuizItem(id=item_id("contrast", hashes, question), kind="contrast", question=question,
                    options=tuple(options), answer_index=index, chunk_hashes=hashes, generator="notes",
                    extra=extra).bind(list(chunks))


def drills(chunks: Sequence[Chunk]) -> list[QuizItem]:
    """Every contrast drill the notes define, in note order."""
    items = [item for chunk in chunks for item in table_drills(chunk)]
    for a, b in pairs(chunks):
        items.extend(pair_drills(a, b))
    return items
