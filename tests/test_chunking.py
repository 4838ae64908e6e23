from __future__ import annotations

from tests.conftest import NOTES
from tutor.chunking import chunk_text


def test_every_chunk_carries_its_heading_path_and_true_line_range() -> None:
    text = NOTES.read_text()
    lines = text.splitlines()
    chunks = chunk_text(text, "ml-process-summary.md")
    assert len(chunks) > 20
    for c in chunks:
        assert c.text == "\n".join(lines[c.start - 1 : c.end])
        assert c.source == "ml-process-summary.md"
    section = "Professional Roles in ML > Data Scientist vs. Machine Learning Engineer (MLE)"
    roles = [c for c in chunks if c.section == section]
    assert len(roles) == 1
    assert "| **Deliverables** |" in roles[0].text  # the whole table stays in one chunk
    above = [line for line in lines[: roles[0].start - 1] if line.strip()]
    assert above[-1].startswith("### ")  # the heading is the line above the body


def test_document_title_is_not_part_of_section_paths() -> None:
    chunks = chunk_text(NOTES.read_text(), "ml-process-summary.md")
    assert not any("Interview Preparation Summary" in c.section for c in chunks)
    assert any(c.section.startswith("Machine Learning Development Lifecycle > Six Key Steps > 1.") for c in chunks)


def test_long_table_is_split_between_rows_never_inside_one() -> None:
    rows = "\n".join(f"| row {i} | {'x' * 80} |" for i in range(40))
    text = f"# Doc\n\n## Big table\n\n| a | b |\n|---|---|\n{rows}\n"
    chunks = chunk_text(text, "t.md", max_chars=600)
    assert len(chunks) > 3
    for c in chunks:
        assert all(line.startswith("|") and line.endswith("|") for line in c.text.splitlines())
        assert len(c.text) <= 600


def test_long_list_is_split_between_items_with_their_continuation_lines() -> None:
    items = "\n".join(f"- item {i} {'word ' * 12}\n  continued {i}" for i in range(30))
    chunks = chunk_text(f"## List\n{items}\n", "l.md", max_chars=400)
    assert len(chunks) > 3
    for c in chunks:
        assert c.text.startswith("- item")
        assert c.text.splitlines()[-1].startswith("  continued")


def test_headings_inside_code_fences_are_text() -> None:
    text = "## Real\nbefore\n```\n# not a heading\n```\nafter\n"
    chunks = chunk_text(text, "c.md")
    assert [c.section for c in chunks] == ["Real"]
    assert "# not a heading" in chunks[0].text


def test_text_files_are_chunked_by_paragraph_under_the_file_name() -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "words " * 60 for i in range(10))
    chunks = chunk_text(text, "sub/notes.txt", max_chars=800)
    assert len(chunks) > 1
    assert {c.section for c in chunks} == {"notes"}
    assert chunks[0].id == "sub/notes.txt:1"


def test_content_hash_is_stable_and_changes_with_the_words() -> None:
    a = chunk_text("## A\nsame words\n", "x.md")[0]
    b = chunk_text("\n\n## A\nsame words\n", "x.md")[0]  # moved down two lines
    c = chunk_text("## A\nother words\n", "x.md")[0]
    assert a.content_hash == b.content_hash and a.start != b.start
    assert a.content_hash != c.content_hash


def test_empty_and_heading_only_files_give_no_chunks() -> None:
    assert chunk_text("", "e.md") == []
    assert chunk_text("# Title\n\n## Empty\n", "e.md") == []
