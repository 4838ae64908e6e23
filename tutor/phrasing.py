"""The model phrases the question of an item whose answer the notes supply, and nothing else.

A plan (``tutor.choices``) carries the key and the three wrong options, all taken from the notes.
The model is shown the note, the four options and the line the key was chosen for, and writes one
question (``{"question": ...}``); our code inserts the options, so the key cannot change. A question
that fails a check (it gives the answer away, or is not about the line) is not repaired: the item
keeps the plan's own template wording, so no slot is lost. Both outcomes are counted
(``GenerationStats.phrased`` and ``GenerationStats.fallback``).

A short answer's key points are lines of the note too: the model picks 2-3 of them (the schema holds
each to the listed lines, an enum) and writes the question; it is repaired, not replaced, on failure.
Flashcards work the same way: the back is a line of the note (``card_fact``), the model writes the
front, and a front that fails a check gives way to a cloze of the line ("complete: “Wait until …”").

Limits: one model call per item; the template wording is stiff ("Under which pattern of ... do your
notes say: ...?") but always true to the notes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tutor.cards import cloze_front, fact_card, leaf_of, owner_of, place
from tutor.choices import Plan, facts, stands_alone
from tutor.llm import ChatModel, Message
from tutor.quiz import SYSTEM as ITEM_SYSTEM
from tutor.quiz import Check, GenerationStats, QuizItem, clean, from_plan, item_id, note_text
from tutor.records import Chunk
from tutor.replies import SCHEMAS, parse
from tutor.siblings import Entry, entries, name_of
from tutor.text import keywords

MAX_TOKENS = 80
SYSTEM = ("You turn one line of a student's study notes into a quiz question. The student must answer with the "
          "name of the part of the notes the line comes from; you are not told that name, so never guess it or "
          "name any part. Reply with JSON only.")
ASK = ('Line of the notes: "{fact}".\nWrite one short question that asks which {noun} {where}says this, keeping '
       "the line's own words for what it says.")

# One worked example on a topic far from any study notes teaches the shape better than rules alone. When the
# plan asks for the example's own noun ("which step"), a small model copies the example ("At which step of making
# bread do you put the model into production?"), so that plan gets the second example, whose noun differs.
EXAMPLES = (
    (ASK.format(fact="Wait until it doubles in size", noun="step", where="of “Bread Steps” "),
     '{"question": "At which step of making bread do you wait for the dough to double in size?"}', "step"),
    (ASK.format(fact="Legs grow and the tail shrinks", noun="stage", where="of “Frog Life Cycle” "),
     '{"question": "At which stage of a frog\'s life do the legs grow and the tail shrink?"}', "stage"),
)


def example_for(noun: str) -> tuple[str, str]:
    """The worked example (ask, reply) whose noun is not ``noun``.

    >>> example_for("pattern")[1][:30], example_for("steps")[1][:30]
    ('{"question": "At which step of', '{"question": "At which stage o')
    """
    ask, reply, _ = next(e for e in EXAMPLES if not re.fullmatch(rf"{e[2]}s?", noun.lower()))
    return ask, reply


def stem_messages(plan: Plan) -> list[Message]:
    """What the model is asked: the line the key was chosen for, and what kind of part answers it; not the
    options, the key or the note's headings (a small model copies any name it sees into the question)."""
    noun = plan.noun if plan.noun and plan.noun != "one" else "item"
    parent = plan.parent if plan.shape == "which" else ""  # "Batch pattern": which Pros is meant, when they recur
    if plan.shape == "label":
        parent, noun = name_of(plan.chunks[0].section.rpartition(" > ")[2]), "item of the list"
    where = f"of “{parent}” " if parent else f"(under its “{plan.heading}”) " if plan.heading else ""
    ask, reply = example_for(noun)
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": ask},
            {"role": "assistant", "content": reply},
            {"role": "user", "content": ASK.format(fact=plan.fact, noun=noun, where=where)}]


