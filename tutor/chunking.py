"""Notes into heading-aware chunks.

Each chunk is the body of one heading (ATX ``#`` headings) and carries its file, heading path and
line range. A body longer than ``max_chars`` is split between blocks (paragraphs, lists, tables,
code fences); a block that is itself too long is split between list items or table rows, never
inside one. Plain ``.txt`` files have no headings: their paragraphs are packed the same way under
the file's name. Limits: setext headings (underlined with ``===``) are read as text; HTML is text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from tutor.records import Chunk, plain

# An ATX heading; "##" alone is an empty one, and a closing "#" run counts only after a space ("C#").
HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
LINE_BREAK = re.compile(r"\r\n|\r|\n")
FENCE = re.compile(r"^ {0,3}(```|~~~)")
LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s+")
MAX_CHARS = 1500


@dataclass
class _Section:
    path: list[str]
    first: int  # 0-based index of the first body line
    last: int  # 0-based index of the last body line (inclusive); < first when empty


def content_hash(section: str, text: str) -> str:
    return hashlib.sha256(f"{section}\n{text}".encode()).hexdigest()[:16]


def chunk_text(text: str, source: str, max_chars: int = MAX_CHARS, markdown: bool | None = None,
               section: str = "") -> list[Chunk]:
    """Split one note (markdown or plain text) into chunks; ``source`` names the file.

    ``markdown`` says whether headings count; by default they do unless ``source`` is a ``.txt`` file.
    ``section`` names the text before any heading (e.g. a PDF page's outline entry); by default the file's name.
    """
    lines = LINE_BREAK.split(text)  # as editors count lines: not at form feeds, U+2028 or other separators
    if lines[-1] == "":
        lines.pop()
    is_markdown = not source.lower().endswith(".txt") if markdown is None else markdown
    default = section or _stem(source)
    sections = _sections(lines, default=default) if is_markdown else [
        _Section([default], 0, len(lines) - 1)
    ]
    chunks: list[Chunk] = []
    for section in sections:
        name = " > ".join(section.path)
        for first, last in _pieces(lines, section.first, section.last, max_chars):
            body = "\n".join(lines[first : last + 1])
            chunks.append(
                Chunk(
                    id=f"{source}:{first + 1}",
                    source=source,
                    section=name,
                    start=first + 1,
                    end=last + 1,
                    text=body,
                    content_hash=content_hash(name, body),
                )
            )
    return chunks


def _stem(source: str) -> str:
    name = source.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def _sections(lines: list[str], default: str) -> list[_Section]:
    headings: list[tuple[int, int, str]] = []  # (line index, level, title)
    in_fence = False
    for i, line in enumerate(lines):
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (m := HEADING.match(line)):
            headings.append((i, len(m.group(1)), plain(m.group(2) or "") or "(untitled)"))

    # A lone top-level heading that opens the file is the document's title, not a section.
    level_one = [h for h in headings if h[1] == 1]
    title_line = headings[0][0] if headings and len(level_one) == 1 and headings[0][1] == 1 else None

    sections = [_Section([default], 0, (headings[0][0] if headings else len(lines)) - 1)]
    stack: list[tuple[int, str]] = []
    for n, (i, level, title) in enumerate(headings):
        end = headings[n + 1][0] - 1 if n + 1 < len(headings) else len(lines) - 1
        if i == title_line:
            sections.append(_Section([default], i + 1, end))
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        sections.append(_Section([t for _, t in stack], i + 1, end))
    return sections


def _blocks(lines: list[str], first: int, last: int) -> list[tuple[int, int]]:
    """Blank-line separated blocks of [first, last]; a code fence is one block even with blanks."""
    blocks: list[tuple[int, int]] = []
    start: int | None = None
    in_fence = False
    for i in range(first, last + 1):
        line = lines[i]
        if FENCE.match(line):
            in_fence = not in_fence
        if not line.strip() and not in_fence:
            if start is not None:
                blocks.append((start, i - 1))
                start = None
        elif start is None:
            start = i
    if start is not None:
        blocks.append((start, last))
    return blocks


def _size(lines: list[str], first: int, last: int) -> int:
    return sum(len(lines[i]) + 1 for i in range(first, last + 1))


def _units(lines: list[str], first: int, last: int) -> list[tuple[int, int]]:
    """Split points inside one block: table rows, list items (with their continuation lines), lines."""
    if FENCE.match(lines[first]):
        return [(i, i) for i in range(first, last + 1)]
    units: list[tuple[int, int]] = []
    for i in range(first, last + 1):
        line = lines[i]
        starts_unit = (
            not units
            or line.lstrip().startswith("|")
            or LIST_ITEM.match(line) is not None
            or not LIST_ITEM.match(lines[units[-1][0]])  # plain paragraph lines split anywhere
        )
        if starts_unit:
            units.append((i, i))
        else:
            units[-1] = (units[-1][0], i)
    return units


def _pack(lines: list[str], spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    for first, last in spans:
        if pieces and _size(lines, pieces[-1][0], last) <= max_chars:
            pieces[-1] = (pieces[-1][0], last)
        else:
            pieces.append((first, last))
    return pieces


def _pieces(lines: list[str], first: int, last: int, max_chars: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for b_first, b_last in _blocks(lines, first, last):
        if _size(lines, b_first, b_last) <= max_chars:
            spans.append((b_first, b_last))
        else:
            spans.extend(_pack(lines, _units(lines, b_first, b_last), max_chars))
    return _pack(lines, spans, max_chars)
