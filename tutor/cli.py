"""The ``tutor`` command: parses arguments, wires a ``Tutor``, prints. No logic of its own.

Heavy libraries are imported only by the commands that need them, so ``tutor --help`` is instant.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tutor.config import installed_version
from tutor.errors import TutorError
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

EXAMPLES = """\
examples:
  tutor ask "DS vs MLE?"                 a cited answer from your notes, streamed
  tutor ask --json "crispdm steps?"      one JSON object, for scripts
  tutor search "ethical risks" -k 3      the ranked passages behind an answer
  tutor chat                             several questions, with follow-ups
  tutor ingest                           index ./corpus (done for you on first ask)
  tutor ingest ~/notes/week2.md          copy a note into the corpus and index it
  tutor doctor                           check every part and print the fix for each failure
  tutor eval --only retrieval            score search on evals/cases.yaml against a baseline (no LLM)
  tutor eval                             the whole eval suite: answers too, report in evals/reports/
  tutor quiz -n 5                        a short quiz on your notes, graded, with hints
  tutor quiz --due                       review what is due, weakest first
  tutor progress                         mastery per section, due items, streak, gaps
  tutor export cards.apkg -n 30          your quiz questions as an Anki deck (or .csv)
  tutor ui                               the study web app on http://127.0.0.1:7860

