"""Small-to-big: a retrieved piece widened to the rest of its section, within the prompt's budget.

Chunks are cut small so that the embedder reads all of each; an answer often needs the lines around
the piece that matched (the rest of a list, the other half of a comparison table). After retrieval,
each hit in rank order takes the neighbouring pieces of its own section (the next first, then the one
before) while the notes block stays under its budget. The widened passage is the note's own lines,
with an exact line range, so its citation stays true. Limits: a piece never widens past its section,
into another hit, or across lines that were left out of the index (a table of contents).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from tutor.records import Chunk, Hit
from tutor.shelf import ChunkTable

HEADER_CHARS = 80  # what format_notes puts before each passage: "[n] (file, section "...")"
MAX_GAP = 2  # blank lines between two pieces of one section; more means lines were left out


def widen(hits: Sequence[Hit], chunks: Sequence[Chunk] | ChunkTable, budget: int) -> list[Hit]:
    """``hits`` with each chunk grown into its section's neighbouring pieces while the total fits ``budget``.
    ``chunks``: every chunk, or an index's table on disk (which reads only the hits' sections)."""
    room = budget - sum(len(h.chunk.text) + HEADER_CHARS for h in hits)
    if room <= 0:
        return list(hits)
    family: dict[tuple[str, str], list[Chunk]] = defaultdict(list)
    if not isinstance(chunks, ChunkTable):
        for chunk in chunks:
            family[(chunk.source, chunk.section)].append(chunk)

    def section(c: Chunk) -> list[Chunk]:
        if isinstance(chunks, ChunkTable):
            return chunks.section(c)
        return family.get((c.source, c.section), [])
    taken = {h.chunk.id for h in hits}
    out = []
    for hit in hits:
        pieces = sorted(section(hit.chunk), key=lambda c: c.start)
        at = next((i for i, c in enumerate(pieces) if c.id == hit.chunk.id), None)
        if at is None or len(pieces) < 2:
            out.append(hit)
            continue
        lo = hi = at
        open_ends = [True, True]  # after, before
        while room > 0 and any(open_ends):
            for side, j in ((0, hi + 1), (1, lo - 1)):
                if not open_ends[side]:
                    continue
                near = pieces[j] if 0 <= j < len(pieces) else None
                joined = near is not None and near.id not in taken and len(near.text) + 2 <= room and \
                    (near.start - pieces[hi].end if side == 0 else pieces[lo].start - near.end) - 1 <= MAX_GAP
                if not joined or near is None:
                    open_ends[side] = False
                    continue
                taken.add(near.id)
                room -= len(near.text) + 2
                hi, lo = (j, lo) if side == 0 else (hi, j)
        out.append(hit if lo == hi else replace(hit, chunk=_joined(pieces[lo : hi + 1])))
    return out


def _joined(pieces: Sequence[Chunk]) -> Chunk:
    """Consecutive pieces of one section as one chunk: their lines with the blank lines between them."""
    text = pieces[0].text
    for before, after in zip(pieces, pieces[1:]):
        text += ("\n" * (after.start - before.end) or " ") + after.text  # parts of one line: a space
    first = pieces[0]
    return replace(first, end=pieces[-1].end, text=text,
                   content_hash=hashlib.sha256(f"{first.section}\n{text}".encode()).hexdigest()[:16])
