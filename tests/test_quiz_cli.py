"""``tutor quiz`` and ``tutor progress`` in process, on the fakes behind the real seams."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_quiz import GOOD_MCQ, GOOD_SHORT


def test_quiz_json_prints_one_item_per_line_without_asking(cli) -> None:  # type: ignore[no-untyped-def]
    cli.model.enqueue(json.dumps(GOOD_MCQ))
    code, out, err = cli("quiz", "--json", "-n", "1", "--kind", "mcq", "--section", "data understanding")
    assert code == 0, err
    (line,) = out.splitlines()
    item = json.loads(line)
    assert item["kind"] == "mcq" and item["question"] == GOOD_MCQ["question"] and len(item["options"]) == 4
    # the notes' own words for the key: the model only phrases the question
    assert item["options"][item["answer_index"]] == "Data Understanding & Preparation"
    (citation,) = item["citations"]
    assert set(citation) == {"n", "source", "section", "lines", "text"} and "Most time-consuming" in citation["text"]
    assert "1 valid on the first try" in err


def test_quiz_json_for_short_answers_has_key_points(cli) -> None:  # type: ignore[no-untyped-def]
    cli.model.enqueue(json.dumps(GOOD_SHORT))
    code, out, _ = cli("quiz", "--json", "-n", "1", "--kind", "short", "--section", "> supervised learning")
    item = json.loads(out)
    assert code == 0 and item["key_points"] == GOOD_SHORT["key_points"] and "answer_index" not in item


def test_a_session_grades_hints_and_cites_then_progress_reflects_it(cli) -> None:  # type: ignore[no-untyped-def]
    cli.model.enqueue(json.dumps(GOOD_SHORT))
    typed = "/hint\n/hint\nhigher accuracy\n"
    code, out, err = cli("quiz", "-n", "1", "--kind", "short", "--section", "> supervised learning", typed=typed)
    assert code == 0, err
    assert "Q1 · short answer · Supervised Learning" in out
    assert "Look in your notes under “Supervised Learning”. A full answer has 2 points." in out
    assert "It starts: Higher …; Computationally …" in out
    assert "Score 50%: 1 of 2 key points." in out and "✓ Higher accuracy" in out
    assert "✗ Computationally expensive at scale\n      see ml-process-summary.md › " in out
    assert "Recorded as again · 2 hints used" in out and "1 answered · mean score 50%" in out
    code, out, _ = cli("progress")
    assert code == 0
    assert "Recommendation Systems Case Study" in out and "Never practised" in out and "streak: 1 day" in out
    code, out, _ = cli("progress", "--json")
    data = json.loads(out)
    assert data["attempts"] == 1 and data["streak"] == 1 and len(data["gaps"]) == 30


def test_multiple_choice_feedback_names_the_right_option(cli) -> None:  # type: ignore[no-untyped-def]
    cli.model.enqueue(json.dumps(GOOD_MCQ))
    code, out, _ = cli("quiz", "-n", "1", "--kind", "mcq", "--section", "data understanding", typed="Z\n")
    assert code == 0 and "✗ Not quite: the answer is " in out and "(not one of the options)" in out
    assert "Source: ml-process-summary.md › Machine Learning Development Lifecycle" in out


def test_blank_twice_is_graded_and_skip_and_quit_record_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("quiz", "-n", "3", "--kind", "contrast", typed="\n\n/skip\n/quit\n")
    assert code == 0 and "Enter again to submit it blank" in out and "(no answer given)" in out
    assert "(skipped; the answer: " in out and "1 answered · mean score 0%" in out
    _, out, _ = cli("progress", "--json")
    assert json.loads(out)["attempts"] == 1


def test_ctrl_c_mid_quiz_keeps_the_completed_attempts(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    answers = iter(["A", "B"])

    def typing(prompt: str) -> str:
        try:
            return next(answers)
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr("builtins.input", typing)
    code, out, _ = cli("quiz", "-n", "5", "--kind", "contrast")
    assert code == 130 and "(stopped)" in out and "2 answered" in out
    _, out, _ = cli("progress", "--json")
    assert json.loads(out)["attempts"] == 2


def test_due_with_nothing_practised_says_so(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("quiz", "--due")
    assert code == 0 and "Nothing is due for review" in out


def test_a_malformed_model_reply_is_skipped_and_the_quiz_goes_on(cli) -> None:  # type: ignore[no-untyped-def]
    # a short-answer item is written whole by the model: two broken replies (a try and a repair) and it is skipped
    # (was: on "data understanding"; a list of 4 lines now gets "name its 4 points" with no model, so a longer one)
    cli.model.enqueue("{not json", "[1, 2]", '{"question": 3}', json.dumps(GOOD_SHORT))
    code, out, err = cli("quiz", "--json", "-n", "1", "--kind", "short", "--section", "> supervised learning")
    assert code == 1 and out == ""
    assert "warning: skipped a short answer question" in err and "not the JSON asked for" in err
    assert len(cli.model.replies) == 2  # was: a third, blind try at a higher temperature
    assert err.rstrip().endswith("(fix: try another --section or --kind, or check the model with: tutor doctor)")


def test_a_malformed_reply_to_a_planned_item_keeps_the_notes_wording(cli) -> None:  # type: ignore[no-untyped-def]
    # was: skipped like any broken reply; the options come from the notes, so only the phrasing is lost
    cli.model.enqueue("{not json", json.dumps(GOOD_MCQ))
    code, out, err = cli("quiz", "--json", "-n", "1", "--kind", "mcq", "--section", "data understanding")
    assert code == 0, err
    item = json.loads(out)
    assert item["options"][item["answer_index"]] == "Data Understanding & Preparation"
    assert "not the JSON asked for" in err and "kept the notes' own wording" in err
    assert len(cli.model.replies) == 1  # one reply asked for, no repair round


def test_an_unreachable_model_is_one_clear_line(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TUTOR_BACKEND", "ollama")
    code, out, err = cli("quiz", "--json", "-n", "1", "--kind", "mcq")
    assert code == 1 and out == "" and "cannot reach Ollama" in err and "Traceback" not in err


@pytest.mark.parametrize(("args", "message"), [
    (["quiz", "-n", "0"], "-n must be between 1 and 100"),
    (["quiz", "--section", "quantum computing"], "no section of your notes matches"),
])
def test_bad_quiz_arguments_are_one_line_errors(cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli(*args)
    last = err.splitlines()[-1]
    assert code == 2 and last.startswith("error: ") and message in last and out == ""
    assert "Answer in your own words" not in err  # failed before the quiz began


def test_progress_db_flag_and_env_choose_the_file(cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "elsewhere" / "p.sqlite3"
    cli("quiz", "-n", "1", "--kind", "contrast", "--progress-db", str(db), typed="A\n")
    assert db.exists()
    monkeypatch.setenv("TUTOR_PROGRESS_DB", str(db))
    _, out, _ = cli("progress", "--json")
    assert json.loads(out)["attempts"] == 1


def test_a_mixed_session_gives_contrast_drills_at_most_a_third_while_the_model_writes_the_rest(cli) -> None:  # type: ignore[no-untyped-def]
    # the wrong options are the list's other labels: the notes supply them, the model only picks and asks
    supervised_mcq = {"question": "In a supervised recommender, what uses binary views or numeric ratings?",
                      "correct": "Classification/Regression", "distractors": ["Labels", "Features", "Advantage"]}
    cli.model.enqueue(json.dumps(supervised_mcq), json.dumps(GOOD_SHORT))
    code, out, err = cli("quiz", "--json", "-n", "3", "--section", "> supervised learning")
    assert code == 0, err
    kinds = [json.loads(line)["kind"] for line in out.splitlines()]
    # was {"mcq", "short"}: the list's labels are fields every approach repeats ("Advantage"), so it gets no
    # "which one is" item now, and its multiple-choice slot is given to an item of another kind from the notes
    assert kinds.count("contrast") == 1 and "short" in kinds and len(kinds) == 3, (kinds, err)
