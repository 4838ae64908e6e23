"""Index generations: each ingest writes a new folder and switches to it with one atomic rename.

Layout of the index folder::

    <index>/CURRENT              the name of the live generation, e.g. "g000007" (replaced atomically)
    <index>/g000007/             catalog.json, chunks.sqlite, chroma/, vectors.npy, vectors.ids, abbreviations.json
    <index>/g000008.building/    an ingest in progress, or one that was killed: readers never look here
    <index>/ingest.lock          held (lockf) by the one ingest running; the kernel frees it if it dies

A reader resolves ``CURRENT`` once and reads that folder only, so it is never blocked by a writer
and never sees half an ingest. A writer copies the live generation (hard links for the files it only
replaces whole: the catalog and the vector snapshot), changes the copy, and publishes it by replacing
``CURRENT``; a process killed at any point before that leaves the old index as it
was, and the next ingest removes what it left behind. The two generations before the live one are
kept, for readers that resolved them a moment ago.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tutor.errors import TutorError

POINTER = "CURRENT"
LOCK = "ingest.lock"
BUILDING = ".building"
KEEP_PREVIOUS = 2
_NAME = re.compile(r"^g(\d{6})$")
# Files of the index layout before generations (tutor 0.1): removed when the first generation is written.
_LEGACY = ("catalog.json", "chroma", "vectors.npy", "vectors.ids")
# Files a writer only ever replaces whole (written beside, then os.replace): a new generation starts with
# hard links to the live one's, not copies. Chroma's database is changed in place, so it is copied.
REPLACED_WHOLE = frozenset({"catalog.json", "vectors.npy", "vectors.ids", "abbreviations.json", "chunks.sqlite"})


class IndexBusy(TutorError):
    """Another process holds the ingest lock."""


def current(index: Path) -> Path | None:
    """The live generation's folder, or None when no index was published there yet."""
    try:
        name = (index / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise unusable(index) from None
    except OSError as exc:
        raise TutorError(f"cannot read the index at {index} ({exc.strerror or exc})",
                         fix="check the folder's permissions, or run: tutor ingest --rebuild") from None
    folder = index / name
    if not _NAME.match(name) or not folder.is_dir():
        raise TutorError(f"the index at {index} is damaged ({POINTER} names {name!r}, which is not there)",
                         fix="run: tutor ingest --rebuild")
    return folder


def unusable(index: Path, exc: OSError | None = None) -> TutorError:
    """The error for an index folder that cannot be made or used (a file, a read-only or virtual place)."""
    if index.is_file():
        why = "it is a file, not a folder"
    elif any(p.exists() and not p.is_dir() for p in index.parents):
        why = "a part of that path is a file"
    else:
        why = (exc.strerror if exc is not None else "") or "cannot write there"
    return TutorError(f"cannot use {index} as the index folder ({why})",
                      fix="set TUTOR_INDEX (or --index) to a folder you can write, e.g. ./index")


def generations(index: Path) -> list[Path]:
    """Published generation folders, oldest first."""
    if not index.is_dir():
        return []
    return sorted(p for p in index.iterdir() if _NAME.match(p.name) and p.is_dir())


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def ingest_lock(index: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the index's writer lock; a TutorError names the holder when it stays busy past ``wait`` s.

    Two locks: one for the threads of this process, and a POSIX record lock (``lockf``) on
    ``ingest.lock`` for other processes. A record lock, not ``flock``: it belongs to this process
    alone, so a process forked during the ingest does not inherit it, and the kernel frees it when we
    die.
    """
    import fcntl

    path = index / LOCK
    try:
        index.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise unusable(index, exc) from None
    with _THREAD_LOCKS_GUARD:
        local = _THREAD_LOCKS.setdefault(str(path.resolve()), threading.Lock())
    deadline = time.monotonic() + wait
    with handle:

        def busy() -> IndexBusy:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            return IndexBusy(f"another ingest is updating {index} ({holder})",
                             fix="wait for it to finish; searches keep using the current index")

        got = local.acquire(timeout=wait) if wait > 0 else local.acquire(blocking=False)
        if not got:
            raise busy()
        try:
            while True:
                try:
                    fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EACCES, errno.EAGAIN):
                        raise
                    if time.monotonic() >= deadline:
                        raise busy() from None
                    time.sleep(0.1)
            try:
                handle.seek(0)
                handle.truncate()
                handle.write(f"pid {os.getpid()}, since {time.strftime('%H:%M:%S')}\n")
                handle.flush()
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                handle.flush()
                fcntl.lockf(handle, fcntl.LOCK_UN)
        finally:
            local.release()


@contextlib.contextmanager
def new_generation(index: Path, copy_current: bool = True) -> Iterator[Path]:
    """A fresh generation folder to write (a copy of the live one, unless ``copy_current`` is false).

    Published when the block ends normally; removed when it raises. Call it under ``ingest_lock``.
    """
    live = current(index) if copy_current else None  # a rebuild must not depend on a damaged index
    _sweep(index)
    number = max((int(p.name[1:]) for p in generations(index)), default=0) + 1
    final = index / f"g{number:06d}"
    draft = index / (final.name + BUILDING)
    if copy_current and live is not None:
        shutil.copytree(live, draft, symlinks=True, copy_function=_link_or_copy)
    else:
        draft.mkdir(parents=True)
    try:
        yield draft
    except BaseException:
        shutil.rmtree(draft, ignore_errors=True)
        raise
    _publish(index, draft, final)
    _prune(index, keep=final)


def adopt(index: Path, name: str, files: dict[str, str]) -> Path:
    """Make ``name`` the live generation, written from ``files`` (one published elsewhere, e.g. on a server).

    Call it under ``ingest_lock``; the next ``new_generation`` is numbered after it.
    """
    if not _NAME.match(name):
        raise TutorError(f"{name!r} is not the name of an index generation", fix="run: tutor ingest --rebuild")
    _sweep(index)
    draft = index / (name + BUILDING)
    draft.mkdir(parents=True)
    for file, text in files.items():
        (draft / file).write_text(text, encoding="utf-8")
    _remove(index / name)
    _publish(index, draft, index / name)
    return index / name


def _link_or_copy(source: str, target: str) -> None:
    """A hard link for a file that is only ever replaced whole (its old generation keeps its own name for
    it), a copy for anything else or where links are not allowed."""
    if Path(source).name in REPLACED_WHOLE:
        try:
            os.link(source, target)
            return
        except OSError:
            pass
    shutil.copy2(source, target)


def _publish(index: Path, draft: Path, final: Path) -> None:
    _fsync_tree(draft)
    os.replace(draft, final)
    pointer = index / (POINTER + ".tmp")
    with open(pointer, "w", encoding="utf-8") as handle:
        handle.write(final.name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(pointer, index / POINTER)  # the switch: readers see the old generation or the new one
    _fsync_dir(index)


def _sweep(index: Path) -> None:
    """Remove what killed ingests left behind, and the files of the layout before generations."""
    for path in index.iterdir():
        if path.name.endswith(BUILDING) or path.name == POINTER + ".tmp":
            _remove(path)
    if not (index / POINTER).exists():
        for name in _LEGACY:
            _remove(index / name)


def _prune(index: Path, keep: Path) -> None:
    older = [p for p in generations(index) if p != keep]
    for path in older[: max(0, len(older) - KEEP_PREVIOUS)]:
        _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _fsync_tree(folder: Path) -> None:
    """Flush every file of the new generation to disk before it can become the live one."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                fd = os.open(os.path.join(root, name), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        _fsync_dir(Path(root))


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
