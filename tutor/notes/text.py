"""Plain text notes (``.txt``), and the decoding every text format shares.

UTF-8 (with or without a BOM) and UTF-16/32 with a BOM are decoded; other bytes are replaced, with a
warning, unless they look binary. Control characters other than tab and line breaks (terminal escape
sequences, NUL, bell) are removed with a warning: they would reach the terminal and the prompt.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from tutor.notes.document import Document, NoteSkipped, Part

BINARY_SAMPLE = 8192

# Escape sequences (colours, titles, cursor moves) and control characters other than tab and line breaks.
_CONTROLS = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[@-Z\\-_])?"
                       r"|[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def read(path: Path, raw: bytes) -> Document:
    """A text file: one part, no headings."""
    text, warnings = decode(path, raw)
    return Document(title=path.stem, parts=(Part(text),), markdown=False, warnings=warnings)


def decode(path: Path, raw: bytes) -> tuple[str, tuple[str, ...]]:
    """The text of ``raw`` without control characters, and what was wrong with it; NoteSkipped when binary."""
    text, warning = _decode(path, raw)
    clean = strip_controls(text)
    if clean != text:
        warning = (f"{warning}; " if warning else f"{path}: ") + "control characters were removed"
    if not clean.strip():
        warning = (f"{warning}; " if warning else f"{path}: ") + "it is empty, so there is nothing to index"
    return clean, (warning,) if warning else ()


def _decode(path: Path, raw: bytes) -> tuple[str, str | None]:
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(codec), None
            except UnicodeDecodeError:
                raise NoteSkipped(f"it starts like {codec.upper()} text but does not decode as it") from None
    if b"\x00" in raw[:BINARY_SAMPLE]:
        raise NoteSkipped("it looks binary, not text")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    sample = raw[:BINARY_SAMPLE].decode("utf-8", errors="replace")
    odd = sum(ch == "\ufffd" or (ch < " " and ch not in "\t\n\r\f\x1b") for ch in sample)
    if odd > 0.3 * len(sample):  # text in a legacy encoding has a few odd characters; binary has many
        raise NoteSkipped("it looks binary, not text")
    return raw.decode("utf-8", errors="replace"), f"{path} is not valid UTF-8: undecodable bytes were replaced"


def strip_controls(text: str) -> str:
    r"""``text`` without control characters (tab, newline, carriage return and form feed are kept).

    >>> strip_controls("red \x1b[31mtext\x1b[0m\x07 and\ttabs\r\n")
    'red text and\ttabs\r\n'
    """
    return _CONTROLS.sub("", text)
