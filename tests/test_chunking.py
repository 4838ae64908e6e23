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


# --- the embedder's window and the notes' structure -------------------------------------------------

def words(texts: list[str]) -> list[int]:
    """A stand-in word-piece counter: one piece a word, so budgets are easy to reason about."""
    return [len(t.split()) for t in texts]


def exact_lines(text: str, chunks: list) -> None:
    lines = text.splitlines()
    for c in chunks:
        assert c.text == "\n".join(lines[c.start - 1 : c.end])
        assert c.text.strip() and lines[c.start - 1].strip() and lines[c.end - 1].strip()


NESTED = """# Interview notes

## 2. Metrics

- Model selection
  - compare models on the dev set with one number
  - keep a test set you never tune on
- Dataset
  - collect more data when variance is high
  - label a sample to estimate errors
    - check label noise by hand
    - relabel the worst classes
- Class imbalance
  - resample the minority class
  - weight the loss by class frequency
  - prefer precision and recall over accuracy
"""


def test_a_nested_list_splits_at_its_top_level_items_first() -> None:
    chunks = chunk_text(NESTED, "interview.md", max_tokens=40, count_tokens=words)
    exact_lines(NESTED, chunks)
    firsts = [c.text.splitlines()[0] for c in chunks]
    assert firsts == ["- Model selection", "- Dataset", "- Class imbalance"]  # one topic a chunk
    assert {c.section for c in chunks} == {"2. Metrics"}
    assert all(c.title == "Interview notes" and c.lead == "" for c in chunks)


def test_an_item_too_big_splits_deeper_and_its_pieces_carry_the_item_as_lead() -> None:
    chunks = chunk_text(NESTED, "interview.md", max_tokens=30, count_tokens=words)
    exact_lines(NESTED, chunks)
    dataset = [c for c in chunks if "Dataset" in c.text or c.lead == "- Dataset"]
    assert len(dataset) == 2
    assert dataset[0].text.startswith("- Dataset") and dataset[0].lead == ""
    assert dataset[1].text.startswith("  - label a sample") and dataset[1].lead == "- Dataset"
    assert dataset[1].embed_text().startswith("Interview notes > 2. Metrics\n- Dataset\n- label a sample")
    for c in chunks:
        assert sum(words([c.embed_text()])) + 2 <= 30


def test_title_is_the_h1_else_the_file_name_made_readable() -> None:
    (titled,) = chunk_text("# Deep Learning\n\n## 1. Basics\nneurons\n", "dl.md", count_tokens=words)
    assert (titled.title, titled.section) == ("Deep Learning", "1. Basics")
    assert titled.embed_text() == "Deep Learning > 1. Basics\nneurons"
    (untitled,) = chunk_text("## 10. Other topics\nbatch norm\n", "ml_interview-notes.md", count_tokens=words)
    assert untitled.title == "ml interview notes"
    assert untitled.embed_text().startswith("ml interview notes > 10. Other topics\n")
    (only_title,) = chunk_text("# Just a title\nsome words under it\n", "t.md", count_tokens=words)
    assert only_title.title == "Just a title" and only_title.section == "t"
    (given,) = chunk_text("## A\nx y z\n", "scan.md", title="My PDF", count_tokens=words)
    assert given.title == "My PDF"


def test_the_same_numbered_heading_in_two_files_embeds_differently() -> None:
    a = chunk_text("# Recommender systems\n## 2. Metrics\nprecision at k\n", "a.md", count_tokens=words)[0]
    b = chunk_text("# Search ranking\n## 2. Metrics\nprecision at k\n", "b.md", count_tokens=words)[0]
    assert a.section == b.section and a.embed_text() != b.embed_text()
    assert a.content_hash != b.content_hash  # a vector is never reused under another title


def test_code_in_a_list_item_stays_with_it_and_its_comments_are_not_headings() -> None:
    text = "## Training\n\n- Update rule:\n\n  ```python\n# not a heading\n  w = w - lr * dw\n  ```\n- Done\n"
    chunks = chunk_text(text, "c.md", count_tokens=words)
    assert [c.section for c in chunks] == ["Training"]
    assert "# not a heading" in chunks[0].text
    text = "## Fences\n- ```\n  # comment\n  x = 1\n  ```\n"
    assert [c.section for c in chunk_text(text, "f.md", count_tokens=words)] == ["Fences"]


def test_a_long_code_block_is_split_between_its_lines() -> None:
    code = "\n".join(f"x{i} = compute({i}, step)" for i in range(40))
    text = f"## Code\n\n```python\n{code}\n```\n"
    chunks = chunk_text(text, "c.md", max_tokens=30, count_tokens=words)
    exact_lines(text, chunks)
    assert len(chunks) > 2 and chunks[0].text.startswith("```python") and chunks[-1].text.endswith("```")


