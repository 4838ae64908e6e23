"""The shelf (chunks.sqlite): what a reader looks up on disk gives what the chunks in memory gave."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import NOTES
from tests.fakes import HashEmbedder, MemoryStore
from tests.test_widening import pieces
from tutor.abbreviations import hyphenated_terms, mine_abbreviations
from tutor.catalog import load_catalog, save_catalog
from tutor.chunking import chunk_text
from tutor.errors import TutorError
from tutor.keywords import BM25, StoredBM25
from tutor.records import Hit
from tutor.retrieval import Retriever
from tutor.shelf import ChunkTable, Shelf, ShelfHyphens, ShelfTerms, save_shelf
from tutor.text import tokenize
from tutor.widening import widen

QUERIES = ["DS vs MLE?", "crispdm steps?", "What is the most time-consuming step?", "ethical risks of ML",
           "collaborative filtering pros and cons", "hybrid recommender two stages", "whales and dolphins"]


def shelved(tmp_path: Path, chunks: list) -> ChunkTable:  # type: ignore[type-arg]
    save_shelf(tmp_path, chunks)
    return ChunkTable(Shelf(tmp_path))


def test_chunks_are_read_back_by_id_by_row_and_in_order(tmp_path: Path) -> None:
    chunks = chunk_text(NOTES.read_text(), "ml-process-summary.md")
    table = shelved(tmp_path, chunks)
    assert len(table) == len(table.rows) == len(chunks)
    assert list(table.values()) == chunks and list(table) == [c.id for c in chunks]
    assert table[chunks[3].id] == chunks[3] and table.rows[3] == chunks[3] and table.rows[-1] == chunks[-1]
    assert table.rows.ids_at([5, 2]) == [chunks[5].id, chunks[2].id] and chunks[5].id in table
    assert table.present([chunks[1].id, "nowhere.md:1"]) == {chunks[1].id} and table.present([]) == set()
    assert table.many([chunks[4].id, "nowhere.md:1"]) == {chunks[4].id: chunks[4]}
    assert list(table.rows.texts(batch=7)) == [c.text for c in chunks]
    assert "nowhere.md:1" not in table and table.get("nowhere.md:1") is None
    with pytest.raises(IndexError):
        table.rows[len(chunks)]


def test_a_section_is_read_alone_and_widening_from_disk_is_widening_in_memory(tmp_path: Path) -> None:
    chunks = pieces()
    table = shelved(tmp_path, chunks)
    middle = [c for c in chunks if c.section == "Patterns"][1]
    assert table.section(middle) == [c for c in chunks if c.section == "Patterns"]
    for hits in ([Hit(middle, 1.0)], [Hit(c, 1.0) for c in chunks[::2]]):
        assert widen(hits, table, budget=4000) == widen(hits, chunks, budget=4000)


def test_stored_bm25_scores_as_the_one_built_in_memory(tmp_path: Path) -> None:
    chunks = chunk_text(NOTES.read_text(), "ml-process-summary.md")
    table = shelved(tmp_path, chunks)
    memory, stored = BM25(tokenize(c.embed_text()) for c in chunks), StoredBM25(ShelfTerms(table.shelf))
    assert stored.n == memory.n and stored.avg == memory.avg and list(stored.lengths) == list(memory.lengths)
    assert sorted(stored.terms) == sorted(memory.terms)
    assert dict(ShelfHyphens(table.shelf)) == hyphenated_terms(memory.terms) and "crispdm" in ShelfHyphens(table.shelf)
    for query in map(tokenize, QUERIES):
        assert stored.scores(query) == memory.scores(query)
        assert stored.top(query, 10) == memory.top(query, 10)
    assert "crisp-dm" in stored.terms and "whales" not in stored.terms and stored.idf.get("whales") is None


def test_a_retriever_over_the_shelf_finds_and_widens_as_one_over_the_chunks(tmp_path: Path) -> None:
    chunks = chunk_text(NOTES.read_text(), "ml-process-summary.md")
    store, embedder = MemoryStore(), HashEmbedder()
    store.upsert(chunks, embedder.embed([c.embed_text() for c in chunks]))
    abbreviations = mine_abbreviations(chunks)
    memory = Retriever(chunks, store, embedder, abbreviations)
    disk = Retriever(shelved(tmp_path, chunks), store, embedder, abbreviations)
    for query in QUERIES:
        found, again = memory.retrieve(query, 5, 0.3), disk.retrieve(query, 5, 0.3)
        assert again == found
        assert disk.widen(again, 3000) == memory.widen(found, 3000)
        assert disk.keyword_coverage(query) == memory.keyword_coverage(query)
        assert disk.answering(again, 0.3) == memory.answering(found, 0.3)


def test_a_reader_gets_the_shelf_and_a_generation_without_one_is_read_whole(tutor, settings) -> None:  # type: ignore[no-untyped-def]
    tutor.ingest()
    lazy, whole = load_catalog(settings.index, lazy=True), load_catalog(settings.index)
    assert lazy is not None and whole is not None
    assert isinstance(lazy.chunks, ChunkTable) and isinstance(whole.chunks, dict)
    assert list(lazy.chunks.values()) == list(whole.chunks.values()) and lazy.files == whole.files
    assert lazy.abbreviations == whole.abbreviations
    assert lazy.folder is not None
    assert lazy.shelf and lazy.shelf == whole.shelf == lazy.chunks.shelf.stamp
    whole.shelf = ""  # the catalog as an older tutor rewrites it (no stamp), beside the shelf it did not write
    save_catalog(lazy.folder, whole)
    stale = load_catalog(settings.index, lazy=True)
    assert stale is not None and isinstance(stale.chunks, dict) and stale.chunks == whole.chunks
    (lazy.folder / "chunks.sqlite").unlink()  # an index from before shelves: still read, whole
    older = load_catalog(settings.index, lazy=True)
    assert older is not None and isinstance(older.chunks, dict) and older.chunks == whole.chunks


def test_a_damaged_shelf_is_one_line_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "chunks.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(TutorError) as caught:
        Shelf(tmp_path)
    assert "chunks.sqlite" in caught.value.message and "tutor ingest --rebuild" in (caught.value.fix or "")


def test_a_new_shelf_reuses_the_old_ones_tokens_and_scores_as_if_made_afresh(tmp_path: Path) -> None:
    from dataclasses import replace

    chunks = chunk_text(NOTES.read_text(), "ml-process-summary.md")
    save_shelf(tmp_path, chunks)
    changed = [*chunks[:3], replace(chunks[3], text="whales sing", content_hash="f" * 16), *chunks[5:]]
    table = shelved(tmp_path, changed)  # written over the first: its unchanged chunks' tokens are reused
    stored, fresh = StoredBM25(ShelfTerms(table.shelf)), BM25(tokenize(c.embed_text()) for c in changed)
    assert list(table.values()) == changed and stored.n == fresh.n and stored.avg == fresh.avg
    for query in map(tokenize, [*QUERIES, "whales"]):
        assert stored.top(query, 10) == fresh.top(query, 10)
    assert stored.top(tokenize("whales"), 1)[0][0] == 3


def test_a_damaged_shelf_in_the_live_index_stops_questions_and_doctor_with_the_fix(tutor, settings) -> None:  # type: ignore[no-untyped-def]
    from tutor.doctor import check_index
    from tutor.generations import current

    tutor.ingest()
    folder = current(settings.index)
    assert folder is not None
    (folder / "chunks.sqlite").write_bytes(b"damaged" * 1000)
    for check in (lambda: check_index(settings), lambda: load_catalog(settings.index, lazy=True)):
        with pytest.raises(TutorError) as caught:
            check()
        assert "is damaged" in caught.value.message and caught.value.fix == "run: tutor ingest --rebuild"
