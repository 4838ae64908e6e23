"""The learner database of reviews (real SQLite, real fsrs) and quiz sessions on the fakes."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsrs
import pytest
from fsrs import State

from tests.fakes import ScriptedModel
from tests.test_grading import MCQ, SHORT
from tests.test_quiz import CHUNKS, GOOD_MCQ
from tutor.bank import Bank
from tutor.errors import TutorError
from tutor.grading import Rating, grade
from tutor.llm import LLMError
from tutor.pipeline import Tutor
from tutor.reviews import Reviews
from tutor.session import QuizSession

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Reviews(tmp_path / "progress.sqlite3", fuzz=False) as reviews:
        yield reviews


def right(item):  # type: ignore[no-untyped-def]
    return "ABCD"[item.answer_index]


def test_an_attempt_round_trips_and_survives_a_restart(db: Reviews) -> None:
    g = grade(MCQ, right(MCQ), hints_used=1)
    db.record(MCQ, g, right(MCQ), now=NOW)
    db.close()
    with Reviews(db.path) as again:
        (attempt,) = again.attempts()
        assert attempt["item_id"] == MCQ.id and attempt["answer"] == right(MCQ) and attempt["score"] == 1.0
        assert attempt["rating"] == Rating.Hard and attempt["hints"] == 1 and attempt["hit"] == [MCQ.answer]
        assert attempt["section"] == MCQ.section and attempt["at"] == NOW.isoformat()
        state = again.states()[MCQ.id]
        assert state.reviews == 1 and state.last_score == 1.0 and state.card.last_review == NOW


def test_the_database_is_in_wal_mode_and_each_attempt_is_committed_at_once(db: Reviews) -> None:
    db.record(MCQ, grade(MCQ, "A"), "A", now=NOW)
    other = sqlite3.connect(db.path)  # another process's view: sees only committed data
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 1
        assert other.execute("SELECT COUNT(*) FROM cards").fetchone()[0] == 1
    finally:
        other.close()


def test_a_failed_write_stores_nothing_half_way(db: Reviews) -> None:
    db.conn.execute("CREATE TRIGGER full BEFORE INSERT ON cards BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(TutorError, match="could not save the attempt"):
        db.record(MCQ, grade(MCQ, "A"), "A", now=NOW)
    assert db.conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 0


def test_fsrs_schedules_a_known_item_later_than_a_forgotten_one(db: Reviews) -> None:
    good = db.record(MCQ, grade(MCQ, right(MCQ)), right(MCQ), now=NOW)
    again = db.record(SHORT, grade(SHORT, ""), "", now=NOW)
    assert again.card.due < good.card.due
    assert again.card.due - NOW <= timedelta(minutes=1) and good.card.due - NOW == timedelta(minutes=10)
    later = good.card.due
    graduated = db.record(MCQ, grade(MCQ, right(MCQ)), right(MCQ), now=later)
    assert graduated.card.state == State.Review and graduated.card.due - later >= timedelta(days=1)
    assert graduated.reviews == 2


def test_report_gives_mastery_per_section_due_items_streak_and_gaps(db: Reviews) -> None:
    db.record(MCQ, grade(MCQ, right(MCQ)), right(MCQ), now=NOW - timedelta(days=1))
    db.record(SHORT, grade(SHORT, "higher accuracy"), "higher accuracy", now=NOW)
    report = db.report(CHUNKS, now=NOW)
    rows = {s.section: s for s in report.sections}
    lifecycle, recsys = rows["Machine Learning Development Lifecycle"], rows["Recommendation Systems Case Study"]
    assert (lifecycle.items, lifecycle.attempts, lifecycle.practised, lifecycle.subsections) == (1, 1, 1, 7)
    assert lifecycle.due == 1  # learning step of 10 minutes, a day ago
    assert recsys.mastery == pytest.approx(0.5)  # half the points, just now: retrievability 1
    assert 0 < lifecycle.mastery < 1  # a day later, recall is less sure
    assert rows["Risk Management in ML Systems"].mastery is None
    assert report.streak == 2 and report.attempts == 2 and report.items == 2 and report.due == 1
    assert MCQ.section not in report.gaps and "Risk Management in ML Systems > Ethical Risks" in report.gaps
    assert len(report.gaps) == len({c.section for c in CHUNKS}) - 2
    assert json.loads(json.dumps(report.to_dict()))["streak"] == 2


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "progress.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(TutorError, match="cannot be read") as info:
        Reviews(path)
    assert "move the file away" in info.value.fix


# --- sessions on the fakes ----------------------------------------------------------------------------

@pytest.fixture
def session(tutor: Tutor, db: Reviews, tmp_path: Path) -> QuizSession:
    return QuizSession(tutor, db, Bank(tmp_path / "bank.json"), log=lambda m: None)


def test_contrast_drills_need_no_model(session: QuizSession, model: ScriptedModel) -> None:
    items = list(session.items(kind="contrast", n=4, now=NOW))
    assert len(items) == 4 and {i.kind for i in items} == {"contrast"} and model.received == []
    assert len({i.section.split(" > ")[0] for i in items[:2]}) == 2  # interleaved across sections


def test_new_items_are_written_validated_banked_and_reused(session: QuizSession, model: ScriptedModel,
                                                           db: Reviews, tmp_path: Path) -> None:
    model.enqueue(json.dumps(GOOD_MCQ))
    (item,) = session.items(kind="mcq", section="data understanding", n=1, now=NOW)
    assert item.question == GOOD_MCQ["question"] and item.citations[0].section.endswith("Preparation")
    assert session.stats.first_try == 1
    again = QuizSession(session.tutor, db, Bank(tmp_path / "bank.json"))
    assert list(again.items(kind="mcq", section="data understanding", n=1, now=NOW)) == [item]
    assert len(model.received) == 1  # served from the bank: the model was not asked again


def test_a_key_the_model_changes_is_never_used(session: QuizSession, model: ScriptedModel) -> None:
    # was: an item whose key the model changed was skipped after three replies; now the model only phrases
    # the question, the notes supply the key and the options, so the slot is served after one reply
    model.enqueue(json.dumps({**GOOD_MCQ, "correct": "Quantum annealing"}))
    (item,) = session.items(kind="mcq", section="data understanding", n=1, now=NOW)
    assert item.answer == "Data Understanding & Preparation" and "Quantum annealing" not in item.options
    assert len(model.received) == 1 and session.stats.first_try == 1


def test_a_question_that_fails_a_check_gives_way_to_the_notes_wording(session: QuizSession,
                                                                      model: ScriptedModel) -> None:
    model.enqueue(json.dumps({"question": "Which step is Data Understanding & Preparation?"}))
    logged: list[str] = []
    session.log = logged.append
    (item,) = session.items(kind="mcq", section="data understanding", n=1, now=NOW)
    assert item.generator == "notes" and item.extra["phrasing"] == "template" and "do your notes say" in item.question
    assert any("did not pass: the question gives away" in m and "kept the notes' own wording" in m for m in logged)
    assert (session.stats.first_try, session.stats.fallback, session.stats.rejected) == (0, 1, {"giveaway": 1})
    assert list(session.items(kind="mcq", section="data understanding", n=1, now=NOW)) == [item]  # banked
    assert len(model.received) == 1


def test_a_model_fault_stores_nothing_half_way(session: QuizSession, model: ScriptedModel) -> None:
    model.enqueue(json.dumps(GOOD_MCQ))
    model.fail_after = 2
    with pytest.raises(LLMError):
        list(session.items(kind="mcq", section="data understanding", n=1, now=NOW))
    assert len(session.bank) == 0 and session.bank.failed == {}


def test_due_items_come_first_and_due_mode_serves_only_practised_ones(session: QuizSession) -> None:
    drills = list(session.items(kind="contrast", n=30, now=NOW))
    forgotten, known = drills[5], drills[6]
    session.answer(forgotten, "", now=NOW - timedelta(hours=1))
    session.answer(known, right(known), now=NOW - timedelta(hours=1))
    first = next(session.items(kind="contrast", n=5, now=NOW))
    assert first == forgotten  # weakest due item first
    due = list(session.items(kind="contrast", n=5, due=True, now=NOW))
    assert due[:2] == [forgotten, known] and len(due) == 2


def test_answer_is_committed_before_it_returns(session: QuizSession, db: Reviews) -> None:
    drill = next(session.items(kind="contrast", n=1, now=NOW))
    result, state = session.answer(drill, right(drill), hints_used=2, now=NOW)
    assert result.correct and result.rating == Rating.Again and state.reviews == 1
    other = sqlite3.connect(db.path)
    try:
        assert other.execute("SELECT score, hints FROM attempts").fetchall() == [(1.0, 2)]
    finally:
        other.close()


@pytest.mark.parametrize(("kwargs", "message"), [({"section": "quantum"}, "no section of your notes matches"),
                                                  ({"kind": "essay"}, "unknown kind")])
def test_bad_selections_are_clear_errors(session: QuizSession, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(TutorError, match=message) as info:
        list(session.items(**kwargs))
    assert info.value.exit_code == 2


def test_grading_rates_in_the_tutors_own_terms_and_only_the_database_speaks_fsrs() -> None:
    from tutor.reviews import FSRS_RATING

    assert type(grade(MCQ, right(MCQ)).rating) is Rating and not isinstance(grade(MCQ, "").rating, fsrs.Rating)
    assert {ours.name: theirs.name for ours, theirs in FSRS_RATING.items()} == {r.name: r.name for r in fsrs.Rating}
    assert all(int(ours) == int(theirs) for ours, theirs in FSRS_RATING.items())  # the stored numbers stay the same
