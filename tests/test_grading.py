"""Grading written answers on examples, the hint ladder, and the rating a hint costs."""

from __future__ import annotations

import pytest

from tests.fakes import HashEmbedder, ScriptedModel
from tests.test_quiz import CHUNKS, DATA_PREP, GOOD_MCQ, SUPERVISED
from tutor import contrast
from tutor.grading import Rating, grade, hint, rating_for
from tutor.quiz import build

BUSINESS = next(c for c in CHUNKS if c.section.endswith("1. Business Understanding"))
MCQ = build("mcq", GOOD_MCQ, DATA_PREP, "t")
SHORT = build("short", {"question": "What are the advantage and the disadvantage of supervised recommenders?",
                        "key_points": ["Higher accuracy", "Computationally expensive at scale"]}, SUPERVISED, "t")
BUSINESS_SHORT = build("short", {"question": "How should the business understanding phase start?",
                                 "key_points": ["Define the problem clearly from domain and technical perspectives",
                                                "Start with written project brief"]}, BUSINESS, "t")


@pytest.mark.parametrize("answer", ["{letter}", "{letter_lower})", "({letter_lower})", "{number}",
                                    "data understanding and preparation", "  Data Understanding and Preparation. "])
def test_mcq_accepts_letter_number_or_the_options_words(answer: str) -> None:
    i = MCQ.answer_index
    text = answer.format(letter="ABCD"[i], letter_lower="abcd"[i], number=i + 1)
    g = grade(MCQ, text)
    assert g.score == 1.0 and g.correct and g.chosen == i and g.hit == ("Data understanding and preparation",)


def test_mcq_wrong_choice_scores_zero_and_points_to_the_teaching_passage() -> None:
    wrong = "ABCD"[(MCQ.answer_index + 1) % 4]
    g = grade(MCQ, wrong)
    assert g.score == 0.0 and not g.correct and g.rating == Rating.Again
    (missed,) = g.missed
    assert missed.point == MCQ.answer and missed.teaching is not None and missed.teaching.text == DATA_PREP.text


@pytest.mark.parametrize(("answer", "note"), [("", "no answer given"), ("   ", "no answer given"),
                                              ("Z", "not one of the options"), ("?!", "not one of the options")])
def test_mcq_empty_or_unknown_answers_are_graded_not_crashed_on(answer: str, note: str) -> None:
    g = grade(MCQ, answer)
    assert g.score == 0.0 and g.chosen is None and g.note == note


def test_short_answer_with_every_point_scores_one() -> None:
    g = grade(SHORT, "They are more accurate: higher accuracy. But they are computationally expensive at scale.",
              embedder=HashEmbedder())
    assert g.score == 1.0 and g.correct and g.missed == () and g.rating == Rating.Good
    assert {p.how for p in g.points} == {"words"}


def test_short_answer_half_right_names_the_missed_point_and_its_passage() -> None:
    g = grade(SHORT, "Supervised recommenders give higher accuracy.", embedder=HashEmbedder())
    assert g.score == 0.5 and not g.correct and g.rating == Rating.Hard
    assert g.hit == ("Higher accuracy",)
    (missed,) = g.missed
    assert missed.point == "Computationally expensive at scale"
    assert missed.teaching is not None and missed.teaching.section == SUPERVISED.section
    assert missed.teaching.lines == SUPERVISED.lines


def test_a_paraphrase_is_hit_by_meaning() -> None:
    class Same:  # an embedder for which two texts mean the same
        def embed(self, texts):  # type: ignore[no-untyped-def]
            return [[1.0, 0.0] for _ in texts]

    g = grade(SHORT, "Precise predictions; costly with many users", embedder=Same())
    assert g.score == 1.0 and {p.how for p in g.points} == {"meaning"}
    opposite = grade(SHORT, "Lower accuracy; costly with many users", embedder=Same())
    assert opposite.hit == ("Computationally expensive at scale",)  # close in meaning, but the opposite


@pytest.mark.parametrize("answer", ["", "   \n", "I like pizza and the weather is nice today.", "!!!"])
def test_empty_or_off_topic_short_answers_score_zero(answer: str) -> None:
    g = grade(SHORT, answer, embedder=HashEmbedder())
    assert g.score == 0.0 and len(g.missed) == 2 and all(p.teaching for p in g.missed)


def test_a_near_miss_is_judged_by_the_model_and_a_clear_miss_is_not() -> None:
    judge = ScriptedModel('{"covered": true}')
    answer = "Clearly state the problem in its domain. Then write a brief."
    g = grade(BUSINESS_SHORT, answer, judge=judge)
    first, second = g.points
    assert first.hit and first.how == "judge"  # half its keywords: a near miss the model judged covered
    assert "Key point: Define the problem clearly" in judge.received[0][1]["content"]
    assert not second.hit and len(judge.received) == 1  # 'brief' alone is too far to ask about
    assert g.score == 0.5


def test_a_judge_that_fails_leaves_the_point_missed_with_a_note() -> None:
    judge = ScriptedModel('{"covered": true}')
    judge.fail_after = 0
    g = grade(BUSINESS_SHORT, "Clearly state the problem in its domain.", judge=judge)
    assert g.score == 0.0 and "could not judge" in g.note


def test_flashcards_grade_against_the_back() -> None:
    card = build("card", {"front": "Advantage of supervised recommenders?", "back": "Higher accuracy"},
                 SUPERVISED, "t")
    assert grade(card, "higher accuracy", embedder=HashEmbedder()).score == 1.0
    assert grade(card, "scalability", embedder=HashEmbedder()).score == 0.0


def test_hint_ladder_gets_stronger_then_reveals() -> None:
    first, second, reveal = (hint(MCQ, level) for level in (1, 2, 3))
    assert "2. Data Understanding & Preparation" in first and MCQ.answer not in first
    assert second.startswith("It is not") and MCQ.answer not in second
    assert second.count("“") == 2  # two wrong options ruled out
    assert reveal.startswith(f"Answer: {MCQ.answer}") and "lines 17-20" in reveal
    assert "2 points" in hint(SHORT, 1)
    assert hint(SHORT, 2).startswith("It starts: ")
    drill = next(d for d in contrast.drills(CHUNKS) if d.question == "Which approach has advantage “Scalable”?")
    assert hint(drill, 2) == "For comparison — Supervised Learning: Higher accuracy."


def test_hints_lower_the_rating_recorded() -> None:
    ratings = [grade(MCQ, "ABCD"[MCQ.answer_index], hints_used=h).rating for h in range(4)]
    assert ratings == [Rating.Good, Rating.Hard, Rating.Again, Rating.Again]
    assert rating_for(0.5, 1) == Rating.Again and rating_for(0.0, 0) == Rating.Again


def test_grade_to_dict_is_json_ready() -> None:
    data = grade(SHORT, "higher accuracy", embedder=HashEmbedder()).to_dict()
    assert data["score"] == 0.5 and data["rating"] == "hard" and data["hit"] == ["Higher accuracy"]
    assert data["missed"][0]["teaching"]["text"] == SUPERVISED.text


def test_the_judge_schema_is_its_reply_model_and_asks_for_covered_only() -> None:
    from tutor.grading import JUDGE_SCHEMA

    assert JUDGE_SCHEMA["type"] == "object" and JUDGE_SCHEMA["required"] == ["covered"]
    assert JUDGE_SCHEMA["properties"]["covered"]["type"] == "boolean"
