from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakes import HashEmbedder, MemoryStore
from tutor.catalog import load_catalog
from tutor.errors import TutorError
from tutor.ingest import ingest, stale_sources
from tutor.notes import add_notes


def run(corpus: Path, index: Path, embedder: HashEmbedder, store: MemoryStore, **kw):  # type: ignore[no-untyped-def]
    return ingest(corpus, index, embedder, lambda _folder: store, progress=False, **kw)


def test_first_ingest_indexes_every_chunk(corpus: Path, tmp_path: Path) -> None:
    store, embedder = MemoryStore(), HashEmbedder()
    report = run(corpus, tmp_path / "index", embedder, store)
    assert report.added == ["ml-process-summary.md"]
    assert report.chunks == store.count() == report.embedded > 20
    catalog = load_catalog(tmp_path / "index")
    assert catalog is not None and set(catalog.chunks) == set(store.data)
    assert catalog.abbreviations["MLE"] == "Machine Learning Engineer"


def test_a_catalog_read_back_holds_each_string_once(corpus: Path, tmp_path: Path) -> None:
    """At tens of thousands of chunks, copies of ids, file names and headings are most of the memory."""
    run(corpus, tmp_path / "index", HashEmbedder(), MemoryStore())
    catalog = load_catalog(tmp_path / "index")
    assert catalog is not None
    chunks = list(catalog.chunks.values())
    listed = [i for entry in catalog.files.values() for i in entry.chunk_ids]
    assert listed == list(catalog.chunks) and all(a is c.id for a, c in zip(listed, chunks))
    assert len({id(c.source) for c in chunks}) == 1 and len({id(c.title) for c in chunks}) == 1
    assert not hasattr(chunks[0], "__dict__")  # slots


def test_a_catalog_is_a_chunk_per_line_and_reads_back_the_same(corpus: Path, tmp_path: Path) -> None:
    """Written by the C encoder a row per line (fast at 30,000 chunks), read a row at a time, and equal to
    the catalog written; a pretty-printed catalog of the same format (tutor before this change) still loads."""
    import json

    from tutor.catalog import catalog_from_json, catalog_path

    run(corpus, tmp_path / "index", HashEmbedder(), MemoryStore())
    catalog = load_catalog(tmp_path / "index")
    assert catalog is not None and catalog.folder is not None
    text = catalog_path(catalog.folder).read_text(encoding="utf-8")
    lines = text.splitlines()
    rows = [line for line in lines if line.startswith('  {"id": ')]
    assert len(rows) == len(catalog.chunks) > 20
    assert [json.loads(r.rstrip(","))["id"] for r in rows] == list(catalog.chunks)
    again = catalog_from_json(catalog.to_json(), catalog.folder, "here")
    assert again == catalog and list(again.chunks) == list(catalog.chunks)
    assert again.abbreviations == catalog.abbreviations and again.abbreviations
    pretty = json.dumps(json.loads(text), indent=1)  # the layout tutor wrote before
    assert catalog_from_json(pretty, catalog.folder, "here") == catalog


def test_a_chunk_whose_text_looks_like_the_catalog_layout_reads_back_whole(tmp_path: Path) -> None:
    from tutor.catalog import Catalog, FileEntry, catalog_from_json
    from tutor.records import Chunk

    tricky = '\n ],\n "abbreviations": {}\n  {"id": "x"},\n "chunks": [\n'
    chunk = Chunk("a.md:1", "a.md", "A", 1, 2, tricky, "h")
    catalog = Catalog(embedder="e", files={"a.md": FileEntry("h", 1, 1, [chunk.id])}, chunks={chunk.id: chunk})
    again = catalog_from_json(catalog.to_json(), tmp_path, "here")
    assert again.chunks[chunk.id].text == tricky and again == catalog


def test_unchanged_corpus_embeds_nothing(corpus: Path, tmp_path: Path) -> None:
    store, embedder = MemoryStore(), HashEmbedder()
    run(corpus, tmp_path / "index", embedder, store)
    calls = len(embedder.calls)
    report = run(corpus, tmp_path / "index", embedder, store)
    assert (report.unchanged, report.embedded, report.changed) == (1, 0, False)
    assert len(embedder.calls) == calls
    os.utime(corpus / "ml-process-summary.md")  # touched, same bytes
    assert run(corpus, tmp_path / "index", embedder, store).embedded == 0


