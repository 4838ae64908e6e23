"""The ``tutor`` command: runs the command ``tutor.cli_parser`` parsed, wires a ``Tutor``, prints.

No logic of its own. Heavy libraries are imported only by the commands that need them, so
``tutor --help`` is instant.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TextIO

from tutor.cli_parser import build_parser
from tutor.errors import TutorError
from tutor.names import said
from tutor.render import (
    Console,
    print_answer_footer,
    print_answer_stream,
    print_checks,
    print_hits,
    print_ingest,
    print_page_status,
    print_sources,
)

if TYPE_CHECKING:
    from tutor.config import Settings
    from tutor.pipeline import Tutor
    from tutor.records import Answer

def settings_from(args: argparse.Namespace) -> Settings:
    from tutor.config import load_settings

    flags = {
        "corpus": getattr(args, "corpus", None),
        "index": getattr(args, "index", None),
        "backend": getattr(args, "backend", None),
        "model": getattr(args, "model", None),
        "ollama_model": getattr(args, "ollama_model", None),
        "progress_db": getattr(args, "progress_db", None),
    }
    return load_settings(flags)


def make_tutor(args: argparse.Namespace, console: Console) -> Tutor:
    from tutor.pipeline import Tutor

    progress = None if not args.quiet else False
    return Tutor(settings_from(args), log=console.status, progress=progress)


def _text_arg(words: list[str], what: str) -> str:
    text = " ".join(words)
    if not text.strip():
        command = "ask" if what == "question" else "search"
        raise TutorError(f"no {what} given", fix=f'put it in quotes, e.g. tutor {command} "DS vs MLE?"', exit_code=2)
    return text


def _batch_lines(path: str) -> Iterable[str]:
    if path == "-":
        try:
            yield from (line.rstrip("\n") for line in sys.stdin)
        except UnicodeDecodeError:
            raise TutorError("standard input is not UTF-8 text", fix="send UTF-8 text") from None
        return
    try:
        with open(path, encoding="utf-8") as f:
            yield from (line.rstrip("\n") for line in f)
    except FileNotFoundError:
        raise TutorError(f"no batch file at {path}", fix="give a text file with one question per line") from None
    except UnicodeDecodeError:
        raise TutorError(f"{path} is not UTF-8 text", fix="save it as UTF-8") from None


def _run_batch(path: str, console: Console, one: Callable[[str], dict[str, Any]]) -> int:
    failures = 0
    for line in _batch_lines(path):
        if not line.strip():
            continue
        try:
            result = one(line)
        except TutorError as exc:
            if exc.exit_code != 2:
                raise  # a broken setup fails the whole batch; a bad line fails only itself
            failures += 1
            result = {"question": line, "error": exc.message, "fix": exc.fix}
        console.print(json.dumps(result, ensure_ascii=False))
    return 1 if failures else 0


def cmd_ask(args: argparse.Namespace, console: Console) -> int:
    from tutor.answering import final

    tutor = make_tutor(args, console)
    if args.batch:
        if args.question:
            raise TutorError("give either a question or --batch FILE, not both", exit_code=2)

        def one(question: str) -> dict[str, Any]:
            return final(tutor.ask(question)).to_dict()

        return _run_batch(args.batch, console, one)
    question = _text_arg(args.question, "question")
    if args.json:
        console.print(json.dumps(final(tutor.ask(question)).to_dict(), ensure_ascii=False, indent=2))
        return 0
    stream = tutor.ask(question)  # checks the question and the index before any model loads
    console.status(f"(answering with {tutor.backend_name})")
    print_answer_footer(print_answer_stream(stream, console), console)
    return 0


def cmd_search(args: argparse.Namespace, console: Console) -> int:
    tutor = make_tutor(args, console)
    if args.k is not None and not 1 <= args.k <= 100:
        raise TutorError(f"-k must be between 1 and 100, not {args.k}", exit_code=2)

    def one(query: str) -> dict[str, Any]:
        hits = tutor.search(query, args.k)
        return {"query": query, "hits": [h.to_dict(rank) for rank, h in enumerate(hits, 1)],
                "never_mentioned": list(tutor.retriever.unknown(query))}

    if args.batch:
        return _run_batch(args.batch, console, one)
    query = _text_arg(args.query, "query")
    result = one(query)
    if args.json:
        console.print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print_hits(result["hits"], console)
    if result["never_mentioned"]:  # the passages above cannot be about it: ask would refuse
        console.warn(f"your notes never mention {said(result['never_mentioned'])}: "
                     "these are the nearest passages, not passages about it")
    return 0


def cmd_chat(args: argparse.Namespace, console: Console) -> int:
    tutor = make_tutor(args, console)
    tutor.open_index()  # build or refresh the index before the first prompt
    console.status(f"Chatting with your notes ({tutor.backend_name}). /sources, /clear, /quit; Ctrl-D to leave.")
    history: list[tuple[str, str]] = []
    last: Answer | None = None
    while True:
        try:
            question = input("\nyou> ")
        except EOFError:
            console.print("")
            return 0
        except UnicodeDecodeError:
            console.err.write("error: that line is not UTF-8 text (fix: set your terminal to UTF-8)\n")
            continue
        command = question.strip().lower()
        if command in ("/quit", "/exit", "/q"):
            return 0
        if command == "/clear":
            history.clear()
            console.status("(conversation cleared)")
            continue
        if command == "/sources":
            print_sources(last, console)
            continue
        if not command:
            continue
        try:
            console.print("tutor> ", end="")
            answer = print_answer_stream(tutor.ask(question, history), console)
            if answer.standalone_question and answer.standalone_question != question:
                console.status(f"(searched for: {answer.standalone_question})")
            print_answer_footer(answer, console)
            last = answer
            history.append((question, answer.answer))
        except TutorError as exc:
            console.err.write(f"error: {exc}\n")
        except KeyboardInterrupt:
            console.print("\n(stopped)")


def cmd_ingest(args: argparse.Namespace, console: Console) -> int:
    from tutor.notes import add_notes
    from tutor.pipeline import check_notes_folder

    tutor = make_tutor(args, console)
    corpus = tutor.settings.corpus
    if args.paths and corpus.exists():  # a missing notes folder is made for the notes given
        check_notes_folder(corpus)
    only = add_notes(corpus, args.paths) if args.paths else []
    report = tutor.ingest(only=only, rebuild=args.rebuild)
    if args.json:
        console.print(json.dumps(vars(report) | {"changed": report.changed}, indent=2))
    else:
        print_ingest(report, corpus, console)
    return 0


def cmd_eval(args: argparse.Namespace, console: Console) -> int:
    from tutor.evals.command import run_command

    if args.schema:
        from tutor.evals.dataset import dataset_schema

        console.print(json.dumps(dataset_schema(), indent=1))
        return 0
    return run_command(args, make_tutor(args, console), console)


def cmd_doctor(args: argparse.Namespace, console: Console) -> int:
    from tutor.doctor import run_checks

    checks = run_checks(settings_from(args))
    if args.json:
        console.print(json.dumps({"ok": all(c.ok or not c.required for c in checks),
                                  "checks": [vars(c) for c in checks]}, indent=2))
    else:
        print_checks(checks, console)
    return 0 if all(c.ok or not c.required for c in checks) else 1


def cmd_quiz(args: argparse.Namespace, console: Console) -> int:
    from tutor.quiz_cli import run_quiz

    return run_quiz(args, console, make_tutor(args, console))


def cmd_export(args: argparse.Namespace, console: Console) -> int:
    from tutor.quiz_cli import run_export

    return run_export(args, console, make_tutor(args, console))


def cmd_progress(args: argparse.Namespace, console: Console) -> int:
    from tutor.quiz_cli import run_progress

    return run_progress(args, console, make_tutor(args, console))


def cmd_ui(args: argparse.Namespace, console: Console) -> int:
    from ui.app import launch, launch_options
    from ui.core import Study

    auth = args.auth or os.environ.get("TUTOR_UI_AUTH") or None
    launch_options(args.host, args.port, auth)  # a bad bind or login fails before anything loads
    study = Study(lambda: make_tutor(args, console))
    console.status("Loading your notes and the language model...")
    # The status builds and opens the index before the first question; a problem is shown in the page too.
    print_page_status(study.status_markdown(), console)
    console.status(f"Open http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port} "
                   "in your browser; Ctrl-C stops.")
    launch(study, args.host, args.port, auth)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Console], int]] = {
    "ask": cmd_ask, "search": cmd_search, "chat": cmd_chat, "ingest": cmd_ingest, "doctor": cmd_doctor,
    "eval": cmd_eval, "quiz": cmd_quiz, "export": cmd_export, "progress": cmd_progress, "ui": cmd_ui,
}


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    if out is None:
        out = sys.stdout
        # A terminal that cannot show a character (an ASCII locale, a Windows code page) gets "?"; never a crash.
        if isinstance(out, io.TextIOWrapper):
            out.reconfigure(errors="replace")
    err = err or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    run = COMMANDS.get(args.command or "")
    if run is None:
        parser.print_help(out)
        return 0
    console = Console(out, err, quiet=args.quiet)
    try:
        return run(args, console)
    except TutorError as exc:
        err.write(f"error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        err.write("\ninterrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last resort: a bug, written to a crash file, never a traceback
        from tutor.crash import crash_line

        err.write(crash_line(exc, sys.argv[1:] if argv is None else list(argv)) + "\n")
        return 70  # EX_SOFTWARE: not the user's mistake


if __name__ == "__main__":
    sys.exit(main())
