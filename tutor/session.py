"""A quiz session: which items to serve, in what order, and what to do with an answer.

The API the CLI and the UI share (no terminal code here)::

    session = QuizSession(tutor, progress)                      # progress: tutor.progress.Progress
    for item in session.items(kind=None, section=None, n=5, due=False):
        session.hint(item, 1)                                   # 1 hint, 2 stronger hint, 3 reveal
        grade, state = session.answer(item, text, hints_used)   # graded, then committed, then returned

Order: items due for review first (weakest first), then, unless ``due``, items never practised,
cached ones before ones the model must write now; with ``due``, practised items that are weakest
(lowest mastery) follow the due ones instead. Each group is interleaved across the sections of
the notes, so a session does not dwell on one topic. New items are written lazily, one at a time,
so the first question comes as soon as it exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

from tutor import contrast
from tutor.bank import Bank
from tutor.errors import TutorError
from tutor.grading import PASS, Grade, grade, hint
from tutor.progress import ItemState, Progress, utcnow
from tutor.quiz import KIND_NAMES, KINDS, LLM_KINDS, GenerationStats, QuizItem, generate
from tutor.records import Chunk, plain
from tutor.validation import Validator

MIN_CHARS = 60  # a chunk with less text than this has too little to ask about


def top(section: str) -> str:
    return section.split(" > ")[0]


def interleave(items: Sequence[QuizItem]) -> list[QuizItem]:
    """Round-robin across top-level sections, keeping each section's own order.

    >>> from tutor.quiz import QuizItem
    >>> xs = [QuizItem(str(i), "card", "q", section=s) for i, s in enumerate(["A > 1", "A > 2", "B", "A > 3", "C"])]
    >>> [x.id for x in interleave(xs)]
    ['0', '2', '4', '1', '3']
    """
    queues: dict[str, list[QuizItem]] = {}
    for item in items:
        queues.setdefault(top(item.section), []).append(item)
    out: list[QuizItem] = []
    while any(queues.values()):
        for queue in queues.values():
            if queue:
                out.append(queue.pop(0))
    return out


def _spread(chunks: Sequence[Chunk]) -> list[Chunk]:
    """Chunks in round-robin order across top-level sections."""
    queues: dict[str, list[Chunk]] = {}
    for c in chunks:
        queues.setdefault(top(c.section), []).append(c)
    out: list[Chunk] = []
    while any(queues.values()):
        for queue in queues.values():
            if queue:
                out.append(queue.pop(0))
    return out


class QuizSession:
    def __init__(self, tutor, progress: Progress, bank: Bank | None = None, *,  # type: ignore[no-untyped-def]
                 judge: bool = True, log: Callable[[str], None] | None = None) -> None:
        self.tutor = tutor
        self.progress = progress
        self.bank = bank if bank is not None else Bank(progress.path.parent / "quiz-bank.json")
        self.judge = judge
        self.log = log or tutor.log
        self.stats = GenerationStats()

    # --- the notes ------------------------------------------------------------------------------

    def indexed(self) -> list[Chunk]:
        """The chunks of the notes as indexed now, maybe none (the index is built or refreshed first)."""
        self.tutor.ensure_index()
        catalog = self.tutor.load_catalog()
        return sorted(catalog.chunks.values(), key=lambda c: (c.source, c.start)) if catalog else []

    def chunks(self) -> list[Chunk]:
        """The chunks of the notes as indexed now; a TutorError with the fix when there are none."""
        chunks = self.indexed()
        if not chunks:
            raise TutorError(f"there is nothing to quiz on yet: {self.tutor.settings.corpus} has no notes",
                             fix="add notes there (.md, .txt, .pdf, .ipynb, .html), then run: tutor ingest")
        return chunks

    @staticmethod
    def select(chunks: Sequence[Chunk], section: str | None) -> list[Chunk]:
        if not section or not section.strip():
            return list(chunks)
        want = section.strip().lower()
        chosen = [c for c in chunks if want in c.section.lower()]
        if not chosen:
            tops = ", ".join(dict.fromkeys(top(c.section) for c in chunks))
            raise TutorError(f"no section of your notes matches {section!r}", fix=f"try part of one of: {tops}",
                             exit_code=2)
        return chosen

    # --- choosing items -------------------------------------------------------------------------

    def items(self, *, kind: str | None = None, section: str | None = None, n: int = 5, due: bool = False,
              now: datetime | None = None) -> Iterator[QuizItem]:
        """Up to ``n`` items to ask, best first; new ones are written (and banked) as they are needed.

        The selection is checked at once (a bad section or kind raises here); items come lazily.
        """
        if kind is not None and kind not in KINDS:
            raise TutorError(f"unknown kind {kind!r}", fix=f"choose one of: {', '.join(KINDS)}", exit_code=2)
        every = self.chunks()
        chosen = self.select(every, section)
        return self._items(every, chosen, kind, n, due, now or utcnow())

    def _items(self, every: list[Chunk], chosen: list[Chunk], kind: str | None, n: int, due: bool,
               now: datetime) -> Iterator[QuizItem]:
        validator = Validator({c.content_hash: c for c in every}, self.bank.items(every))
        pool = [i for i in self.bank.items(chosen) if kind in (None, i.kind)]
        if kind in (None, "contrast"):
            hashes = {c.content_hash for c in chosen}
            pool += [d for d in contrast.drills(every) if d.chunk_hashes[0] in hashes and not validator.problems(d)]
        states = self.progress.states(i.id for i in pool)
        weakest = sorted((i for i in pool if i.id in states), key=lambda i: self.progress.mastery(states[i.id], now))
        served: set[str] = set()

        def serve(items: Iterable[QuizItem]) -> Iterator[QuizItem]:
            for item in items:
                if len(served) >= n:
                    return
                if item.id not in served:
                    served.add(item.id)
                    yield item

        yield from serve(interleave([i for i in weakest if states[i.id].due <= now]))
        if due:
            yield from serve(interleave([i for i in weakest if self.progress.mastery(states[i.id], now) < PASS]))
            return
        fresh = [i for i in pool if i.id not in states]
        drills = [i for i in fresh if i.kind == "contrast"]
        if kind is None:  # a mixed session: contrast drills take at most a third of it while others can be written
            share = max(1, n // 3)
            yield from serve(interleave([i for i in fresh if i.kind != "contrast"] + drills[:share]))
            drills = drills[share:]
        else:
            yield from serve(interleave(fresh))
        if len(served) < n and kind != "contrast":
            validator.embedder = self.tutor.embedder
            yield from serve(self._written(chosen, kind, validator, n - len(served)))
        yield from serve(interleave(drills))
        yield from serve(weakest)

    def _written(self, chunks: Sequence[Chunk], kind: str | None, validator: Validator,
                 wanted: int) -> Iterator[QuizItem]:
        """New items from the model, valid and banked, one at a time."""
        model = self.tutor.model
        if model is None:
            self.log("(no language model: serving saved questions and contrast drills only)")
            return
        kinds = [kind] if kind else list(LLM_KINDS)
        slots = [(c, kinds[(i + j) % len(kinds)]) for j in range(len(kinds))
                 for i, c in enumerate(_spread(chunks)) if len(plain(c.text)) >= MIN_CHARS]
        made = 0
        for chunk, k in slots:
            if made >= wanted:
                return
            if self.bank.has(chunk, k, model.name):
                continue
            where = chunk.section.rpartition(" > ")[2]
            self.log(f"(writing a {KIND_NAMES[k]} question on “{where}” with {model.name}...)")
            before = len(self.stats.problems)
            item = generate(chunk, k, model, validator.problems, self.stats)
            if item is None:
                self.log(f"warning: skipped a {KIND_NAMES[k]} question on “{where}”: "
                         f"{self.stats.problems[before:][-1] if self.stats.problems[before:] else 'no valid item'}")
                self.bank.mark_failed(chunk, k, model.name)
                continue
            validator.accept(item)
            self.bank.add(item)
            made += 1
            yield item

    # --- answering ------------------------------------------------------------------------------

    def hint(self, item: QuizItem, level: int) -> str:
        return hint(item, level)

    def grade(self, item: QuizItem, answer: str, hints_used: int = 0) -> Grade:
        judge = self.tutor.model if self.judge and item.kind in ("short", "card") else None
        embedder = self.tutor.embedder if item.kind in ("short", "card") else None
        return grade(item, answer, hints_used=hints_used, embedder=embedder, judge=judge)

    def record(self, item: QuizItem, result: Grade, answer: str, now: datetime | None = None) -> ItemState:
        return self.progress.record(item, result, answer, now)

    def answer(self, item: QuizItem, answer: str, hints_used: int = 0,
               now: datetime | None = None) -> tuple[Grade, ItemState]:
        """Grade and store an attempt; it is committed before this returns, so feedback comes after."""
        result = self.grade(item, answer, hints_used)
        return result, self.record(item, result, answer, now)

    def report(self, now: datetime | None = None):  # type: ignore[no-untyped-def]
        return self.progress.report(self.indexed(), now)
