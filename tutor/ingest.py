"""Notes folder -> chunks -> vectors -> store, incrementally.

Each ingest that changes something writes a new index generation and switches to it atomically
(``tutor.generations``); one ingest runs at a time. A catalog (``catalog.json`` in each generation)
records each file's content hash and chunks. Unchanged files are skipped without being read (size
and mtime first, then the hash); a changed file's chunks are replaced, reusing the vectors of chunks
whose words did not change; a deleted file's chunks are removed. Files that are not notes (binary,
too large, unreadable) are skipped with a warning.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.chunking import chunk_text
from tutor.embedding import Embedder
from tutor.errors import TutorError
from tutor.generations import current, ingest_lock, new_generation
from tutor.records import Chunk
from tutor.store import VectorStore

CATALOG_VERSION = 3  # 2: the index is a series of generations (tutor.generations); 3: chunks carry title and lead
NOTE_SUFFIXES = (".md", ".markdown", ".txt")
MAX_FILE_BYTES = 5 * 1024 * 1024
EMBED_BATCH = 128  # texts per embed call: a progress step each


@dataclass
class FileEntry:
    hash: str
    size: int
    mtime_ns: int
    chunk_ids: list[str]


@dataclass
class Catalog:
    embedder: str
    files: dict[str, FileEntry] = field(default_factory=dict)
    chunks: dict[str, Chunk] = field(default_factory=dict)
    abbreviations: dict[str, str] = field(default_factory=dict)
    version: int = CATALOG_VERSION
    folder: Path | None = field(default=None, compare=False)  # the generation it was read from

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self.version,
                "embedder": self.embedder,
                "files": {s: vars(e) for s, e in sorted(self.files.items())},
                "chunks": [c.to_dict() for c in self.chunks.values()],
                "abbreviations": self.abbreviations,
            },
            indent=1,
        )


def catalog_path(folder: Path) -> Path:
    return folder / "catalog.json"


def load_catalog(index: Path) -> Catalog | None:
    """The live generation's catalog, or None when no index was built there yet."""
    folder = current(index)
    if folder is None:
        return None
    path = catalog_path(folder)
    if not path.exists():
        raise TutorError(f"the index at {index} is damaged ({folder.name} has no catalog)",
                         fix="run: tutor ingest --rebuild")
    return catalog_from_json(path.read_text(encoding="utf-8"), folder, str(index))


