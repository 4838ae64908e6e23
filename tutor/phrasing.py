"""The model phrases the question of a planned multiple-choice item, and nothing else.

A plan (``tutor.choices``) carries the key and the three wrong options, all taken from the notes.
The model is shown the note, the four options and the line the key was chosen for, and writes one
question (``{"question": ...}``); our code inserts the options, so the key cannot change. A question
that fails a check (it gives the answer away, or is not about the line) is not repaired: the item
keeps the plan's own template wording, so no slot is lost. Both outcomes are counted
(``GenerationStats.phrased`` and ``GenerationStats.fallback``).

Limits: one model call per item; the template wording is stiff ("Under which pattern of ... do your
notes say: ...?") but always true to the notes.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

from tutor.choices import Plan
from tutor.llm import ChatModel, Message
from tutor.quiz import Check, GenerationStats, QuizItem, from_plan, note_text
from tutor.replies import SCHEMAS, parse
from tutor.siblings import keywords

MAX_TOKENS = 80
SYSTEM = ("You write the question of a multiple-choice item that tests a student on their own study notes. "
          "The four options are fixed and shown to you; you write only the question, so that exactly one "
          "option fits it. Never put the right option, or its words, in the question. Reply with JSON only.")
ASK = ('Options: {options}.\nRight option: "{answer}", because the note says: "{fact}".\n'
       "Write one short question, in plain words, that asks which {noun} this line is about. Keep the line's "
       "meaning and do not use the words {banned}.")

# One worked example on a topic far from any study notes teaches the shape better than rules alone.
EXAMPLE_NOTE = 'Note (section "Bread > Steps > 3. Proof"):\n- Leave the dough covered in a warm place\n' \
               "- Wait until it doubles in size"
EXAMPLE_ASK = ASK.format(options='"Mix", "Knead", "Proof", "Bake"', answer="Proof",
                         fact="Wait until it doubles in size", noun="step", banned='"Proof"')
EXAMPLE_REPLY = '{"question": "At which step do you wait for the dough to double in size?"}'


def banned_words(plan: Plan) -> list[str]:
    """The right option's words that no wrong option has: a question holding one gives the answer away."""
    rest = set().union(*(keywords(o) for i, o in enumerate(plan.options) if i != plan.answer_index))
    return [w for w in dict.fromkeys(re.findall(r"[A-Za-z][\w-]+", plan.answer)) if keywords(w) - rest]


def stem_messages(plan: Plan) -> list[Message]:
    """What the model is asked: the note, the fixed options, and the line the right option was chosen for."""
    options = ", ".join(f'"{o}"' for o in plan.options)
    banned = ", ".join(f'"{w}"' for w in banned_words(plan)) or f'"{plan.answer}"'
    noun = plan.noun if plan.noun and plan.noun != "one" else "option"
    ask = ASK.format(options=options, answer=plan.answer, fact=plan.fact, noun=noun, banned=banned)
    chunk = plan.chunks[0]
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"{EXAMPLE_NOTE}\n\n{EXAMPLE_ASK}"},
            {"role": "assistant", "content": EXAMPLE_REPLY},
            {"role": "user", "content": f'Note (section "{chunk.section}"):\n{note_text(chunk)}\n\n{ask}'}]


def template_item(plan: Plan, check: Check, stats: GenerationStats) -> QuizItem | None:
    """The plan's item in its own template wording, or None when even that fails a check (counted)."""
    item = from_plan(plan, plan.question, "notes")
    item = replace(item, extra={**item.extra, "phrasing": "template"})
    problems = check(item)
    if problems:
        stats.reject(problems, plan.chunks[0].section)
        return None
    return item


def phrase(plan: Plan, model: ChatModel, check: Check, stats: GenerationStats) -> QuizItem | None:
    """The plan's item with the model's question when it passes ``check``, else with the template's."""
    stats.tried += 1
    started = time.perf_counter()
    try:
        reply = "".join(model.stream(stem_messages(plan), max_tokens=MAX_TOKENS, temperature=0.0,
                                     schema=SCHEMAS["stem"]))
        stats.replies += 1
        try:
            question = parse("stem", reply).question  # type: ignore[attr-defined]
            item = from_plan(plan, question, model.name)
            item = replace(item, extra={**item.extra, "phrasing": "model"})
            problems = check(item)
        except ValueError as exc:  # JSONDecodeError is a ValueError
            problems = [f"the reply is not the JSON asked for ({exc})"]
        if not problems:
            stats.valid += 1
            stats.first_try += 1
            stats.phrased += 1
            return item
        stats.reject(problems, plan.chunks[0].section)
        fallback = template_item(plan, check, stats)
        if fallback is not None:
            stats.valid += 1
            stats.fallback += 1
        return fallback
    finally:
        stats.seconds += time.perf_counter() - started
