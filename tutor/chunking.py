"""Notes into heading-aware chunks that fit the embedder's window.

Each chunk is the body of one heading (ATX ``#`` headings), or a piece of it, and carries its file,
document title (the lone H1, else the file name made readable), heading path and exact line range.
A body is cut so that what is embedded (title, heading path and text, ``Chunk.embed_text``) fits the
embedder's window, counted in its own word pieces (``tutor.embedding.count_word_pieces``), and under
``max_chars``. Cuts follow the structure: a body splits into paragraphs, tables, code fences and
top-level list items; an item too big alone splits into its lead line and its sub-items (deeper while
still too big), and the pieces cut from inside an item carry that item's lead line (or a table's
header) as context. A single line longer than the window (a paragraph written on one line) is cut
between sentences, else between words, into parts that all cite that line (code lines stay whole).
A table of contents (lines that only link to the page's own headings) is navigation and is left out.
Plain ``.txt`` files have no headings: their paragraphs are packed the same way under the file's name.
Limits: setext headings (underlined with ``===``) are read as text; HTML is text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tutor.records import FENCE, Chunk, fenced, plain

# An ATX heading; "##" alone is an empty one, and a closing "#" run counts only after a space ("C#").
HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
LINE_BREAK = re.compile(r"\r\n|\r|\n")
LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s+")
TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}")
# A line that only links to a heading of the same page: "* [Padding](#padding)".
ANCHOR_LINK = re.compile(r"^\s*(?:[-*+]|\d+[.)])?\s*\[[^\]]*\]\(#[^)]*\)\s*$")
MAX_CHARS = 1500
MAX_TOKENS = 256  # all-MiniLM-L6-v2 reads 256 word pieces, [CLS] and [SEP] included
SPECIAL_TOKENS = 2
PART = "+"  # a chunk id's mark for the second and later parts of one long line: "notes.md:12+1"
SENTENCE_END = re.compile(r"[.!?][)\"'*]*$")

TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass
class _Section:
    path: list[str]
    first: int  # 0-based index of the first body line
    last: int  # 0-based index of the last body line (inclusive); < first when empty


@dataclass(frozen=True)
class _Piece:
    first: int
    last: int
    lead: tuple[int, ...] = ()  # lines of the items (or table header) this piece was cut from


def content_hash(section: str, text: str) -> str:
    return hashlib.sha256(f"{section}\n{text}".encode()).hexdigest()[:16]


def readable_name(source: str) -> str:
    """A file name as a title.

    >>> readable_name("notes/ml_interview-prep.v2.md")
    'ml interview prep.v2'
    """
    return re.sub(r"[-_\s]+", " ", _stem(source)).strip()


def chunk_text(
    text: str,
    source: str,
    max_chars: int = MAX_CHARS,
    markdown: bool | None = None,
    section: str = "",
    *,
    title: str | None = None,
    max_tokens: int = MAX_TOKENS,
    count_tokens: TokenCounter | None = None,
) -> list[Chunk]:
    """Split one note (markdown or plain text) into chunks; ``source`` names the file.

    ``markdown`` says whether headings count; by default they do unless ``source`` is a ``.txt`` file.
    ``section`` names the text before any heading (e.g. a PDF page's outline entry); by default the file's name.
    ``title`` overrides the document title found in it; ``count_tokens`` is the embedder's word-piece counter.
    """
    if count_tokens is None:
        from tutor.embedding import count_word_pieces

        count_tokens = count_word_pieces
    lines = LINE_BREAK.split(text)  # as editors count lines: not at form feeds, U+2028 or other separators
    if lines[-1] == "":
        lines.pop()
    is_markdown = not source.lower().endswith(".txt") if markdown is None else markdown
    default = section or _stem(source)
    if is_markdown:
        sections, found = _sections(lines, default=default)
    else:
        sections, found = [_Section([default], 0, len(lines) - 1)], None
    doc_title = " ".join((title or found or readable_name(source)).split())
    names = [" > ".join(s.path) for s in sections]
    probe = Chunk("", source, "", 0, 0, "", "", title=doc_title)
    counts = count_tokens([plain(line) for line in lines] + [_context(probe, n) for n in names]) if lines else []
    cutter = _Cutter(lines, counts[: len(lines)], max_chars)
    chunks: list[Chunk] = []
    for part, name, head_tokens in zip(sections, names, counts[len(lines):]):
        budget = max_tokens - SPECIAL_TOKENS - head_tokens
        for piece in cutter.pieces(part.first, part.last, budget):
            if _is_navigation(lines[piece.first : piece.last + 1]):
                continue
            lead = "\n".join(plain(lines[i]) for i in piece.lead)
            room = budget - sum(counts[i] for i in piece.lead)
            line = lines[piece.first]
            if piece.first == piece.last and not cutter.fenced[piece.first] and \
                    (counts[piece.first] > room or len(line) + 1 > max_chars):
                bodies = [line[a:b] for a, b in cut_line(line, room, max_chars, count_tokens)]
            else:
                bodies = ["\n".join(lines[piece.first : piece.last + 1])]
            for k, body in enumerate(bodies):
                chunks.append(
                    Chunk(
                        id=f"{source}:{piece.first + 1}" + (f"{PART}{k}" if k else ""),
                        source=source,
                        section=name,
                        start=piece.first + 1,
                        end=piece.last + 1,
                        text=body,
                        content_hash=content_hash(f"{doc_title}\n{name}\n{lead}", body),
                        title=doc_title,
                        lead=lead,
                    )
                )
    return chunks


def cut_line(line: str, budget: int, max_chars: int, count_tokens: TokenCounter) -> list[tuple[int, int]]:
    """A line too long for one piece (a paragraph written on one line) as character spans that each fit:
    cut at a sentence end where one lies in the second half of a part, else between words.

    >>> line = "First sentence here. Second one is here. Third."
    >>> [line[a:b] for a, b in cut_line(line, 7, 1500, lambda ts: [len(t.split()) for t in ts])]
    ['First sentence here. Second one is here.', 'Third.']
    >>> words = "one two three four five"
    >>> [words[a:b] for a, b in cut_line(words, 2, 1500, lambda ts: [1 for t in ts])]
    ['one two', 'three four', 'five']
    """
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", line)]
    tokens = count_tokens([plain(line[a:b]) for a, b in words])
    spans: list[tuple[int, int]] = []
    first = 0  # index of the current part's first word
    while first < len(words):
        used, last = 0, first
        while last < len(words) and (last == first or (used + tokens[last] <= budget and
                                                       words[last][1] - words[first][0] < max_chars)):
            used += tokens[last]
            last += 1
        if last < len(words):  # the part is full: end it at its last sentence end past its middle, if any
            ends = [i for i in range(first, last) if SENTENCE_END.search(line[words[i][0]:words[i][1]])]
            if ends and ends[-1] >= first + (last - first) // 2:
                last = ends[-1] + 1
        spans.append((words[first][0], words[last - 1][1]))
        first = last
    return spans


def _is_navigation(lines: list[str]) -> bool:
    """A table of contents: most lines only link to headings of the same page (it names every topic of
    the file and teaches none, so it would be retrieved for everything)."""
    filled = [line for line in lines if line.strip()]
    return len(filled) >= 3 and sum(bool(ANCHOR_LINK.match(line)) for line in filled) >= 0.8 * len(filled)


def _context(probe: Chunk, section: str) -> str:
    return Chunk(probe.id, probe.source, section, 0, 0, "", "", title=probe.title).context


def _stem(source: str) -> str:
    name = source.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def _sections(lines: list[str], default: str) -> tuple[list[_Section], str | None]:
    """The heading-bounded sections, and the document title (a lone H1 that opens the file)."""
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
    for n, (i, level, heading) in enumerate(headings):
        end = headings[n + 1][0] - 1 if n + 1 < len(headings) else len(lines) - 1
        if i == title_line:
            sections.append(_Section([default], i + 1, end))
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        sections.append(_Section([t for _, t in stack], i + 1, end))
    title = headings[0][2] if title_line is not None else None
    return sections, title


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


def _is_table(line: str) -> bool:
    return line.lstrip().startswith("|")


class _Cutter:
    """Cuts line ranges into pieces within a word-piece budget, following the notes' structure."""

    def __init__(self, lines: list[str], tokens: list[int], max_chars: int) -> None:
        self.lines = lines
        self.tokens = tokens
        self.max_chars = max_chars
        self.fenced = fenced(lines)

    def _fits(self, first: int, last: int, budget: int) -> bool:
        size = sum(len(self.lines[i]) + 1 for i in range(first, last + 1))
        return size <= self.max_chars and sum(self.tokens[first : last + 1]) <= budget

    def _trim(self, first: int, last: int) -> tuple[int, int]:
        while first <= last and not self.lines[first].strip():
            first += 1
        while last >= first and not self.lines[last].strip():
            last -= 1
        return first, last

    def pieces(self, first: int, last: int, budget: int, lead: tuple[int, ...] = ()) -> list[_Piece]:
        """The pieces of [first, last]: whole units packed together, a unit too big split inside."""
        first, last = self._trim(first, last)
        if first > last:
            return []
        if self._fits(first, last, budget):
            return [_Piece(first, last, lead)]
        out: list[_Piece] = []
        can_grow = False  # whether the last piece holds whole units only, so the next may join it
        for u_first, u_last in self._units(first, last):
            if not self._fits(u_first, u_last, budget):
                out.extend(self._split_unit(u_first, u_last, budget, lead))
                can_grow = False
            elif can_grow and self._fits(out[-1].first, u_last, budget):
                out[-1] = _Piece(out[-1].first, u_last, lead)
            else:
                out.append(_Piece(u_first, u_last, lead))
                can_grow = True
        return out

    def _units(self, first: int, last: int) -> list[tuple[int, int]]:
        """Top-level units of a range: list items (with their sub-items and continuation lines), tables,
        code fences and paragraphs (with anything indented under them)."""
        units: list[tuple[int, int]] = []
        start: int | None = None
        for i in range(first, last + 1):
            line = self.lines[i]
            if start is None:
                start = i
                continue
            if self.fenced[i] or not line.strip() or self._continues(start, i):
                continue
            units.append(self._trim(start, i - 1))
            start = i
        if start is not None:
            units.append(self._trim(start, last))
        return units

    def _continues(self, start: int, i: int) -> bool:
        """Whether non-blank line ``i`` belongs to the unit opened at ``start``."""
        head, line = self.lines[start], self.lines[i]
        if _indent(line) > _indent(head):
            return True
        after_text = bool(self.lines[i - 1].strip())
        if _is_table(head):
            return _is_table(line)
        if LIST_ITEM.match(line) or _is_table(line) or FENCE.match(line) or not after_text:
            return False
        # A lazy continuation of a list item, or the next line of the same paragraph.
        return not FENCE.match(head)

    def _split_unit(self, first: int, last: int, budget: int, lead: tuple[int, ...]) -> list[_Piece]:
        """A unit too big for one piece: its lead lines, then its inner units; or, flat, its lines."""
        head_end = first
        if _is_table(self.lines[first]):
            if first + 1 <= last and TABLE_SEPARATOR.match(self.lines[first + 1]):
                head_end = first + 1
            rows = [(i, i) for i in range(head_end + 1, last + 1)]
            return self._pack_under(first, head_end, rows, budget, lead)
        if self.fenced[first] or FENCE.match(self.lines[first]) and not LIST_ITEM.match(self.lines[first]):
            return self._pack_under(first, first - 1, [(i, i) for i in range(first, last + 1)], budget, lead)
        while head_end < last and self.lines[head_end + 1].strip() and not self.fenced[head_end + 1] \
                and _indent(self.lines[head_end + 1]) <= _indent(self.lines[first]):
            head_end += 1
        if head_end == last:  # a paragraph or an item with no sub-items: split between its lines
            return self._pack_under(first, first - 1, [(i, i) for i in range(first, last + 1)], budget, lead)
        head_tokens = sum(self.tokens[first : head_end + 1])
        if head_tokens <= budget // 4:  # a short lead line is context for every piece under it
            inner_lead, inner_budget = lead + tuple(range(first, head_end + 1)), budget - head_tokens
        else:
            inner_lead, inner_budget = lead, budget
        # The lead lines open the first piece, with as many whole inner units as fit beside them.
        units = self._units(head_end + 1, last)
        taken = 0
        while taken < len(units) and self._fits(first, units[taken][1], budget):
            taken += 1
        opening = _Piece(first, units[taken - 1][1] if taken else head_end, lead)
        rest = self.pieces(units[taken][0], last, inner_budget, inner_lead) if taken < len(units) else []
        return [opening, *rest]

    def _pack_under(self, first: int, head_end: int, rows: list[tuple[int, int]], budget: int,
                    lead: tuple[int, ...]) -> list[_Piece]:
        """Rows packed greedily; the head lines (a table's header) open the first piece and lead the rest."""
        inner_lead = lead + tuple(range(first, head_end + 1))
        inner_budget = budget - sum(self.tokens[first : head_end + 1])
        out: list[_Piece] = []
        for r_first, r_last in rows:
            if out and self._fits(out[-1].first, r_last, budget if out[-1].first == first else inner_budget):
                out[-1] = _Piece(out[-1].first, r_last, out[-1].lead)
            elif not out and head_end >= first:
                out.append(_Piece(first, r_last, lead))
            else:
                out.append(_Piece(r_first, r_last, inner_lead))
        return out
