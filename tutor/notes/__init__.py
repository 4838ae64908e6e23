"""Note files: finding them under the notes folder, reading each with the reader for its format, chunking.

A reader is a function ``(path, raw bytes) -> Document`` in one module per format, registered in
``READERS`` by suffix: adding ``.docx`` is one new module and one line here. Files that are not notes we
can index (binary, too large, unreadable, a scan, an encrypted PDF) are skipped with a warning saying why.
Hidden files and folders (``.obsidian/``, ``.git/``) and symlinked folders are not entered.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from tutor.chunking import PART, chunk_text
from tutor.errors import TutorError
from tutor.notes import html, markdown, notebook, pdf, text
from tutor.notes.document import Document, NoteSkipped, Part
from tutor.records import Chunk

Reader = Callable[[Path, bytes], Document]
READERS: dict[str, Reader] = {
    ".md": markdown.read,
    ".markdown": markdown.read,
    ".txt": text.read,
    ".pdf": pdf.read,
    ".ipynb": notebook.read,
    ".html": html.read,
    ".htm": html.read,
}
NOTE_SUFFIXES = tuple(READERS)
MAX_FILE_BYTES = 5 * 1024 * 1024  # for text formats; a PDF may be larger (its images are not read)
MAX_BYTES = {".pdf": pdf.MAX_BYTES}

__all__ = ["MAX_FILE_BYTES", "NOTE_SUFFIXES", "READERS", "Document", "NoteSkipped", "Part", "Reading",
           "add_notes", "chunk_document", "is_note", "located", "max_bytes", "note_files", "read_bytes", "read_note",
           "source_name"]


class Reading(NamedTuple):
    """What reading one file gave: its document (None when skipped), a warning, and its bytes (for the hash)."""

    document: Document | None
    warning: str | None
    raw: bytes


def is_note(name: str) -> bool:
    """Whether a file of this name is read as a note (by its suffix, any case)."""
    return name.lower().endswith(NOTE_SUFFIXES)


def max_bytes(name: str) -> int:
    """The largest file of this name that is read."""
    return MAX_BYTES.get(Path(name).suffix.lower(), MAX_FILE_BYTES)


def note_files(corpus: Path, warnings: list[str] | None = None) -> Iterator[Path]:
    """Note files under ``corpus``, sorted; hidden folders and symlinked folders are not entered.

    A name that is not a regular file once symlinks are followed (a symlink loop, a broken symlink, a
    folder, a pipe or a device named like a note) is left out; why is appended to ``warnings``.
    """
    inside = corpus.resolve()
    for root, dirs, files in os.walk(corpus, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if is_note(name) and not name.startswith("."):
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
    if relative is None or not is_note(target.name):
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


def read_note(path: Path) -> Reading:
    """Read one note file with the reader for its suffix; never blocks on a pipe or reads past its size limit."""
    raw, problem = read_bytes(path)
    if problem is not None:
        return Reading(None, f"skipped {path}: {problem}", raw)
    reader = READERS.get(path.suffix.lower(), text.read)
    try:
        document = reader(path, raw)
    except NoteSkipped as exc:
        return Reading(None, f"skipped {path}: {exc}", raw)
    except Exception as exc:  # noqa: BLE001 - a parser's surprise on one odd file must not stop the ingest
        return Reading(None, f"skipped {path}: it could not be read ({exc.__class__.__name__}: {exc})"[:300], raw)
    return Reading(document, "; ".join(document.warnings) or None, raw)


def read_bytes(path: Path) -> tuple[bytes, str | None]:
    """The file's bytes, or why they were not read; at most its limit + 1 bytes are read."""
    limit = max_bytes(path.name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return b"", "it vanished before it could be read"
    except OSError as exc:
        return b"", f"cannot read it ({exc.strerror or exc})"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return b"", "it is not a regular file"
        if st.st_size > limit:
            return b"", _too_large(path, st.st_size)
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        return b"", f"cannot read it ({exc.strerror or exc})"
    finally:
        os.close(fd)
    if len(raw) > limit:  # it grew while being read
        return raw, _too_large(path, len(raw))
    return raw, None


def _too_large(path: Path, size: int) -> str:
    kind = "a PDF" if path.suffix.lower() == ".pdf" else "a note"
    return f"{size / 1e6:.1f} MB is over the {max_bytes(path.name) // 2**20} MB limit for {kind}"


def chunk_document(document: Document, source: str) -> list[Chunk]:
    """The chunks of a document: each part chunked on its own, cited by its page or cell and lines within it."""
    return [located(c, part) for part in document.parts
            for c in chunk_text(part.text, source, markdown=document.markdown, section=part.section)
            if c.text.strip()]


def located(chunk: Chunk, part: Part) -> Chunk:
    """``chunk`` of ``part``'s text as cited: its page or cell, and lines counted within it."""
    if part.page is None and part.cell is None:
        return chunk
    top = part.lines or chunk.end - part.offset
    start, end = (min(max(n - part.offset, 1), top) for n in (chunk.start, chunk.end))
    place = f"p{part.page}" if part.page is not None else f"c{part.cell}"
    base, _, line = chunk.id.rpartition(":")
    suffix = line.partition(PART)[2]  # the second and later parts of one long line keep their mark
    return replace(chunk, id=f"{base}:{place}:{start}" + (f"{PART}{suffix}" if suffix else ""), start=start,
                   end=end, page=part.page, cell=part.cell)


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
                             fix=f"index it where it is (edits there are picked up): tutor ingest --corpus {path}, "
                                 f"or set TUTOR_CORPUS; or copy it into {corpus}")
        if not is_note(path.name):
            raise TutorError(f"{path} is not a note file", fix=f"notes end in {', '.join(NOTE_SUFFIXES)}")
        target = root / path.name
        if target.exists() and target.read_bytes() != path.read_bytes():
            raise TutorError(f"{target} already exists with other content", fix="rename one of the two files")
        shutil.copyfile(path, target)
        inside.append(target)
    return inside