def test_a_long_table_repeats_its_header_as_lead() -> None:
    rows = "\n".join(f"| metric {i} | value {i} |" for i in range(30))
    text = f"## Results\n\n| name | score |\n|---|---|\n{rows}\n"
    chunks = chunk_text(text, "t.md", max_tokens=40, count_tokens=words)
    exact_lines(text, chunks)
    assert len(chunks) > 2
    assert chunks[0].text.startswith("| name | score |") and chunks[0].lead == ""
    assert all(c.lead == "| name | score |\n|---|---|" for c in chunks[1:])
    assert all(line.startswith("|") for c in chunks for line in c.text.splitlines())


def test_every_chunk_fits_the_real_embedders_window() -> None:
    from tutor.embedding import count_word_pieces

    item = "- {0} regularisation: weight decay, dropout and early stopping reduce variance (overfitting)"
    body = "\n".join(item.format(i) + "\n  - " + "sub point about `lambda/2m * ||W||^2` " * 3 for i in range(60))
    text = f"# Improving Deep Neural Networks\n\n## Practical aspects\n\n### Regularization\n\n{body}\n"
    chunks = chunk_text(text, "dlai.md")
    exact_lines(text, chunks)
    assert len(chunks) > 5
    sizes = count_word_pieces([c.embed_text() for c in chunks])
    assert max(sizes) + 2 <= 256
    assert min(sizes) > 60  # packed, not one line a chunk


def test_the_prompt_and_the_embedded_text_keep_code_as_written() -> None:
    from tutor.prompts import format_notes
    from tutor.records import Hit, plain

    note = ("# Tips\n## Regularization\n- **L2** adds `lambda/(2m) * sum(w**2)` to the cost\n"
            "```python\n# weight decay\nw = w - lr * (dw + lambd / m * w)\ncost = J + lambd * w**2\n```\n"
            "- `__init__` builds the layer\n")
    [chunk] = chunk_text(note, "tips.md")
    quoted = format_notes([Hit(chunk, 0.9)])
    for kept in ("`lambda/(2m) * sum(w**2)`", "# weight decay", "cost = J + lambd * w**2", "`__init__`", "- L2 adds"):
        assert kept in quoted and kept in chunk.embed_text()
    # a piece cut inside a long block (its opening fence in the piece before) reads as text, as before
    assert plain("x = w**2\n```\n- **Note**: done") == "x = w2\n```\n- Note: done"


def test_a_paragraph_written_on_one_line_is_cut_into_parts_that_all_cite_that_line() -> None:
    from tutor.embedding import count_word_pieces

    sentences = [f"Fact {i}: the learning rate schedule number {i} lowers the rate by a factor of {i + 1}."
                 for i in range(60)]
    line = " ".join(sentences)
    text = f"# Optimisers\n\n## Schedules\n\nA short first paragraph.\n\n{line}\n\n- a list item after it\n"
    chunks = chunk_text(text, "opt.md")
    parts = [c for c in chunks if c.start == 7]
    assert len(parts) > 2 and all(c.end == 7 and c.section == "Schedules" for c in parts)
    assert " ".join(c.text for c in parts) == line  # every word embedded, none twice, in order
    assert all(c.text.endswith(".") for c in parts)  # cut between sentences
    assert max(count_word_pieces([c.embed_text() for c in parts])) + 2 <= 256
    assert len({c.id for c in chunks}) == len(chunks) and parts[0].id == "opt.md:7" and parts[1].id == "opt.md:7+1"
    exact_lines(text, [c for c in chunks if c.start != 7])  # the other lines as before
    assert len({c.content_hash for c in parts}) == len(parts)


def test_a_line_without_sentence_ends_is_cut_between_words_and_code_lines_stay_whole() -> None:
    line = " ".join(f"w{i}" for i in range(100))
    parts = chunk_text(f"## Words\n{line}\n", "w.md", max_tokens=30, count_tokens=words)
    assert [len(c.text.split()) for c in parts] == [25, 25, 25, 25]  # 30 - [CLS], [SEP] - "W > Words"
    assert " ".join(c.text for c in parts) == line
    code = "x = " + " + ".join(f"a{i}" for i in range(100))
    chunks = chunk_text(f"## Code\n```python\n{code}\n```\n", "c.md", max_tokens=30, count_tokens=words)
    assert code in [c.text for c in chunks]  # cut code would not be code
