"""Quiz items on fakes: building, validation, repair, contrast drills, the question bank."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NOTES
from tests.fakes import GOOD_MCQ, GOOD_SHORT, HashEmbedder, ScriptedModel
from tutor import contrast
from tutor.bank import Bank
from tutor.chunking import chunk_text
from tutor.errors import TutorError
from tutor.llm import LLMError
from tutor.quiz import SCHEMAS, GenerationStats, QuizItem, build, generate
from tutor.records import Chunk, Citation
from tutor.validation import Validator

CHUNKS = chunk_text(NOTES.read_text(), NOTES.name)
BY_SECTION = {c.section.rpartition(" > ")[2]: c for c in CHUNKS}
DATA_PREP = BY_SECTION["2. Data Understanding & Preparation"]
SUPERVISED = BY_SECTION["Supervised Learning"]
ROLES = BY_SECTION["Data Scientist vs. Machine Learning Engineer (MLE)"]


def validator(*existing: QuizItem, embedder: Any = None) -> Validator:
    return Validator({c.content_hash: c for c in CHUNKS}, existing, embedder)


def mcq(**changes: Any) -> QuizItem:
    return replace(build("mcq", GOOD_MCQ, DATA_PREP, "test"), **changes)


# --- building items -------------------------------------------------------------------------------

def test_mcq_is_built_with_the_correct_option_at_a_stable_place_and_citations_from_the_chunk() -> None:
    item = build("mcq", GOOD_MCQ, DATA_PREP, "test")
    assert item.options[item.answer_index] == "Data understanding and preparation"
    assert sorted(item.options) == sorted([GOOD_MCQ["correct"], *GOOD_MCQ["distractors"]])
    assert item == build("mcq", GOOD_MCQ, DATA_PREP, "test")  # same reply, same item, same place
    assert item.citations == (Citation.of(1, DATA_PREP),) and item.section == DATA_PREP.section
    data = item.to_dict()
    assert set(data) >= {"kind", "question", "options", "answer_index", "citations"} and "key_points" not in data
    assert data["citations"][0]["text"] == DATA_PREP.text


def test_places_of_the_correct_option_vary_across_questions() -> None:
    places = {build("mcq", {**GOOD_MCQ, "question": f"Question number {i} about the steps?"}, DATA_PREP,
                    "t").answer_index for i in range(12)}
    assert len(places) > 1


def test_short_and_card_items_carry_key_points_and_model_strings_are_tidied() -> None:
    short = build("short", {"question": "Q about it?", "key_points": ["- **Higher** accuracy", "B) Scalable"]},
                  SUPERVISED, "t")
    assert short.key_points == ("Higher accuracy", "Scalable") and short.options == ()
    assert "key_points" in short.to_dict() and "answer_index" not in short.to_dict()
    card = build("card", {"front": "Advantage of supervised recommenders?", "back": "Higher accuracy"}, SUPERVISED, "t")
    assert card.question.startswith("Advantage") and card.key_points == ("Higher accuracy",)
    assert card.answer == "Higher accuracy"


def test_wrong_shapes_raise_value_error() -> None:
    with pytest.raises(ValueError):
        build("mcq", {**GOOD_MCQ, "distractors": ["one"]}, DATA_PREP, "t")
    with pytest.raises(ValueError):
        build("mcq", ["not", "an", "object"], DATA_PREP, "t")


# --- validators -------------------------------------------------------------------------------------

def test_a_good_item_passes() -> None:
    assert validator().problems(mcq()) == []
    assert validator().problems(build("short", GOOD_SHORT, SUPERVISED, "t")) == []


@pytest.mark.parametrize("index", [4, -1, None, 7])
def test_rejects_an_answer_index_out_of_range(index: int | None) -> None:
    problems = validator().problems(mcq(answer_index=index))
    assert problems and "answer index" in problems[0]


def test_rejects_duplicate_options_compared_normalised() -> None:
    item = mcq(options=("Modeling", "**modeling**!", "Data understanding and preparation", "Deployment"),
               answer_index=2)
    assert any("appears twice" in p for p in validator().problems(item))


def test_rejects_invented_citations() -> None:
    invented = Citation(1, DATA_PREP.source, DATA_PREP.section, DATA_PREP.lines, "- Deep learning beats everything")
    assert any("does not quote" in p for p in validator().problems(mcq(citations=(invented,))))
    shifted = replace(Citation.of(1, DATA_PREP), lines=(1, 2))
    assert any("does not quote" in p for p in validator().problems(mcq(citations=(shifted,))))
    stranger = Chunk("x.md:1", "x.md", "Elsewhere", 1, 1, "- Made up", "ffffffffffffffff")
    item = mcq(citations=(Citation.of(1, stranger),), chunk_hashes=(stranger.content_hash,))
    assert any("not in the notes" in p for p in validator().problems(item))
    assert validator().problems(mcq(citations=())) == ["the item cites nothing"]


def test_rejects_a_correct_option_the_cited_chunk_does_not_support() -> None:
    item = build("mcq", {**GOOD_MCQ, "correct": "Hyperparameter search on GPUs"}, DATA_PREP, "t")
    assert any("not what the cited notes say" in p for p in validator().problems(item))


def test_rejects_a_question_that_gives_the_answer_away() -> None:
    item = build("mcq", {**GOOD_MCQ, "question": "Is data understanding and preparation the slowest step?"},
                 DATA_PREP, "t")
    assert "the question gives away the correct answer" in validator().problems(item)
    short = build("short", {**GOOD_SHORT, "question": "Why does higher accuracy matter for supervised ones?"},
                  SUPERVISED, "t")
    assert any("gives away the key point 'Higher accuracy'" in p for p in validator().problems(short))


def test_rejects_a_wrong_option_that_the_notes_list_too() -> None:
    mle = BY_SECTION['MLE as "Engineer First"']
    ambiguous = build("mcq", {"question": "Which trait of an MLE is about scalability and reliability?",
                              "correct": "System thinking",
                              "distractors": ["Production mindset", "Statistical charm", "Luck"]}, mle, "t")
    assert any("'Production mindset' is also listed" in p for p in validator().problems(ambiguous))
    table = build("mcq", {"question": "What is the primary focus of a Data Scientist?",
                          "correct": "Analysis and experimentation",
                          "distractors": ["Building production systems", "Writing compilers", "Sales"]}, ROLES, "t")
    assert validator().problems(table) == []  # the other column of a table row is a fair distractor


def test_rejects_wrong_counts_and_unsupported_key_points() -> None:
    assert any("4 options" in p for p in validator().problems(mcq(options=mcq().options[:3], answer_index=0)))
    one = build("short", {**GOOD_SHORT, "key_points": ["Higher accuracy"]}, SUPERVISED, "t")
    assert any("2-3 key points" in p for p in validator().problems(one))
    made_up = build("short", {**GOOD_SHORT, "key_points": ["Higher accuracy", "Runs on quantum chips"]},
                    SUPERVISED, "t")
    assert any("'Runs on quantum chips' is not what" in p for p in validator().problems(made_up))


def test_rejects_duplicates_of_the_bank_by_wording_and_by_meaning() -> None:
    first = mcq()
    again = build("card", {"front": "Which step of CRISP-DM is the most time consuming",
                           "back": "Data understanding and preparation"}, DATA_PREP, "t")
    assert again.id != first.id
    assert build("mcq", {**GOOD_MCQ, "question": again.question}, DATA_PREP, "t").id == first.id  # same item
    assert validator(first).problems(again) == ["the same question is already in the bank"]
    assert validator(first).problems(first) == []  # an item is not a duplicate of itself
    reworded = build("mcq", {**GOOD_MCQ, "question": "The most time-consuming CRISP-DM step: which step?"},
                     DATA_PREP, "t")
    assert validator(first).problems(reworded) == []  # different words: no embedder, no meaning check
    assert any("nearly the same" in p for p in validator(first, embedder=HashEmbedder()).problems(reworded))


# --- generation with repair -------------------------------------------------------------------------

class SchemaModel(ScriptedModel):
    """Records the schema and temperature each request was sent with."""

    def __init__(self, *replies: str) -> None:
        super().__init__(*replies)
        self.schemas: list[Any] = []
        self.temperatures: list[float] = []

    def stream(self, messages, *, max_tokens=320, temperature=0.1, schema=None, markers=0):  # type: ignore[no-untyped-def]
        self.schemas.append(schema)
        self.temperatures.append(temperature)
        return super().stream(messages, max_tokens=max_tokens, temperature=temperature, schema=schema)


def test_generate_sends_the_schema_and_returns_a_valid_item_first_try() -> None:
    model = SchemaModel(json.dumps(GOOD_MCQ))
    stats = GenerationStats()
    item = generate(DATA_PREP, "mcq", model, validator().problems, stats)
    assert item is not None and item.kind == "mcq" and item.generator == "scripted:test"
    assert model.schemas == [SCHEMAS["mcq"]] and model.temperatures == [0.0]
    assert "Most time-consuming step" in model.received[0][1]["content"]  # the chunk is in the prompt
    assert (stats.tried, stats.valid, stats.first_try, stats.replies) == (1, 1, 1, 1)


def test_malformed_json_is_repaired_by_asking_again_with_the_problem_named() -> None:
    model = SchemaModel('{"question": "Which step', json.dumps(GOOD_MCQ))
    stats = GenerationStats()
    item = generate(DATA_PREP, "mcq", model, validator().problems, stats)
    assert item is not None and stats.first_try == 0 and stats.replies == 2
    repair = model.received[1]
    assert repair[-2] == {"role": "assistant", "content": '{"question": "Which step'}
    assert "not the JSON asked for" in repair[-1]["content"]


def test_an_item_still_broken_after_the_retries_is_never_returned() -> None:
    broken = json.dumps({**GOOD_MCQ, "distractors": ["Modeling", "Modeling", "Deployment"]})
    model = SchemaModel(broken, broken, broken, json.dumps(GOOD_MCQ))
    stats = GenerationStats()
    assert generate(DATA_PREP, "mcq", model, validator().problems, stats) is None
    assert stats.replies == 3 and stats.valid == 0 and len(model.replies) == 1  # bounded: the 4th never asked
    assert "appears twice" in model.received[1][-1]["content"]  # the repair names the problem
    assert len(model.received[2]) == 2 and model.temperatures == [0.0, 0.0, 0.7]  # then a fresh, sampled try


def test_a_model_failure_propagates_as_llm_error() -> None:
    model = SchemaModel(json.dumps(GOOD_MCQ))
    model.fail_after = 1
    with pytest.raises(LLMError, match="connection dropped"):
        generate(DATA_PREP, "mcq", model, validator().problems)


# --- contrast drills ----------------------------------------------------------------------------------

def test_the_roles_table_becomes_which_role_owns_drills() -> None:
    drills = contrast.table_drills(ROLES)
    assert len(drills) == 10  # 5 rows x 2 roles
    owns = {d.question: d.answer for d in drills}
    assert owns["Which role owns “Deployment, maintenance, scaling”?"] == "Machine Learning Engineer"
    assert owns["Which role has primary focus “Analysis and experimentation”?"] == "Data Scientist"
    assert all(d.options == ("Data Scientist", "Machine Learning Engineer") for d in drills)
    assert all(validator().problems(d) == [] for d in drills)
    assert contrast.table_drills(DATA_PREP) == []


def test_supervised_and_collaborative_filtering_are_a_pair_with_drills_citing_both() -> None:
    (pair,) = contrast.pairs(CHUNKS)  # "Professional Roles" has two children but no parallel labels
    assert [c.section.rpartition(" > ")[2] for c in pair] == [
        "Supervised Learning", "Unsupervised Learning (Collaborative Filtering)"]
    drills = {d.question: d for d in contrast.pair_drills(*pair)}
    scalable = drills["Which approach has advantage “Scalable”?"]
    assert scalable.answer == "Unsupervised Learning (Collaborative Filtering)"
    assert [c.text for c in scalable.citations] == [pair[1].text, pair[0].text]
    assert scalable.extra["other"] == "Supervised Learning: Higher accuracy"
    assert all(validator().problems(d) == [] for d in drills.values())


# --- the question bank --------------------------------------------------------------------------------

def test_bank_round_trip_rebuilds_citations_from_the_chunks(tmp_path: Path) -> None:
    bank = Bank(tmp_path / "bank.json")
    item = mcq()
    bank.add(item)
    bank.add(item)  # idempotent
    reopened = Bank(tmp_path / "bank.json")
    assert len(reopened) == 1
    (served,) = reopened.items(CHUNKS)
    assert served == item and served.citations == item.citations
    assert "text" not in json.dumps(reopened.records)  # citation text is never stored, only rebuilt
    assert reopened.has(DATA_PREP, "mcq", "other-model") and not reopened.has(DATA_PREP, "short", "test")
    reopened.mark_failed(DATA_PREP, "short", "test")
    assert Bank(tmp_path / "bank.json").has(DATA_PREP, "short", "test")


def test_editing_a_note_drops_only_the_items_of_changed_chunks(tmp_path: Path) -> None:
    bank = Bank(tmp_path / "bank.json")
    bank.add(mcq())
    bank.add(build("short", GOOD_SHORT, SUPERVISED, "t"))
    edited = NOTES.read_text().replace("Most time-consuming step", "Slowest step")
    first, rest = edited.split("\n", 1)
    edited = f"{first}\nA new line of introduction.\nAnd another.\n{rest}"  # the lines below shift by 2
    chunks = chunk_text(edited, NOTES.name)
    (kept,) = bank.items(chunks)
    assert kept.kind == "short"
    assert kept.citations[0].lines == (SUPERVISED.start + 2, SUPERVISED.end + 2)


def test_a_corrupt_bank_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bank.json").write_text("{not json")
    with pytest.raises(TutorError, match="cannot be read") as info:
        Bank(tmp_path / "bank.json")
    assert "delete it" in info.value.fix
