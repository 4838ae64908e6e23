"""The study app: page handlers (``ui.handlers``) called directly, then a launched app driven through ``gradio_client``.

All on fakes (hashed embeddings, an in-memory store, an echoing model), on a loopback port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fakes import GOOD_MCQ, EchoModel
from tests.test_ui import UNRELATED
from tutor.cli import main
from tutor.errors import TutorError
from ui.core import Study

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
app = pytest.importorskip("ui.app")
handlers = pytest.importorskip("ui.handlers")


def last(stream: Iterator[tuple]) -> tuple:
    steps = list(stream)
    assert steps
    return steps[-1]


# --- handlers, no server ---------------------------------------------------------------------------


def test_chat_handler_streams_then_shows_citations_and_keeps_the_turn(study: Study) -> None:
    steps = list(handlers.chat_stream(study, "DS vs MLE?", [], []))
    assert len(steps) > 2 and steps[0][0][-1] == {"role": "assistant", "content": "…"}
    chat, turns, sources, box = steps[-1]
    assert box == "" and chat[0] == {"role": "user", "content": "DS vs MLE?"}
    assert '<details class="citation" id="cite-1">' in chat[-1]["content"] and "open" in sources
    assert turns[0][0] == "DS vs MLE?" and "[1]" in turns[0][1]
    chat2, turns2, _, _ = last(handlers.chat_stream(study, "and their tools?", chat, turns))
    assert len(chat2) == 4 and len(turns2) == 2


def test_retry_and_uncovered_and_model_down_in_the_page(study: Study, echo: EchoModel) -> None:
    chat, turns, _, _ = last(handlers.chat_stream(study, "DS vs MLE?", [], []))
    chat, turns, _, _ = last(handlers.retry_stream(study, chat, turns))
    assert len(chat) == 2 and len(turns) == 1
    chat, turns, _, _ = last(handlers.chat_stream(study, UNRELATED, [], []))
    assert "Not in your notes." in chat[-1]["content"] and turns == []
    echo.down = True
    chat, _, sources, _ = last(handlers.chat_stream(study, "DS vs MLE?", [], []))
    page = chat[-1]["content"]
    assert "The language model is not available" in page and "extractive answer" in page
    assert "Traceback" not in page and "cite-1" in sources


def test_errors_reach_the_page_as_messages(study: Study, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    monkeypatch.setattr(study, "ask", boom)
    chat, *_ = last(handlers.chat_stream(study, "DS vs MLE?", [], []))
    assert "Something went wrong" in chat[-1]["content"] and "secret internals" not in chat[-1]["content"]


def test_quiz_handlers_serve_hint_and_grade(study: Study) -> None:
    question, options, written, hint, grade, state = handlers.quiz_next(study, "data understanding", "mcq", False, None)
    assert GOOD_MCQ["question"] in question and options["visible"] and not written["visible"]
    hint, state = handlers.quiz_hint(study, state)
    assert hint.startswith("**Hint 1 of 3:**") and state["hints"] == 1
    grade, state = handlers.quiz_grade(study, GOOD_MCQ["correct"], "", state)
    assert "✓ Correct" in grade and "1 hint used" in grade and state["graded"]
    plot, summary = handlers.progress_view(study)
    assert "**attempts:** 1" in summary and "Never practised" in summary
    frame = plot["value"]
    assert plot["sort"][0] == frame["section"][0]
    assert list(frame.columns) == ["section", "mastery %", "due"] and frame["mastery %"].max() > 0
    text, *_ = handlers.quiz_next(study, "no such section anywhere", "any", False, state)
    assert "Problem:" in text and "no section of your notes matches" in text


def test_launch_refuses_an_open_address_without_a_login() -> None:
    with pytest.raises(TutorError, match="needs a login"):
        app.launch_options("0.0.0.0", 7860, None)
    options = app.launch_options("0.0.0.0", 7860, "ann:pw")
    assert options["auth"] == ("ann", "pw") and options["share"] is False
    assert app.launch_options("127.0.0.1", 7860, None)["server_name"] == "127.0.0.1"
    with pytest.raises(TutorError, match="user:password"):
        app.launch_options("127.0.0.1", 7860, "no-colon")


def test_cli_ui_refuses_before_loading_anything(capsys: pytest.CaptureFixture[str]) -> None:
    import io

    err = io.StringIO()
    assert main(["ui", "--host", "0.0.0.0"], err=err) == 2
    assert "needs a login" in err.getvalue() and "TUTOR_UI_AUTH" in err.getvalue()


# --- a launched app, driven through gradio_client --------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp_path: Path, corpus: Path, delay: float = 0.0) -> tuple[subprocess.Popen, str]:
    """The app on fakes in a subprocess on a free loopback port; returns once it answers (bounded)."""
    port = free_port()
    code = f"from tests.test_ui import serve; serve({str(corpus)!r}, {str(tmp_path / 'index')!r}, {port}, {delay})"
    env = os.environ | {"GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    with open(tmp_path / "ui-server.log", "wb") as log:  # the server keeps its own copy of the file
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 240  # importing gradio takes many seconds on a busy machine
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url + "gradio_api/info", timeout=5) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    stop(proc)
    pytest.fail("the UI server did not start:\n" + (tmp_path / "ui-server.log").read_text()[-3000:])


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=20)


@pytest.fixture
def served(tmp_path: Path, corpus: Path) -> Iterator[str]:
    proc, url = start_server(tmp_path, corpus)
    try:
        yield url
    finally:
        stop(proc)


@pytest.mark.integration
def test_api_chat_search_quiz_and_progress(served: str) -> None:
    from gradio_client import Client

    client = Client(served, verbose=False)
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/chat", "/search", "/quiz_next", "/quiz_hint", "/quiz_grade", "/progress", "/status"} <= names
    assert client.predict(api_name="/status") == {"backend": "echo:test", "problem": ""}

    first = client.predict("DS vs MLE?", [], api_name="/chat")
    assert not first["refused"] and first["citations"][0]["n"] == 1 and "[1]" in first["answer"]
    follow = client.predict("and their tools?", [["DS vs MLE?", first["answer"]]], api_name="/chat")
    assert follow["standalone_question"] == "DS vs MLE? and their tools?"
    assert client.predict(UNRELATED, [], api_name="/chat")["refused"]

    hits = client.predict("ethical risks", 2, api_name="/search")["hits"]
    assert [h["rank"] for h in hits] == [1, 2]

    item = client.predict("data understanding", "mcq", False, [], api_name="/quiz_next")
    assert item["question"] == GOOD_MCQ["question"] and "answer_index" not in item and len(item["options"]) == 4
    assert "Look in your notes" in client.predict(item["id"], 1, api_name="/quiz_hint")
    graded = client.predict(item["id"], GOOD_MCQ["correct"], 1, api_name="/quiz_grade")
    key = "Data Understanding & Preparation"  # the notes' own words: the model only phrases the question
    assert graded["correct"] and graded["score"] == 1.0 and graded["item"]["answer"] == key
    assert client.predict(api_name="/progress")["attempts"] == 1


@pytest.mark.integration
def test_a_quiz_is_not_kept_waiting_behind_an_answer_being_written(tmp_path: Path, corpus: Path) -> None:
    import threading

    from gradio_client import Client

    proc, url = start_server(tmp_path, corpus, delay=0.5)  # a slow model: a chat answer takes many seconds
    try:
        client = Client(url, verbose=False)
        client.predict("data understanding", "mcq", False, [], api_name="/quiz_next")  # warm: bank the item
        answered: list[tuple[float, dict]] = []
        quizzer = Client(url, verbose=False)

        def ask() -> None:
            reply = client.predict("DS vs MLE?", [], api_name="/chat")
            answered.append((time.monotonic(), reply))

        chat = threading.Thread(target=ask)
        chat.start()
        time.sleep(1.0)  # the answer is being written
        item = quizzer.predict("", "contrast", False, [], api_name="/quiz_next")
        served = time.monotonic()
        chat.join(timeout=300)
        assert item["kind"] == "contrast" and answered
        assert served < answered[0][0], "the quiz item was served only after the answer was finished"
        assert "[1]" in answered[0][1]["answer"]
    finally:
        stop(proc)


@pytest.mark.integration
def test_api_errors_are_messages(served: str) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(served, verbose=False)
    with pytest.raises(AppError, match="no quiz item"):
        client.predict("nope", "A", 0, api_name="/quiz_grade")
