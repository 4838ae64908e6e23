"""Index generations: atomic switch, one writer, readers never see half an ingest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fakes import HashEmbedder, MemoryStore
from tutor.catalog import load_catalog
from tutor.errors import TutorError
from tutor.generations import POINTER, IndexBusy, current, generations, ingest_lock
from tutor.ingest import ingest
from tutor.pipeline import Tutor


def run(corpus: Path, index: Path, store: MemoryStore | None = None, **kw):  # type: ignore[no-untyped-def]
    store = store if store is not None else MemoryStore()
    return ingest(corpus, index, kw.pop("embedder", HashEmbedder()), lambda _folder: store, progress=False, **kw)


def test_each_change_is_a_new_generation_and_no_change_writes_nothing(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    run(corpus, index)
    first = current(index)
    assert first is not None and first.name == "g000001" and (index / POINTER).read_text().strip() == "g000001"
    before = sorted(p.name for p in index.iterdir())
    run(corpus, index)  # unchanged: no new generation, nothing rewritten
    assert current(index) == first and sorted(p.name for p in index.iterdir()) == before
    note = corpus / "ml-process-summary.md"
    note.write_text(note.read_text() + "\n## Extra\nA new section.\n")
    run(corpus, index)
    second = current(index)
    assert second is not None and second.name == "g000002"
    assert first.is_dir(), "the previous generation stays for readers that resolved it a moment ago"
    catalog = load_catalog(index)
    assert catalog is not None and catalog.folder == second
    assert any("A new section." in c.text for c in catalog.chunks.values())


def test_only_the_last_generations_are_kept(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    note = corpus / "ml-process-summary.md"
    for n in range(5):
        note.write_text(note.read_text() + f"\n## Extra {n}\nMore.\n")
        run(corpus, index)
    assert [p.name for p in generations(index)] == ["g000003", "g000004", "g000005"]


def test_a_failed_ingest_leaves_the_live_index_as_it_was(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    run(corpus, index)
    live = current(index)
    assert live is not None
    catalog_bytes = (live / "catalog.json").read_bytes()

    class Broken(HashEmbedder):
        def embed(self, texts):  # type: ignore[no-untyped-def]
            raise RuntimeError("the embedding model crashed")

    (corpus / "new.md").write_text("# New\nSomething new.\n")
    with pytest.raises(RuntimeError):
        run(corpus, index, embedder=Broken())
    assert current(index) == live and (live / "catalog.json").read_bytes() == catalog_bytes
    assert not [p for p in index.iterdir() if p.name.endswith(".building")], "the draft is removed"
    assert run(corpus, index).added == ["new.md"]


def test_what_a_killed_ingest_left_behind_is_ignored_then_swept(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    run(corpus, index)
    draft = index / "g000002.building"
    (draft / "chroma").mkdir(parents=True)
    (draft / "catalog.json").write_text("{half written")
    (index / (POINTER + ".tmp")).write_text("g000002")
    assert current(index) == index / "g000001"
    assert load_catalog(index) is not None
    (corpus / "new.md").write_text("# New\nSomething new.\n")
    run(corpus, index)
    assert current(index) == index / "g000002" and not draft.exists()
    assert not (index / (POINTER + ".tmp")).exists()


def test_one_ingest_at_a_time_and_readers_are_not_blocked(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    run(corpus, index)
    (corpus / "new.md").write_text("# New\nSomething new.\n")
    with ingest_lock(index):
        with pytest.raises(IndexBusy) as info:
            run(corpus, index)
        assert f"pid {os.getpid()}" in info.value.message and "wait" in info.value.fix
        catalog = load_catalog(index)  # a reader goes on while the writer holds the lock
        assert catalog is not None and "new.md" not in catalog.files
    assert run(corpus, index).added == ["new.md"]  # the lock is free again


def test_a_busy_lock_does_not_stop_a_question(corpus: Path, tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    messages: list[str] = []
    tutor = Tutor(settings, embedder=HashEmbedder(), store=MemoryStore(), log=messages.append, progress=False)
    tutor.ingest()
    (settings.corpus / "new.md").write_text("# New\nSomething new.\n")
    with ingest_lock(settings.index):
        fresh = Tutor(settings, embedder=HashEmbedder(), store=tutor.store, log=messages.append, progress=False)
        assert fresh.search("DS vs MLE?")
    assert any("Another process is updating the index" in m for m in messages)


def test_a_damaged_pointer_says_how_to_rebuild(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    run(corpus, index)
    (index / POINTER).write_text("g000009\n")
    with pytest.raises(TutorError, match="damaged") as info:
        load_catalog(index)
    assert "--rebuild" in info.value.fix
    assert run(corpus, index, rebuild=True).added == ["ml-process-summary.md"]
    assert current(index) is not None and load_catalog(index) is not None


def test_an_index_from_another_version_says_how_to_rebuild(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    run(corpus, index)
    live = current(index)
    assert live is not None
    data = json.loads((live / "catalog.json").read_text())
    data["version"] = 99
    (live / "catalog.json").write_text(json.dumps(data))
    with pytest.raises(TutorError, match="another version of tutor") as info:
        load_catalog(index)
    assert info.value.fix == "run: tutor ingest --rebuild"


def test_the_layout_before_generations_is_replaced(corpus: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    (index / "chroma").mkdir(parents=True)
    (index / "catalog.json").write_text('{"version": 1}')
    (index / "vectors.npy").write_bytes(b"old")
    (index / "README.md").write_text("kept")
    assert load_catalog(index) is None  # no generation yet: it is built, not refused
    run(corpus, index)
    assert sorted(p.name for p in index.iterdir()) == [POINTER, "README.md", "g000001", "ingest.lock"]


def test_a_skipped_file_does_not_make_the_index_stale(corpus: Path, tmp_path: Path) -> None:
    from tutor.ingest import stale_sources

    (corpus / "image.md").write_bytes(b"\x89PNG\x00\x00binary")
    os.symlink(corpus / "loop.md", corpus / "loop.md")
    report = run(corpus, tmp_path / "index")
    assert any("image.md" in w for w in report.warnings) and any("loop.md" in w for w in report.warnings)
    assert stale_sources(corpus, load_catalog(tmp_path / "index")) == []  # no re-ingest on every question


def test_a_link_to_a_note_in_the_folder_is_not_indexed_twice(corpus: Path, tmp_path: Path) -> None:
    os.symlink("ml-process-summary.md", corpus / "alias.md")
    report = run(corpus, tmp_path / "index")
    assert report.added == ["ml-process-summary.md"]
    assert any("alias.md" in w and "indexed under its own name" in w for w in report.warnings)


def test_a_new_generation_links_the_files_replaced_whole_and_copies_the_database(tmp_path: Path) -> None:
    """Publishing costs the change, not the index: the catalog and vector snapshot start as hard links (a
    writer replaces them whole, so the live generation keeps its own); Chroma's files, changed in place,
    are copied."""
    from tutor.catalog import catalog_path
    from tutor.generations import new_generation

    index = tmp_path / "index"
    index.mkdir()
    with new_generation(index) as first:
        for name, data in (("catalog.json", "{}"), ("vectors.npy", "v1"), ("vectors.ids", "a")):
            (first / name).write_text(data)
        (first / "chroma").mkdir()
        (first / "chroma" / "chroma.sqlite3").write_text("db1")
    live = current(index)
    assert live is not None
    with new_generation(index) as draft:
        assert (draft / "vectors.npy").samefile(live / "vectors.npy")
        assert catalog_path(draft).samefile(catalog_path(live))
        assert not (draft / "chroma" / "chroma.sqlite3").samefile(live / "chroma" / "chroma.sqlite3")
        (draft / "chroma" / "chroma.sqlite3").write_text("db2")  # in place, as Chroma writes
        tmp = draft / "vectors.tmp.npy"
        tmp.write_text("v2")
        os.replace(tmp, draft / "vectors.npy")  # whole, as LocalStore.commit writes
    assert (live / "vectors.npy").read_text() == "v1" and (live / "chroma" / "chroma.sqlite3").read_text() == "db1"
    assert (current(index) / "vectors.npy").read_text() == "v2"  # type: ignore[operator]
    assert (live / "catalog.json").stat().st_nlink == 2  # shared by both generations, never written in place
