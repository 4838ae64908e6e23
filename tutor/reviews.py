"""The learner database: every graded attempt (review), and an FSRS card per item, in one SQLite file.

Named for what it holds, apart from the progress bars of an ingest; ``tutor progress`` reports from
it (``Reviews.report``). The only module that touches SQLite, and the only one that speaks FSRS.

The database is in WAL mode with full sync, and each attempt is committed, with its item's new
FSRS schedule, in one transaction before the caller shows any feedback: a crash or Ctrl-C loses no
completed attempt, and never leaves half of one.

Mastery of an item is its last score times its FSRS retrievability now (the predicted chance the
learner still recalls it); a section's mastery is the mean over its practised items.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import fsrs
from fsrs import Card, Scheduler

from tutor.errors import TutorError
from tutor.grading import Grade, Rating
from tutor.quiz import QuizItem
from tutor.records import Chunk

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,          -- UTC, ISO 8601
    day TEXT NOT NULL,         -- the learner's local date, for the streak
    item_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    section TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    score REAL NOT NULL,
    rating INTEGER NOT NULL,   -- FSRS rating: 1 again, 2 hard, 3 good, 4 easy
    hints INTEGER NOT NULL,
    hit TEXT NOT NULL,         -- JSON list of the key points hit
    missed TEXT NOT NULL       -- JSON list of the key points missed
);
CREATE INDEX IF NOT EXISTS attempts_item ON attempts (item_id);
CREATE TABLE IF NOT EXISTS cards (
    item_id TEXT PRIMARY KEY,
    section TEXT NOT NULL,
    kind TEXT NOT NULL,
    card TEXT NOT NULL,        -- fsrs.Card as JSON
    due TEXT NOT NULL,
    last_score REAL NOT NULL,
    reviews INTEGER NOT NULL,
    last_at TEXT NOT NULL
);
"""


# The tutor's ratings as FSRS takes them: the only place the two meet.
FSRS_RATING = {Rating.Again: fsrs.Rating.Again, Rating.Hard: fsrs.Rating.Hard, Rating.Good: fsrs.Rating.Good,
               Rating.Easy: fsrs.Rating.Easy}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ItemState:
    item_id: str
    section: str
    kind: str
    card: Card
    last_score: float
    reviews: int

    @property
    def due(self) -> datetime:
        return self.card.due


@dataclass(frozen=True)
class SectionMastery:
    section: str  # a top-level section of the notes
    subsections: int  # its sections (chunks' heading paths)
    practised: int  # of those, practised at least once
    items: int  # items practised in it
    attempts: int
    mastery: float | None  # mean of last score x retrievability; None when never practised
    due: int

    def to_dict(self) -> dict[str, Any]:
        return {"section": self.section, "subsections": self.subsections, "practised": self.practised,
                "items": self.items, "attempts": self.attempts,
                "mastery": None if self.mastery is None else round(self.mastery, 3), "due": self.due}


@dataclass(frozen=True)
class ProgressReport:
    sections: tuple[SectionMastery, ...]
    due: int  # items due now
    attempts: int
    items: int  # items practised
    streak: int  # consecutive days with practice, ending today or yesterday
    gaps: tuple[str, ...]  # sections of the notes never practised
    last_practice: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"sections": [s.to_dict() for s in self.sections], "due": self.due, "attempts": self.attempts,
                "items": self.items, "streak": self.streak, "gaps": list(self.gaps),
                "last_practice": self.last_practice}


