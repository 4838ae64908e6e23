"""The study UI's shared state and adapters (``ui.core``) called directly, with the answer HTML: no server."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.fakes import GOOD_MCQ, EchoModel, fake_tutor
from tutor.errors import TutorError
from tutor.llm import Message, TextStream
from tutor.prompts import CONDENSE_SYSTEM
from tutor.records import Answer, Notice, TextDelta
from ui.core import Study, safe_note_name
from ui.render import answer_html

UNRELATED = "Who painted the Sistine Chapel ceiling?"


def run(study: Study, question: str, history=()) -> tuple[list[Any], Answer]:  # type: ignore[no-untyped-def]
    """The events before the answer (text pieces as their text, notices as they are), and the answer."""
    items = list(study.ask(question, history))
    assert isinstance(items[-1], Answer)
    return [x.text if isinstance(x, TextDelta) else x for x in items[:-1]], items[-1]


# --- chat --------------------------------------------------------------------------------------------


def test_chat_streams_pieces_then_a_cited_answer_rendered_with_clickable_citations(study: Study) -> None:
    pieces, answer = run(study, "DS vs MLE?")
    assert len(pieces) > 1 and "".join(pieces) == answer.answer
    assert not answer.refused and answer.backend == "echo:test" and answer.citations[0].n == 1
    page = answer_html(answer)
    c = answer.citations[0]
    assert '<a class="marker" href="#cite-1">[1]</a>' in page
    assert f'<details class="citation" id="cite-1"><summary>[1] {c.source} › ' in page.replace("&gt;", ">")
    assert f"lines {c.lines[0]}-{c.lines[1]}" in page and "cited-text" in page


def test_follow_up_uses_the_history(study: Study, echo: EchoModel) -> None:
    _, first = run(study, "DS vs MLE?")
    _, follow = run(study, "and what tools do they use?", [("DS vs MLE?", first.answer)])
    assert follow.standalone_question == "DS vs MLE? and what tools do they use?"
    assert [m[0]["content"] for m in echo.received].count(CONDENSE_SYSTEM) == 1  # the follow-up was condensed


def test_uncovered_question_shows_a_clear_notice(study: Study) -> None:
    _, answer = run(study, UNRELATED)
    assert answer.refused
    page = answer_html(answer)
    assert "Not in your notes." in page and "Nearest sections of your notes" in page


def test_model_down_gives_a_notice_and_the_extractive_answer(study: Study, echo: EchoModel) -> None:
    echo.down = True
    pieces, answer = run(study, "DS vs MLE?")
    assert isinstance(pieces[0], Notice) and "not available" in pieces[0].text
    assert answer.extractive and answer.citations and answer.backend == "extractive"
    answer2, notice = study.chat("DS vs MLE?")
    assert answer2.extractive and "cannot reach the language model server" in notice


def test_model_that_cannot_open_falls_back_too(settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    tutor = fake_tutor(settings)

    def broken(*_a: Any, **_k: Any) -> None:
        raise TutorError("the ollama backend was chosen but Ollama is not running", fix="start it")

    monkeypatch.setattr("tutor.pipeline.open_model", broken)
    study = Study(lambda: tutor)
    assert study.backend() == ("extractive", "the ollama backend was chosen but Ollama is not running (fix: start it)")
    assert "not available" in study.status_markdown()
    pieces, answer = run(study, "DS vs MLE?")
    assert isinstance(pieces[0], Notice) and answer.extractive


def test_a_bad_question_is_an_error_not_a_fallback(study: Study) -> None:
    with pytest.raises(TutorError):
        run(study, "   ")


def test_search_returns_ranked_chunks(study: Study) -> None:
    hits = study.search("ethical risks", 3)
    assert [h["rank"] for h in hits] == [1, 2, 3] and {"section", "lines", "text", "score"} <= set(hits[0])
    with pytest.raises(TutorError):
        study.search("x", 0)


# --- quiz and progress -------------------------------------------------------------------------------


def test_quiz_serves_grades_hints_and_records_through_the_session(study: Study) -> None:
    item = study.quiz_next("data understanding", "mcq")
    assert item is not None and item.question == GOOD_MCQ["question"]
    assert "Look in your notes" in study.quiz_hint(item.id, 1)
    wrong = next(o for o in item.options if o != GOOD_MCQ["correct"])
    _, grade, state = study.quiz_grade(item.id, wrong, hints_used=1)
    assert not grade.correct and grade.missed[0].teaching is not None and state.reviews == 1
    again = study.quiz_next("data understanding", "mcq", exclude=[])
    assert again is not None and again.id == item.id  # due again now, so served first
    report = study.progress_report()
    assert report.attempts == 1 and report.gaps


def test_quiz_grade_markdown_names_missed_points_and_the_passage_that_teaches_them(study: Study) -> None:
    from ui.render import grade_markdown, item_markdown

    item = study.quiz_next("data understanding", "mcq")
    assert item is not None
    assert item_markdown(item, 1).startswith("**Q1 · multiple choice · ") and "- **A)** " in item_markdown(item, 1)
    _, grade, state = study.quiz_grade(item.id, "Z")
    text = grade_markdown(item, grade, state)
    assert "✗ Not quite: the answer is" in text and "**Read again:**" in text and "Recorded as again" in text
    _, grade, state = study.quiz_grade(item.id, GOOD_MCQ["correct"])
    assert "✓ Correct" in grade_markdown(item, grade, state)


def test_quiz_rejects_unknown_items_and_kinds(study: Study) -> None:
    with pytest.raises(TutorError, match="no quiz item"):
        study.quiz_grade("nope", "A")
    with pytest.raises(TutorError, match="unknown kind"):
        study.quiz_next("", "essay")
    with pytest.raises(TutorError, match="no section"):
        study.quiz_next("no such section at all", "")


# --- notes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../evil.md", "/etc/cron.d/evil.md", "..\\..\\evil.md"])
def test_uploaded_notes_stay_in_the_corpus(study: Study, settings, name: str) -> None:  # type: ignore[no-untyped-def]
    path = study.save_note(name, b"# Evil\nStill just a note about feature stores.\n")
    assert path.parent == settings.corpus.resolve() and path.name == "evil.md"


def test_upload_limits_and_reindex(study: Study, settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TutorError, match="not a note file"):
        study.save_note("run.sh", b"rm -rf /")
    monkeypatch.setattr("ui.core.MAX_FILE_BYTES", 10)
    with pytest.raises(TutorError, match="larger than"):
        study.save_note("big.md", b"x" * 11)
    monkeypatch.undo()
    with pytest.raises(TutorError, match="UTF-8"):
        study.save_note("bin.md", b"\xff\xfe\x00")
    assert "not built yet" in study.notes_status()
    path = study.save_note("Week 3: Feature stores.md", b"# Feature stores\nA feature store serves features online.\n")
    other = study.save_note("Week 3: Feature stores.md", b"# Other\nDifferent words.\n")
    assert path.name == "Week-3-Feature-stores.md" and other.name == "Week-3-Feature-stores-2.md"
    summary = study.reindex()
    assert "Week-3-Feature-stores.md" in summary or "3 files" in summary or "added" in summary.lower(), summary
    status = study.notes_status()
    assert "Week-3-Feature-stores.md" in status and "up to date" in status
    assert study.search("feature store online", 3)[0]["source"] == "Week-3-Feature-stores.md"


def test_safe_note_names() -> None:
    assert safe_note_name("a/b/../c d.TXT") == "c-d.txt"
    assert safe_note_name(".bashrc.md") == "bashrc.md"


def serve(corpus: str, index: str, port: int, delay: float = 0.0) -> None:
    """Serve the app on fakes (``python -c "from tests.test_ui import serve; serve(...)"``): the server and
    browser tests run it in a subprocess, so the server's threads and sockets stay out of the test process."""
    from tutor.config import load_settings
    from ui.app import launch

    settings = load_settings({"corpus": corpus, "index": index})
    study = Study(lambda: fake_tutor(settings, EchoModel(delay=delay)))
    study.tutor.open_index()  # index before serving, as ``tutor ui`` does
    launch(study, "127.0.0.1", port, None)


