"""What a reader makes of one note file: a ``Document`` of ``Part`` s, each cited on its own.

A Markdown or text file is one part whose lines are the file's lines. A PDF has a part per page and a
notebook a part per cell: a citation names the page or cell and counts lines within it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Part:
    """Text that is chunked and cited as one piece: a whole file, a PDF page or a notebook cell.

    Line ``n`` of ``text`` is cited as line ``n - offset`` (kept within ``1..lines``): a notebook
    cell's part is the cell among the notebook's headings, so the headings before it still count.
    """

    text: str
    page: int | None = None  # 1-based PDF page
    cell: int | None = None  # 1-based notebook cell
    offset: int = 0
    lines: int | None = None  # how many lines the page or cell has, when ``offset`` is used
    section: str = ""  # what its text is under before any heading (a PDF's outline entry); default the file name


@dataclass(frozen=True)
class Document:
    """A note file as text and structure; ``markdown`` says whether its ``#`` lines are headings."""

    title: str
    parts: tuple[Part, ...]
    markdown: bool = True
    tags: tuple[str, ...] = ()  # from front matter; kept as metadata, not indexed as text
    aliases: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)
    pages: int = 0  # PDF pages read, for reporting speed


class NoteSkipped(Exception):
    """A file that holds nothing to index (a scan, an encrypted PDF, a damaged notebook); the message says why."""