def stem_schema(plan: Plan) -> dict[str, Any]:
    r"""The stem schema with the question held to asking for a part ("Which step …?", "In which pattern …?"): the
    grammar enforces it, so a question about something else ("What is a common challenge …?") cannot be written.

    >>> stem_schema(Plan("which", "Q", ("A", "B", "C", "D"), 0, (), noun="step"))["properties"]["question"]["pattern"]
    '^(Which|In which|Under which|At which) steps? [^"\\\\\\n?]+\\?$'
    """
    noun = re.escape(plan.noun) + "s?" if plan.shape == "which" and plan.noun and " " not in plan.noun else ""
    head = "(Which|In which|Under which|At which) " + (f"{noun} " if noun else "")
    question = {"type": "string", "pattern": f'^{head}[^"\\\\\\n?]+\\?$'}
    return {"type": "object", "properties": {"question": question}, "required": ["question"]}


def phrase(plan: Plan, model: ChatModel, check: Check, stats: GenerationStats) -> QuizItem | None:
    """The plan's item with the model's question when it passes ``check``, else with the template's."""

    def make(question: str, generator: str, phrasing: str) -> QuizItem:
        item = from_plan(plan, question, generator)
        return replace(item, extra={**item.extra, "phrasing": phrasing})

    return _phrased(stem_messages(plan), make, plan.question, plan.chunks[0].section, model, check, stats,
                    stem_schema(plan))


# The worked examples' subjects (bread, frogs): a small model carries it into questions on other notes ("the workflow of
# the bread-making process"), so a question holding one of these words that its passage lacks is not used.
EXAMPLE_TOPIC = keywords("bread breads dough loaf loaves bake baking baker oven flour yeast proof proofing knead "
                         "frog frogs tadpole tadpoles")


def borrowed(item: QuizItem) -> list[str]:
    """The problem of a question that takes words from the worked example and not from its passage ([] if none).

    >>> from tutor.records import Citation
    >>> item = QuizItem("i", "mcq", "Which pattern manages the bread-making workflow?",
    ...                 citations=(Citation(1, "n.md", "Pros", (1, 1), "Isolate workflow and failure"),))
    >>> borrowed(item)
    ['the question borrows the worked example (bread), which its passage does not mention']
    """
    passage = keywords(" ".join(f"{c.section} {c.text}" for c in item.citations))
    words = sorted((EXAMPLE_TOPIC & keywords(item.question)) - passage)
    return [f"the question borrows the worked example ({', '.join(words)}), which its passage does not mention"
            ] if words else []


def _phrased(messages: list[Message], make: Callable[[str, str, str], QuizItem], template: str, section: str,
             model: ChatModel, check: Check, stats: GenerationStats,
             schema: dict[str, Any] | None = None) -> QuizItem | None:
    """One model call for the question; ``make(question, generator, phrasing)`` builds the item. A question
    that fails ``check`` (or no usable reply) gives way to ``template``; None when even that fails."""
    stats.tried += 1
    started = time.perf_counter()
    try:
        reply = "".join(model.stream(messages, max_tokens=MAX_TOKENS, temperature=0.0,
                                     schema=schema or SCHEMAS["stem"]))
        stats.replies += 1
        question = ""
        try:
            question = parse("stem", reply).question  # type: ignore[attr-defined]
            item = make(question, model.name, "model")
            problems = borrowed(item) or check(item)
        except ValueError as exc:  # JSONDecodeError is a ValueError
            problems = [f"the reply is not the JSON asked for ({exc})"]
        if not problems:
            stats.valid += 1
            stats.first_try += 1
            stats.phrased += 1
            return item
        stats.reject(problems, section, question)
        fallback = make(template, "notes", "template")
        problems = check(fallback)
        if problems:
            stats.reject(problems, section, fallback.question)
            return None
        stats.valid += 1
        stats.fallback += 1
        return fallback
    finally:
        stats.seconds += time.perf_counter() - started


# --- flashcards: the notes supply the back, the model phrases the front ---------------------------------

