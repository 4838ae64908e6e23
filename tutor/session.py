"""A quiz session: which items to serve, in what order, and what to do with an answer.

The API the CLI and the UI share (no terminal code here)::

    session = QuizSession(tutor, reviews)                       # reviews: tutor.reviews.Reviews
    for item in session.items(kind=None, section=None, n=5, due=False):
        session.hint(item, 1)                                   # 1 hint, 2 stronger hint, 3 reveal
        grade, state = session.answer(item, text, hints_used)   # graded, then committed, then returned

Order: items due for review first (weakest first), then, unless ``due``, items never practised,
cached ones before ones the model must write now; with ``due``, practised items that are weakest
(lowest mastery) follow the due ones instead. Each group is interleaved across the sections of
the notes, so a session does not dwell on one topic. New items are written lazily, one at a time,
so the first question comes as soon as it exists.

Kinds follow the passage: a multiple-choice item only where the notes have siblings to take wrong
options from (``tutor.choices``; a chunk without them gets the other kinds), a definition becomes a
flashcard, and meta content (links, tables of contents, pointers to courses) is never asked about.
Items built from the notes' structure alone (ordering, "which is NOT", definitions) need no model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

from tutor import contrast
from tutor.bank import Bank
from tutor.cards import line_card, list_card, table_card
from tutor.choices import Plan, Planner
from tutor.errors import TutorError
from tutor.grading import PASS, Grade, grade, hint
from tutor.llm import ChatModel
from tutor.phrasing import LIST_ANSWER, labelled, list_entries, list_lines, listed_short, short_lines
from tutor.quiz import (
    KIND_NAMES,
    KINDS,
    LLM_KINDS,
    GenerationStats,
    QuizItem,
    build_planned,
    definition_card,
    generate,
    note_text,
)
from tutor.records import Chunk
from tutor.reviews import ItemState, Reviews, utcnow
from tutor.siblings import definitions, titles
from tutor.validation import Validator

MIN_CHARS = 60  # a chunk with less text than this has too little to ask about
REPAIRED = 2  # a whole item the model writes: a first try and one repair naming the problem, no blind third try


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
    def __init__(self, tutor, reviews: Reviews, bank: Bank | None = None, *,  # type: ignore[no-untyped-def]
                 judge: bool = True, log: Callable[[str], None] | None = None) -> None:
        self.tutor = tutor
        self.reviews = reviews
        self.bank = bank if bank is not None else Bank(reviews.path.parent / "quiz-bank.json")
        self.judge = judge
        self.log = log or tutor.log
        self.stats = GenerationStats()
        self._plans: tuple[tuple[str, ...], Planner] | None = None

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
        states = self.reviews.states(i.id for i in pool)
        weakest = sorted((i for i in pool if i.id in states), key=lambda i: self.reviews.mastery(states[i.id], now))
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
            yield from serve(interleave([i for i in weakest if self.reviews.mastery(states[i.id], now) < PASS]))
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
            yield from serve(self._written(every, chosen, kind, validator, n - len(served)))
        yield from serve(interleave(drills))
        yield from serve(weakest)

    def bank_items(self, *, kinds: Sequence[str] | None = None, section: str | None = None,
                   n: int = 0) -> list[QuizItem]:
        """The bank's items and the notes' contrast drills for this selection, in note order, after writing
        new ones (with the quiz's progress lines) while there are fewer than ``n``."""
        for kind in kinds or ():
            if kind not in KINDS:
                raise TutorError(f"unknown kind {kind!r}", fix=f"choose one of: {', '.join(KINDS)}", exit_code=2)
        every = self.chunks()
        chosen = self.select(every, section)
        wanted = list(kinds or KINDS)
        validator = Validator({c.content_hash: c for c in every}, self.bank.items(every))

        def stored() -> list[QuizItem]:
            pool = [i for i in self.bank.items(chosen) if i.kind in wanted]
            if "contrast" in wanted:
                hashes = {c.content_hash for c in chosen}
                pool += [d for d in contrast.drills(every) if d.chunk_hashes[0] in hashes and not validator.problems(d)]
            first = {c.content_hash: (c.source, c.start) for c in every}
            return sorted(pool, key=lambda i: (first.get(i.chunk_hashes[0], ("", 0)), i.kind, i.id))

        have = stored()
        writable = [k for k in wanted if k != "contrast"]
        if len(have) < n and writable:
            validator.embedder = self.tutor.embedder
            for kind in writable:
                missing = n - len(stored())
                if missing <= 0:
                    break
                for _ in self._written(every, chosen, kind if len(writable) == 1 else None, validator, missing):
                    pass
                if len(writable) > 1:
                    break  # one mixed pass writes every kind in turn
            have = stored()
        return have

    def _planner(self, every: Sequence[Chunk]) -> Planner:
        key = tuple(c.content_hash for c in every)
        if self._plans is None or self._plans[0] != key:
            corpus = self.tutor.settings.corpus
            names = titles(corpus, {c.source for c in every}) if not self.tutor.settings.chroma_url else {}
            self._plans = (key, Planner(every, names))
        return self._plans[1]

    def _written(self, every: Sequence[Chunk], chunks: Sequence[Chunk], kind: str | None, validator: Validator,
                 wanted: int) -> Iterator[QuizItem]:
        """New items, valid and banked, one at a time: from the model, or from the notes' structure alone."""
        model = self.tutor.model
        if model is None:
            self.log("(no language model: serving saved questions, contrast drills and items built from the "
                     "notes' structure only)")
        planner = self._planner(every)
        kinds = [kind] if kind else list(LLM_KINDS)
        slots = [(c, kinds[(i + j) % len(kinds)]) for j in range(len(kinds))
                 for i, c in enumerate(_spread(chunks)) if len(note_text(c)) >= MIN_CHARS]
        made = 0
        for chunk, k in slots:
            if made >= wanted:
                return
            item = self._one(chunk, k, planner, model, validator, made)
            if item is None and kind is None:  # a mixed session: the passage's item of another kind, from the notes
                item = next((i for other in kinds if other != k
                             if (i := self._one(chunk, other, planner, None, validator, made)) is not None), None)
            if item is None:
                continue
            validator.accept(item)
            self.bank.add(item)
            made += 1
            yield item

    def _one(self, chunk: Chunk, kind: str, planner: Planner, model: ChatModel | None, validator: Validator,
             made: int) -> QuizItem | None:
        """One new item of ``kind`` on ``chunk``, or None (nothing fits, already banked, or it failed)."""
        shapes = self.bank.shapes(chunk)
        where = chunk.section.rpartition(" > ")[2]
        if kind == "mcq":
            plans = planner.plans(chunk)  # none: no siblings in the notes, so the chunk gets other kinds
            plans = plans[made % len(plans):] + plans[:made % len(plans)] if plans else []
            for plan in plans:
                generator = model.name if plan.phrased_by_model and model is not None else "notes"
                if plan.shape in shapes or self.bank.has(chunk, f"mcq:{plan.shape}", generator):
                    continue
                if not plan.phrased_by_model or model is None:  # no model: the plan's own wording
                    item = build_planned(plan, validator.problems, self.stats)
                else:
                    item = self._model_item(chunk, "mcq", model, validator, where, plan)
                if item is None:
                    self.bank.mark_failed(chunk, f"mcq:{plan.shape}", generator)
                return item
            return None
        if kind == "card" and "definition" not in shapes:
            for term, meaning in definitions(chunk):
                card = definition_card(chunk, term, meaning)
                if not validator.problems(card):
                    self.stats.built += 1
                    return card
        if kind == "card" and "fact" not in shapes:
            # built from the notes: a list entry by its label or as a cloze, a question heading, else a line to
            # complete (the model's fronts were kept on the first try for 0 of 2 dev slots and 3 of 6 test ones)
            built = list_card(chunk) or table_card(chunk) or line_card(chunk)
            if built is not None and not validator.problems(built):
                self.stats.built += 1
                return built
        if kind == "card":
            return None
        if kind == "short" and "list" not in shapes and (lines := list_lines(chunk)):
            listed = listed_short(chunk, lines, LIST_ANSWER)  # a short list: name all its points
            if listed is not None and not validator.problems(listed):
                self.stats.built += 1
                return listed
        if model is None or self.bank.has(chunk, kind, model.name):
            return None
        if kind == "short" and (len(short_lines(chunk)) < 2 or list_lines(chunk) or not labelled(list_entries(chunk))):
            # the model writes a short answer only on 2-3 entries of a longer list whose labels the question can name
            # them by ("the advantage and the disadvantage"); a paragraph's sentences answer no one question, and
            # on an unlabelled list its question fit the other entries too (no hand check kept either)
            return None
        item = self._model_item(chunk, kind, model, validator, where)
        if item is None:
            self.bank.mark_failed(chunk, kind, model.name)
        return item

    def _model_item(self, chunk: Chunk, kind: str, model: ChatModel, validator: Validator, where: str,
                    plan: Plan | None = None) -> QuizItem | None:
        self.log(f"(writing a {KIND_NAMES[kind]} question on “{where}” with {model.name}...)")
        before = len(self.stats.problems)
        item = generate(chunk, kind, model, validator.problems, self.stats, attempts=REPAIRED, plan=plan)
        if item is not None and item.extra.get("phrasing") == "template":
            problems = self.stats.problems[before:]
            self.log(f"(the model's question on “{where}” did not pass: {problems[0] if problems else 'no reply'}; "
                     "kept the notes' own wording)")
        if item is None:
            problems = self.stats.problems[before:]
            self.log(f"warning: skipped a {KIND_NAMES[kind]} question on “{where}”: "
                     f"{problems[-1] if problems else 'no valid item'}")
        return item

    # --- answering ------------------------------------------------------------------------------

    def hint(self, item: QuizItem, level: int) -> str:
        return hint(item, level)

    def grade(self, item: QuizItem, answer: str, hints_used: int = 0) -> Grade:
        judge = self.tutor.model if self.judge and item.kind in ("short", "card") else None
        embedder = self.tutor.embedder if item.kind in ("short", "card") else None
        return grade(item, answer, hints_used=hints_used, embedder=embedder, judge=judge)

    def record(self, item: QuizItem, result: Grade, answer: str, now: datetime | None = None) -> ItemState:
        return self.reviews.record(item, result, answer, now)

    def answer(self, item: QuizItem, answer: str, hints_used: int = 0,
               now: datetime | None = None) -> tuple[Grade, ItemState]:
        """Grade and store an attempt; it is committed before this returns, so feedback comes after."""
        result = self.grade(item, answer, hints_used)
        return result, self.record(item, result, answer, now)

    def report(self, now: datetime | None = None):  # type: ignore[no-untyped-def]
        return self.reviews.report(self.indexed(), now)
