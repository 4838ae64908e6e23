"""The catalog of an index generation: each note file's content hash and chunks, in ``catalog.json``.

It is the record of which chunks the index holds; ``tutor.ingest`` compares it with the notes to find
what changed. A catalog from an older version of tutor is ``OldIndex`` (``tutor.ingest`` rebuilds it from
the notes by itself); one from a newer version, or one that does not parse, says so with the fix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.errors import TutorError
from tutor.generations import current
from tutor.records import Chunk
from tutor.shelf import ChunkTable, Shelf, SourceIds, has_shelf

CATALOG_VERSION = 3  # 2: the index is a series of generations (tutor.generations); 3: chunks carry title and lead


OLD_INDEX_NOTICE = "index from an older version of tutor: rebuilding from your notes"


class OldIndex(TutorError):
    """The index was written in an older format: the notes are its source, so it is rebuilt from them."""


@dataclass
class FileEntry:
    hash: str
    size: int
    mtime_ns: int
    chunk_ids: Sequence[str]  # a list, or for a catalog read lazily, the shelf's ids of the file


@dataclass
class Catalog:
    embedder: str
    files: dict[str, FileEntry] = field(default_factory=dict)
    # every chunk by id: a dict when read to be changed (ingest), the shelf's table when read to answer
    chunks: dict[str, Chunk] | ChunkTable = field(default_factory=dict)
    abbreviations: dict[str, str] = field(default_factory=dict)
    version: int = CATALOG_VERSION
    shelf: str = ""  # the stamp of the generation's shelf written with this catalog ("": none; tutor.shelf)
    folder: Path | None = field(default=None, compare=False)  # the generation it was read from

    def to_json(self) -> str:
        """The catalog as JSON: one line per file and per chunk (compact rows: Python's pretty printer took
        1.6 s for 33,000 chunks, the C encoder a tenth of that, and the file still diffs line by line)."""
        def rows(items: list[str]) -> str:
            return "[\n" + ",\n".join(items) + "\n ]" if items else "[]"

        files = ",\n".join(f"  {json.dumps(s)}: {json.dumps(vars(e))}" for s, e in sorted(self.files.items()))
        return "\n".join([
            "{",
            f' "version": {json.dumps(self.version)},',
            f' "embedder": {json.dumps(self.embedder)},',
            f' "shelf": {json.dumps(self.shelf)},',
            ' "files": ' + ("{\n" + files + "\n }" if files else "{}") + ",",
            ' "chunks": ' + rows([f"  {json.dumps(c.to_dict())}" for c in self.chunks.values()]) + ",",
            f' "abbreviations": {json.dumps(self.abbreviations, indent=1)}',
            "}",
        ])


def catalog_path(folder: Path) -> Path:
    return folder / "catalog.json"


def load_catalog(index: Path, lazy: bool = False) -> Catalog | None:
    """The live generation's catalog, or None when no index was built there yet. ``lazy`` (a reader): its
    chunks stay on the generation's shelf (``tutor.shelf``) and are read when asked for, where there is one."""
    folder = current(index)
    if folder is None:
        return None
    path = catalog_path(folder)
    if not path.exists():
        raise TutorError(f"the index at {index} is damaged ({folder.name} has no catalog)",
                         fix="run: tutor ingest --rebuild")
    if lazy and has_shelf(folder):
        head = _without_rows(path)
        catalog = catalog_from_json(head, folder, str(index)) if head is not None else None
        shelf = Shelf(folder) if catalog is not None and catalog.shelf else None
        # the shelf written with this catalog only: an older tutor rewrites the catalog and leaves a stale shelf
        if catalog is not None and shelf is not None and shelf.stamp == catalog.shelf:
            catalog.chunks = ChunkTable(shelf)
            for source, entry in catalog.files.items():
                entry.chunk_ids = SourceIds(shelf, source)
            return catalog
        if shelf is not None:
            shelf.close()
    return catalog_from_json(path.read_text(encoding="utf-8"), folder, str(index))


