"""The ``tutor`` command line: every command's arguments and help, and nothing that runs them.

``build_parser()`` gives the parser; each subcommand's name lands in ``args.command``, and
``tutor.cli`` runs the command of that name. Options that several commands share (``--json``,
``--batch``, ``--progress-db``, which items) are written once, below.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tutor.config import installed_version

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
KINDS = ["mcq", "short", "card", "contrast"]  # tutor.quiz.KINDS, not imported: --help stays instant
DB_HELP = "the progress database (default in the data directory)"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def _common() -> argparse.ArgumentParser:
    """The options every command takes: where the notes and index are, which model, quiet."""
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
    return common


def _json(p: argparse.ArgumentParser, what: str = "the report") -> None:
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def _batch(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--batch", metavar="FILE", help=f"one {what} per line (- for stdin); one JSON object per line out")


def _progress_db(p: argparse.ArgumentParser, help: str = DB_HELP) -> None:
    p.add_argument("--progress-db", metavar="FILE", help=help)


def _which_items(p: argparse.ArgumentParser, *, several_kinds: bool) -> None:
    """--section and --kind: which quiz items (``export`` takes several kinds, ``quiz`` one)."""
    p.add_argument("--section", metavar="TEXT", help="only sections whose heading path contains TEXT")
    if several_kinds:
        p.add_argument("--kind", action="append", choices=KINDS,
                       help="only this kind of question (repeatable; default all)")
    else:
        p.add_argument("--kind", choices=KINDS, help="only this kind of question")


def build_parser() -> argparse.ArgumentParser:
    """The ``tutor`` parser with every subcommand; the chosen one is ``args.command``."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog="tutor",
        description="A private study tutor over your own notes: cited answers from a local LLM, offline.",
        epilog=EXAMPLES,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"tutor {installed_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], formatter_class=_Formatter, help=help, description=description)

    p = command("ask", "answer a question from your notes, with citations",
                "Answer a question from your notes. Every claim cites a passage [n]; "
                "when the notes don't cover it, the tutor says so and names the nearest sections.")
    p.add_argument("question", nargs="*", help='the question, e.g. "DS vs MLE?"')
    p.add_argument("--json", action="store_true", help="print one JSON object instead of streaming text")
    _batch(p, "question")

    p = command("search", "show the passages that best match a query",
                "Hybrid search (meaning + keywords) over your notes; shows ranked passages "
                "with score, section and lines. Useful to see why an answer cites what it cites. "
                "A name in the query your notes never write (\"Kafka\") is pointed out: the passages "
                "shown are then only the nearest, and ask would refuse.")
    p.add_argument("query", nargs="*", help="what to look for")
    p.add_argument("-k", type=int, default=None, metavar="N", help="how many passages (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON: query, hits and never_mentioned")
    _batch(p, "query")

    command("chat", "ask several questions; follow-ups understood",
            "Chat with your notes in the terminal. Follow-ups such as \"and how does that "
            "differ from a data scientist?\" are rewritten into standalone questions. "
            "Commands: /sources, /clear, /quit.")

    p = command("ingest", "index the notes (incremental)",
                "Index the notes folder: only new or changed files are embedded, deleted ones are "
                "removed. A file given from outside the notes folder is copied into it first.")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders to index (default: the whole corpus)")
    p.add_argument("--rebuild", action="store_true", help="throw the index away and build it again")
    _json(p)

    p = command("doctor", "check every part and print the fix for each failure",
                "Checks the notes, the index, the embedding model, Ollama and the embedded model.")
    _json(p, "the checks")

    p = command("eval", "measure how far to trust the tutor (retrieval, answers, refusals, latency)",
                "Run the eval cases (evals/cases.yaml, or your own file in that format) through the "
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
    _json(p, "the whole result")
    p.add_argument("--schema", action="store_true", help="print the JSON schema of a dataset file, run nothing")

    p = command("quiz", "quiz yourself on your notes: graded, with hints and spaced repetition",
                "Questions written from your notes (multiple choice, short answer, flashcards, "
                "contrast drills), each citing the passage it comes from. Answers are graded point "
                "by point and scheduled for review (FSRS). Commands: /hint (up to 3: hint, stronger "
                "hint, answer), /skip, /quit. Ctrl-C stops; graded answers are kept.")
    _which_items(p, several_kinds=False)
    p.add_argument("-n", type=int, default=5, metavar="N", help="how many questions (default 5)")
    p.add_argument("--due", action="store_true", help="only items due for review, weakest first")
    p.add_argument("--json", action="store_true", help="print the items as JSON, one per line, without asking")
    _progress_db(p)

    p = command("export", "export your quiz questions to Anki (.apkg) or a CSV file",
                "Writes the question bank as an Anki package (.apkg: one note per question, with "
                "the answer, the cited passage, its source and tags from the section path; "
                "exporting again updates the same notes) or a CSV file (question, answer, source). "
                "With -n, new questions are written first until there are N.")
    p.add_argument("file", metavar="FILE", help="where to write: NAME.apkg or NAME.csv")
    p.add_argument("-n", type=int, default=0, metavar="N", help="write new questions first until there are N")
    _which_items(p, several_kinds=True)
    _progress_db(p, "the progress database (the bank is kept beside it)")

    p = command("progress", "mastery per section, items due, streak and sections never practised",
                "What your quiz attempts say: mastery per section of the notes, how many items "
                "are due for review, your streak of days, and the sections never practised.")
    _json(p)
    _progress_db(p)

    p = command("ui", "open the study web app (chat, quiz, progress, notes) in your browser",
                "A local web app: chat with cited answers, quizzes with hints, progress charts, "
                "your notes and search. Serves on 127.0.0.1 only unless --host says otherwise; "
                "binding another address needs --auth. Named API endpoints for gradio_client.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--auth", metavar="USER:PASS", help="require this login (or set TUTOR_UI_AUTH); "
                                                        "required when --host is not a loopback address")
    _progress_db(p)
    return parser
