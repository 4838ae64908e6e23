"""List questions: the notes' own list, and the items of it that an answer left out.

A small model asked for the types, steps or methods a note lists tends to name one and stop. When the
question asks for several things and the answer cites a passage that answers it, is a list, and has an
item the answer names, the items the answer did not mention are added after it, in the notes' own words
and cited, so the learner sees the whole list.
"""

from __future__ import annotations

import re

from tutor.records import plain
from tutor.text import overlap, word_families

# A question that asks for several things: "what are", "which ... are", or a plural of a list word.
LIST_QUESTION = re.compile(
    r"\b(?:what|which)\s+(?:\w+\s+){0,3}(?:are|were)\b|\b(?:list|enumerate|name\s+(?:the|some|all))\b|"
    r"\b(?:types|kinds|steps|ways|methods|techniques|pros|cons|advantages|disadvantages|benefits|drawbacks|"
    r"examples|options|components|parts|stages|phases|approaches|strategies|tips|rules|practices)\b",
    re.IGNORECASE,
)
ITEM = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,2}[.)])[ \t]+(\S.*)$")
LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
MIN_ITEMS = 3  # fewer is not a list worth completing
MAX_ITEMS = 12  # more is a page of notes, not one list
MAX_ITEM_CHARS = 160
SAID = 0.5  # share of an item's words an answer must use to have mentioned it


def asks_for_list(question: str) -> bool:
    """Whether the question asks for several things.

    >>> asks_for_list("What are the pros and cons of end-to-end learning?"), asks_for_list("What is dropout?")
    (True, False)
    """
    return bool(LIST_QUESTION.search(question))


def _label(item: str) -> str:
    """A list item as a short line: plain text, links as their words, its first sentence."""
    text = plain(LINK.sub(r"\1", item)).strip()
    text = re.split(r"(?<=[.!?])\s+", text)[0].rstrip(":").strip()
    if len(text) > MAX_ITEM_CHARS:
        text = text[:MAX_ITEM_CHARS].rsplit(" ", 1)[0] + " ..."
    return text


def top_items(text: str) -> list[str]:
    """The items of the outermost list in ``text`` (its sub-items are details, not items).

    >>> top_items("Methods:\\n- **Data augmentation**:\\n  - flip images\\n- Early stopping\\n- [Ensembles](e.md)")
    ['Data augmentation', 'Early stopping', 'Ensembles']
    """
    found = [(len(m.group(1).expandtabs(4)), m.group(2)) for m in map(ITEM.match, text.splitlines()) if m]
    if not found:
        return []
    outer = min(indent for indent, _ in found)
    labels = [_label(item) for indent, item in found if indent == outer]
    return [label for label in labels if label]


def list_items(text: str) -> list[str]:
    """The outermost items of ``text`` when they make a list worth completing (else none).

    >>> list_items("- a b\\n- c d"), list_items("- a\\n- b\\n- c")
    ([], ['a', 'b', 'c'])
    """
    items = top_items(text)
    return items if MIN_ITEMS <= len(items) <= MAX_ITEMS else []


def missing_items(answer: str, passage: str) -> list[str]:
    """The passage's list items that ``answer`` does not mention: none when the passage is not a list,
    or when the answer names none of its items (then it may be about another list).

    >>> missing_items("Use L1 regularization [1].", "- Data augmentation\\n- Early stopping\\n- L1 regularization")
    ['Data augmentation', 'Early stopping']
    >>> missing_items("Use weight decay [1].", "- Data augmentation\\n- Early stopping\\n- L1 regularization")
    []
    """
    items = list_items(passage)
    left = [item for item in items if overlap(item, answer, word_families) < SAID]
    return left if len(left) < len(items) else []  # an answer that names none of them may mean another list


def completion(answer: str, passage: str, n: int) -> str:
    """What to add after ``answer``: the items of passage ``[n]`` it left out, one cited line each
    (empty when it left none out).

    >>> print(completion("Mirroring [1].", "- Mirroring\\n- Random cropping\\n- Rotation", 1))
    <BLANKLINE>
    <BLANKLINE>
    Your notes also list [1]:
    - Random cropping [1]
    - Rotation [1]
    """
    left = missing_items(answer, passage)
    if not left:
        return ""
    return f"\n\nYour notes also list [{n}]:\n" + "\n".join(f"- {item} [{n}]" for item in left)
