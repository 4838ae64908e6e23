"""Bad questions through every door (CLI ask, ask --json, search, chat; the Tutor API; the UI): a one-line
message with a fix, or a proper answer; never a traceback."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fakes import ScriptedModel, fake_tutor, last_request
from tutor.answering import clean_question
from tutor.errors import TutorError
from tutor.pipeline import Tutor
from tutor.records import Answer
from ui import app
from ui.core import Study

LONG = "why " * 25_600  # 100 KB
GOOD = "Data scientists focus on analysis and experimentation [1]."


# --- the CLI ----------------------------------------------------------------------------------------

EMPTY_Q = 'error: no question given (fix: put it in quotes, e.g. tutor ask "DS vs MLE?")'
EMPTY_S = 'error: no query given (fix: put it in quotes, e.g. tutor search "DS vs MLE?")'
NOTHING_LEFT_Q = 'error: the question is empty (fix: ask something, e.g. tutor ask "DS vs MLE?")'
NOTHING_LEFT_S = 'error: the query is empty (fix: search for something, e.g. tutor search "ethical risks")'
TOO_LONG_Q = ("error: the question is 102,399 characters long; the limit is 2,000 "
              "(fix: ask a shorter question (or raise TUTOR_MAX_QUESTION_CHARS))")
TOO_LONG_S = ("error: the query is 102,399 characters long; the limit is 2,000 "
              "(fix: ask a shorter query (or raise TUTOR_MAX_QUESTION_CHARS))")


@pytest.mark.parametrize(("question", "ask_error", "search_error"), [
    ("", EMPTY_Q, EMPTY_S),
    (" \t\n\u00a0\u3000", EMPTY_Q, EMPTY_S),  # ASCII and Unicode spaces
    ("\x00\x01\x1b[0m\x7f\u200b\ufeff", NOTHING_LEFT_Q, NOTHING_LEFT_S),  # controls, an escape, format chars
    (LONG, TOO_LONG_Q, TOO_LONG_S),
], ids=["empty", "whitespace", "controls-only", "100KB"])
def test_a_bad_question_is_one_line_with_a_fix_on_every_command(cli, question: str, ask_error: str,  # type: ignore[no-untyped-def]
                                                                search_error: str) -> None:
    for args, expected in ((["ask", question], ask_error), (["ask", "--json", question], ask_error),
                           (["search", question], search_error), (["search", "--json", question], search_error)):
        code, out, err = cli(*args)
        assert (code, out, err) == (2, "", expected + "\n"), args[:-1]
    assert cli.model.received == []  # refused before any model work


def test_the_limit_is_counted_after_cleaning_and_the_setting_raises_it(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    padded = "DS vs MLE? " + " " * 5000 + "\x00" * 5000  # 10 KB typed, 10 characters meant
    cli.model.enqueue(GOOD)
    code, out, _ = cli("ask", "--json", padded)
    assert code == 0 and json.loads(out)["question"] == "DS vs MLE?"
    question = "What do data scientists focus on? " * 70  # 2,379 characters
    assert cli("ask", question)[0] == 2
    monkeypatch.setenv("TUTOR_MAX_QUESTION_CHARS", "3000")
    cli.model.enqueue(GOOD)
    assert cli("ask", question)[0] == 0


def test_control_characters_and_escape_sequences_are_stripped_not_fatal(cli) -> None:  # type: ignore[no-untyped-def]
    cli.model.enqueue(GOOD)
    code, out, err = cli("ask", "--json", "DS\x00 vs\x1b[31m MLE\x07?\x1b]0;title\x07\r\n\tand\u202e why?")
    assert code == 0 and "Traceback" not in err
    data = json.loads(out)
    assert data["question"] == "DS vs MLE? and why?" and not data["refused"]
    assert "Question: DS vs MLE? and why?" in last_request(cli.model)[-1]["content"]  # what the model saw
    code, out, _ = cli("search", "--json", "ethical\x1b[1m risks\x00")
    assert code == 0 and json.loads(out)["query"] == "ethical\x1b[1m risks\x00"  # echoed as given
    assert json.loads(out)["hits"]


def test_binary_junk_as_a_question_gets_an_answer_or_refusal_not_a_crash(cli) -> None:  # type: ignore[no-untyped-def]
    junk = bytes(range(1, 256)).decode("latin-1") + "\udcff\udc80"  # every byte, and undecodable argv bytes
    code, out, err = cli("ask", "--json", junk)
    data = json.loads(out)
    assert code == 0 and data["refused"] and "Traceback" not in err
    assert "\x1b" not in data["question"] and "\udcff" not in data["question"]
    code, out, _ = cli("ask", junk)
    assert code == 0 and "don't cover this question" in out


@pytest.mark.parametrize("question", [
    "Quelle est la différence entre un Data Scientist et un MLE ?",
    "¿Cuál es la diferencia entre un Data Scientist y un MLE?",
])
def test_a_non_english_question_using_the_notes_terms_gets_a_normal_cited_answer(cli, question: str) -> None:  # type: ignore[no-untyped-def]
    cli.model.enqueue(GOOD)
    code, out, _ = cli("ask", "--json", question)
    data = json.loads(out)
    assert code == 0 and data["question"] == question and not data["refused"] and data["citations"]
    assert f"Question: {question}" in last_request(cli.model)[-1]["content"]


@pytest.mark.parametrize("question", [
    "数据科学家和机器学习工程师有什么区别？",
    "ما الفرق بين عالم البيانات ومهندس التعلم الآلي؟",
    "🤖🤖🤖?",
])
def test_a_question_in_words_the_notes_never_use_is_refused_with_nearest_sections(cli, question: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("ask", question)
    assert code == 0 and "don't cover this question" in out and "Nearest sections of your notes:" in out
    assert cli.model.received == []  # refused on retrieval: the model is not asked to guess
    code, out, _ = cli("search", "--json", question)
    assert code == 0 and json.loads(out)["query"] == question


def test_batch_reports_each_bad_line_and_goes_on(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = tmp_path / "q.txt"
    lines.write_text(f"DS vs MLE?\n\x00\x07\n{LONG}\n数据科学家?\n", encoding="utf-8")
    cli.model.enqueue(GOOD)
    code, out, _ = cli("ask", "--batch", str(lines))
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(results) == 4
    assert not results[0]["refused"] and results[3]["refused"]
    assert results[1]["error"] == "the question is empty" and "characters long" in results[2]["error"]
    code, out, err = cli("ask", "--batch", "-", typed=io.TextIOWrapper(io.BytesIO(b"caf\xe9?\n"), encoding="utf-8"))
    assert (code, out) == (1, "") and err == "error: standard input is not UTF-8 text (fix: send UTF-8 text)\n"


class Terminal(io.BytesIO):
    """Typed bytes that arrive a line at a time, as from a terminal (a file would be read in 8 KB blocks)."""

    def read1(self, size: int = -1) -> bytes:
        return self.readline()


def test_chat_says_what_is_wrong_with_a_line_and_keeps_going(cli) -> None:  # type: ignore[no-untyped-def]
    typed = io.TextIOWrapper(Terminal(b"\x00\x07\n" + LONG.encode() + b"\ncaf\xe9\nDS vs MLE?\n/quit\n"),
                             encoding="utf-8")
    cli.model.enqueue(GOOD)
    code, out, err = cli("chat", typed=typed)
    assert code == 0 and "Traceback" not in err
    assert "error: the question is empty (fix: ask something" in err
    assert "error: the question is 102,399 characters long; the limit is 2,000" in err
    assert "error: that line is not UTF-8 text (fix: set your terminal to UTF-8)" in err
    assert out.count("Sources:") == 1  # the good question after them was answered


# --- the Tutor API and the UI ------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "message"), [
    ("", "the question is empty"), ("\t\n ", "the question is empty"), ("\x1b[2J\x00", "the question is empty"),
    (LONG, "the question is 102,399 characters long; the limit is 2,000"),
])
def test_tutor_ask_raises_one_tutor_error_before_any_work(tutor: Tutor, model: ScriptedModel, question: str,
                                                          message: str) -> None:
    with pytest.raises(TutorError) as info:
        tutor.ask(question)
    assert info.value.message == message and info.value.fix and info.value.exit_code == 2
    assert model.received == [] and tutor._retriever is None  # not even the index was loaded


def test_tutor_ask_answers_a_question_with_control_characters(tutor: Tutor, model: ScriptedModel) -> None:
    model.enqueue(GOOD)
    answer = list(tutor.ask("What do data\x00 scientists\x1b[0m focus on?\x07"))[-1]
    assert isinstance(answer, Answer) and answer.question == "What do data scientists focus on?"
    assert not answer.refused and answer.citations


def test_the_limit_fits_the_model_context() -> None:
    """The documented budget (README, Settings): 4,096 tokens of context hold the fixed prompt (~450 tokens),
    the notes (CONTEXT_CHARS, ~1,000 tokens of English), the answer (320) and a question of 2,000 characters
    even at one token per character (~2,000: the worst common case, e.g. emoji, digits, Devanagari)."""
    from tutor.config import Settings
    from tutor.prompts import CONTEXT_CHARS

    s = Settings()
    fixed, notes = 450, CONTEXT_CHARS // 4
    assert fixed + notes + s.max_tokens + s.max_question_chars <= s.n_ctx
    assert clean_question("x" * s.max_question_chars, s.max_question_chars)


@pytest.fixture
def study(settings, model: ScriptedModel) -> Study:  # type: ignore[no-untyped-def]
    return Study(lambda: fake_tutor(settings, model))


@pytest.mark.parametrize(("question", "problem"), [
    ("\x00\x07", "the question is empty"), (LONG, "the question is 102,399 characters long; the limit is 2,000"),
])
def test_ui_chat_shows_a_bad_question_as_a_problem_with_its_fix(study: Study, question: str, problem: str) -> None:
    with pytest.raises(TutorError, match=problem):
        study.chat(question)
    *_, (chat, turns, _, box) = app.chat_stream(study, question, [], [])
    page = chat[-1]["content"]
    assert f"<strong>Problem:</strong> {problem}" in page and "<em>Fix:</em>" in page
    assert "Traceback" not in page and turns == [] and box == ""


def test_ui_chat_answers_control_characters_and_other_languages(study: Study, model: ScriptedModel) -> None:
    model.enqueue(GOOD)
    answer, notice = study.chat("DS\x1b[31m vs\x00 MLE?")
    assert answer.question == "DS vs MLE?" and not answer.refused and notice == ""
    answer, _ = study.chat("数据科学家和机器学习工程师有什么区别？")
    assert answer.refused and answer.nearest
    *_, (chat, *_rest) = app.chat_stream(study, "数据科学家和机器学习工程师有什么区别？", [], [])
    assert "Not in your notes." in chat[-1]["content"]


SCRIPT = """
import sys
from tests.fakes import HashEmbedder, MemoryStore, ScriptedModel
from tutor import pipeline
from tutor.cli import main
from tutor.llm import REGISTRY

store = MemoryStore()
pipeline.COMPONENTS.update(embedder=lambda s: HashEmbedder(), store=lambda s, folder: store)
REGISTRY["scripted"] = lambda s: ScriptedModel("NOT_COVERED")
sys.exit(main(sys.argv[1:]))
"""


def test_a_terminal_that_cannot_show_the_answer_gets_question_marks_not_a_crash(corpus: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "TUTOR_CORPUS": str(corpus),
           "TUTOR_INDEX": str(tmp_path / "index"), "TUTOR_BACKEND": "scripted", "PYTHONPATH": str(REPO)}
    for args in (["ask", "Quelle différence entre DS et MLE ?"], ["ask", "--json", "数据科学家?"]):
        result = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True,
                                encoding="utf-8", env=env, cwd=tmp_path, timeout=120)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert "don't cover this question" in result.stdout and "?" in result.stdout