def test_edited_file_re_embeds_only_the_changed_chunks(corpus: Path, tmp_path: Path) -> None:
    store, embedder = MemoryStore(), HashEmbedder()
    first = run(corpus, tmp_path / "index", embedder, store)
    note = corpus / "ml-process-summary.md"
    note.write_text(note.read_text().replace("Most time-consuming step", "Slowest step"))
    report = run(corpus, tmp_path / "index", embedder, store)
    assert report.updated == ["ml-process-summary.md"]
    assert report.embedded == 1 and report.reused == first.chunks - 1
    catalog = load_catalog(tmp_path / "index")
    assert catalog is not None
    assert any("Slowest step" in c.text for c in catalog.chunks.values())
    assert not any("Most time-consuming" in c.text for c in catalog.chunks.values())
    assert set(store.data) == set(catalog.chunks)


def test_inserted_lines_shift_ids_without_leaving_stale_vectors(corpus: Path, tmp_path: Path) -> None:
    store, embedder = MemoryStore(), HashEmbedder()
    run(corpus, tmp_path / "index", embedder, store)
    note = corpus / "ml-process-summary.md"
    note.write_text("# Extra title line\n\nintro\n\n" + note.read_text())
    run(corpus, tmp_path / "index", embedder, store)
    catalog = load_catalog(tmp_path / "index")
    assert catalog is not None and set(store.data) == set(catalog.chunks)


def test_deleted_file_is_removed_and_added_file_indexed(corpus: Path, tmp_path: Path) -> None:
    store, embedder = MemoryStore(), HashEmbedder()
    run(corpus, tmp_path / "index", embedder, store)
    (corpus / "ml-process-summary.md").unlink()
    (corpus / "new.txt").write_text("Gradient descent walks downhill.\n")
    assert stale_sources(corpus, load_catalog(tmp_path / "index")) == ["new.txt", "ml-process-summary.md"]
    report = run(corpus, tmp_path / "index", embedder, store)
    assert report.removed == ["ml-process-summary.md"] and report.added == ["new.txt"]
    assert store.count() == 1


def test_files_that_are_not_notes_are_skipped_with_a_warning(corpus: Path, tmp_path: Path) -> None:
    (corpus / "image.md").write_bytes(b"\x89PNG\x00\x00binary")
    (corpus / "latin1.txt").write_bytes("caf\xe9 notes about r\xe9sum\xe9s".encode("latin-1"))
    (corpus / "empty.md").write_text("")
    report = run(corpus, tmp_path / "index", HashEmbedder(), MemoryStore())
    assert any("image.md" in w and "binary" in w for w in report.warnings)
    assert any("latin1.txt" in w and "UTF-8" in w for w in report.warnings)
    assert "ml-process-summary.md" in report.added and "latin1.txt" in report.added


def test_rebuild_starts_from_nothing(corpus: Path, tmp_path: Path) -> None:
    store, embedder = MemoryStore(), HashEmbedder()
    run(corpus, tmp_path / "index", embedder, store)
    store.data["orphan"] = [0.0] * 512
    report = run(corpus, tmp_path / "index", embedder, store, rebuild=True)
    assert "orphan" not in store.data and report.embedded == report.chunks


def test_corrupted_catalog_says_how_to_rebuild(corpus: Path, tmp_path: Path) -> None:
    run(corpus, tmp_path / "index", HashEmbedder(), MemoryStore())
    catalog = load_catalog(tmp_path / "index")
    assert catalog is not None and catalog.folder is not None
    (catalog.folder / "catalog.json").write_text("{not json")
    with pytest.raises(TutorError, match="corrupted") as info:
        load_catalog(tmp_path / "index")
    assert "--rebuild" in info.value.fix
    report = run(corpus, tmp_path / "index", HashEmbedder(), MemoryStore(), rebuild=True)
    assert report.added == ["ml-process-summary.md"] and load_catalog(tmp_path / "index") is not None


