"""The chunks and keyword index of an index generation on disk (``chunks.sqlite``), read a row at a time.

A question needs a handful of chunks (its hits, and the pieces around them that widening joins) and the
postings of its few keywords; holding every chunk and posting as Python objects made ``tutor ask``'s memory
grow about twice as fast as the vectors did. So an ingest writes them once into one SQLite file beside the
catalog, and a reader looks up what it needs: a chunk by id or row number, the pieces of one section, a
term's postings (two int32 arrays) and its idf. SQLite is touched by this module only.

The file is written whole (beside, then ``os.replace``), so a reader sees the old file or the new one. A
generation from before this file has none; its catalog is then read whole, as before (``tutor.catalog``).
Limits: rows are read only; a writer builds a new file from the full catalog.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

from tutor.errors import TutorError
from tutor.records import Chunk

SHELF = "chunks.sqlite"
CACHE_KB = 256
SCHEMA = """
CREATE TABLE chunks (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, section TEXT NOT NULL,
                     hash TEXT NOT NULL, tokens TEXT NOT NULL, row TEXT NOT NULL);
CREATE INDEX chunks_section ON chunks (source, section);
CREATE TABLE terms (term TEXT PRIMARY KEY, idf REAL NOT NULL, docs BLOB NOT NULL, counts BLOB NOT NULL)
    WITHOUT ROWID;
CREATE TABLE hyphens (joined TEXT PRIMARY KEY, term TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
"""


def shelf_path(folder: Path) -> Path:
    return folder / SHELF


def has_shelf(folder: Path) -> bool:
    """Whether a generation folder has its chunks on a shelf (one written since the shelf existed)."""
    return shelf_path(folder).is_file()


def save_shelf(folder: Path, chunks: Sequence[Chunk]) -> str:
    """Write ``chunks`` (row n is ``chunks[n]``) and their BM25 keyword index into ``folder``, atomically;
    returns the new shelf's stamp, for the catalog written with it to name."""
    import uuid

    from tutor.keywords import BM25, hyphenated_terms
    from tutor.text import tokenize

    path = shelf_path(folder)
    known = _tokens_by_hash(path)  # a draft generation starts with the live one's shelf: unchanged chunks' tokens
    tokens = [known.get(c.content_hash) or " ".join(tokenize(c.embed_text())) for c in chunks]
    del known
    bm25 = BM25(t.split(" ") if t else [] for t in tokens)
    tmp = path.with_suffix(".sqlite.tmp")
    tmp.unlink(missing_ok=True)
    stamp = uuid.uuid4().hex
    db = sqlite3.connect(tmp)
    try:
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
                       ((n, c.id, c.source, c.section, c.content_hash, t, json.dumps(c.to_dict()))
                        for n, (c, t) in enumerate(zip(chunks, tokens))))
        db.executemany("INSERT INTO terms VALUES (?, ?, ?, ?)",
                       ((term, bm25.idf[term], *(a.tobytes() for a in bm25.postings(term) or ()))
                        for term in bm25.terms))
        db.executemany("INSERT INTO hyphens VALUES (?, ?)", hyphenated_terms(bm25.terms).items())
        db.executemany("INSERT INTO meta VALUES (?, ?)",
                       [("lengths", bm25.lengths.astype("int32").tobytes()), ("avg", repr(bm25.avg)),
                        ("stamp", stamp)])
        db.commit()
    finally:
        db.close()
    os.replace(tmp, path)
    return stamp


def _tokens_by_hash(path: Path) -> dict[str, str]:
    """The keyword tokens (space-separated) of each chunk on an existing shelf by content hash, which fixes
    them: tokenizing is most of a shelf's cost (a shelf of 33,490 chunks took 1.4 s of CPU, 0.7 s with the
    tokens reused); none when there is no shelf."""
    if not path.is_file():
        return {}
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return dict(db.execute("SELECT hash, tokens FROM chunks"))
        finally:
            db.close()
    except sqlite3.Error:  # a damaged or older shelf: the tokens are made again
        return {}


