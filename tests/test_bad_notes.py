"""Bad files in the notes folder: each one skipped or handled with a warning naming it; the rest indexed."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.fakes import HashEmbedder, MemoryStore
from tutor import ingest as ingest_module
from tutor.catalog import load_catalog
from tutor.chunking import chunk_text
from tutor.ingest import IngestReport, ingest
from tutor.notes import MAX_FILE_BYTES, note_files, read_note

GOOD = "ml-process-summary.md"


def run(corpus: Path, tmp_path: Path) -> IngestReport:
    store = MemoryStore()
    return ingest(corpus, tmp_path / "index", HashEmbedder(), lambda _folder: store, progress=False)


def warning_for(report: IngestReport, name: str) -> str:
    (hit,) = [w for w in report.warnings if f"/{name}" in w]
    return hit


def chunks_of(tmp_path: Path, source: str) -> list:  # type: ignore[type-arg]
    catalog = load_catalog(tmp_path / "index")
    assert catalog is not None
    return [catalog.chunks[i] for i in catalog.files[source].chunk_ids]


def test_files_that_are_not_text_are_skipped_with_a_warning_naming_them(corpus: Path, tmp_path: Path) -> None:
    (corpus / "image.md").write_bytes(bytes(range(256)) * 8)  # NUL bytes
    (corpus / "random.md").write_bytes(bytes((i * 7919 + 13) % 255 + 1 for i in range(4096)))  # binary, no NUL
    (corpus / "big.md").write_bytes(b"## Big\n" + b"word " * (2 * MAX_FILE_BYTES // 5))  # 10 MB
    report = run(corpus, tmp_path)
    assert warning_for(report, "image.md").endswith("image.md: it looks binary, not text")
    assert warning_for(report, "random.md").endswith("random.md: it looks binary, not text")
    assert warning_for(report, "big.md").endswith("big.md: 10.5 MB is over the 5 MB limit for a note")
    assert report.added == [GOOD] and report.chunks > 20


def test_a_large_file_is_judged_by_its_size_without_reading_it(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.md"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    read: list[int] = []
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: read.append(1) or real_fdopen(*a, **k))
    text, warning, raw = read_note(big)
    assert text is None and raw == b"" and read == [] and "over the 5 MB limit" in (warning or "")


def test_text_that_is_not_utf8_is_decoded_or_replaced_with_a_warning(corpus: Path, tmp_path: Path) -> None:
    (corpus / "latin1.txt").write_bytes("Le café: un résumé des étapes.\n".encode("latin-1"))
    (corpus / "windows.md").write_text("## Notepad\nSaved as UTF-16 with a BOM.\n", encoding="utf-16")
    (corpus / "bom.md").write_bytes("\ufeff# Title\n\n## Section\nBody after a BOM.\n".encode())
    report = run(corpus, tmp_path)
    assert warning_for(report, "latin1.txt").endswith("latin1.txt is not valid UTF-8: undecodable bytes were replaced")
    assert not any("windows.md" in w or "bom.md" in w for w in report.warnings)
    assert set(report.added) == {GOOD, "latin1.txt", "windows.md", "bom.md"}
    assert chunks_of(tmp_path, "latin1.txt")[0].text == "Le caf\ufffd: un r\ufffdsum\ufffd des \ufffdtapes."
    (notepad,) = chunks_of(tmp_path, "windows.md")
    assert (notepad.section, notepad.text) == ("Notepad", "Saved as UTF-16 with a BOM.")
    (section,) = chunks_of(tmp_path, "bom.md")  # the BOM did not hide the title heading
    assert (section.section, section.start) == ("Section", 4)


def test_empty_files_are_indexed_as_nothing_with_a_warning(corpus: Path, tmp_path: Path) -> None:
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "blank.txt").write_text(" \n\t\n\n")
    (corpus / "outline.md").write_text("# A\n## B\n### C\n")  # headings only: a valid, empty outline
    report = run(corpus, tmp_path)
    assert warning_for(report, "empty.md").endswith("empty.md: it is empty, so there is nothing to index")
    assert warning_for(report, "blank.txt").endswith("blank.txt: it is empty, so there is nothing to index")
    assert set(report.added) == {GOOD, "empty.md", "blank.txt", "outline.md"}
    assert chunks_of(tmp_path, "outline.md") == [] and chunks_of(tmp_path, "empty.md") == []
    again = run(corpus, tmp_path)
    assert again.warnings == [] and again.unchanged == 4  # recorded: not re-read, not re-warned


def test_control_characters_in_a_note_are_removed_with_a_warning(corpus: Path, tmp_path: Path) -> None:
    (corpus / "colours.md").write_text("## Log\nsome \x1b[31mred\x1b[0m text\x07 and\x08 a\x0cpage break\n")
    report = run(corpus, tmp_path)
    assert warning_for(report, "colours.md").endswith("colours.md: control characters were removed")
    (chunk,) = chunks_of(tmp_path, "colours.md")
    assert chunk.text == "some red text and a\x0cpage break" and (chunk.start, chunk.end) == (2, 2)


def test_malformed_markdown_is_chunked_without_losing_text(corpus: Path, tmp_path: Path) -> None:
    (corpus / "fence.md").write_text("# T\n\n## Code\n```python\nx = 1\n\n## Not a heading inside the fence\nmore\n")
    (corpus / "deep.md").write_text("####### Seven hashes is text\nunder it\n\n##\nbody of an empty heading\n"
                                    "## ##\nbody of a closed empty heading\n## C#\nabout C#\n")
    (corpus / "crlf.md").write_bytes(b"# CRLF\r\n\r\n## Part one\r\nLine one.\r\n\r\n## Part two\r\nLine two.\r\n")
    (corpus / "oldmac.md").write_bytes(b"## Sec\rfirst\rsecond\r")
    report = run(corpus, tmp_path)
    assert report.warnings == [] and len(report.added) == 5
    (fence,) = chunks_of(tmp_path, "fence.md")  # the unclosed fence runs to the end of the file
    assert fence.section == "Code" and fence.text.endswith("## Not a heading inside the fence\nmore")
    deep = [(c.section, c.start, c.text) for c in chunks_of(tmp_path, "deep.md")]
    assert deep == [("deep", 1, "####### Seven hashes is text\nunder it"),
                    ("(untitled)", 5, "body of an empty heading"),
                    ("(untitled)", 7, "body of a closed empty heading"),
                    ("C#", 9, "about C#")]
    assert [(c.section, c.start, c.text) for c in chunks_of(tmp_path, "crlf.md")] == [
        ("Part one", 4, "Line one."), ("Part two", 7, "Line two.")]
    assert [(c.section, c.start, c.end) for c in chunks_of(tmp_path, "oldmac.md")] == [("Sec", 2, 3)]


def test_line_numbers_count_only_real_line_breaks() -> None:
    text = "## A\npage one\x0cpage two\nline \u2028 separator\x85 and NEL\nlast\n"
    (chunk,) = chunk_text(text, "n.md")
    assert (chunk.start, chunk.end) == (2, 4)  # as an editor numbers them: three body lines


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="symlinks and pipes as on POSIX")
def test_links_that_go_nowhere_and_pipes_are_skipped_and_the_rest_indexed(corpus: Path, tmp_path: Path) -> None:
    (corpus / "self.md").symlink_to("self.md")
    (corpus / "ping.md").symlink_to("pong.md")
    (corpus / "pong.md").symlink_to("ping.md")
    (corpus / "gone.md").symlink_to(tmp_path / "nowhere.md")
    (corpus / "loop").mkdir()
    (corpus / "loop" / "up").symlink_to("..")  # a folder loop: never entered
    (corpus / "folder.md").mkdir()
    os.mkfifo(corpus / "pipe.md")  # reading it would wait forever
    (corpus / "alias.md").symlink_to(corpus / GOOD)
    skipped: list[str] = []
    assert [p.name for p in note_files(corpus, skipped)] == [GOOD]
    assert [w.removeprefix(f"skipped {corpus}/") for w in skipped] == [
        f"alias.md: it is a link to {GOOD}, which is indexed under its own name",
        f"gone.md: it is a symlink to {tmp_path / 'nowhere.md'}, which does not exist",
        "ping.md: it is a symlink loop", "pipe.md: it is not a regular file", "pong.md: it is a symlink loop",
        "self.md: it is a symlink loop"]
    report = run(corpus, tmp_path)
    assert report.added == [GOOD] and report.chunks > 20


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="pipes as on POSIX")
def test_reading_a_pipe_named_like_a_note_does_not_wait(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.md")
    result: list[tuple] = []  # type: ignore[type-arg]
    reader = threading.Thread(target=lambda: result.append(read_note(tmp_path / "pipe.md")), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert result == [(None, f"skipped {tmp_path}/pipe.md: it is not a regular file", b"")]


def test_a_file_that_vanishes_between_listing_and_reading_is_skipped(corpus: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (corpus / "fleeting.md").write_text("## Here\nthen gone\n")
    real = ingest_module.read_note

    def delete_first(path: Path):  # type: ignore[no-untyped-def]
        if path.name == "fleeting.md":
            path.unlink()
        return real(path)

    monkeypatch.setattr(ingest_module, "read_note", delete_first)
    report = run(corpus, tmp_path)
    assert warning_for(report, "fleeting.md").endswith("fleeting.md: it vanished before it could be read")
    assert report.added == [GOOD] and report.chunks > 20


def test_an_unreadable_file_is_skipped_with_the_reason(corpus: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (corpus / "secret.md").write_text("## Secret\nno access\n")
    real_open = os.open

    def no_access(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path).endswith("secret.md"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_access)
    report = run(corpus, tmp_path)
    assert warning_for(report, "secret.md").endswith("secret.md: cannot read it (Permission denied)")
    assert report.added == [GOOD]
