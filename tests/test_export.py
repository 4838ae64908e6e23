"""``tutor export``: the .apkg opened as the zip + SQLite it is, the CSV read back, stable ids, errors."""

from __future__ import annotations

import csv
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from tests.conftest import NOTES
from tests.test_quiz import GOOD_SHORT
from tutor import contrast
from tutor.choices import Planner
from tutor.chunking import chunk_text
from tutor.errors import TutorError
from tutor.export import BASIC_MODEL_ID, DECK_ID, TWO_SIDED_MODEL_ID, export
from tutor.quiz import QuizItem, build, build_planned
from tutor.validation import Validator


def items_from(text: str) -> list[QuizItem]:
    """A multiple-choice item, a short answer and a contrast drill from these notes."""
    chunks = chunk_text(text, NOTES.name)
    check = Validator({c.content_hash: c for c in chunks}).problems
    steps = next(c for c in chunks if c.section.endswith("4. Evaluation"))
    order = next(p for p in Planner(chunks).plans(steps) if p.shape == "order")
    supervised = next(c for c in chunks if c.section.endswith("> Supervised Learning"))
    roles = next(c for c in chunks if "Data Scientist vs." in c.section)
    mcq = build_planned(order, check)
    assert mcq is not None
    return [mcq, build("short", GOOD_SHORT, supervised, "t"), contrast.table_drills(roles)[0]]


def notes_of(path: Path) -> list[dict[str, object]]:
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["collection.anki2", "media"]
        db = path.parent / f"{path.stem}.anki2"
        db.write_bytes(z.read("collection.anki2"))
    conn = sqlite3.connect(db)
    try:
        models, decks = (json.loads(x) for x in conn.execute("select models, decks from col").fetchone())
        rows = conn.execute("select guid, mid, tags, flds from notes order by id").fetchall()
        cards = conn.execute("select count(*) from cards").fetchone()[0]
    finally:
        conn.close()
    assert {str(BASIC_MODEL_ID), str(TWO_SIDED_MODEL_ID)} <= set(models) and str(DECK_ID) in decks
    return [{"guid": g, "model": m, "tags": t.split(), "fields": f.split("\x1f"), "cards": cards}
            for g, m, t, f in rows]


def test_apkg_has_one_note_per_item_with_answer_passage_source_and_tags(tmp_path: Path) -> None:
    items = items_from(NOTES.read_text())
    done = export(items, tmp_path / "deck.apkg")
    assert done.notes == 3
    assert "Exported 3 notes (1 multiple choice, 1 short answer, 1 contrast drill)" in done.summary()
    mcq, short, drill = notes_of(tmp_path / "deck.apkg")
    question, answer, _points, passage, source, kind = mcq["fields"]  # type: ignore[misc]
    assert "which step comes right after “Modeling”?" in question and "<li>Evaluation</li>" in question
    assert answer.endswith(") Evaluation") and "Test model performance on unseen data" in passage
    assert "ml-process-summary.md › Machine Learning Development Lifecycle &gt; Six Key Steps" in source
    assert "(lines 29-32)" in source and kind == "multiple choice" and "**" not in passage
    assert mcq["tags"] == ["tutor", "tutor::mcq",
                           "Machine_Learning_Development_Lifecycle::Six_Key_Steps::4._Evaluation"]
    points = short["fields"][2]  # type: ignore[index]
    assert "<li>Higher accuracy</li><li>Computationally expensive at scale</li>" in points
    assert drill["model"] == TWO_SIDED_MODEL_ID and mcq["model"] == BASIC_MODEL_ID
    front, back, reverse, reverse_answer = drill["fields"][:4]  # type: ignore[index]
    assert front.startswith("Which role has primary focus") and back in ("Data Scientist", "Machine Learning Engineer")
    assert reverse == f"{back} — primary focus?" and reverse_answer == "Analysis and experimentation"
    assert mcq["cards"] == 4  # one card each, two for the two-sided drill


