"""Notes folder -> chunks -> vectors -> store, incrementally.

Each ingest that changes something writes a new index generation and switches to it atomically
(``tutor.generations``); one ingest runs at a time. A catalog (``catalog.json`` in each generation)
records each file's content hash and chunks. Unchanged files are skipped without being read (size
and mtime first, then the hash); a changed file's chunks are replaced, reusing the vectors of chunks
whose words did not change; a deleted file's chunks are removed. Finding and reading note files
(every format) is ``tutor.notes``; files that are not notes (binary, too large, unreadable, a scanned
PDF) are skipped with a warning. An index written by an older version of tutor is rebuilt from the
notes by itself (the old generation stays live until the new one is complete).
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.catalog import OLD_INDEX_NOTICE, Catalog, FileEntry, OldIndex, load_catalog, save_catalog
from tutor.embedding import Embedder
from tutor.errors import TutorError
from tutor.generations import current, ingest_lock, new_generation
from tutor.notes import chunk_document, note_files, read_bytes, read_note, source_name
from tutor.records import Chunk
from tutor.shelf import save_shelf
from tutor.store import VectorStore

if TYPE_CHECKING:
    from tqdm import tqdm

    from tutor.embedding import Vector

EMBED_BATCH = 128  # texts per embed call: a progress step each


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
    pages: int = 0  # PDF pages read

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated", f"{len(self.removed)} removed",
                 f"{self.unchanged} unchanged"]
        pages = f", {self.pages} PDF pages read" if self.pages else ""
        return (f"Indexed {self.chunks} chunks ({', '.join(parts)}; {self.embedded} embedded, "
                f"{self.reused} reused{pages}) in {self.seconds:.1f}s")


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
            if read_note(path).document is not None:  # a file ingest would skip (binary, a scan) changes nothing
                stale.append(source)
        elif (st.st_size, st.st_mtime_ns) != (entry.size, entry.mtime_ns):
            if hashlib.sha256(read_bytes(path)[0]).hexdigest() != entry.hash:
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
                         fix="create it and put notes in it (.md, .txt, .pdf, .ipynb, .html), "
                             "or pass --corpus / set TUTOR_CORPUS")
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
    from tutor.abbreviations import load_mined, mine_by_file, save_mined

    try:
        catalog = None if rebuild else load_catalog(index)
    except OldIndex:  # the notes are the source: a new generation is built from them, published atomically
        log(OLD_INDEX_NOTICE)
        catalog = None
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
        document, warning, raw = read_note(path)
        if warning:
            report.warnings.append(warning)
        if document is None:
            continue
        report.pages += document.pages
        digest = hashlib.sha256(raw).hexdigest()
        entry = FileEntry(hash=digest, size=st.st_size, mtime_ns=st.st_mtime_ns, chunk_ids=[])
        if old is not None and old.hash == digest:
            entry.chunk_ids = old.chunk_ids
            catalog.files[source] = entry
            touched = True
            report.unchanged += 1
            continue
        chunks = chunk_document(document, source)
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
        # only the changed files are mined again: the others' parts were kept by the last ingest
        catalog.abbreviations, mined = mine_by_file(catalog.chunks.values(), {} if fresh else load_mined(draft))
        store.commit()  # vectors first: a catalog never names chunks its store cannot find
        save_mined(draft, mined)
        catalog.shelf = save_shelf(draft, list(catalog.chunks.values()))
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
    """Embed what changed (reusing the vectors of chunks whose words did not) and write it to ``store``.

    Vectors stay float32 rows from the embedder (or the store) to the store's one upsert."""
    import numpy as np

    assert isinstance(catalog.chunks, dict), "an ingest reads its catalog whole (load_catalog without lazy)"

    old_ids = [i for source, *_ in todo if source in catalog.files for i in catalog.files[source].chunk_ids]
    old_by_hash = {catalog.chunks[i].content_hash: i for i in old_ids if i in catalog.chunks}
    kept = store.vectors([old_by_hash[c.content_hash] for _, chunks, _, _ in todo for c in chunks
                          if c.content_hash in old_by_hash])
    pending = [c for _, chunks, _, _ in todo for c in chunks]
    vectors: dict[str, Vector] = {}
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
            vectors.update(zip((c.id for c in batch), embedder.embed([c.embed_text() for c in batch])))
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
    if changed:
        store.upsert(changed, np.stack([vectors[c.id] for c in changed]))

    for source in gone:
        entry = catalog.files.pop(source)
        store.delete(entry.chunk_ids)
        for i in entry.chunk_ids:
            catalog.chunks.pop(i, None)
        report.removed.append(source)


def _progress_bar(total: int, progress: bool | None) -> tqdm[Any]:
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    return tqdm(total=total, desc="Embedding chunks", unit="chunk", file=sys.stderr, leave=False,
                disable=not show or total == 0)
