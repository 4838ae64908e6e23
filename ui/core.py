"""What the study UI does, without Gradio: thin adapters over the tutor's own generators and APIs.

``Study`` holds the state every browser tab shares (one ``Tutor``: models load once) and turns the
core's results into what a page shows (HTML for answers and citations, Markdown for quiz items and
grades). Nothing here starts a server; the tests call these functions directly.
"""

from __future__ import annotations

import html
import queue
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tutor.errors import TutorError
from tutor.grading import REVEAL, Grade
from tutor.ingest import MAX_FILE_BYTES, NOTE_SUFFIXES, load_catalog, stale_sources
from tutor.llm import LLMError
from tutor.progress import ItemState, Progress, ProgressReport
from tutor.quiz import KIND_NAMES, KINDS, QuizItem
from tutor.records import Answer, AnswerEvent, Notice, TextDelta
from tutor.session import QuizSession

LETTERS = "ABCDEFGH"
MAX_SERVED = 500  # quiz items remembered for grading by id (the API grades by id)
NOT_COVERED_NOTICE = "Your notes don't cover this question, so the tutor will not answer it from general knowledge."
MARKER = re.compile(r"\[(\d+)\]")


def _log(text: str) -> None:
    sys.stderr.write(f"[tutor ui] {text}\n")


def on_one_thread(make: Callable[[], Iterator[Any]]) -> Iterator[Any]:
    """The items of ``make()``, produced on one thread of its own whoever advances this iterator.

    Gradio advances a streaming handler from whichever worker thread is free, but the llama.cpp model
    holds its lock (an RLock, owned by one thread) across its yields: advanced from another thread, the
    lock cannot be released and the model stays locked. Stopping early (the page went away) closes the
    inner generator on its own thread too.
    """
    pieces: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        try:
            inner = make()
            try:
                for item in inner:
                    pieces.put(("item", item))
                    if stop.is_set():
                        break
            finally:
                close = getattr(inner, "close", None)
                if close is not None:
                    close()
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            pieces.put(("error", exc))
        else:
            pieces.put(("done", None))

    threading.Thread(target=run, name="tutor-stream", daemon=True).start()
    try:
        while True:
            kind, value = pieces.get()
            if kind == "error":
                raise value
            if kind == "done":
                return
            yield value
    finally:
        stop.set()


def pairs(history: Sequence[Any]) -> list[tuple[str, str]]:
    """(question, answer) pairs from a JSON-ish history: [[q, a], ...] or [{"question": q, "answer": a}, ...].

    >>> pairs([["DS vs MLE?", "DS analyse [1]."], {"question": "and MLE?", "answer": "Build [1]."}])
    [('DS vs MLE?', 'DS analyse [1].'), ('and MLE?', 'Build [1].')]
    """
    out = []
    for turn in history or ():
        if isinstance(turn, dict):
            out.append((str(turn.get("question", "")), str(turn.get("answer", ""))))
        elif isinstance(turn, list | tuple) and len(turn) == 2:
            out.append((str(turn[0]), str(turn[1])))
    return [(q, a) for q, a in out if q.strip()]


