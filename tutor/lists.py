"""List questions: the notes' own list, and the items of it that an answer left out.

A small model asked for the types, steps or methods a note lists tends to name one and stop. When the
question asks for several things and the answer cites a passage that answers it, is a list, and has an
item the answer names, the items the answer did not mention are added after it, in the notes' own words
and cited, so the learner sees the whole list. The list may be an item's own sub-list ("Options to
rerun the job: retry all / partial retry / no retry", under a longer list) when its lead shares a word
with the question.
"""

from __future__ import annotations

import re

from tutor.records import plain
from tutor.text import LINK, overlap, terms, word_families

# A question that asks for several things: "what are", "which ... are", "what can I do", or a plural of a
# list word.
LIST_QUESTION = re.compile(
    r"\b(?:what|which)\s+(?:\w+\s+){0,3}(?:are|were)\b|\b(?:list|enumerate|name\s+(?:the|some|all))\b|"
    r"\bwhat\s+(?:can|could|should)\s+(?:i|we|you|one)\s+do\b|"
    r"\b(?:types|kinds|steps|ways|methods|techniques|pros|cons|advantages|disadvantages|benefits|drawbacks|"
    r"examples|options|components|parts|stages|phases|approaches|strategies|tips|rules|practices)\b",
    re.IGNORECASE,
)
ITEM = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,2}[.)])[ \t]+(\S.*)$")
MIN_ITEMS = 3  # fewer is not a list worth completing
MAX_ITEMS = 12  # more is a page of notes, not one list
MAX_ITEM_CHARS = 160
SAID = 0.5  # share of an item's words an answer must use to have mentioned it


def asks_for_list(question: str) -> bool:
    """Whether the question asks for several things.

    >>> asks_for_list("What are the pros and cons of end-to-end learning?"), asks_for_list("What is dropout?")
    (True, False)
    >>> asks_for_list("What can I do when the variance is large?")  # the things one can do
    True
    """
    return bool(LIST_QUESTION.search(question))


def _label(item: str) -> str:
    """A list item as a short line: plain text, links as their words, its first sentence."""
    text = plain(LINK.sub(r"\1", item)).strip()
    text = re.split(r"(?<=[.!?])\s+", text)[0].rstrip(":").strip()
    if len(text) > MAX_ITEM_CHARS:
        text = text[:MAX_ITEM_CHARS].rsplit(" ", 1)[0] + " ..."
    return text


def item_lists(text: str) -> list[tuple[str, list[str]]]:
    """Every list in ``text``, as its lead (the parent item's label; "" for the outermost list) and its
    items' labels: the outermost items, then each item's own sub-items, in the order they start.

    >>> item_lists("Methods:\\n- **Data augmentation**:\\n  - flip images\\n  - crop\\n- Early stopping")
    [('', ['Data augmentation', 'Early stopping']), ('Data augmentation', ['flip images', 'crop'])]
    """
    found = [(len(m.group(1).expandtabs(4)), m.group(2)) for m in map(ITEM.match, text.splitlines()) if m]
    labels = [_label(item) for _, item in found]
    groups: dict[int, list[str]] = {}  # parent item's position (-1: none) -> its items, in order
    parents: list[tuple[int, int]] = []  # (indent, position) of the items still open above this one
    for position, (indent, _) in enumerate(found):
        while parents and parents[-1][0] >= indent:
            parents.pop()
        if labels[position]:
            groups.setdefault(parents[-1][1] if parents else -1, []).append(labels[position])
        parents.append((indent, position))
    return [(labels[parent] if parent >= 0 else "", items) for parent, items in groups.items()]


def has_list(text: str, question: str = "") -> bool:
    """Whether ``text`` holds a list worth completing, at any depth: three items or more, or two under a
    lead the ``question`` names ("the two main advantages")."""
    asked = terms(question)
    return any(MIN_ITEMS <= len(items) <= MAX_ITEMS or (len(items) == 2 and lead and names(lead, asked))
               for lead, items in item_lists(text))


