"""Jupyter notebooks (``.ipynb``, read as plain JSON): markdown cells as notes, code cells as code blocks.

The notebook reads as one Markdown text, so a heading in a markdown cell is the section of the cells
after it; outputs and raw cells are left out. Each cell is a part cited by its number (1-based, all
cells counted) and lines within it: its part is the cell between the notebook's headings before and
after it, so the chunker sees the same heading structure for every cell. Limits: nbformat 4 (Jupyter
since 2015) only; attachments are not read.
"""

from __future__ import annotations

import json
from pathlib import Path

from tutor.notes.document import Document, NoteSkipped, Part
from tutor.notes.markdown import FENCE, HEADING, clean_markdown
from tutor.notes.text import decode


def read(path: Path, raw: bytes) -> Document:
    """A notebook: a part per non-empty markdown or code cell."""
    text, warnings = decode(path, raw)
    try:
        data = json.loads(text)
        cells = data["cells"] if isinstance(data, dict) else None
        if not isinstance(cells, list):
            raise NoteSkipped("it is not a Jupyter notebook in format 4 (no list of cells)")
        language = _language(data)
    except (ValueError, KeyError) as exc:
        raise NoteSkipped(f"it is not a readable notebook ({exc.__class__.__name__})") from None
    lines: list[str] = []  # the notebook as one Markdown text
    spans: list[tuple[int, int, int, int]] = []  # cell number, first and last line in ``lines``, offset
    keep: set[int] = set()  # heading lines, kept in every cell's part
    title = ""
    for n, cell in enumerate(cells, 1):
        kind, body = _cell(cell)
        if kind not in ("markdown", "code") or not body.strip():
            continue
        if lines:
            lines.append("")
        first = len(lines)
        if kind == "markdown":
            clean = clean_markdown(body)[0].split("\n")
            in_fence = False
            for i, line in enumerate(clean):
                in_fence = in_fence != bool(FENCE.match(line))
                if not in_fence and HEADING.match(line):
                    keep.add(first + i)
                    title = title or line.lstrip(" #").strip()
            lines.extend(clean)
            spans.append((n, first, len(lines) - 1, first))
        else:
            lines.append(f"```{language}")
            lines.extend(body.split("\n"))
            lines.append("```")
            spans.append((n, first, len(lines) - 1, first + 1))
    parts = []
    for n, first, last, offset in spans:
        before = [lines[i] for i in sorted(keep) if i < first]
        after = [lines[i] for i in sorted(keep) if i > last]
        view = before + lines[first : last + 1] + after
        parts.append(Part("\n".join(view), cell=n, offset=offset - first + len(before),
                          lines=last - first + 1 - 2 * (offset > first)))
    return Document(title=title or path.stem, parts=tuple(parts), markdown=True, warnings=warnings)


def _cell(cell: object) -> tuple[str, str]:
    """(cell type, its source as text); source is a string or a list of lines in the format."""
    if not isinstance(cell, dict):
        return "", ""
    source = cell.get("source", "")
    text = "".join(str(s) for s in source) if isinstance(source, list) else str(source)
    return str(cell.get("cell_type", "")), text.replace("\r\n", "\n").rstrip("\n")


def _language(data: dict[str, object]) -> str:
    meta = data.get("metadata")
    if isinstance(meta, dict):
        for key in ("language_info", "kernelspec"):
            info = meta.get(key)
            if isinstance(info, dict) and isinstance(info.get("name" if key == "language_info" else "language"), str):
                return str(info.get("name" if key == "language_info" else "language"))
    return "python"