class Shelf:
    """One generation's shelf, open for reading (safe to share between threads)."""

    def __init__(self, folder: Path) -> None:
        self.path = shelf_path(folder)
        try:
            self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            # a small page cache (default 2 MB): a question reads a few rows, which the OS keeps cached anyway
            self._db.execute(f"PRAGMA cache_size = -{CACHE_KB}")
            self._count = int(self._db.execute("SELECT count(*) FROM chunks").fetchone()[0])
            found = self._db.execute("SELECT value FROM meta WHERE key = 'stamp'").fetchone()
            self.stamp = str(found[0]) if found else ""  # which catalog it was written with
        except sqlite3.Error as exc:
            raise self._damaged(exc) from None
        self._lock = threading.Lock()

    def _damaged(self, exc: Exception) -> TutorError:
        return TutorError(f"the chunk file {self.path} is damaged ({exc})", fix="run: tutor ingest --rebuild")

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only query."""
        try:
            with self._lock:
                return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._damaged(exc) from None

    def __len__(self) -> int:
        return self._count

    def scan(self, batch: int = 500) -> Iterator[Chunk]:
        """Every chunk in row order, a batch of rows read at a time (never all held at once)."""
        for start in range(0, self._count, batch):
            for (row,) in self.rows("SELECT row FROM chunks WHERE n >= ? AND n < ? ORDER BY n", (start, start + batch)):
                yield _chunk(row)

    def close(self) -> None:
        self._db.close()


def _marks(values: Sequence[Any]) -> str:
    """The placeholders of an ``IN (...)`` list of ``values``."""
    return ", ".join("?" * len(values))


def _chunk(row: str) -> Chunk:
    return Chunk.from_dict(json.loads(row))


class ChunkTable(Mapping[str, Chunk]):
    """The chunks of a shelf by id (what a catalog's ``chunks`` is for a reader); ``rows`` by row number."""

    def __init__(self, shelf: Shelf) -> None:
        self.shelf = shelf
        self.rows = ChunkRows(shelf)

    def __getitem__(self, chunk_id: str) -> Chunk:
        found = self.shelf.rows("SELECT row FROM chunks WHERE id = ?", (chunk_id,))
        if not found:
            raise KeyError(chunk_id)
        return _chunk(found[0][0])

    def __contains__(self, chunk_id: object) -> bool:
        return bool(self.shelf.rows("SELECT 1 FROM chunks WHERE id = ?", (chunk_id,)))

    def __iter__(self) -> Iterator[str]:
        return (c.id for c in self.shelf.scan())

    def __len__(self) -> int:
        return len(self.shelf)

    def values(self) -> Iterable[Chunk]:  # type: ignore[override]
        """Every chunk in row order, read a batch at a time."""
        return self.rows

    def present(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` the shelf has (one query)."""
        if not ids:
            return set()
        return {i for (i,) in self.shelf.rows(f"SELECT id FROM chunks WHERE id IN ({_marks(ids)})", ids)}

    def many(self, ids: Sequence[str]) -> dict[str, Chunk]:
        """The chunks of ``ids`` that the shelf has, by id (one query)."""
        if not ids:
            return {}
        return {c.id: c for c in map(_chunk, (row for (row,) in self.shelf.rows(
            f"SELECT row FROM chunks WHERE id IN ({_marks(ids)})", ids)))}

    def section(self, chunk: Chunk) -> list[Chunk]:
        """The pieces of ``chunk``'s section (same file, same heading path), in row order."""
        return [_chunk(row) for (row,) in self.shelf.rows(
            "SELECT row FROM chunks WHERE source = ? AND section = ? ORDER BY n", (chunk.source, chunk.section))]


class ChunkRows(Sequence[Chunk]):
    """The chunks of a shelf by row number (a BM25 document number), read on demand."""

    def __init__(self, shelf: Shelf) -> None:
        self.shelf = shelf

    @overload
    def __getitem__(self, n: int) -> Chunk: ...
    @overload
    def __getitem__(self, n: slice) -> list[Chunk]: ...
    def __getitem__(self, n: int | slice) -> Chunk | list[Chunk]:
        if isinstance(n, slice):
            return [self[i] for i in range(*n.indices(len(self)))]
        at = n + len(self) if n < 0 else n
        found = self.shelf.rows("SELECT row FROM chunks WHERE n = ?", (at,))
        if not found:
            raise IndexError(n)
        return _chunk(found[0][0])

    def ids_at(self, rows: Sequence[int]) -> list[str]:
        """The ids of the chunks in ``rows``, in that order (one query, without reading the chunks)."""
        if not rows:
            return []
        found = dict(self.shelf.rows(f"SELECT n, id FROM chunks WHERE n IN ({_marks(rows)})", [int(n) for n in rows]))
        return [found[n] for n in rows]

    def texts(self, batch: int = 1000) -> Iterator[str]:
        """Every chunk's text in row order, a batch at a time (the acronym lookup reads them all)."""
        for start in range(0, len(self), batch):
            yield from (t for (t,) in self.shelf.rows(
                "SELECT json_extract(row, '$.text') FROM chunks WHERE n >= ? AND n < ? ORDER BY n",
                (start, start + batch)))

    def __iter__(self) -> Iterator[Chunk]:
        return self.shelf.scan()

    def __len__(self) -> int:
        return len(self.shelf)


class ShelfTerms(Mapping[str, float]):
    """A shelf's keyword vocabulary, each term with its idf (the BM25 index's ``idf`` and ``terms``)."""

    def __init__(self, shelf: Shelf) -> None:
        self.shelf = shelf
        self._idf: dict[str, float | None] = {}  # the terms looked up so far (a query's few)

    def __getitem__(self, term: str) -> float:
        if term not in self._idf:
            found = self.shelf.rows("SELECT idf FROM terms WHERE term = ?", (term,))
            self._idf[term] = float(found[0][0]) if found else None
        idf = self._idf[term]
        if idf is None:
            raise KeyError(term)
        return idf

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.get(term) is not None

    def __iter__(self) -> Iterator[str]:
        return (t for (t,) in self.shelf.rows("SELECT term FROM terms"))

    def __len__(self) -> int:
        return int(self.shelf.rows("SELECT count(*) FROM terms")[0][0])

    def postings(self, term: str) -> tuple[bytes, bytes] | None:
        """A term's document numbers and counts (int32 bytes), or None when no chunk has it."""
        found = self.shelf.rows("SELECT idf, docs, counts FROM terms WHERE term = ?", (term,))
        self._idf[term] = float(found[0][0]) if found else None
        return (found[0][1], found[0][2]) if found else None

    def meta(self, key: str) -> Any:
        return self.shelf.rows("SELECT value FROM meta WHERE key = ?", (key,))[0][0]


class SourceIds(Sequence[str]):
    """The ids of one file's chunks on a shelf, in order (a reader's catalog does not hold them)."""

    def __init__(self, shelf: Shelf, source: str) -> None:
        self.shelf = shelf
        self.source = source

    def _ids(self) -> list[str]:
        return [i for (i,) in self.shelf.rows("SELECT id FROM chunks WHERE source = ? ORDER BY n", (self.source,))]

    @overload
    def __getitem__(self, n: int) -> str: ...
    @overload
    def __getitem__(self, n: slice) -> list[str]: ...
    def __getitem__(self, n: int | slice) -> str | list[str]:
        return self._ids()[n]

    def __len__(self) -> int:
        return len(self._ids())

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented


class ShelfHyphens(Mapping[str, str]):
    """Each hyphenated term of a shelf's vocabulary by its letters written together ("crispdm" -> "crisp-dm"),
    as ``hyphenated_terms`` made it at ingest."""

    def __init__(self, shelf: Shelf) -> None:
        self.shelf = shelf

    def __getitem__(self, joined: str) -> str:
        found = self.shelf.rows("SELECT term FROM hyphens WHERE joined = ?", (joined,))
        if not found:
            raise KeyError(joined)
        return str(found[0][0])

    def __iter__(self) -> Iterator[str]:
        return (j for (j,) in self.shelf.rows("SELECT joined FROM hyphens"))

    def __len__(self) -> int:
        return int(self.shelf.rows("SELECT count(*) FROM hyphens")[0][0])