def missing_items(answer: str, passage: str, question: str) -> list[str]:
    """The items that ``answer`` does not mention of the passage's list the ``question`` asks for: an
    item's sub-list whose lead the question names (``names``), whatever the answer named; else the list
    the answer names most items of, the outermost or a sub-list whose lead shares a word with the
    question. None when it names no item of any (it may be about another list).

    >>> missing_items("Use L1 regularization [1].", "- Data augmentation\\n- Early stopping\\n- L1 regularization", "")
    ['Data augmentation', 'Early stopping']
    >>> missing_items("Use weight decay [1].", "- Data augmentation\\n- Early stopping\\n- L1 regularization", "")
    []
    >>> batch = ("- Mind the batch size\\n- Mind the time limit\\n- Options to rerun a failed job:\\n"
    ...          "  - Retry all: rerun the whole batch.\\n  - Partial retry: rerun the failed data.\\n"
    ...          "  - No retry: wait for the next batch.")
    >>> missing_items("Retry all: rerun the whole batch [1].", batch, "How can I rerun a job?")
    ['Partial retry: rerun the failed data.', 'No retry: wait for the next batch.']
    >>> missing_items("Retry all: rerun the whole batch [1].", batch, "What limits are there?")
    []
    >>> missing_items("Mind the time limit [1].", batch, "What are the options to rerun a failed job?")
    ['Retry all: rerun the whole batch.', 'Partial retry: rerun the failed data.', 'No retry: wait for the next batch.']
    >>> two = "- Two main advantages of convs:\\n  - Parameter sharing.\\n  - Sparsity of connections."
    >>> missing_items("Parameter sharing [1].", two, "What are the two main advantages of convolutions?")
    ['Sparsity of connections.']
    >>> missing_items("Parameter sharing [1].", two, "What is parameter sharing?")
    []
    """
    def unsaid(items: list[str]) -> list[str]:
        return [item for item in items if overlap(item, answer, word_families) < SAID]

    asked = terms(question)
    every = item_lists(passage)
    lists = [(lead, items) for lead, items in every if MIN_ITEMS <= len(items) <= MAX_ITEMS]
    # a list the question names by its lead counts from two items: "What are the two main advantages?"
    named = [(len(terms(lead) & asked), items) for lead, items in every
             if lead and 2 <= len(items) <= MAX_ITEMS and names(lead, asked)]
    if named:  # the question names a sub-list by its lead: that is the list it asks for
        return unsaid(max(named, key=lambda x: x[0])[1])
    best: tuple[int, list[str]] = (0, [])
    for lead, items in lists:
        if lead and not terms(lead) & asked:
            continue
        left = unsaid(items)
        if len(items) - len(left) > best[0]:
            best = (len(items) - len(left), left)  # the list it names most of; the outermost on a tie
    return best[1]


def names(lead: str, asked: set[str]) -> bool:
    """Whether a question (its ``terms``) names a list by its lead: two words of it, and two thirds.

    >>> names("How to trigger prediction", terms("What are the ways to trigger a prediction?"))
    True
    >>> names("Needs consideration for prediction error", terms("What are the ways to trigger a prediction?"))
    False
    """
    shared = len(terms(lead) & asked)
    return shared >= 2 and shared >= 2 / 3 * len(terms(lead))


def completion(answer: str, passage: str, n: int, question: str) -> str:
    """What to add after ``answer``: the items of passage ``[n]`` it left out, one cited line each
    (empty when it left none out).

    >>> print(completion("Mirroring [1].", "- Mirroring\\n- Random cropping\\n- Rotation", 1, "Which augmentations?"))
    <BLANKLINE>
    <BLANKLINE>
    Your notes also list [1]:
    - Random cropping [1]
    - Rotation [1]
    """
    left = missing_items(answer, passage, question)
    if not left:
        return ""
    return f"\n\nYour notes also list [{n}]:\n" + "\n".join(f"- {item} [{n}]" for item in left)
