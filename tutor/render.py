"""Records in words: the terminal's output (``Console`` and the printers of answers, hits and checks),
and the few wordings the web app shares with it (a due date in words, option letters, search signals).

Printing only: no command logic, no model, no index. ``tutor.cli`` decides what to print, this says how.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from pathlib import Path

    from tutor.doctor import Check
    from tutor.ingest import IngestReport
    from tutor.records import Answer, AnswerEvent

LETTERS = "ABCDEFGH"  # multiple-choice options are shown as A) B) C) ...
HIT_LINES = 6  # lines of a passage shown under a search hit in the terminal


def when(due: datetime, now: datetime | None = None) -> str:
    """A due date in words.

    >>> from datetime import timezone
    >>> t = datetime(2026, 11, 24, tzinfo=timezone.utc)
    >>> when(t + timedelta(minutes=10), t), when(t + timedelta(days=3, hours=1), t), when(t, t)
    ('in 10 minutes', 'in 3 days', 'now')
    >>> when(t + timedelta(seconds=59), t)
    'in 1 minute'
    """
    from tutor.reviews import utcnow  # lazily: the scheduler's library is not needed for ``--help``

    left = due - (now or utcnow())
    if left <= timedelta(0):
        return "now"
    if left < timedelta(hours=1):
        minutes = max(1, round(left.total_seconds() / 60))
        return f"in {minutes} minute{'s' * (minutes != 1)}"
    if left < timedelta(days=1):
        return f"in {round(left.total_seconds() / 3600)} hours"
    return f"in {left.days} days"


def hit_signals(hit: dict[str, Any]) -> str:
    """The scores behind a search hit (its ``to_dict`` form).

    >>> hit_signals({"score": 0.0325, "dense": 0.61234, "keyword": None})
    'score 0.0325 · cosine 0.61'
    """
    signals = f"score {hit['score']:.4f}"
    if hit["dense"] is not None:
        signals += f" · cosine {hit['dense']:.2f}"
    if hit["keyword"] is not None:
        signals += f" · bm25 {hit['keyword']:.2f}"
    return signals


class Console:
    """Where output goes: answers to stdout, status and progress to stderr; colour only on a terminal."""

    def __init__(self, out: TextIO, err: TextIO, quiet: bool = False) -> None:
        self.out, self.err, self.quiet = out, err, quiet
        self.color = out.isatty() and not os.environ.get("NO_COLOR")

    def style(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def print(self, text: str = "", end: str = "\n") -> None:
        self.out.write(text + end)
        self.out.flush()

    def status(self, text: str) -> None:
        if not self.quiet:
            self.err.write(text + "\n")
            self.err.flush()

    def warn(self, text: str) -> None:
        self.err.write(f"warning: {text}\n")
        self.err.flush()


def print_answer_stream(events: Iterable[AnswerEvent], console: Console) -> Answer:
    """Print an answer's text as it is written (notices as warnings); returns the finished ``Answer``."""
    from tutor.records import Answer, Notice, TextDelta

    midline = False
    for event in events:
        match event:
            case TextDelta(text=text):
                console.print(text, end="")
                if text:
                    midline = not text.endswith("\n")
            case Notice(text=text):
                if midline:  # what follows is written afresh: not glued to the text before it
                    console.print("")
                    midline = False
                console.warn(text)
            case Answer():
                if midline and event.refused:  # a withheld draft: the refusal goes on a line of its own
                    console.print("")
                return event
    raise AssertionError("an answer stream ends with its Answer")


def print_answer_footer(answer: Answer, console: Console) -> None:
    """What follows an answer's text: its warnings, the sources it cites, the backend and timings."""
    if answer.refused:
        console.print(answer.answer)
        for warning in answer.warnings:  # why a written answer was withheld, as the web page says
            console.warn(warning)
        if answer.nearest:
            console.print(console.style("Nearest sections of your notes:", "1"))
            for label in answer.nearest:
                console.print(f"  - {label}")
        console.print(console.style(f"({answer.backend})", "2"))
        return
    console.print("")
    for n in answer.removed_markers:
        console.warn(f"removed the marker [{n}]: it names no passage the answer was given")
    for sentence in answer.unsupported:
        console.warn(f"no citation supports: {sentence!r}")
    for warning in answer.warnings:
        console.warn(warning)
    if answer.citations:
        console.print(console.style("\nSources:", "1"))
        for c in answer.citations:
            console.print(f"  [{c.n}] {c.label()}")
    t = answer.timings
    first = f" · first token {t.first_token_ms / 1000:.1f}s" if t.first_token_ms is not None else ""
    console.print(console.style(
        f"({answer.backend} · retrieval {t.retrieve_ms:.0f} ms{first} · total {t.total_ms / 1000:.1f}s)", "2"))


def print_sources(answer: Answer | None, console: Console) -> None:
    """Chat's ``/sources``: each passage the last answer cites, in full."""
    for c in answer.citations if answer else ():
        console.print(f"[{c.n}] {c.label()}\n{c.text}\n")


def print_hits(hits: Sequence[dict[str, Any]], console: Console) -> None:
    """Ranked search hits (their ``to_dict`` form): where, the scores, the first lines of the passage."""
    from tutor.records import where as place

    if not hits:
        console.print("No passages found.")
    for hit in hits:
        where = (f"{hit['rank']}. {place(hit['source'], hit['section'], hit.get('page'), hit.get('cell'))} "
                 f"(lines {hit['lines'][0]}-{hit['lines'][1]})")
        console.print(console.style(where, "1") + console.style(f"  {hit_signals(hit)}", "2"))
        shown = [line for line in hit["text"].splitlines() if line.strip()]  # markup left out of a note is blank
        for line in shown[:HIT_LINES]:
            console.print(f"   {line}")
        if len(shown) > HIT_LINES:
            console.print("   ...")


def print_checks(checks: Sequence[Check], console: Console) -> None:
    """``tutor doctor``'s checks: ok, FAIL or warn, the detail, and the fix for each failure."""
    for c in checks:
        if c.ok:
            mark = console.style("ok  ", "32")
        else:
            mark = console.style("FAIL", "31") if c.required else console.style("warn", "33")
        console.print(f"{mark} {c.name:<16} {c.detail}")
        if not c.ok and c.fix:
            console.print(f"     {'':<16} fix: {c.fix}")


def print_ingest(report: IngestReport, corpus: Path, console: Console) -> None:
    """An ingest's warnings and summary, and where notes go when there are none."""
    for warning in report.warnings:
        console.warn(warning)
    console.print(report.summary())
    if not report.chunks:
        console.print(f"No notes in {corpus} yet: put notes there (.md, .txt, .pdf, .ipynb, .html; or copy "
                      "one in with tutor ingest FILE), then run tutor ingest again.")


def print_page_status(markdown: str, console: Console) -> None:
    """The web app's status line (Markdown) in the terminal: plain status, its problems as warnings."""
    for line in markdown.replace("**", "").replace("`", "").split("  \n"):
        if line.startswith("⚠️ "):
            problem = line.removeprefix("⚠️ ")
            console.warn(f"{problem[:1].lower()}{problem[1:]} (the page shows this too)")
        else:
            console.status(line)
