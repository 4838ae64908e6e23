"""The CLI in process, on the fakes registered through the real seams."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes import ScriptedModel
from tutor.cli import main
from tutor.llm import REGISTRY, register
from tutor.prompts import NOT_COVERED


def test_help_teaches_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for text in ('tutor ask "DS vs MLE?"', "TUTOR_BACKEND", "extractive", "doctor"):
        assert text in out


def test_no_command_prints_help(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli()
    assert code == 0 and "usage: tutor" in out


def test_ask_streams_text_then_sources_and_timings(cli) -> None:  # type: ignore[no-untyped-def]
    cli.model.enqueue("Data Scientists focus on analysis and experimentation [1]. "
                      "MLEs focus on building and deploying production systems [1].")
    code, out, err = cli("ask", "DS vs MLE?")
    assert code == 0
    assert out.startswith("Data Scientists focus on analysis")
    assert "Sources:" in out and "[1] ml-process-summary.md › " in out and "(lines " in out
    assert "scripted:test · retrieval" in out
    assert "Building the index" in err  # first run builds it, and says so


def test_ask_json_follows_the_contract(cli) -> None:  # type: ignore[no-untyped-def]
    cli.model.enqueue("Data Scientists focus on analysis and experimentation [1].")
    code, out, _ = cli("ask", "--json", "DS vs MLE?")
    data = json.loads(out)
    assert code == 0
    assert set(data) >= {"question", "answer", "citations", "refused", "backend", "timings"}
    assert data["question"] == "DS vs MLE?" and data["refused"] is False
    assert data["backend"] == "scripted:test"
    assert set(data["timings"]) == {"retrieve_ms", "first_token_ms", "total_ms"}
    (citation,) = data["citations"]
    assert set(citation) == {"n", "source", "section", "lines", "text"}
    assert citation["n"] == 1 and len(citation["lines"]) == 2


def test_refusal_names_the_nearest_sections(cli) -> None:  # type: ignore[no-untyped-def]
    cli.model.enqueue(NOT_COVERED)
    code, out, _ = cli("ask", "What learning rate should the ML model use?")
    assert code == 0
    assert "don't cover this question" in out and "Nearest sections" in out
    assert NOT_COVERED not in out


def test_batch_answers_each_line_and_reports_bad_ones(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    questions = tmp_path / "q.txt"
    questions.write_text("DS vs MLE?\n\n   \ncrispdm steps?\n")
    cli.model.enqueue(*[NOT_COVERED] * 4)  # each refused, then refused again with its best passage alone
    code, out, _ = cli("ask", "--batch", str(questions))
    lines = [json.loads(line) for line in out.splitlines()]
    assert [d["question"] for d in lines] == ["DS vs MLE?", "crispdm steps?"]
    assert code == 0
    questions.write_text("DS vs MLE?\n" + "x" * 5000 + "\n")
    cli.model.enqueue(NOT_COVERED, NOT_COVERED)
    code, out, _ = cli("ask", "--batch", str(questions))
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and "error" in results[1] and "refused" in results[0]


def test_search_json_and_text(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("search", "--json", "-k", "3", "ethical risks")
    data = json.loads(out)
    assert code == 0 and data["query"] == "ethical risks" and len(data["hits"]) == 3
    assert set(data["hits"][0]) >= {"rank", "score", "source", "section", "lines", "text"}
    assert [h["rank"] for h in data["hits"]] == [1, 2, 3]
    code, out, _ = cli("search", "ethical risks")
    assert code == 0 and out.startswith("1. ml-process-summary.md › ") and "score" in out
    assert data["never_mentioned"] == []


def test_search_says_when_the_query_names_what_the_notes_never_write(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("search", "ethical risks of Kafka queues")
    assert code == 0 and out.startswith("1. ") and "your notes never mention 'Kafka'" in err
    code, out, _ = cli("search", "--json", "ethical risks of Kafka queues")
    assert code == 0 and json.loads(out)["never_mentioned"] == ["Kafka"]


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["ask"], "no question given", 2),
        (["ask", "   "], "no question given", 2),
        (["ask", "\x00\x07"], "the question is empty", 2),
        (["search", "-k", "0", "x"], "-k must be between", 2),
        (["ask", "--batch", "/nonexistent/q.txt"], "no batch file", 1),
        (["ingest", "/nonexistent/note.md"], "does not exist", 1),
    ],
)
def test_user_mistakes_get_one_line_and_a_fix(cli, args: list[str], message: str, code: int) -> None:  # type: ignore[no-untyped-def]
    got, out, err = cli(*args)
    assert got == code
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert "Traceback" not in err + out


def test_missing_corpus_says_how_to_fix_it(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TUTOR_CORPUS", str(tmp_path / "nowhere"))
    code, _, err = cli("ask", "DS vs MLE?")
    assert code == 1 and "no notes folder" in err and "TUTOR_CORPUS" in err


def test_ingest_reports_and_is_incremental(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("ingest")
    assert code == 0 and "1 added" in out
    code, out, _ = cli("ingest", "--json")
    assert code == 0 and json.loads(out)["unchanged"] == 1 and json.loads(out)["embedded"] == 0
    note = tmp_path / "week2.md"
    note.write_text("## Bias and variance\nHigh bias underfits; high variance overfits.\n")
    code, out, _ = cli("ingest", str(note))
    assert code == 0 and "1 added" in out and (tmp_path / "corpus" / "week2.md").exists()


def test_chat_condenses_follow_ups(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    typed = "What does an MLE do?\nand how does that differ from a data scientist?\n/quit\n"
    cli.model.enqueue(
        "MLEs focus on building and deploying production systems [1].",
        "How does a Machine Learning Engineer differ from a Data Scientist?",
        "Data Scientists focus on analysis and experimentation [1].",
    )
    code, out, err = cli("chat", typed=typed)
    assert code == 0
    assert "(searched for: How does a Machine Learning Engineer differ from a Data Scientist?)" in err
    assert out.count("Sources:") == 2


def test_unknown_backend_from_the_environment(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TUTOR_BACKEND", "gpt5")
    code, _, err = cli("ask", "DS vs MLE?")
    assert code == 1 and "unknown backend 'gpt5'" in err


def test_register_adds_a_backend() -> None:
    register("twin", lambda s: ScriptedModel(name="twin"))
    try:
        assert "twin" in REGISTRY
    finally:
        REGISTRY.pop("twin")


def test_every_parsed_command_has_a_runner_and_the_quiz_kinds_match_the_quizs() -> None:
    import argparse

    from tutor.cli import COMMANDS, build_parser
    from tutor.cli_parser import KINDS
    from tutor.quiz import KINDS as QUIZ_KINDS

    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(commands.choices) == set(COMMANDS)
    assert tuple(KINDS) == QUIZ_KINDS