def test_missing_corpus_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TutorError, match="no notes folder"):
        run(tmp_path / "nope", tmp_path / "index", HashEmbedder(), MemoryStore())


def test_add_notes_copies_outside_files_in_and_refuses_other_types(corpus: Path, tmp_path: Path) -> None:
    outside = tmp_path / "week2.md"
    outside.write_text("## Week 2\nBias and variance.\n")
    assert add_notes(corpus, [outside]) == [(corpus / "week2.md").resolve()]
    assert (corpus / "week2.md").read_text() == outside.read_text()
    with pytest.raises(TutorError, match="not a note file"):
        (tmp_path / "x.docx").write_bytes(b"PK\x03\x04")
        add_notes(corpus, [tmp_path / "x.docx"])
    store = MemoryStore()
    report = run(corpus, tmp_path / "index", HashEmbedder(), store, only=[corpus / "week2.md"])
    assert report.added == ["week2.md"]  # only what was named is synced


def test_abbreviations_mined_per_file_equal_mining_every_chunk(tmp_path: Path) -> None:
    """Kept per file and merged in the notes' order, the parts give exactly what one pass over every chunk
    gives: first definitions, most frequent phrases (ties: first seen), initials used as words left out."""
    import random

    from tutor.abbreviations import mine_abbreviations, mine_by_file
    from tutor.notes import chunk_document, read_note

    folder = Path(__file__).parent.parent / "evals" / "corpus-dev"
    files = sorted(folder.glob("*.md"))
    assert len(files) >= 3
    chunks = [c for p in files for c in chunk_document(read_note(p).document, p.name)]  # type: ignore[arg-type]
    whole = mine_abbreviations(chunks)
    assert len(whole) > 20
    found, parts = mine_by_file(chunks, {})
    assert found == whole and list(parts) == [p.name for p in files]
    again, kept = mine_by_file(chunks, parts)
    assert again == whole and all(kept[s] is parts[s] for s in parts)  # nothing mined twice
    reordered = chunks[len(chunks) // 2:] + chunks[: len(chunks) // 2]  # a file now split in two runs
    assert mine_by_file(reordered, parts)[0] == mine_abbreviations(reordered)
    random.Random(7).shuffle(files)
    shuffled = [c for p in files for c in chunk_document(read_note(p).document, p.name)]  # type: ignore[arg-type]
    assert mine_by_file(shuffled, parts)[0] == mine_abbreviations(shuffled)


def test_an_ingest_mines_only_the_changed_file_and_agrees_with_a_full_mining(corpus: Path, tmp_path: Path) -> None:
    from tutor.abbreviations import MINED, load_mined, mine_abbreviations

    (corpus / "extra.md").write_text("# Extra\n\nA Gradient Boosted Tree (GBT) is one. Gradient Boosted Tree again.\n")
    index = tmp_path / "index"
    run(corpus, index, HashEmbedder(), MemoryStore())
    first = load_catalog(index)
    assert first is not None and first.abbreviations["GBT"] == "Gradient Boosted Tree"
    kept = load_mined(first.folder)
    assert set(kept) == {"extra.md", "ml-process-summary.md"}
    (corpus / "extra.md").write_text("# Extra\n\nA Random Forest (RF) is one.\n")
    run(corpus, index, HashEmbedder(), MemoryStore())
    second = load_catalog(index)
    assert second is not None and second.folder is not None
    assert second.abbreviations == mine_abbreviations(second.chunks.values())
    assert "GBT" not in second.abbreviations and second.abbreviations["RF"] == "Random Forest"
    now = load_mined(second.folder)
    assert now["ml-process-summary.md"] == kept["ml-process-summary.md"] and now["extra.md"] != kept["extra.md"]
    (second.folder / MINED).write_text("{not json")  # a damaged record: every file is mined again
    (corpus / "extra.md").write_text("# Extra\n\nNothing to spell out.\n")
    run(corpus, index, HashEmbedder(), MemoryStore())
    third = load_catalog(index)
    assert third is not None and third.abbreviations == mine_abbreviations(third.chunks.values())