class LockedModel(EchoModel):
    """Holds a thread-owned lock across its yields, as the llama.cpp model does."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.RLock()

    def stream(self, messages: list[Message], **kwargs: Any) -> TextStream:
        with self.lock:
            return (yield from super().stream(messages, **kwargs))


def test_the_answer_is_written_on_one_thread_whoever_advances_the_stream(settings) -> None:  # type: ignore[no-untyped-def]
    model = LockedModel()
    study = Study(lambda: fake_tutor(settings, model))
    stream = study.ask("DS vs MLE?")
    items: list[Any] = []
    finish = threading.Event()
    workers = []

    def step(box: list[Any], done: threading.Event) -> None:
        try:
            box.append(next(stream))
        except Exception as exc:  # noqa: BLE001 - checked below
            box.append(exc)
        done.set()
        finish.wait(60)  # stay alive, so every step runs on a thread with an identity of its own

    try:
        while not items or not isinstance(items[-1], Answer | Exception):
            box: list[Any] = []
            done = threading.Event()
            workers.append(threading.Thread(target=step, args=(box, done)))
            workers[-1].start()
            assert done.wait(60), "the stream stalled"
            items.append(box[0])
    finally:
        finish.set()
        for w in workers:
            w.join(60)
    assert isinstance(items[-1], Answer), items[-1]
    assert not items[-1].refused and len(items) > 2
    assert model.lock.acquire(timeout=5)  # released: the next question can use the model
    model.lock.release()
    study.ask("DS vs MLE?").close()  # abandoned at once: nothing is left holding the lock
    _, answer = run(study, "DS vs MLE?")
    assert answer.citations
