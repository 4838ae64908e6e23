"""The question bank as an Anki package (``.apkg``, built with genanki) or a CSV file (question, answer, source).

Each note carries the answer, the cited passage and its source (file › section, lines), with tags from
the section path. Multiple-choice and short-answer items and flashcards are one card (front: the
question and its options; back: the answer, the key points, the passage); a contrast drill is a
two-sided note (which side owns this? / what does this side have?). Note GUIDs come from the item's
id, itself a hash of its kind, its question and the content hashes of the passages it cites, so
exporting again (after the notes changed around it) updates the same Anki notes instead of adding
copies; the deck and note-type ids are fixed. A file is written whole to a temporary file beside the
target and renamed over it, so an interrupted export never leaves half a file.

genanki is touched here only; the SQLite inside an ``.apkg`` is genanki's format, written through it.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import os
import re
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor.errors import TutorError
from tutor.quiz import KIND_NAMES, QuizItem
from tutor.records import plain

FORMATS = (".apkg", ".csv")
DECK_ID = 1_874_032_951  # fixed: a second export lands in the same deck
BASIC_MODEL_ID = 1_607_392_319
TWO_SIDED_MODEL_ID = 1_607_392_320
DECK_NAME = "tutor: my notes"
LETTERS = "ABCDEFGH"
CSS = """.card { font-family: sans-serif; font-size: 18px; text-align: left; max-width: 46em; margin: auto; }
ol.options { list-style-type: upper-alpha; } .answer { font-weight: bold; }
.passage { margin-top: 1em; padding: .5em 1em; border-left: 3px solid #999; white-space: pre-wrap; font-size: 15px; }
.source { color: #777; font-size: 13px; margin-top: .5em; }"""
BACK = ('{{FrontSide}}<hr id="answer"><div class="answer">{{Answer}}</div>{{KeyPoints}}'
        '<div class="passage">{{Passage}}</div><div class="source">{{Source}}</div>')
QUOTED = re.compile(r"“(.+)”")


@dataclass(frozen=True)
class Exported:
    """What an export wrote."""

    path: Path
    notes: int
    by_kind: dict[str, int]

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {KIND_NAMES[k]}" for k, n in self.by_kind.items() if n)
        return f"Exported {self.notes} notes ({kinds}) to {self.path}"


def check_target(path: Path) -> str:
    """The format for ``path`` (".apkg" or ".csv"); raises ``TutorError`` for another name or a folder
    that cannot be written, before any work is done."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise TutorError(f"cannot export to {path.name}: unknown file type {suffix or '(none)'!r}",
                         fix="name the file .apkg (an Anki package) or .csv (question, answer, source)", exit_code=2)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise TutorError(f"cannot export to {path}: it is a folder", fix="give a file name, e.g. notes.apkg",
                         exit_code=2)
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise TutorError(f"cannot write {path}: the folder {folder} does not exist or is not writable",
                         fix="choose a folder you can write to (or create it first)", exit_code=2)
    return suffix


def source_label(item: QuizItem) -> str:
    """Where the item comes from: file › section (lines a-b) of each cited passage."""
    return "; ".join(c.label() for c in item.citations)


def tags(item: QuizItem) -> list[str]:
    """Anki tags: ``tutor``, the kind, and the section path as one hierarchical tag (``A::B::C``).

    >>> tags(QuizItem("x", "mcq", "q", section="Risk Management > Ethical Risks"))
    ['tutor', 'tutor::mcq', 'Risk_Management::Ethical_Risks']
    """
    path = "::".join(re.sub(r"[^\w.&+-]+", "_", part.strip()).strip("_") for part in item.section.split(" > "))
    return ["tutor", f"tutor::{item.kind}"] + ([path] if path.strip(":") else [])


def _esc(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _front(item: QuizItem) -> str:
    options = "".join(f"<li>{_esc(o)}</li>" for o in item.options) if item.kind == "mcq" else ""
    return _esc(item.question) + (f'<ol class="options">{options}</ol>' if options else "")


def _answer(item: QuizItem) -> str:
    if item.answer_index is not None and item.options:
        return f"{LETTERS[item.answer_index]}) {item.answer}" if item.kind == "mcq" else item.answer
    return item.key_points[0] if len(item.key_points) == 1 else ""


def _key_points(item: QuizItem) -> str:
    if len(item.key_points) < 2:
        return ""
    return "<ul>" + "".join(f"<li>{_esc(p)}</li>" for p in item.key_points) + "</ul>"


def _passage(item: QuizItem) -> str:
    return "\n\n".join(plain(c.text).strip() for c in item.citations)


def reverse_side(item: QuizItem) -> tuple[str, str]:
    """A contrast drill asked the other way: "Machine Learning Engineer — responsibilities?" and the value.

    >>> d = QuizItem("x", "contrast", "Which role owns “Deployment, scaling”?", ("DS", "MLE"), 1,
    ...              extra={"aspect": "Responsibilities"})
    >>> reverse_side(d)
    ('MLE — responsibilities?', 'Deployment, scaling')
    """
    m = QUOTED.search(item.question)
    aspect = item.extra.get("aspect", "").lower() or "what is it?"
    return f"{item.answer} — {aspect}?", (m.group(1) if m else item.question)


def csv_row(item: QuizItem) -> tuple[str, str, str]:
    """(question, answer, source) as plain text: the options under the question, key points after the answer."""
    question = item.question + "".join(f"\n{LETTERS[i]}) {o}" for i, o in enumerate(item.options))
    answer = _answer(item) or "; ".join(item.key_points)
    if len(item.key_points) > 1:
        answer = "\n".join(f"- {p}" for p in item.key_points)
    if item.kind == "contrast" and item.extra.get("other"):
        answer += f"\n(the other side: {item.extra['other']})"
    return question, answer, source_label(item)


def _write_atomically(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then rename the result over ``path``; nothing is left behind on failure."""
    try:
        with tempfile.TemporaryDirectory(prefix=".tutor-export-", dir=path.parent) as tmp:
            target = Path(tmp) / path.name
            write(target, Path(tmp))
            os.replace(target, path)
    except OSError as exc:
        raise TutorError(f"cannot write {path} ({exc.strerror or exc})",
                         fix="choose a folder you can write to, with free space") from None


def write_csv(items: Sequence[QuizItem], path: Path) -> None:
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(["question", "answer", "source"])
    out.writerows(csv_row(i) for i in items)
    _write_atomically(path, lambda target, _tmp: target.write_text(buffer.getvalue(), encoding="utf-8"))


def _models():  # type: ignore[no-untyped-def]
    import genanki

    basic = genanki.Model(
        BASIC_MODEL_ID, "tutor: question",
        fields=[{"name": n} for n in ("Question", "Answer", "KeyPoints", "Passage", "Source", "Kind")],
        templates=[{"name": "Question", "qfmt": "{{Question}}", "afmt": BACK}], css=CSS)
    two_sided = genanki.Model(
        TWO_SIDED_MODEL_ID, "tutor: contrast (two-sided)",
        fields=[{"name": n} for n in ("Question", "Answer", "Reverse", "ReverseAnswer", "Other", "Passage", "Source")],
        templates=[
            {"name": "Which side?", "qfmt": "{{Question}}",
             "afmt": '{{FrontSide}}<hr id="answer"><div class="answer">{{Answer}}</div><div>{{Other}}</div>'
                     '<div class="passage">{{Passage}}</div><div class="source">{{Source}}</div>'},
            {"name": "What does it have?", "qfmt": "{{Reverse}}",
             "afmt": '{{FrontSide}}<hr id="answer"><div class="answer">{{ReverseAnswer}}</div>'
                     '<div class="passage">{{Passage}}</div><div class="source">{{Source}}</div>'}],
        css=CSS)
    return genanki, basic, two_sided


def note_fields(item: QuizItem) -> list[str]:
    """The Anki fields of one item, in the order of its note type."""
    if item.kind == "contrast":
        reverse, reverse_answer = reverse_side(item)
        other = f"The other side — {item.extra['other']}" if item.extra.get("other") else ""
        return [_esc(item.question), _esc(item.answer), _esc(reverse), _esc(reverse_answer), _esc(other),
                _esc(_passage(item)), _esc(source_label(item))]
    return [_front(item), _esc(_answer(item)), _key_points(item), _esc(_passage(item)), _esc(source_label(item)),
            KIND_NAMES[item.kind]]


def write_apkg(items: Sequence[QuizItem], path: Path, deck_name: str = DECK_NAME) -> None:
    genanki, basic, two_sided = _models()
    deck = genanki.Deck(DECK_ID, deck_name)
    for item in items:
        deck.add_note(genanki.Note(model=two_sided if item.kind == "contrast" else basic, fields=note_fields(item),
                                   tags=tags(item), guid=genanki.guid_for("tutor", item.id)))

    def write(target: Path, tmp: Path) -> None:
        now = time.time()
        db = tmp / "collection.anki2"
        conn = sqlite3.connect(db)
        try:
            genanki.Package(deck).write_to_db(conn.cursor(), now, itertools.count(int(now * 1000)))
            conn.commit()
        finally:
            conn.close()
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
            z.write(db, "collection.anki2")
            z.writestr("media", "{}")

    _write_atomically(path, write)


def export(items: Sequence[QuizItem], path: Path) -> Exported:
    """Write ``items`` to ``path`` in the format its extension names."""
    suffix = check_target(path)
    if not items:
        raise TutorError("there are no questions to export", fix="write some first: tutor quiz, or tutor export -n 20")
    (write_apkg if suffix == ".apkg" else write_csv)(items, path)
    by_kind = {k: sum(i.kind == k for i in items) for k in KIND_NAMES}
    return Exported(path, len(items), by_kind)
