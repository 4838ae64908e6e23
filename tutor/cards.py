"""Flashcards built from the notes, with no model: the back is a line of the passage, and the front names
the heading and asks for that line only.

- a labelled list entry is asked by its label ("Under “Matrix”, what do your notes say of “Columns”?");
- a comparison table's first cell by its row and column ("what is the primary focus of “Data Scientist”?");
- a heading that asks a question, over its one statement, is the front as it stands;
- any other line is a line to complete (a cloze): its first words, at least two and under half its
  keywords counting the heading's, shared by no other line of the passage, so it has one right ending.

A small model's front on such lines tended to fit every line of the section ("What does the pattern
allow?"); these fronts cannot. Limits: a cloze of a very long line is long to complete.
"""

from __future__ import annotations

from dataclasses import replace

from tutor.choices import facts
from tutor.quiz import QuizItem, clean, item_id, normalise
from tutor.records import Chunk
from tutor.siblings import entries, name_of
from tutor.text import keywords

CLOZE_TWO_WORDS = 4  # a line of this many words shows at least its first two in a cloze (under half its keywords)
CLOZE_SHARE = 0.45  # share of the line's keywords the cloze front shows: under half, so it gives nothing away


def leaf_of(chunk: Chunk) -> str:
    """The chunk's own heading, without numbering or emphasis: what a card's question names."""
    return name_of(chunk.section.rpartition(" > ")[2])


def owner_of(chunk: Chunk) -> str:
    """The note's title for a top-level section ("" otherwise, or when the heading is the title): a question on
    "Usecase" must say whose, when every design-pattern note has one.

    >>> owner_of(Chunk("b.md:3", "b.md", "Usecase", 3, 5, "- x", "h", title="Batch pattern"))
    'Batch pattern'
    """
    title = name_of(chunk.title) if chunk.title else ""
    return title if " > " not in chunk.section and title.lower() != leaf_of(chunk).lower() else ""


def place(chunk: Chunk) -> str:
    """The chunk's heading as a question names it: “Proof”, or “Usecase” of “Batch pattern” (``owner_of``)."""
    owner = owner_of(chunk)
    return f"“{leaf_of(chunk)}”" + (f" of “{owner}”" if owner else "")


def card_fact(chunk: Chunk) -> str | None:
    """The line of the chunk a flashcard asks for: its first statement that does not merely repeat the heading."""
    named = keywords(f"{leaf_of(chunk)} {owner_of(chunk)}")
    return next((f for f in facts(chunk) if len(keywords(f) - named) >= 2), None)


def fact_card(chunk: Chunk, fact: str, question: str, generator: str, phrasing: str) -> QuizItem:
    """A flashcard citing ``chunk``: ``question`` on the front, the notes' ``fact`` on the back."""
    question = clean(question)
    hashes = (chunk.content_hash,)
    return QuizItem(id=item_id("card", hashes, question), kind="card", question=question,
                    key_points=(clean(fact).rstrip("."),), chunk_hashes=hashes, generator=generator,
                    extra={"shape": "fact", "fact": fact, "phrasing": phrasing}).bind([chunk])


def cloze_front(leaf: str, fact: str, owner: str = "") -> str:
    """The fallback front of a card: the heading and the line's first words, to be completed from memory
    (a heading that is itself a question is the front as it stands).

    >>> cloze_front("Proof", "Wait until the dough doubles in size")
    '“Proof”: complete the line from your notes: “Wait until …”'
    >>> cloze_front("Areas", "Data structures and algorithms for fast search")
    '“Areas”: complete the line from your notes: “Data structures …”'
    >>> cloze_front("What makes a good loaf?", "Patience, and a hot oven")
    'What makes a good loaf?'
    """
    if leaf.endswith("?"):
        return leaf
    named = f"“{leaf}”" + (f" of “{owner}”" if owner else "")
    shown = cloze_shown(fact, keywords(f"{leaf} {owner}")) or fact.split()[0]
    return f"{named}: complete the line from your notes: “{shown} …”"


