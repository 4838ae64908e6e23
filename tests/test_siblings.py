"""Wrong options mined from the notes, meta content, and the giveaway and key checks, on small written notes."""

from __future__ import annotations

import json
from dataclasses import replace

from tests.fakes import ScriptedModel
from tutor.choices import Planner
from tutor.chunking import chunk_text
from tutor.quiz import GenerationStats, build, build_planned, definition_card, generate, reason
from tutor.siblings import content, definitions, entries, groups, is_meta_line
from tutor.validation import Validator, point_given_away, telltale

NOTES = """# Baking

## Bread Steps

### 1. Mix
- Combine flour, water, salt and yeast
- Stir until no dry flour remains

### 2. Knead
- Work the dough for ten minutes
- Gluten develops and the crumb turns elastic
- Stop when a thin window of dough holds light

### 3. Proof
- Leave the dough covered in a warm place
- Wait until it doubles in size
- More time gives more flavour

### 4. Bake
- Heat the oven to 230 degrees
- Bake until the crust is deep brown

### 5. Cool
- Rest the loaf on a wire rack
- Slice only once the loaf is cold

## Knife Cuts
- **Sourdough** - A bread leavened by a wild yeast culture instead of commercial yeast
- **Julienne**: thin matchstick strips of vegetables
- **Brunoise**: tiny even cubes from julienne strips
- **Chiffonade**: rolled herb leaves sliced into ribbons
- **Mince**: chopped as finely as the knife allows

## Further reading
- [The Bread Bible](http://example.com/bread)
- Take the pastry course at [Example](http://example.com)
"""
CHUNKS = chunk_text(NOTES, "baking.md")
BY = {c.section.rpartition(" > ")[2]: c for c in CHUNKS}
PLANNER = Planner(CHUNKS)


def validator() -> Validator:
    return Validator({c.content_hash: c for c in CHUNKS})


def plan(section: str, shape: str):  # type: ignore[no-untyped-def]
    return next(p for p in PLANNER.plans(BY[section]) if p.shape == shape)


# --- mining -------------------------------------------------------------------------------------------

def test_the_numbered_steps_of_a_process_are_one_ordered_group_and_meta_sections_are_not_quizzed() -> None:
    (steps,) = [g for g in groups(CHUNKS) if g.parent == "Bread Steps"]
    assert steps.names == ("Mix", "Knead", "Proof", "Bake", "Cool") and steps.ordered and steps.noun == "step"
    assert content(BY["Further reading"]) == "" and PLANNER.plans(BY["Further reading"]) == []
    assert is_meta_line("- [The Bread Bible](http://example.com/bread)")
    assert is_meta_line("- Take the pastry course at [Example](http://example.com)")
    assert not is_meta_line("- Heat the oven to 230 degrees")


def test_which_step_takes_its_key_from_the_section_and_its_wrong_options_from_the_siblings() -> None:
    p = plan("2. Knead", "which")
    assert p.answer == "Knead" and len(set(p.options)) == 4
    assert set(p.options) <= {"Mix", "Knead", "Proof", "Bake", "Cool"}
    assert p.fact in [e.text for e in entries(BY["2. Knead"])]
    assert set(p.allowed) == {"Mix", "Proof", "Bake", "Cool"}
    assert build_planned(p, validator().problems) is not None  # the plan's own wording passes every check


def test_a_sibling_that_states_the_line_too_is_never_a_wrong_option_for_it() -> None:
    notes = NOTES.replace("- Heat the oven to 230 degrees", "- Work the dough for ten minutes")
    chunks = chunk_text(notes, "baking.md")
    knead = next(c for c in chunks if c.section.endswith("2. Knead"))
    p = next(p for p in Planner(chunks).plans(knead) if p.shape == "which")
    assert p.fact == "Work the dough for ten minutes"
    assert "Bake" not in p.options and "Bake" not in p.allowed and len(p.allowed) == 3


def test_order_and_not_one_of_items_are_built_from_the_structure_alone() -> None:
    order = plan("3. Proof", "order")
    assert order.question == "In “Bread Steps”, which step comes right after “Knead”?" and order.answer == "Proof"
    assert "Knead" not in order.options and not order.phrased_by_model
    odd = plan("2. Knead", "not")
    listed = [e.text for e in entries(BY["2. Knead"])]
    assert sum(o in listed for o in odd.options) == 3 and odd.answer not in listed
    assert odd.question == "Which of these is NOT listed under “Knead” in “Bread Steps”?"
    item = build_planned(odd, validator().problems)
    assert item is not None and len(item.citations) == 2 and item.extra["shape"] == "not"


def test_labelled_entries_give_label_items_and_a_definition_gives_a_flashcard() -> None:
    p = plan("Knife Cuts", "label")
    assert p.answer in ("Julienne", "Brunoise", "Chiffonade", "Mince", "Sourdough") and len(set(p.options)) == 4
    assert all(o in p.allowed for i, o in enumerate(p.options) if i != p.answer_index)
    ((term, meaning),) = definitions(BY["Knife Cuts"])
    assert term == "Sourdough" and meaning.startswith("A bread leavened")
    card = definition_card(BY["Knife Cuts"], term, meaning)
    assert card.question == "What is Sourdough?" and validator().problems(card) == []


# --- giveaway and key checks ----------------------------------------------------------------------------

def test_telltale_words_and_key_points_in_the_question_are_giveaways() -> None:
    assert telltale("Data Understanding", ["Modeling", "Evaluation", "Deployment"], "Which step cleans data?") == {
        "data"}
    assert point_given_away("Higher accuracy", "Why is the accuracy higher?")
    assert not point_given_away("Computationally expensive at scale", "What is the drawback of supervised ones?")


