"""The question bank: generated items cached on disk, keyed by the content hash of their chunk.

Editing a note changes the hashes of the chunks whose words changed, so only their items are
written again; items of unchanged chunks are served with the chunk's current lines (a note that
grew above them shifts the lines, not the hash). Citations are never stored: they are rebuilt
from the chunks when an item is served, so they always quote the notes as they are now.

Where: ``quiz-bank.json`` next to the progress database, in the user's data directory. Not in the
index folder, because ``tutor ingest --rebuild`` throws that away, and items cost seconds each to
write on a CPU while the progress database refers to them by id. Content-addressed, so one bank
serves any notes folder. Each change is written whole to a temporary file and renamed over the
old one: an interrupted write leaves the previous bank, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tutor.errors import TutorError
from tutor.quiz import QuizItem
from tutor.records import Chunk

BANK_VERSION = 1


class Bank:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, list[dict[str, Any]]] = {}  # chunk content hash -> item records
        self.failed: dict[str, dict[str, str]] = {}  # chunk content hash -> kind -> generator that failed
        if path.exists():
            self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != BANK_VERSION:
                raise ValueError(f"format {data.get('version')}")
            self.records = {h: list(items) for h, items in data["items"].items()}
            self.failed = {h: dict(kinds) for h, kinds in data.get("failed", {}).items()}
            for items in self.records.values():
                for record in items:
                    QuizItem.from_record(record)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TutorError(f"the question bank {self.path} cannot be read ({exc.__class__.__name__}: {exc})",
                             fix="delete it; its questions will be written again") from None

    def __len__(self) -> int:
        return sum(len(items) for items in self.records.values())

    def items(self, chunks: Iterable[Chunk]) -> list[QuizItem]:
        """The bank's items whose chunks are all among ``chunks``, citing them as they are now."""
        by_hash = {c.content_hash: c for c in chunks}
        out = []
        for h in by_hash:
            for record in self.records.get(h, ()):
                item = QuizItem.from_record(record)
                cited = [by_hash.get(x) for x in item.chunk_hashes]
                if all(c is not None for c in cited):
                    out.append(item.bind(cited))  # type: ignore[arg-type]
        return out

    def has(self, chunk: Chunk, kind: str, generator: str) -> bool:
        """True when ``chunk`` has an item of ``kind``, or ``generator`` already failed to write one."""
        if self.failed.get(chunk.content_hash, {}).get(kind) == generator:
            return True
        return any(r["kind"] == kind for r in self.records.get(chunk.content_hash, ()))

    def shapes(self, chunk: Chunk) -> set[str]:
        """The shapes of the items banked for ``chunk`` ("which", "order", "not", "definition"; "" for others)."""
        return {str(r.get("extra", {}).get("shape", "")) for r in self.records.get(chunk.content_hash, ())}

    def add(self, item: QuizItem) -> None:
        """Store a validated item and save the bank."""
        records = self.records.setdefault(item.chunk_hashes[0], [])
        if all(r["id"] != item.id for r in records):
            records.append(item.to_record())
        self.save()

    def mark_failed(self, chunk: Chunk, kind: str, generator: str) -> None:
        """Remember that ``generator`` wrote no valid item of ``kind`` from ``chunk``: no retry each session."""
        self.failed.setdefault(chunk.content_hash, {})[kind] = generator
        self.save()

    def save(self) -> None:
        data = {"version": BANK_VERSION, "items": self.records, "failed": self.failed}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".bank-", suffix=".json", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, indent=1)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise TutorError(f"cannot write the question bank {self.path} ({exc.strerror or exc})",
                             fix="check that the data directory is writable, or set TUTOR_DATA_DIR") from None
