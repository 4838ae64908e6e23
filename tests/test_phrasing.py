"""The model phrases only the question: flashcards on a line of the notes, and its replies checked by pydantic."""

from __future__ import annotations

import json

import pytest

from tests.fakes import ScriptedModel
from tests.test_siblings import BY, validator
from tutor.cards import card_fact, cloze_front, leaf_of
from tutor.phrasing import card_messages
from tutor.quiz import GenerationStats, generate
from tutor.replies import SCHEMAS, parse, validate


def test_a_card_takes_its_back_from_the_notes_and_the_model_writes_only_the_front() -> None:
    chunk = BY["3. Proof"]
    fact = card_fact(chunk)
    assert fact == "Leave the dough covered in a warm place"
    model = ScriptedModel(json.dumps({"question": "In the Proof step, where does the dough rest?",
                                      "back": "In the oven"}))  # a back the model adds is never used
    stats = GenerationStats()
    item = generate(chunk, "card", model, validator().problems, stats)
    assert item is not None and item.key_points == (fact,) and item.question.startswith("In the Proof step")
    assert item.extra["phrasing"] == "model" and (stats.first_try, stats.phrased, stats.replies) == (1, 1, 1)
    asked = model.received[0][-1]["content"]
    assert fact in asked and "“Proof”" in asked and '"dough"' in asked
    # under half of the line's own words may be kept (those no other line has), the rest are named as banned
    assert 'asks about "Leave", "dough"' in asked and 'Do not use the words "covered", "warm", "place"' in asked


def test_a_card_front_that_gives_the_line_away_becomes_a_cloze_of_it() -> None:
    chunk = BY["3. Proof"]
    stats = GenerationStats()
    item = generate(chunk, "card", ScriptedModel('{"question": "Do you leave the dough covered in a warm place?"}'),
                    validator().problems, stats)
    assert item is not None and item.generator == "notes" and item.extra["phrasing"] == "template"
    assert item.question == "“Proof”: complete the line from your notes: “Leave the dough …”"
    assert (stats.first_try, stats.fallback, stats.valid, stats.rejected) == (0, 1, 1, {"giveaway": 1})
    assert validator().problems(item) == []


def test_a_broken_card_reply_costs_no_slot_and_no_repair_round() -> None:
    stats = GenerationStats()
    model = ScriptedModel("{not json", '{"question": "never asked"}')
    item = generate(BY["2. Knead"], "card", model, validator().problems, stats)
    assert item is not None and item.extra["phrasing"] == "template" and len(model.replies) == 1
    assert stats.rejected == {"json": 1}


def test_a_chunk_with_no_line_to_ask_for_gets_a_card_written_whole() -> None:
    chunk = BY["Further reading"]  # meta only: no statement the card could ask for
    assert card_fact(chunk) is None


def test_the_card_prompt_names_the_heading_and_the_cloze_shows_under_half_the_line() -> None:
    chunk = BY["5. Cool"]
    assert leaf_of(chunk) == "Cool"
    assert "“Cool”" in card_messages(chunk, "Rest the loaf on a wire rack")[-1]["content"]
    front = cloze_front("Cool", "Slice only once the loaf is cold")
    assert front.endswith("“Slice only …”") and "cold" not in front


@pytest.mark.parametrize(("kind", "reply", "problem"), [
    ("mcq", {"question": "Q?", "correct": "A", "distractors": ["B", "C"]}, "distractors: needs 3 items, not 2"),
    ("mcq", {"question": 3, "correct": "A", "distractors": ["B", "C", "D"]}, "question: not text"),
    ("short", {"question": "Q?"}, "key_points: missing"),
    ("card", {"front": "   ", "back": "A"}, "front: is blank"),
    ("stem", [1, 2], "the reply is not a JSON object"),
])
def test_a_reply_of_the_wrong_shape_is_one_short_problem(kind: str, reply: object, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        validate(kind, reply)
    assert str(caught.value) == problem


def test_every_reply_kind_has_a_schema_and_extra_keys_are_ignored() -> None:
    assert set(SCHEMAS) == {"mcq", "short", "card", "stem"}
    assert parse("stem", '{"question": "Which step?", "options": ["x"]}').question == "Which step?"  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        parse("stem", '{"question": "Which')


def test_a_short_answer_is_held_to_the_note_lines_by_the_schema() -> None:
    from tests.test_quiz import SchemaModel

    chunk = BY["2. Knead"]
    lines = ["Work the dough for ten minutes", "Gluten develops and the crumb turns elastic",
             "Stop when a thin window of dough holds light"]
    model = SchemaModel(json.dumps({"key_points": lines[1:], "question": "What happens while you knead, and when "
                                                                        "do you stop?"}))
    stats = GenerationStats()
    item = generate(chunk, "short", model, validator().problems, stats)
    assert item is not None and item.key_points == tuple(lines[1:]) and stats.first_try == 1
    (schema,) = model.schemas
    assert schema["properties"]["key_points"]["items"]["enum"] == lines  # the grammar allows only these
    assert all(f"- {line}" in model.received[0][-1]["content"] for line in lines)


def test_a_which_step_stem_is_not_shown_the_bread_steps_example() -> None:
    from tutor.choices import Plan
    from tutor.phrasing import stem_messages

    def example(noun: str) -> str:
        plan = Plan("which", "Q", ("A", "B", "C", "D"), 0, (), noun=noun, fact="Deploy the model")
        return stem_messages(plan)[2]["content"]

    assert "frog" in example("step") and "bread" in example("pattern")
    assert "Deploy the model" in stem_messages(Plan("which", "Q", ("A", "B", "C", "D"), 0, (), noun="step",
                                                    fact="Deploy the model"))[-1]["content"]
