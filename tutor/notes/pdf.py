"""PDF notes (lecture slides, papers) through pypdf: the text of each page is a part, cited by page.

The only module that imports pypdf. Lines are counted within the text pypdf extracts from a page.
A page's section is its bookmark (the PDF's outline: "Chapter > Section"), else the file's name.
Limits: no OCR, so a scanned PDF without a text layer is skipped with a warning that says so; an
encrypted PDF opens only when it has no user password; the page's reading order is pypdf's.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

from tutor.notes.document import Document, NoteSkipped, Part
from tutor.notes.text import strip_controls

MAX_BYTES = 100 * 1024 * 1024  # slides with images are large; only their text is kept


def read(path: Path, raw: bytes) -> Document:
    """A PDF: a part per page that has text; NoteSkipped when it has none, is encrypted or is damaged."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its notes on odd but readable files are not ours to print
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from pypdf import PdfReader
            from pypdf.errors import PdfReadError

            reader = PdfReader(io.BytesIO(raw), strict=False)
            if reader.is_encrypted and not _unlocked(reader):
                raise NoteSkipped("the PDF is encrypted with a password (fix: save a copy without one)")
            pages = list(reader.pages)
            title = _title(reader) or path.stem
            outline = _outline(reader)
        except NoteSkipped:
            raise
        except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
            raise NoteSkipped(f"the PDF is damaged or not a PDF ({_reason(exc)})") from None
        parts: list[Part] = []
        unreadable: list[int] = []
        for n, page in enumerate(pages, 1):
            try:
                text = strip_controls(page.extract_text() or "")
            except Exception:  # noqa: BLE001 - one bad page (odd fonts, broken streams) must not lose the rest
                unreadable.append(n)
                continue
            lines = [line.rstrip() for line in text.splitlines()]
            while lines and not lines[-1]:
                lines.pop()
            while lines and not lines[0]:
                lines.pop(0)
            if lines:
                parts.append(Part("\n".join(lines), page=n, section=_section_of(outline, n - 1)))
    if not parts:
        if unreadable:
            raise NoteSkipped(f"no page of the PDF could be read ({len(unreadable)} tried)")
        raise NoteSkipped("the PDF has no text layer (a scan?); only its text is indexed, so OCR it first")
    notes = (f"{path}: page(s) {', '.join(map(str, unreadable))} could not be read",) if unreadable else ()
    return Document(title=title, parts=tuple(parts), markdown=False, warnings=notes, pages=len(pages))


def _unlocked(reader: object) -> bool:
    """Whether an encrypted PDF opens with the empty password (many only restrict printing or copying)."""
    try:
        return bool(reader.decrypt(""))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - e.g. AES without the cryptography package
        return False


def _outline(reader: object) -> list[tuple[int, str]]:
    """The PDF's bookmarks as (0-based page, "Chapter > Section"), in page order; [] when it has none."""
    found: list[tuple[int, str]] = []

    def walk(items: list[object], path: tuple[str, ...]) -> None:
        last: tuple[str, ...] = path
        for item in items:
            if isinstance(item, list):
                walk(item, last)  # the children of the entry before
                continue
            title = " ".join(str(getattr(item, "title", "") or "").split())
            page = reader.get_destination_page_number(item)  # type: ignore[attr-defined]
            last = (*path, title) if title else path
            if page is not None and page >= 0 and title:
                found.append((page, " > ".join(last)))

    try:
        walk(list(reader.outline), ())  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a broken outline is no reason to skip the text
        return []
    return sorted(found, key=lambda entry: entry[0])


def _section_of(outline: list[tuple[int, str]], page: int) -> str:
    """The last bookmark at or before ``page`` (0-based); "" when none."""
    section = ""
    for start, name in outline:
        if start > page:
            break
        section = name
    return section


def _title(reader: object) -> str:
    try:
        meta = reader.metadata  # type: ignore[attr-defined]
        return str(meta.title).strip() if meta is not None and meta.title else ""
    except Exception:  # noqa: BLE001 - a broken info dictionary is no reason to skip the text
        return ""


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__