def test_exporting_again_after_the_notes_moved_updates_the_same_notes(tmp_path: Path) -> None:
    first = notes_of(export(items_from(NOTES.read_text()), tmp_path / "a.apkg").path)
    title, rest = NOTES.read_text().split("\n", 1)
    moved = f"{title}\nTwo new lines of introduction.\nThey shift every section down.\n{rest}"
    second = notes_of(export(items_from(moved), tmp_path / "b.apkg").path)
    assert [n["guid"] for n in first] == [n["guid"] for n in second] and len({n["guid"] for n in first}) == 3
    assert "(lines 29-32)" in first[0]["fields"][4] and "(lines 31-34)" in second[0]["fields"][4]  # type: ignore[index]


def test_csv_reads_back_with_question_options_answer_and_source(tmp_path: Path) -> None:
    export(items_from(NOTES.read_text()), tmp_path / "deck.csv")
    with (tmp_path / "deck.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["question", "answer", "source"] and len(rows) == 4
    question, answer, source = rows[1]
    assert "\nA) " in question and "\nD) " in question and answer.endswith(") Evaluation")
    assert source.startswith("ml-process-summary.md › Machine Learning Development Lifecycle > Six Key Steps")
    assert rows[2][1] == "- Higher accuracy\n- Computationally expensive at scale"
    assert "(the other side: " in rows[3][1]


def test_bad_targets_are_one_line_errors_and_nothing_half_written_is_left(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    items = items_from(NOTES.read_text())
    with pytest.raises(TutorError, match="unknown file type '.txt'") as info:
        export(items, tmp_path / "deck.txt")
    assert ".apkg" in info.value.fix
    with pytest.raises(TutorError, match="does not exist or is not writable"):
        export(items, tmp_path / "missing" / "deck.apkg")
    with pytest.raises(TutorError, match="no questions to export"):
        export([], tmp_path / "deck.apkg")
    (tmp_path / "deck.apkg").write_bytes(b"the previous export")

    def full_disk(*_args: object, **_kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", full_disk)
    with pytest.raises(TutorError, match="No space left on device"):
        export(items, tmp_path / "deck.apkg")
    assert (tmp_path / "deck.apkg").read_bytes() == b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.apkg"]  # no temporary file left behind


def test_cli_export_without_a_model_writes_drills_and_structure_items(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("export", str(tmp_path / "deck.apkg"), "-n", "30", "--backend", "extractive")
    assert code == 0, err
    assert "contrast drill" in out and "multiple choice" in out and "built from the structure of your notes" in err
    assert len(notes_of(tmp_path / "deck.apkg")) > 20  # the 20 drills, then items the structure gives
    code, _, err = cli("export", str(tmp_path / "deck.pdf"))
    assert code == 2 and err.startswith("error: cannot export to deck.pdf") and "(fix: name the file .apkg" in err
    # was: any section; a short list now gives "name its N points" with no model, so a section of prose is chosen
    code, _, err = cli("export", str(tmp_path / "x.csv"), "--kind", "short", "--section", "crisp-dm", "--backend",
                       "extractive")
    assert code == 1 and "no questions for this selection" in err and "tutor doctor" in err


def test_without_a_model_which_items_are_exported_in_their_plans_own_wording(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # was: a "which" or "label" plan waited for a model to phrase it; its template wording is a valid item
    code, out, err = cli("export", str(tmp_path / "deck.csv"), "-n", "40", "--kind", "mcq", "--backend", "extractive")
    assert code == 0, err
    with (tmp_path / "deck.csv").open(newline="") as f:
        questions = [row["question"] for row in csv.DictReader(f)]
    assert any(q.startswith("Under which step of “Six Key Steps” do your notes say:") for q in questions)
    # was “Supervised Learning”, whose labels ("Features", "Advantage") are fields other lists repeat
    assert any(q.startswith("In “MLE as \"Engineer First\"”, which one is:") for q in questions)
    assert not any(q.startswith("In “Supervised Learning”, which one is:") for q in questions)