def cloze_shown(fact: str, named: set[str] | frozenset[str] = frozenset()) -> str:
    """The first words of ``fact`` a cloze shows: under half its keywords counting those the heading (``named``)
    already gives, at least one of its own, and two words when that stays under; "" when no opening fits.

    >>> cloze_shown("The oven is lit at four every morning", {"morning"}), cloze_shown("Collect data")
    ('The oven', '')
    """
    words, kw = fact.split(), keywords(fact)
    given = kw & set(named)
    want = max(1, int(len(kw) * CLOZE_SHARE))
    best = ""
    for n in range(1, len(words)):
        prefix = " ".join(words[:n])
        own, shown = keywords(prefix) - set(named), keywords(prefix) | given
        if 2 * len(shown) >= len(kw):
            break  # half the line's words or more: the cloze would give it away
        if own:
            best = prefix
            if len(shown) >= want and (n >= 2 or len(words) < CLOZE_TWO_WORDS):
                break  # one word ("Data …") opens too many lines of the notes to recall this one
    return best if len(best.split()) >= 2 else ""  # one word ("Data …") is too little to go on


def opens_another(fact: str, others: list[str], named: set[str] | frozenset[str] = frozenset()) -> bool:
    """True when a cloze of ``fact`` has no opening to show, or its opening also opens another line: "Collect
    more …" for "Collect more diverse data" beside "Collect more labelled data" has two right endings.

    >>> opens_another("Collect more diverse data", ["Collect more labelled data", "Try dropout"])
    True
    """
    shown = normalise(cloze_shown(fact, named))
    return not shown or any(normalise(o).startswith(shown) for o in others if normalise(o) != normalise(fact))


LIST_CARD = 2  # entries from which a card on one of them is built from the notes (a model's front fits them all)


def list_card(chunk: Chunk) -> QuizItem | None:
    """A card built from the notes: a heading that asks a question, over its one statement, is the card as it
    stands; on one entry of a list of 2 or more a model's front tends to ask for any entry ("What is a key
    risk?", "What does the pattern allow?"), so a labelled entry is asked by its label and another is a cloze."""
    listed = [e for e in entries(chunk) if not e.intro]
    fact = card_fact(chunk)
    if fact is not None and leaf_of(chunk).endswith("?") and len(facts(chunk)) == 1:
        return fact_card(chunk, fact, leaf_of(chunk), "notes", "template")
    entry = next((e for e in listed if e.text.rstrip(".") == fact), None)
    if len(listed) < LIST_CARD or fact is None or entry is None:
        return None
    if entry.label and len(keywords(entry.value)) >= 2 and len({e.label.lower() for e in listed if e.label}) >= 3:
        item = fact_card(chunk, fact, f"Under {place(chunk)}, what do your notes say of “{entry.label}”?", "notes",
                         "template")
        return replace(item, key_points=(clean(entry.value).rstrip("."),))
    lines = [e.text.rstrip(".") for e in listed]
    named = keywords(f"{leaf_of(chunk)} {owner_of(chunk)}")
    fact = next((f for f in facts(chunk) if f in lines and len(keywords(f) - named) >= 2
                 and not opens_another(f, lines, named)), None)  # a cloze with one right ending
    if fact is None:
        return None
    return fact_card(chunk, fact, cloze_front(leaf_of(chunk), fact, owner_of(chunk)), "notes", "template")


def table_card(chunk: Chunk) -> QuizItem | None:
    """A card on the first cell of a comparison table, built from the notes: "In “Data Scientist vs. MLE”, what is
    the primary focus of “Data Scientist”?" (None without a table whose header names its columns)."""
    from tutor.contrast import _cells

    rows = [line for line in chunk.text.splitlines() if line.lstrip().startswith("|")]
    if len(rows) < 3 or not set(rows[1].replace("|", "").strip()) <= set("-: "):
        return None
    header = _cells(rows[0])
    for row in rows[2:]:
        cells = _cells(row)
        if len(cells) == len(header) >= 3 and cells[0] and header[1] and len(keywords(cells[1])) >= 2:
            question = f"In {place(chunk)}, what is the {cells[0].lower()} of “{header[1]}”?"
            item = fact_card(chunk, clean(row), question, "notes", "template")
            return replace(item, key_points=(clean(cells[1]).rstrip("."),))
    return None


def line_card(chunk: Chunk) -> QuizItem | None:
    """A card on a line of a passage with no list, built from the notes: its first statement whose opening words
    open no other line, as a line to complete (None when it has none; a table row is no line to complete)."""
    lines = [f for f in facts(chunk) if "|" not in f]
    named = keywords(f"{leaf_of(chunk)} {owner_of(chunk)}")
    fact = next((f for f in lines if len(keywords(f) - named) >= 2 and not opens_another(f, lines, named)), None)
    if fact is None:
        return None
    return fact_card(chunk, fact, cloze_front(leaf_of(chunk), fact, owner_of(chunk)), "notes", "template")