def safe_note_name(name: str) -> str:
    """A file name that stays inside the notes folder: no folders, no dot files, plain characters.

    >>> safe_note_name("../../etc/passwd.md"), safe_note_name("Week 2: RAG notes.markdown"), safe_note_name("..md")
    ('passwd.md', 'Week-2-RAG-notes.markdown', 'note.md')
    """
    base = Path(name.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-._")[:80] or "note"
    return f"{stem}.{suffix.lower()}" if dot else stem


# --- rendering -------------------------------------------------------------------------------------


def citation_html(answer: Answer, open_all: bool = False) -> str:
    """Each cited passage as a clickable ``[n]`` that opens to its text, with its file, section and lines."""
    parts = []
    for c in answer.citations:
        label = f"[{c.n}] {c.source} › {c.section} · lines {c.lines[0]}-{c.lines[1]}"
        parts.append(f'<details class="citation" id="cite-{c.n}"{" open" if open_all else ""}>'
                     f"<summary>{html.escape(label)}</summary>"
                     f'<pre class="cited-text">{html.escape(c.text)}</pre></details>')
    return "\n".join(parts)


def answer_html(answer: Answer) -> str:
    """The answer as the chat shows it: notices, the text with its markers, and the citations."""
    if answer.refused:
        body = f'<p class="notice not-covered"><strong>Not in your notes.</strong> {NOT_COVERED_NOTICE}</p>'
        if answer.nearest:
            near = "".join(f"<li>{html.escape(n)}</li>" for n in answer.nearest)
            body += f"<p>Nearest sections of your notes:</p><ul>{near}</ul>"
        for w in answer.warnings:
            body += f'<p class="warning">({html.escape(w)})</p>'
        return body
    text = html.escape(answer.answer).replace("\n", "<br>")
    text = MARKER.sub(lambda m: f'<a class="marker" href="#cite-{m.group(1)}">[{m.group(1)}]</a>', text)
    out = f'<div class="answer">{text}</div>'
    if answer.incomplete:
        out += '<p class="warning">(the answer was cut off; press Retry to ask again)</p>'
    if answer.citations:
        out += '<div class="sources"><strong>Sources</strong> (click one to read the passage):\n'
        out += citation_html(answer) + "</div>"
    return out


def sources_html(answer: Answer | None) -> str:
    if answer is None or not answer.citations:
        return '<p class="muted">The passages the last answer cites appear here.</p>'
    return citation_html(answer, open_all=True)


def item_markdown(item: QuizItem, number: int) -> str:
    where = item.section.rpartition(" > ")[2]
    text = f"**Q{number} · {KIND_NAMES[item.kind]} · {where}**\n\n{item.question}"
    if item.options:
        text += "\n\n" + "\n".join(f"- **{letter})** {option}" for letter, option in zip(LETTERS, item.options))
    return text


def grade_markdown(item: QuizItem, grade: Grade, state: ItemState | None) -> str:
    lines = []
    if grade.kind in ("mcq", "contrast"):
        if grade.correct:
            lines.append("### ✓ Correct")
        else:
            letter = LETTERS[item.answer_index or 0]
            lines.append(f"### ✗ Not quite: the answer is {letter}) {item.answer}")
    else:
        mark = "✓" if grade.correct else "✗" if grade.score < 0.5 else "~"
        lines.append(f"### {mark} Score {grade.score:.0%}: {len(grade.hit)} of {len(grade.points)} key points")
        for p in grade.points:
            lines.append(f"- ✓ hit: {p.point}" if p.hit else f"- ✗ missed: {p.point}")
    if grade.note:
        lines.append(f"\n({grade.note})")
    taught = [p.teaching for p in grade.missed if p.teaching is not None]
    if taught:
        lines.append("\n**Read again:**")
        seen = set()
        for c in taught:
            if c.label() in seen:
                continue
            seen.add(c.label())
            quoted = "\n".join(f"> {line}" for line in c.text.strip().splitlines()[:12])
            lines.append(f"\n*{c.label()}*\n\n{quoted}")
    elif item.citations:
        lines.append(f"\n*Source: {item.citations[0].label()}*")
    if state is not None:
        from tutor.quiz_cli import when

        hinted = f" · {grade.hints_used} hint{'s' * (grade.hints_used != 1)} used" if grade.hints_used else ""
        lines.append(f"\nRecorded as {grade.rating.name.lower()}{hinted} · next review {when(state.due)}")
    return "\n".join(lines)


def public_item(item: QuizItem) -> dict[str, Any]:
    """An item as the API serves it before it is answered: no answer in it."""
    return {"id": item.id, "kind": item.kind, "section": item.section, "question": item.question,
            "options": list(item.options)}


# --- the shared state ------------------------------------------------------------------------------


class Study:
    """One tutor for every browser tab; quiz items remembered by id so they can be graded later."""

    def __init__(self, tutor_factory: Callable[[], Any]) -> None:
        self._factory = tutor_factory
        self._tutor: Any = None
        self._fallback: Any = None
        self._items: OrderedDict[str, QuizItem] = OrderedDict()
        self._lock = threading.RLock()  # index changes and first loads happen once at a time

    @property
    def tutor(self) -> Any:
        with self._lock:
            if self._tutor is None:
                self._tutor = self._factory()
            return self._tutor

    def backend(self) -> tuple[str, str]:
        """(the backend writing answers, a problem if the configured one is down)."""
        try:
            return self.tutor.backend_name, ""
        except TutorError as exc:
            return "extractive", str(exc)

    def status_markdown(self) -> str:
        name, problem = self.backend()
        text = f"**Backend:** `{name}`"
        if name == "extractive":
            text += " (no language model: answers are the cited passages themselves)"
        if problem:
            text += f"  \n⚠️ The language model is not available: {problem}"
        return text

    # --- chat ---------------------------------------------------------------------------------------

    def _extractive(self) -> Any:
        from dataclasses import replace

        from tutor.pipeline import Tutor

        with self._lock:
            if self._fallback is None:
                t = self.tutor
                self._fallback = Tutor(replace(t.settings, backend="extractive"), embedder=t.embedder, store=t.store,
                                       log=t.log, progress=False)
            return self._fallback

    def ask(self, question: str, history: Sequence[tuple[str, str]] = ()) -> Iterator[AnswerEvent]:
        """The tutor's stream (``TextDelta`` pieces, then the ``Answer``); when the model is down, a ``Notice``
        first, then the extractive answer. Bad questions and a missing index still raise ``TutorError``.
        The answer is written on one thread of its own (see ``on_one_thread``)."""
        return on_one_thread(lambda: self._ask(question, history))

    def _ask(self, question: str, history: Sequence[tuple[str, str]]) -> Iterator[AnswerEvent]:
        shown = False
        try:
            for event in self.tutor.ask(question, history):
                shown = shown or isinstance(event, TextDelta)
                yield event
            return
        except LLMError as exc:  # the model could not be opened, or failed before writing anything
            if shown:
                raise
            _log(f"language model failed: {exc}")
            yield Notice(f"The language model is not available ({exc.message}). "
                         "Here is the extractive answer instead (the cited passages themselves).")
        yield from self._extractive().ask(question, history)

    def chat(self, question: str, history: Sequence[tuple[str, str]] = ()) -> tuple[Answer, str]:
        """The finished answer and any notice (model down), for the API."""
        notice, answer = "", None
        for event in self.ask(question, history):
            match event:
                case Notice(text=text):
                    notice = text
                case Answer():
                    answer = event
        assert answer is not None, "an answer stream ends with its Answer"
        return answer, notice

    def search(self, query: str, k: int = 5) -> list[dict[str, Any]]:
        if not 1 <= int(k) <= 50:
            raise TutorError(f"k must be between 1 and 50, not {k}")
        return [h.to_dict(rank) for rank, h in enumerate(self.tutor.search(query, int(k)), 1)]

    # --- quiz ---------------------------------------------------------------------------------------

    def _session(self, progress: Progress) -> QuizSession:
        return QuizSession(self.tutor, progress, log=_log)

    def quiz_next(self, section: str = "", kind: str = "", due: bool = False,
                  exclude: Sequence[str] = ()) -> QuizItem | None:
        """The best item not in ``exclude`` (the ones this tab has seen), or None when there is none."""
        kind = (kind or "").strip() or None
        if kind in ("any", "all"):
            kind = None
        if kind is not None and kind not in KINDS:
            raise TutorError(f"unknown kind {kind!r}", fix=f"choose one of: {', '.join(KINDS)}")
        with Progress(self.tutor.settings.progress_path) as progress:
            session = self._session(progress)
            seen = set(exclude)
            for item in session.items(kind=kind, section=section or None, n=len(seen) + 1, due=due):
                if item.id not in seen:
                    self._remember(item)
                    return item
        return None

    def _remember(self, item: QuizItem) -> None:
        self._items[item.id] = item
        self._items.move_to_end(item.id)
        while len(self._items) > MAX_SERVED:
            self._items.popitem(last=False)

    def item(self, item_id: str) -> QuizItem:
        try:
            return self._items[item_id]
        except KeyError:
            raise TutorError(f"no quiz item {item_id!r} was served by this app",
                             fix="get one from /quiz_next first") from None

    def quiz_hint(self, item_id: str, level: int) -> str:
        from tutor.grading import hint

        return hint(self.item(item_id), max(1, min(int(level), REVEAL)))

    def quiz_grade(self, item_id: str, answer: str, hints_used: int = 0) -> tuple[QuizItem, Grade, ItemState]:
        item = self.item(item_id)
        with Progress(self.tutor.settings.progress_path) as progress:
            grade, state = self._session(progress).answer(item, answer, max(0, min(int(hints_used), REVEAL)))
        return item, grade, state

    def progress_report(self) -> ProgressReport:
        with Progress(self.tutor.settings.progress_path) as progress:
            return self._session(progress).report()

    def sections(self) -> list[str]:
        from tutor.session import top

        catalog = self.tutor.load_catalog()
        if catalog is None:
            return []
        return list(dict.fromkeys(top(c.section) for c in sorted(catalog.chunks.values(),
                                                                   key=lambda c: (c.source, c.start))))

    # --- notes --------------------------------------------------------------------------------------

    def notes_status(self) -> str:
        settings = self.tutor.settings
        corpus = settings.corpus
        if not corpus.is_dir():
            return f"No notes folder at `{corpus}` yet: add a note below."
        files = sorted(p for p in corpus.rglob("*") if p.is_file() and p.name.lower().endswith(NOTE_SUFFIXES))
        catalog = load_catalog(settings.index)
        stale = stale_sources(corpus, catalog)
        lines = [f"**Notes folder:** `{corpus}` · **index:** `{settings.index}`", ""]
        if catalog is None:
            lines.append("Index: **not built yet** (it is built on the first question, or press Re-index).")
        else:
            lines.append(f"Index: **{len(catalog.chunks)} chunks** from {len(files)} file(s)"
                         + (f"; **out of date** for: {', '.join(stale)}" if stale else "; up to date."))
        lines.append("")
        lines += [f"- `{p.relative_to(corpus)}` ({p.stat().st_size:,} bytes)" for p in files]
        return "\n".join(lines)

    def save_note(self, name: str, data: bytes) -> Path:
        """Store a note under the notes folder (never elsewhere); returns its path."""
        if not name.lower().endswith(NOTE_SUFFIXES):
            raise TutorError(f"{Path(name).name} is not a note file", fix=f"notes end in {', '.join(NOTE_SUFFIXES)}")
        if len(data) > MAX_FILE_BYTES:
            raise TutorError(f"{Path(name).name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB",
                             fix="split it into smaller notes")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise TutorError(f"{Path(name).name} is not UTF-8 text", fix="save it as UTF-8") from None
        corpus = self.tutor.settings.corpus
        corpus.mkdir(parents=True, exist_ok=True)
        target = corpus.resolve() / safe_note_name(name)
        stem, suffix = target.stem, target.suffix
        n = 2
        while target.exists() and target.read_bytes() != data:
            target = target.with_name(f"{stem}-{n}{suffix}")
            n += 1
        assert target.parent == corpus.resolve()
        target.write_bytes(data)
        return target

    def reindex(self, only: Sequence[Path] = (), rebuild: bool = False) -> str:
        with self._lock:
            report = self.tutor.ingest(only=only, rebuild=rebuild)
            self._fallback = None
        text = report.summary()
        for w in report.warnings:
            text += f"\n- warning: {w}"
        return text