def test_a_planned_item_is_rejected_for_a_giveaway_a_stranger_option_or_a_changed_key() -> None:
    p = plan("2. Knead", "which")
    knead = BY["2. Knead"]
    good = {"question": f"Which step: {p.fact.lower()}?", "correct": "Knead", "distractors": ["Mix", "Proof", "Bake"]}
    item = replace(build("mcq", good, knead, "t"), extra={"shape": "which", "fact": p.fact, "key": "Knead",
                                                          "siblings": "\n".join(p.allowed)})
    assert validator().problems(item) == []
    told = replace(item, question="Which step is about how you knead the dough for ten minutes?")
    assert any("gives away" in x for x in validator().problems(told))
    stranger = replace(build("mcq", {**good, "distractors": ["Mix", "Proof", "Freeze"]}, knead, "t"), extra=item.extra)
    assert any("'Freeze' is not one of the notes' own items" in x for x in validator().problems(stranger))
    rekeyed = replace(build("mcq", {**good, "correct": "Bake", "distractors": ["Mix", "Proof", "Knead"]}, knead,
                            "t"), extra=item.extra)
    assert any("is not 'Knead'" in x for x in validator().problems(rekeyed))
    off = replace(item, question="Which step matters most for a good loaf of bread?")
    assert any("not about the line" in x for x in validator().problems(off))


def test_a_not_item_whose_odd_option_the_passage_states_is_rejected() -> None:
    odd = build_planned(plan("2. Knead", "not"), validator().problems)
    assert odd is not None
    listed = next(o for i, o in enumerate(odd.options) if i != odd.answer_index)
    swapped = replace(odd, options=tuple(listed if i == odd.answer_index else o for i, o in enumerate(odd.options)))
    assert validator().problems(swapped)  # the "odd" option is now one the passage lists


def test_short_items_need_a_key_point_one_line_states_and_never_the_opposite() -> None:
    proof = BY["3. Proof"]
    ok = build("short", {"question": "How do you proof bread dough, and for how long?",
                         "key_points": ["Leave the dough covered in a warm place", "Wait until it doubles in size"]},
               proof, "t")
    assert validator().problems(ok) == []
    scattered = replace(ok, key_points=("Leave the dough covered in a warm place", "Place it in a cold oven"))
    assert any("not what the cited notes say" in x for x in validator().problems(scattered))
    opposite = replace(ok, key_points=("Leave the dough covered in a warm place", "Less time gives more flavour"))
    assert any("(contradicts)" in x for x in validator().problems(opposite))


def test_rejected_replies_are_counted_by_reason_and_section() -> None:
    p = plan("2. Knead", "which")
    giveaway = {"question": "Which step means you knead the dough?", "correct": "Knead",
                "distractors": ["Mix", "Proof", "Bake"]}
    good = {"question": f"Which step: {p.fact.lower()}?", "correct": "Knead", "distractors": ["Mix", "Proof", "Bake"]}
    model = ScriptedModel(json.dumps(giveaway), json.dumps(good))
    stats = GenerationStats()
    item = generate(BY["2. Knead"], "mcq", model, validator().problems, stats, plan=p)
    assert item is not None and stats.first_try == 0 and stats.rejected == {"giveaway": 1}
    assert stats.rejections[0][:2] == ("giveaway", BY["2. Knead"].section)
    # was: the model was shown the siblings to copy as wrong options; now it never sees an option, our code
    # inserts the notes' own (so it can neither change the key nor copy a name into the question)
    asked = model.received[0][-1]["content"]
    assert p.fact in asked and not any(f'"{name}"' in asked for name in ("Mix", "Knead", "Proof", "Bake"))
    assert item.options == p.options
    assert reason("the question gives away the correct answer") == "giveaway"


def test_the_model_writes_only_the_question_and_its_own_options_are_never_used() -> None:
    # was: invented wrong options were replaced by the siblings after the fact; now they are not asked for
    p = plan("2. Knead", "which")
    invented = {"question": f"Which step: {p.fact.lower()}?", "correct": "Freeze", "distractors": ["Fry", "Serve"]}
    model = ScriptedModel(json.dumps(invented))
    stats = GenerationStats()
    item = generate(BY["2. Knead"], "mcq", model, validator().problems, stats, plan=p)
    assert item is not None and (stats.first_try, stats.phrased, stats.fallback) == (1, 1, 0)
    assert item.options == p.options and item.answer == "Knead" and item.question == invented["question"]
    assert item.extra["phrasing"] == "model" and item.generator == "scripted:test"
    asked = model.received[0][-1]["content"]
    assert p.fact in asked and "Knead" not in asked and "“Bread Steps”" in asked


def test_a_giveaway_question_falls_back_to_the_plan_wording_and_keeps_the_slot() -> None:
    p = plan("2. Knead", "which")
    stats = GenerationStats()
    item = generate(BY["2. Knead"], "mcq", ScriptedModel('{"question": "Which step is to knead?"}'),
                    validator().problems, stats, plan=p)
    assert item is not None and item.question == p.question and item.generator == "notes"
    assert item.extra["phrasing"] == "template" and item.options == p.options
    assert (stats.tried, stats.valid, stats.first_try, stats.fallback, stats.replies) == (1, 1, 0, 1, 1)
    assert stats.rejected == {"giveaway": 1}


def test_the_first_hint_of_a_which_step_item_does_not_name_the_answer() -> None:
    from tutor.grading import hint

    item = build_planned(plan("3. Proof", "order"), validator().problems)
    assert item is not None and hint(item, 1) == "Look in your notes under “Bread Steps”."