def catalog_from_json(text: str, folder: Path, where: str) -> Catalog:
    """A catalog from its JSON text; ``where`` names the index in messages."""
    try:
        data: dict[str, Any] = json.loads(text)
        if data.get("version") != CATALOG_VERSION:
            raise TutorError(
                f"the index at {where} was built by another version of tutor (format {data.get('version')})",
                fix="run: tutor ingest --rebuild",
            )
        return Catalog(
            embedder=data["embedder"],
            files={s: FileEntry(**e) for s, e in data["files"].items()},
            chunks={c["id"]: Chunk.from_dict(c) for c in data["chunks"]},
            abbreviations=data.get("abbreviations", {}),
            folder=folder,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TutorError(f"the index at {where} is corrupted ({exc.__class__.__name__})",
                         fix="run: tutor ingest --rebuild") from None


def save_catalog(folder: Path, catalog: Catalog) -> None:
    """Write the catalog into a generation folder, atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = catalog_path(folder).with_suffix(".json.tmp")
    tmp.write_text(catalog.to_json(), encoding="utf-8")
    os.replace(tmp, catalog_path(folder))


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    embedded: int = 0  # chunks whose vectors were computed
    reused: int = 0  # chunks whose vectors were kept from before
    chunks: int = 0  # chunks in the index afterwards
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated", f"{len(self.removed)} removed",
                 f"{self.unchanged} unchanged"]
        return (f"Indexed {self.chunks} chunks ({', '.join(parts)}; {self.embedded} embedded, "
                f"{self.reused} reused) in {self.seconds:.1f}s")


def note_files(corpus: Path, warnings: list[str] | None = None) -> Iterator[Path]:
    """Note files under ``corpus``, sorted; hidden folders and symlinked folders are not entered.

    A name that is not a regular file once symlinks are followed (a symlink loop, a broken symlink, a
    folder, a pipe or a device named like a note) is left out; why is appended to ``warnings``.
    """
    inside = corpus.resolve()
    for root, dirs, files in os.walk(corpus, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(NOTE_SUFFIXES) and not name.startswith("."):
                path = Path(root) / name
                problem = _not_a_file(path) or _a_second_name(path, inside)
                if problem is None:
                    yield path
                elif warnings is not None:
                    warnings.append(f"skipped {path}: {problem}")


def _a_second_name(path: Path, corpus: Path) -> str | None:
    """Why a symlink to a note that is indexed under its own name is left out (else its chunks come twice)."""
    if not path.is_symlink():
        return None
    target = path.resolve()
    relative = target.relative_to(corpus) if target.is_relative_to(corpus) else None
    if relative is None or not target.name.lower().endswith(NOTE_SUFFIXES):
        return None
    if any(part.startswith(".") for part in relative.parts):
        return None  # its target is in a hidden folder, so it is not indexed under its own name
    return f"it is a link to {relative.as_posix()}, which is indexed under its own name"


def _not_a_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as a note file, or None when it is a regular file."""
    try:
        st = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "it is a symlink loop"
        if path.is_symlink():
            return f"it is a symlink to {os.readlink(path)}, which does not exist"
        return f"it vanished while indexing ({exc.strerror or exc})"
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file"
    return None


def source_name(corpus: Path, path: Path) -> str:
    return path.relative_to(corpus).as_posix()


BINARY_SAMPLE = 8192


def read_note(path: Path) -> tuple[str | None, str | None, bytes]:
    """(text, warning, raw bytes); text is None when the file is not a note we can index.

    Never blocks on a pipe or reads more than ``MAX_FILE_BYTES`` + 1 bytes. UTF-8 (with or without a BOM)
    and UTF-16/32 with a BOM are decoded; other bytes are replaced, with a warning, unless they look
    binary. Control characters other than tab and line breaks (terminal escape sequences, NUL, bell)
    are removed with a warning: they would reach the terminal and the prompt.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return None, f"skipped {path}: it vanished before it could be read", b""
    except OSError as exc:
        return None, f"skipped {path}: cannot read it ({exc.strerror or exc})", b""
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, f"skipped {path}: it is not a regular file", b""
        if st.st_size > MAX_FILE_BYTES:
            return None, _too_large(path, st.st_size), b""
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, f"skipped {path}: cannot read it ({exc.strerror or exc})", b""
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:  # it grew while being read
        return None, _too_large(path, len(raw)), raw
    text, warning = _decode(path, raw)
    if text is None:
        return None, warning, raw
    clean = _strip_controls(text)
    if clean != text:
        warning = (f"{warning}; " if warning else f"{path}: ") + "control characters were removed"
    if not clean.strip():
        warning = (f"{warning}; " if warning else f"{path}: ") + "it is empty, so there is nothing to index"
    return clean, warning, raw


def _too_large(path: Path, size: int) -> str:
    limit = MAX_FILE_BYTES // 2**20
    return f"skipped {path}: {size / 1e6:.1f} MB is over the {limit} MB limit for a note"


def _decode(path: Path, raw: bytes) -> tuple[str | None, str | None]:
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(codec), None
            except UnicodeDecodeError:
                return None, f"skipped {path}: it starts like {codec.upper()} text but does not decode as it"
    if b"\x00" in raw[:BINARY_SAMPLE]:
        return None, f"skipped {path}: it looks binary, not text"
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    sample = raw[:BINARY_SAMPLE].decode("utf-8", errors="replace")
    odd = sum(ch == "\ufffd" or (ch < " " and ch not in "\t\n\r\f\x1b") for ch in sample)
    if odd > 0.3 * len(sample):  # text in a legacy encoding has a few odd characters; binary has many
        return None, f"skipped {path}: it looks binary, not text"
    text = raw.decode("utf-8", errors="replace")
    return text, f"{path} is not valid UTF-8: undecodable bytes were replaced"


# Escape sequences (colours, titles, cursor moves) and control characters other than tab and line breaks.
_CONTROLS = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[@-Z\\-_])?"
                       r"|[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _strip_controls(text: str) -> str:
    r"""``text`` without control characters (tab, newline, carriage return and form feed are kept).

    >>> _strip_controls("red \x1b[31mtext\x1b[0m\x07 and\ttabs\r\n")
    'red text and\ttabs\r\n'
    """
    return _CONTROLS.sub("", text)


def stale_sources(corpus: Path, catalog: Catalog | None) -> list[str]:
    """Sources whose file was added, changed or deleted since the catalog was written."""
    if catalog is None:
        return ["(no index)"]
    seen: set[str] = set()
    stale: list[str] = []
    for path in note_files(corpus):
        source = source_name(corpus, path)
        seen.add(source)
        entry = catalog.files.get(source)
        try:
            st = path.stat()
        except OSError:
            continue
        if entry is None:
            if read_note(path)[0] is not None:  # a file ingest would skip (binary, too big) changes nothing
                stale.append(source)
        elif (st.st_size, st.st_mtime_ns) != (entry.size, entry.mtime_ns):
            text, _, raw = read_note(path)
            if hashlib.sha256(raw).hexdigest() != entry.hash:
                stale.append(source)
    stale.extend(sorted(set(catalog.files) - seen))
    return stale


def ingest(
    corpus: Path,
    index: Path,
    embedder: Embedder,
    store_at: Callable[[Path], VectorStore],
    only: Sequence[Path] = (),
    rebuild: bool = False,
    progress: bool | None = None,
    log: Callable[[str], None] = lambda _msg: None,
    lock_wait: float = 0.0,
) -> IngestReport:
    """Bring the index in line with the notes under ``corpus`` (or only under the paths in ``only``).

    ``store_at(folder)`` opens the vector store of one index generation (see ``tutor.generations``).
    Changes are written to a new generation that becomes the live one only when complete; when
    nothing changed, nothing is written.
    """
    started = time.perf_counter()
    if not corpus.is_dir():
        raise TutorError(f"no notes folder at {corpus}",
                         fix="create it and put .md/.txt notes in it, or pass --corpus / set TUTOR_CORPUS")
    with ingest_lock(index, wait=lock_wait):
        report = _ingest_locked(corpus, index, embedder, store_at, only, rebuild, progress, log)
    report.seconds = time.perf_counter() - started
    return report


def _ingest_locked(
    corpus: Path,
    index: Path,
    embedder: Embedder,
    store_at: Callable[[Path], VectorStore],
    only: Sequence[Path],
    rebuild: bool,
    progress: bool | None,
    log: Callable[[str], None],
) -> IngestReport:
    from tutor.retrieval import mine_abbreviations

    catalog = None if rebuild else load_catalog(index)
    if catalog is not None and catalog.embedder != embedder.name:
        log(f"the index was built with {catalog.embedder}; rebuilding with {embedder.name}")
        catalog = None
    fresh = catalog is None
    if catalog is None:
        catalog = Catalog(embedder=embedder.name)
    report = IngestReport()
    scope = [p.resolve() for p in only]

    def in_scope(path: Path) -> bool:
        return not scope or any(path == s or s in path.parents for s in scope)

    present: dict[str, Path] = {}
    for path in note_files(corpus, report.warnings):
        if in_scope(path.resolve()):
            present[source_name(corpus, path)] = path

    todo: list[tuple[str, list[Chunk], FileEntry, bool]] = []  # source, chunks, entry, is_new
    touched = False  # files whose mtime changed but not their content
    for source, path in present.items():
        old = catalog.files.get(source)
        try:
            st = path.stat()
        except OSError as exc:
            report.warnings.append(f"skipped {path}: it vanished while indexing ({exc.strerror})")
            continue
        if old is not None and (st.st_size, st.st_mtime_ns) == (old.size, old.mtime_ns):
            report.unchanged += 1
            continue
        text, warning, raw = read_note(path)
        if warning:
            report.warnings.append(warning)
        if text is None:
            continue
        digest = hashlib.sha256(raw).hexdigest()
        entry = FileEntry(hash=digest, size=st.st_size, mtime_ns=st.st_mtime_ns, chunk_ids=[])
        if old is not None and old.hash == digest:
            entry.chunk_ids = old.chunk_ids
            catalog.files[source] = entry
            touched = True
            report.unchanged += 1
            continue
        chunks = [c for c in chunk_text(text, source) if c.text.strip()]
        entry.chunk_ids = [c.id for c in chunks]
        todo.append((source, chunks, entry, old is None))
    gone = sorted(s for s in catalog.files if s not in present and in_scope((corpus / s).resolve()))

    if not fresh and not todo and not gone:
        if touched:  # only modification times changed: the same catalog with new stamps, replaced atomically
            save_catalog(catalog.folder or index, catalog)
        report.chunks = len(catalog.chunks)
        return report

    with new_generation(index, copy_current=not fresh) as draft:
        store = store_at(draft)
        if fresh:
            store.reset()  # a new generation starts empty; this also clears a store shared across them
        _apply(catalog, store, todo, gone, embedder, progress, report)
        catalog.abbreviations = mine_abbreviations(catalog.chunks.values())
        store.commit()  # vectors first: a catalog never names chunks its store cannot find
        save_catalog(draft, catalog)
    catalog.folder = current(index)
    report.chunks = len(catalog.chunks)
    return report


def _apply(
    catalog: Catalog,
    store: VectorStore,
    todo: list[tuple[str, list[Chunk], FileEntry, bool]],
    gone: list[str],
    embedder: Embedder,
    progress: bool | None,
    report: IngestReport,
) -> None:
    """Embed what changed (reusing the vectors of chunks whose words did not) and write it to ``store``."""
    old_ids = [i for source, *_ in todo if source in catalog.files for i in catalog.files[source].chunk_ids]
    old_by_hash = {catalog.chunks[i].content_hash: i for i in old_ids if i in catalog.chunks}
    kept = store.vectors([old_by_hash[c.content_hash] for _, chunks, _, _ in todo for c in chunks
                          if c.content_hash in old_by_hash])
    pending = [c for _, chunks, _, _ in todo for c in chunks]
    vectors: dict[str, list[float]] = {}
    to_embed: list[Chunk] = []
    for c in pending:
        old_id = old_by_hash.get(c.content_hash)
        if old_id is not None and old_id in kept:
            vectors[c.id] = kept[old_id]
            report.reused += 1
        else:
            to_embed.append(c)

    to_embed.sort(key=lambda c: len(c.embed_text()))  # batches of like length: little padding
    bar = _progress_bar(len(to_embed), progress)
    try:
        for start in range(0, len(to_embed), EMBED_BATCH):
            batch = to_embed[start : start + EMBED_BATCH]
            for c, v in zip(batch, embedder.embed([c.embed_text() for c in batch])):
                vectors[c.id] = v
            bar.update(len(batch))
    finally:
        bar.close()
    report.embedded = len(to_embed)

    changed: list[Chunk] = []  # written in one upsert: Chroma is much faster with few large calls
    for source, chunks, entry, is_new in todo:
        old = catalog.files.get(source)
        new_ids = set(entry.chunk_ids)
        store.delete([i for i in (old.chunk_ids if old else []) if i not in new_ids])
        changed.extend(chunks)
        for i in old.chunk_ids if old else []:
            catalog.chunks.pop(i, None)
        catalog.chunks.update({c.id: c for c in chunks})
        catalog.files[source] = entry
        (report.added if is_new else report.updated).append(source)
    store.upsert(changed, [vectors[c.id] for c in changed])

    for source in gone:
        entry = catalog.files.pop(source)
        store.delete(entry.chunk_ids)
        for i in entry.chunk_ids:
            catalog.chunks.pop(i, None)
        report.removed.append(source)


def add_notes(corpus: Path, paths: Sequence[Path]) -> list[Path]:
    """Copy note files from outside the corpus into it; paths already inside are kept as they are."""
    corpus.mkdir(parents=True, exist_ok=True)
    inside: list[Path] = []
    root = corpus.resolve()
    for path in paths:
        if not path.exists():
            raise TutorError(f"{path} does not exist", fix="check the path")
        real = path.resolve()
        if real == root or root in real.parents:
            inside.append(real)
            continue
        if path.is_dir():
            raise TutorError(f"{path} is a folder outside the notes folder {corpus}",
                             fix=f"copy it into {corpus}, or point --corpus at it")
        if not path.name.lower().endswith(NOTE_SUFFIXES):
            raise TutorError(f"{path} is not a note file", fix=f"notes end in {', '.join(NOTE_SUFFIXES)}")
        target = root / path.name
        if target.exists() and target.read_bytes() != path.read_bytes():
            raise TutorError(f"{target} already exists with other content", fix="rename one of the two files")
        shutil.copyfile(path, target)
        inside.append(target)
    return inside


class _NullBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, progress: bool | None):  # type: ignore[no-untyped-def]
    show = sys.stderr.isatty() if progress is None else progress
    if not show or total == 0:
        return _NullBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="Embedding chunks", unit="chunk", file=sys.stderr, leave=False)