def _without_rows(path: Path) -> str | None:
    """A catalog's JSON with no chunk rows, read a line at a time (the rows are skipped, never held);
    None for a layout ``to_json`` does not write."""
    kept: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            cut = line.find(IDS) if line.startswith('  "') else -1
            if cut >= 0:  # a file's row: its chunk ids are on the shelf (the key's quotes cannot be in a string)
                line = line[:cut] + IDS + "]}" + ("," if line.rstrip().endswith(",") else "") + "\n"
            if line == ROWS_START[1:]:
                for row in lines:
                    if row == ROWS_END[1:].partition("\n")[0] + "\n":
                        break
                else:
                    return None
                kept.append(' "chunks": [],\n')
                continue
            kept.append(line)
    return "".join(kept) if any(line.startswith(' "chunks": [') for line in kept) else None


def catalog_from_json(text: str, folder: Path, where: str) -> Catalog:
    """A catalog from its JSON text; ``where`` names the index in messages."""
    try:
        split = _split_rows(text)
        data: dict[str, Any] = json.loads(split[0] if split else text)
        version = data.get("version")
        if isinstance(version, int) and version < CATALOG_VERSION:
            raise OldIndex(f"the index at {where} is from an older version of tutor (format {version})",
                           fix="run: tutor ingest (it rebuilds the index from your notes)")
        if version != CATALOG_VERSION:
            raise TutorError(
                f"the index at {where} was built by another version of tutor (format {version})",
                fix="run: tutor ingest --rebuild",
            )
        chunks = _chunks(map(json.loads, split[1]) if split else _emptied(data["chunks"]))
        same = {i: i for i in chunks}  # a file's chunk ids are the chunks' own strings, not copies
        return Catalog(
            embedder=data["embedder"],
            files={s: FileEntry(**(e | {"chunk_ids": [same.get(i, i) for i in e["chunk_ids"]]}))
                   for s, e in data["files"].items()},
            chunks=chunks,
            abbreviations=data.get("abbreviations", {}),
            shelf=data.get("shelf", ""),
            folder=folder,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TutorError(f"the index at {where} is corrupted ({exc.__class__.__name__})",
                         fix="run: tutor ingest --rebuild") from None


IDS = ', "chunk_ids": ['  # how a file's row in to_json names its chunks, last
ROWS_START, ROWS_END = '\n "chunks": [\n', '\n ],\n "abbreviations": '


def _split_rows(text: str) -> tuple[str, Iterator[str]] | None:
    """For a catalog written by ``to_json`` (a chunk per line): the JSON without its chunks, and the chunk
    rows one at a time, so the rows are never all parsed at once (at 33,000 chunks, 20 MB less at peak).
    None for any other layout (an older catalog, pretty-printed): it is parsed whole."""
    start = text.find(ROWS_START)
    end = text.find(ROWS_END, start)
    if start < 0 or end < 0 or not text.startswith('  {"', start + len(ROWS_START)):
        return None

    def rows() -> Iterator[str]:
        at = start + len(ROWS_START)
        while at < end:  # a row is one line: JSON escapes the newlines inside its strings
            stop = text.find("\n", at, end)
            stop = end if stop < 0 else stop
            yield text[at:stop].rstrip(",")
            at = stop + 1

    return text[:start] + '\n "chunks": []' + text[end + len("\n ]"):], rows()


def _emptied(rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The rows in order, each let go once read (the list is emptied)."""
    rows.reverse()
    while rows:
        yield rows.pop()


def _chunks(rows: Iterable[dict[str, Any]]) -> dict[str, Chunk]:
    """Chunks from their JSON rows, one at a time; the strings many chunks repeat (file name, title, heading
    path, lead) are held once."""
    shared: dict[str, str] = {}
    chunks: dict[str, Chunk] = {}
    for row in rows:
        for key in ("source", "title", "section", "lead"):
            if isinstance(row.get(key), str):
                row[key] = shared.setdefault(row[key], row[key])
        chunk = Chunk.from_dict(row)
        chunks[chunk.id] = chunk
    return chunks


def save_catalog(folder: Path, catalog: Catalog) -> None:
    """Write the catalog into a generation folder, atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = catalog_path(folder).with_suffix(".json.tmp")
    tmp.write_text(catalog.to_json(), encoding="utf-8")
    os.replace(tmp, catalog_path(folder))