CARD_SYSTEM = ("You write the front of a flashcard that tests a student on their own study notes. The back of the "
               "card is fixed and shown to you: one line of the notes. You write only the short question on the "
               "front, so that this line, and no other line of the note, answers it. Of the line's own words, use "
               "only the ones you are told to keep. Reply with JSON only.")
CARD_ASK = ('Back of the card (a line of the note under {place}): "{fact}".\nWrite the question on the front: '
            "it names {place} and asks about {shown}, so that the rest of the line is the answer. "
            "Do not use the words {banned}.")
EXAMPLE_NOTE = ('Note (section "Bread > Steps > 3. Proof"):\n- Leave the dough covered in a warm place\n'
                "- Wait until it doubles in size")
EXAMPLE_CARD_ASK = CARD_ASK.format(place="“3. Proof”", fact="Wait until it doubles in size", shown='"wait"',
                                   banned='"doubles", "size"')
EXAMPLE_CARD_REPLY = '{"question": "In the Proof step, how long do you wait?"}'


def split_line(fact: str, named: set[str], others: list[str]) -> tuple[list[str], list[str]]:
    """The words of ``fact`` a card's front may keep (under half of them, those no other line has first, so the
    front asks for this line only) and the ones it must not use (the answer), each in line order.

    >>> split_line("Leave the dough covered in a warm place", {"proof"}, ["Wait until the dough doubles"])
    (['Leave', 'covered'], ['dough', 'warm', 'place'])
    """
    own = [w for w in dict.fromkeys(re.findall(r"[A-Za-z][\w-]+", fact)) if keywords(w) - named]
    elsewhere = set().union(*(keywords(o) for o in others))
    ranked = [w for w in own if keywords(w) - elsewhere] + [w for w in own if not keywords(w) - elsewhere]
    keep = set(ranked[:(len(own) - 1) // 2])
    return [w for w in own if w in keep], [w for w in own if w not in keep]


def card_messages(chunk: Chunk, fact: str) -> list[Message]:
    """Ask the model for the front of a card whose back is ``fact``: it keeps a few of the line's own words (so it
    asks for this line, not any line of the section) and hides the rest."""
    named = keywords(f"{leaf_of(chunk)} {owner_of(chunk)}")
    shown, hidden = split_line(fact, named, [f for f in facts(chunk) if f != fact])
    banned = ", ".join(f'"{w}"' for w in hidden[:8]) or f'"{fact}"'
    about = ", ".join(f'"{w}"' for w in shown) or "what the notes say there"
    return [{"role": "system", "content": CARD_SYSTEM},
            {"role": "user", "content": f"{EXAMPLE_NOTE}\n\n{EXAMPLE_CARD_ASK}"},
            {"role": "assistant", "content": EXAMPLE_CARD_REPLY},
            {"role": "user", "content": f'Note (section "{chunk.section}"):\n{note_text(chunk)}\n\n'
                                        + CARD_ASK.format(place=place(chunk), fact=fact, shown=about, banned=banned)}]


def phrase_card(chunk: Chunk, fact: str, model: ChatModel, check: Check, stats: GenerationStats) -> QuizItem | None:
    """A card whose back is ``fact``: the model's front when it passes ``check``, else a cloze of the line."""

    def make(question: str, generator: str, phrasing: str) -> QuizItem:
        return fact_card(chunk, fact, question, generator, phrasing)

    return _phrased(card_messages(chunk, fact), make, cloze_front(leaf_of(chunk), fact, owner_of(chunk)),
                    chunk.section, model, check, stats)


# --- short answers: the model picks the key points among the note's own lines --------------------------

MAX_LINES = 12  # lines offered as key points: more makes a prompt (and a grammar) the model gets lost in
WHOLE_LIST = 3  # a section of at most this many lines is a fair answer whole: its template names them all
LIST_ANSWER = 4  # a list section of 2 to 4 lines gets "name its N points", built from the notes with no model
SHORT_ASK = ("Lines of the note:\n{lines}\n\nWrite one question whose full answer needs 2 or 3 of these lines. "
             '"key_points": those lines, copied exactly as listed. "question": names {place} and asks what the '
             "notes say there, without using the words of those lines.")
EXAMPLE_LINES = "- Leave the dough covered in a warm place\n- Wait until it doubles in size"
EXAMPLE_SHORT = (f'Note (section "Bread > Steps > 3. Proof"):\n{EXAMPLE_LINES}\n\n'
                 + SHORT_ASK.format(lines=EXAMPLE_LINES, place="“3. Proof”"))
EXAMPLE_SHORT_REPLY = ('{"key_points": ["Leave the dough covered in a warm place", "Wait until it doubles in size"], '
                       '"question": "In the Proof step, where does the dough rest, and for how long?"}')


def short_lines(chunk: Chunk) -> list[str]:
    """The lines of the chunk a short answer's key points may be: its statements, in note order."""
    return list(dict.fromkeys(facts(chunk)))[:MAX_LINES]


def short_schema(lines: list[str]) -> dict[str, Any]:
    """The short-answer schema with each key point held to one of ``lines`` (an enum the grammar enforces)."""
    point = {"type": "string", "enum": lines}
    return {"type": "object", "properties": {
        "key_points": {"type": "array", "items": point, "minItems": 2, "maxItems": 3},
        "question": {"type": "string"}}, "required": ["key_points", "question"]}


def short_messages(chunk: Chunk, lines: list[str]) -> list[Message]:
    """Ask for a short-answer item whose key points are lines of the note, listed for the model to copy."""
    listed = "\n".join(f"- {line}" for line in lines)
    return [{"role": "system", "content": ITEM_SYSTEM},
            {"role": "user", "content": EXAMPLE_SHORT},
            {"role": "assistant", "content": EXAMPLE_SHORT_REPLY},
            {"role": "user", "content": f'Note (section "{chunk.section}"):\n{note_text(chunk)}\n\n'
                                        + SHORT_ASK.format(lines=listed, place=place(chunk))}]


def section_place(chunk: Chunk) -> str:
    """The chunk's heading with its parent's (or, at the top, its note's title): “System Risks” of “Risk Management”."""
    parent = chunk.section.rpartition(" > ")[0]
    owner = name_of(parent.rpartition(" > ")[2]) if parent else owner_of(chunk)
    return f"“{leaf_of(chunk)}”" + (f" of “{owner}”" if owner else "")


def list_entries(chunk: Chunk) -> list[Entry]:
    """The entries of the chunk's list that are not lead-ins: what list-based items take their keys from."""
    return [e for e in entries(chunk) if not e.intro]


def labelled(listed: list[Entry]) -> bool:
    """True when most entries of a list have their own label ("Advantage: …"), which a question can name them by."""
    labels = {e.label.lower() for e in listed if e.label}
    return len(labels) >= 3 and 2 * len(labels) > len(listed)


def list_lines(chunk: Chunk) -> list[str]:
    """The entries of a list section that a "name its N points" short answer asks for all of (else []): every
    entry, short ones too ("Rows: Users", "Programming proficiency"), else the model would pick some of them."""
    listed = [e for e in entries(chunk) if not e.intro]
    if not 2 <= len(listed) <= LIST_ANSWER or any(len(keywords(e.text)) < 2 or not stands_alone(e.text)
                                                  for e in listed):
        return []  # an entry that is code, a formula or "he talked about …" makes no point to recall
    return [e.text.rstrip(".") for e in listed]


def listed_short(chunk: Chunk, lines: list[str], most: int = WHOLE_LIST) -> QuizItem | None:
    """The short answer "Which 3 points do your notes make under …?" on a section of 2 to ``most`` lines, all of
    them the key (None for a longer section, where a part of the list would not be a fair key)."""
    if not 2 <= len(lines) <= most:
        return None
    question = f"Which {len(lines)} points do your notes make under {section_place(chunk)}?"
    hashes = (chunk.content_hash,)
    return QuizItem(id=item_id("short", hashes, question), kind="short", question=question,
                    key_points=tuple(clean(x).rstrip(".") for x in lines), chunk_hashes=hashes, generator="notes",
                    extra={"shape": "list", "phrasing": "template"}).bind([chunk])
