from __future__ import annotations

from tests.test_chunking import words
from tutor.chunking import chunk_text
from tutor.records import Hit
from tutor.widening import widen

NOTE = "# Serving\n\n## Patterns\n\n" + "\n\n".join(
    f"- Pattern {i}: " + " ".join(f"word{i}x{j}" for j in range(12)) for i in range(6)) + "\n\n## Other\n\nlast words\n"


def pieces() -> list:
    chunks = chunk_text(NOTE, "s.md", max_tokens=40, count_tokens=words)
    assert len([c for c in chunks if c.section == "Patterns"]) == 3
    return chunks


def test_a_hit_grows_into_its_section_with_the_notes_exact_lines() -> None:
    chunks = pieces()
    middle = [c for c in chunks if c.section == "Patterns"][1]
    (wide,) = widen([Hit(middle, 1.0)], chunks, budget=4000)
    lines = NOTE.splitlines()
    assert wide.chunk.section == "Patterns" and wide.chunk.start < middle.start and wide.chunk.end > middle.end
    assert wide.chunk.text == "\n".join(lines[wide.chunk.start - 1 : wide.chunk.end])
    assert "last words" not in wide.chunk.text  # never past its section


def test_widening_keeps_to_the_budget_and_never_swallows_another_hit() -> None:
    chunks = pieces()
    first, middle, last = [c for c in chunks if c.section == "Patterns"]
    hits = [Hit(first, 1.0), Hit(last, 0.9)]
    grown = widen(hits, chunks, budget=4000)
    assert grown[0].chunk.end == middle.end and grown[1].chunk == last  # the middle piece went to the best hit
    assert widen(hits, chunks, budget=len(first.text) + len(last.text) + 100) == hits  # no room: unchanged


def test_parts_of_one_long_line_widen_back_into_the_line() -> None:
    line = " ".join(f"Sentence {i} of the paragraph." for i in range(30))
    note = f"## Para\n\n{line}\n"
    parts = chunk_text(note, "p.md", max_tokens=40, count_tokens=words)
    assert len(parts) > 3 and {(c.start, c.end) for c in parts} == {(3, 3)}
    (wide,) = widen([Hit(parts[1], 1.0)], parts, budget=4000)
    assert wide.chunk.text == line and wide.chunk.lines == (3, 3)