class Reviews:
    def __init__(self, path: Path, *, fuzz: bool = True) -> None:
        self.path = path
        self.scheduler = Scheduler(enable_fuzzing=fuzz)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(path, timeout=10)
        except (OSError, sqlite3.Error) as exc:
            raise TutorError(f"cannot open the progress database {path} ({exc})",
                             fix="check that the folder is writable, or set TUTOR_PROGRESS_DB") from None
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise TutorError(f"the progress database {path} is from a newer tutor (format {version})",
                                 fix="upgrade tutor, or set TUTOR_PROGRESS_DB to another file")
            with self.conn:
                self.conn.executescript(SCHEMA)
                self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise TutorError(f"the progress database {path} cannot be read ({exc})",
                             fix="move the file away; a new one is started") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Reviews:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, item: QuizItem, grade: Grade, answer: str, now: datetime | None = None) -> ItemState:
        """Store the attempt and the item's new schedule, committed before this returns."""
        now = now or utcnow()
        previous = self.states([item.id]).get(item.id)
        card = previous.card if previous else Card(card_id=int(item.id[:12], 16) if _hex(item.id) else None, due=now)
        card, _log = self.scheduler.review_card(card, FSRS_RATING[grade.rating], review_datetime=now)
        reviews = (previous.reviews if previous else 0) + 1
        try:
            with self.conn:
                self.conn.execute(
                    "INSERT INTO attempts (at, day, item_id, kind, section, question, answer, score, rating, hints, "
                    "hit, missed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (now.isoformat(), now.astimezone().date().isoformat(), item.id, item.kind, item.section,
                     item.question, answer, grade.score, int(grade.rating), grade.hints_used,
                     json.dumps(list(grade.hit)), json.dumps([p.point for p in grade.missed])))
                self.conn.execute(
                    "INSERT OR REPLACE INTO cards (item_id, section, kind, card, due, last_score, reviews, last_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (item.id, item.section, item.kind, card.to_json(), card.due.isoformat(), grade.score, reviews,
                     now.isoformat()))
        except sqlite3.Error as exc:
            raise TutorError(f"could not save the attempt in {self.path} ({exc})",
                             fix="check the disk has space and the file is writable") from None
        return ItemState(item.id, item.section, item.kind, card, grade.score, reviews)

    def states(self, ids: Iterable[str] | None = None) -> dict[str, ItemState]:
        """The FSRS state of the given items (all practised items when None); unpractised ones are absent."""
        rows = self.conn.execute("SELECT item_id, section, kind, card, last_score, reviews FROM cards").fetchall()
        wanted = None if ids is None else set(ids)
        return {r[0]: ItemState(r[0], r[1], r[2], Card.from_json(r[3]), r[4], r[5])
                for r in rows if wanted is None or r[0] in wanted}

    def attempts(self) -> list[dict[str, Any]]:
        cols = ("at", "item_id", "kind", "section", "question", "answer", "score", "rating", "hints", "hit", "missed")
        rows = self.conn.execute(f"SELECT {', '.join(cols)} FROM attempts ORDER BY id").fetchall()
        out = [dict(zip(cols, r)) for r in rows]
        for a in out:
            a["hit"], a["missed"] = json.loads(a["hit"]), json.loads(a["missed"])
        return out

    def mastery(self, state: ItemState, now: datetime | None = None) -> float:
        return state.last_score * self.scheduler.get_card_retrievability(state.card, now or utcnow())

    def report(self, chunks: Sequence[Chunk], now: datetime | None = None) -> ProgressReport:
        now = now or utcnow()
        states = list(self.states().values())
        counts = dict(self.conn.execute("SELECT section, COUNT(*) FROM attempts GROUP BY section").fetchall())
        sections = list(dict.fromkeys(c.section for c in chunks))
        rows = []
        for top in dict.fromkeys(s.split(" > ")[0] for s in sections):
            subs = [s for s in sections if s.split(" > ")[0] == top]
            mine = [s for s in states if s.section in subs]
            rows.append(SectionMastery(
                section=top, subsections=len(subs), practised=sum(1 for s in subs if counts.get(s)),
                items=len(mine), attempts=sum(counts.get(s, 0) for s in subs),
                mastery=sum(self.mastery(s, now) for s in mine) / len(mine) if mine else None,
                due=sum(1 for s in mine if s.due <= now)))
        days = {date.fromisoformat(d) for (d,) in self.conn.execute("SELECT DISTINCT day FROM attempts")}
        last = self.conn.execute("SELECT MAX(at) FROM attempts").fetchone()[0]
        return ProgressReport(sections=tuple(rows), due=sum(1 for s in states if s.due <= now),
                              attempts=sum(counts.values()), items=len(states),
                              streak=streak(days, now.astimezone().date()),
                              gaps=tuple(s for s in sections if not counts.get(s)), last_practice=last)


def streak(days: set[date], today: date) -> int:
    """Consecutive days with practice, ending today, or yesterday when today has none yet.

    >>> d = date(2026, 11, 24)
    >>> streak({d, d - timedelta(1), d - timedelta(3)}, d), streak({d - timedelta(1)}, d), streak(set(), d)
    (2, 1, 0)
    """
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


def _hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text[:12])
