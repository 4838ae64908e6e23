"""What the study UI does, without Gradio: thin adapters over the tutor's own generators and APIs.

``Study`` holds the state every browser tab shares (one ``Tutor``: models load once); what a page shows
is made from its results by ``ui.render``. Nothing here starts a server; the tests call these directly.
"""

from __future__ import annotations

import queue
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor.catalog import load_catalog
from tutor.errors import TutorError
from tutor.grading import REVEAL, Grade
from tutor.ingest import stale_sources
from tutor.llm import LLMError
from tutor.notes import MAX_FILE_BYTES, NOTE_SUFFIXES, is_note, max_bytes, note_files
from tutor.pipeline import check_notes_folder
from tutor.quiz import KINDS, QuizItem
from tutor.records import Answer, AnswerEvent, Notice, TextDelta
from tutor.reviews import ItemState, ProgressReport, Reviews
from tutor.session import QuizSession
from ui.render import ingest_markdown, notes_markdown, status_markdown

MAX_SERVED = 500  # quiz items remembered for grading by id (the API grades by id)


@dataclass(frozen=True)
class NotesFolder:
    """The notes folder and its index as the Notes tab reports them."""

    corpus: Path
    index: Path
    files: tuple[tuple[str, int], ...] | None  # (path in the folder, bytes) of each note; None: no folder yet
    chunks: int | None  # chunks in the index; None: not built yet
    stale: tuple[str, ...]  # notes changed since the index was built


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

    def notes_problem(self) -> str:
        """Why questions cannot be answered from the notes now (no notes yet, a broken index...), or ""."""
        try:
            with self._lock:
                self.tutor.open_index()
        except TutorError as exc:
            return str(exc)
        return ""

    def status_markdown(self) -> str:
        """The page's status line: the backend, and any problem with the model or the notes."""
        name, problem = self.backend()
        return status_markdown(name, problem, self.notes_problem())

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

    def _session(self, reviews: Reviews) -> QuizSession:
        return QuizSession(self.tutor, reviews, log=_log)

    def quiz_next(self, section: str = "", kind: str = "", due: bool = False,
                  exclude: Sequence[str] = ()) -> QuizItem | None:
        """The best item not in ``exclude`` (the ones this tab has seen), or None when there is none."""
        wanted: str | None = (kind or "").strip() or None
        if wanted in ("any", "all"):
            wanted = None
        if wanted is not None and wanted not in KINDS:
            raise TutorError(f"unknown kind {wanted!r}", fix=f"choose one of: {', '.join(KINDS)}")
        with Reviews(self.tutor.settings.progress_path) as reviews:
            session = self._session(reviews)
            seen = set(exclude)
            for item in session.items(kind=wanted, section=section or None, n=len(seen) + 1, due=due):
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
        with Reviews(self.tutor.settings.progress_path) as reviews:
            grade, state = self._session(reviews).answer(item, answer, max(0, min(int(hints_used), REVEAL)))
        return item, grade, state

    def progress_report(self) -> ProgressReport:
        with Reviews(self.tutor.settings.progress_path) as reviews:
            return self._session(reviews).report()

    def sections(self) -> list[str]:
        from tutor.session import top

        catalog = self.tutor.load_catalog()
        if catalog is None:
            return []
        return list(dict.fromkeys(top(c.section) for c in sorted(catalog.chunks.values(),
                                                                   key=lambda c: (c.source, c.start))))

    # --- notes --------------------------------------------------------------------------------------

    def notes_folder(self) -> NotesFolder:
        """The notes folder, its note files and the state of their index."""
        settings = self.tutor.settings
        corpus = settings.corpus
        if not corpus.exists():
            return NotesFolder(corpus, settings.index, None, None, ())
        check_notes_folder(corpus)
        files = list(note_files(corpus))
        catalog = load_catalog(settings.index)
        return NotesFolder(corpus, settings.index, tuple((str(p.relative_to(corpus)), p.stat().st_size) for p in files),
                           None if catalog is None else len(catalog.chunks), tuple(stale_sources(corpus, catalog)))

    def notes_status(self) -> str:
        """The Notes tab's status, in Markdown."""
        return notes_markdown(self.notes_folder())

    def save_note(self, name: str, data: bytes) -> Path:
        """Store a note under the notes folder (never elsewhere); returns its path."""
        if not is_note(name):
            raise TutorError(f"{Path(name).name} is not a note file", fix=f"notes end in {', '.join(NOTE_SUFFIXES)}")
        binary = name.lower().endswith(".pdf")
        limit = max_bytes(name) if binary else MAX_FILE_BYTES
        if len(data) > limit:
            raise TutorError(f"{Path(name).name} is larger than {limit // (1024 * 1024)} MB",
                             fix="split it into smaller notes")
        try:
            if not binary:
                data.decode("utf-8")
        except UnicodeDecodeError:
            raise TutorError(f"{Path(name).name} is not UTF-8 text", fix="save it as UTF-8") from None
        corpus = self.tutor.settings.corpus
        if corpus.exists():
            check_notes_folder(corpus)
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
        return ingest_markdown(report)