settings: a flag, else a TUTOR_* environment variable, else tutor.toml, else the default.
  TUTOR_CORPUS (./corpus)  TUTOR_INDEX (./index)  TUTOR_BACKEND (auto)  TUTOR_MODEL (a .gguf file)
  OLLAMA_HOST (http://127.0.0.1:11434)  TUTOR_OLLAMA_MODEL (qwen2.5-coder:1.5b)  TUTOR_DATA_DIR
backends: auto = Ollama if it runs with the model, else the embedded llama.cpp model, else
  extractive (the cited passages themselves); or name one: ollama, llamacpp, extractive.
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("where and how")
    g.add_argument("--corpus", metavar="DIR",
                   help="folder of notes (.md, .txt, .pdf, .ipynb, .html); default ./corpus")
    g.add_argument("--index", metavar="DIR", help="folder of the search index; default ./index")
    g.add_argument("--backend", choices=["auto", "llamacpp", "ollama", "extractive"],
                   help="who writes answers (default auto)")
    g.add_argument("--model", metavar="GGUF", help="a GGUF model file for the llamacpp backend")
    g.add_argument("--ollama-model", metavar="NAME", help="model name for the ollama backend")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bars or status lines")

    parser = argparse.ArgumentParser(
        prog="tutor",
        description="A private study tutor over your own notes: cited answers from a local LLM, offline.",
        epilog=EXAMPLES,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"tutor {installed_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("ask", parents=[common], formatter_class=_Formatter,
                       help="answer a question from your notes, with citations",
                       description="Answer a question from your notes. Every claim cites a passage [n]; "
                                   "when the notes don't cover it, the tutor says so and names the nearest sections.")
    p.add_argument("question", nargs="*", help='the question, e.g. "DS vs MLE?"')
    p.add_argument("--json", action="store_true", help="print one JSON object instead of streaming text")
    p.add_argument("--batch", metavar="FILE", help="one question per line (- for stdin); one JSON object per line out")
    p.set_defaults(run=cmd_ask)

    p = sub.add_parser("search", parents=[common], formatter_class=_Formatter,
                       help="show the passages that best match a query",
                       description="Hybrid search (meaning + keywords) over your notes; shows ranked passages "
                                   "with score, section and lines. Useful to see why an answer cites what it cites.")
    p.add_argument("query", nargs="*", help="what to look for")
    p.add_argument("-k", type=int, default=None, metavar="N", help="how many passages (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON: query and hits")
    p.add_argument("--batch", metavar="FILE", help="one query per line (- for stdin); one JSON object per line out")
    p.set_defaults(run=cmd_search)

    p = sub.add_parser("chat", parents=[common], formatter_class=_Formatter,
                       help="ask several questions; follow-ups understood",
                       description="Chat with your notes in the terminal. Follow-ups such as \"and how does that "
                                   "differ from a data scientist?\" are rewritten into standalone questions. "
                                   "Commands: /sources, /clear, /quit.")
    p.set_defaults(run=cmd_chat)

    p = sub.add_parser("ingest", parents=[common], formatter_class=_Formatter,
                       help="index the notes (incremental)",
                       description="Index the notes folder: only new or changed files are embedded, deleted ones are "
                                   "removed. A file given from outside the notes folder is copied into it first.")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders to index (default: the whole corpus)")
    p.add_argument("--rebuild", action="store_true", help="throw the index away and build it again")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=cmd_ingest)

    p = sub.add_parser("doctor", parents=[common], formatter_class=_Formatter,
                       help="check every part and print the fix for each failure",
                       description="Checks the notes, the index, the embedding model, Ollama and the embedded model.")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.set_defaults(run=cmd_doctor)

    p = sub.add_parser("eval", parents=[common], formatter_class=_Formatter,
                       help="measure how far to trust the tutor (retrieval, answers, refusals, latency)",
                       description="Run the eval cases (evals/cases.yaml, or your own file in that format) through the "
                                   "tutor and a plain baseline: retrieval hit@k and MRR, key-point recall, "
                                   "faithfulness, citation validity, refusals, latency. Prints a table, writes a "
                                   "JSON + HTML report, and exits 1 when a metric is under its threshold.")
    p.add_argument("--dataset", metavar="FILE", default="evals/cases.yaml", help="YAML or JSONL cases")
    p.add_argument("--only", metavar="PART",
                   help="retrieval: search only, no LLM (fast); quiz: quiz quality only; answers: all (default)")
    p.add_argument("--quiz", type=int, default=5, metavar="N", help="quiz items to generate and check (default 5)")
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="only cases with this tag, e.g. ci")
    p.add_argument("--case", action="append", default=[], metavar="ID", help="only this case (repeatable)")
    p.add_argument("--limit", type=int, metavar="N", help="at most N cases")
    p.add_argument("--split", metavar="dev|test",
                   help="only the cases of this split (fixed by each case's id; tune on dev, report test)")
    p.add_argument("--no-baseline", action="store_true", help="skip the baseline pipeline (half the time)")
    p.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE",
                   help="override a threshold, e.g. hit@5=0.9 (repeatable)")
    p.add_argument("--report-dir", metavar="DIR", default="evals/reports", help="where reports go")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p.add_argument("--schema", action="store_true", help="print the JSON schema of a dataset file, run nothing")
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser("quiz", parents=[common], formatter_class=_Formatter,
                       help="quiz yourself on your notes: graded, with hints and spaced repetition",
                       description="Questions written from your notes (multiple choice, short answer, flashcards, "
                                   "contrast drills), each citing the passage it comes from. Answers are graded point "
                                   "by point and scheduled for review (FSRS). Commands: /hint (up to 3: hint, stronger "
                                   "hint, answer), /skip, /quit. Ctrl-C stops; graded answers are kept.")
    p.add_argument("--section", metavar="TEXT", help="only sections whose heading path contains TEXT")
    p.add_argument("--kind", choices=["mcq", "short", "card", "contrast"], help="only this kind of question")
    p.add_argument("-n", type=int, default=5, metavar="N", help="how many questions (default 5)")
    p.add_argument("--due", action="store_true", help="only items due for review, weakest first")
    p.add_argument("--json", action="store_true", help="print the items as JSON, one per line, without asking")
    p.add_argument("--progress-db", metavar="FILE", help="the progress database (default in the data directory)")
    p.set_defaults(run=cmd_quiz)

    p = sub.add_parser("export", parents=[common], formatter_class=_Formatter,
                       help="export your quiz questions to Anki (.apkg) or a CSV file",
                       description="Writes the question bank as an Anki package (.apkg: one note per question, with "
                                   "the answer, the cited passage, its source and tags from the section path; "
                                   "exporting again updates the same notes) or a CSV file (question, answer, source). "
                                   "With -n, new questions are written first until there are N.")
    p.add_argument("file", metavar="FILE", help="where to write: NAME.apkg or NAME.csv")
    p.add_argument("-n", type=int, default=0, metavar="N", help="write new questions first until there are N")
    p.add_argument("--section", metavar="TEXT", help="only sections whose heading path contains TEXT")
    p.add_argument("--kind", action="append", choices=["mcq", "short", "card", "contrast"],
                   help="only this kind of question (repeatable; default all)")
    p.add_argument("--progress-db", metavar="FILE", help="the progress database (the bank is kept beside it)")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("progress", parents=[common], formatter_class=_Formatter,
                       help="mastery per section, items due, streak and sections never practised",
                       description="What your quiz attempts say: mastery per section of the notes, how many items "
                                   "are due for review, your streak of days, and the sections never practised.")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--progress-db", metavar="FILE", help="the progress database (default in the data directory)")
    p.set_defaults(run=cmd_progress)

    p = sub.add_parser("ui", parents=[common], formatter_class=_Formatter,
                       help="open the study web app (chat, quiz, progress, notes) in your browser",
                       description="A local web app: chat with cited answers, quizzes with hints, progress charts, "
                                   "your notes and search. Serves on 127.0.0.1 only unless --host says otherwise; "
                                   "binding another address needs --auth. Named API endpoints for gradio_client.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--auth", metavar="USER:PASS", help="require this login (or set TUTOR_UI_AUTH); "
                                                        "required when --host is not a loopback address")
    p.add_argument("--progress-db", metavar="FILE", help="the progress database (default in the data directory)")
    p.set_defaults(run=cmd_ui)
    return parser


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
        return {"query": query, "hits": [h.to_dict(rank) for rank, h in enumerate(hits, 1)]}

    if args.batch:
        return _run_batch(args.batch, console, one)
    query = _text_arg(args.query, "query")
    result = one(query)
    if args.json:
        console.print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print_hits(result["hits"], console)
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


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    if out is None:
        out = sys.stdout
        # A terminal that cannot show a character (an ASCII locale, a Windows code page) gets "?"; never a crash.
        if isinstance(out, io.TextIOWrapper):
            out.reconfigure(errors="replace")
    err = err or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(out)
        return 0
    console = Console(out, err, quiet=args.quiet)
    try:
        return args.run(args, console)
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
