"""The baseline the report compares against: what a plain RAG tutorial would build.

Fixed-size character windows with overlap (no headings, no heading paths in what is embedded),
dense-only top-k from an in-memory index, no keyword search, no abbreviation expansion, and a
relevance gate on the cosine alone. Same embedder, LLM and prompt as our pipeline, so only
chunking and retrieval differ. Its chunks are mapped to the notes' sections by line overlap, so
hit@k means the same thing for both (generously: a window counts for every section it touches).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tutor.embedding import Embedder
from tutor.notes import located, note_files, read_note, source_name
from tutor.records import Chunk, Hit, Retrieval, plain

CHUNK_CHARS = 500
OVERLAP_CHARS = 100


def fixed_size_chunks(text: str, source: str, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[Chunk]:
    """Windows of about ``size`` characters, each starting ``size - overlap`` after the last; no word is cut.

    >>> [c.text for c in fixed_size_chunks("one two three four five six", "a.md", size=10, overlap=4)]
    ['one two', 'two three', 'three four', 'four five', 'five six']
    """
    chunks: list[Chunk] = []
    stem = Path(source).stem
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text) and not text[end].isspace():
            cut = text.rfind(" ", start + 1, end)
            cut = max(cut, text.rfind("\n", start + 1, end))
            end = cut if cut > start else end
        body = text[start:end].strip()
        if body:
            first = start + (len(text[start:end]) - len(text[start:end].lstrip()))
            line_start = text.count("\n", 0, first) + 1
            line_end = line_start + body.count("\n")
            chunks.append(Chunk(f"{source}@{first}", source, stem, line_start, line_end, body, ""))
        if end >= len(text):
            break
        nxt = end - overlap
        if nxt <= start:
            nxt = end
        elif not text[nxt - 1].isspace():  # start the next window at the start of the word it cuts
            back = max(text.rfind(" ", start + 1, nxt), text.rfind("\n", start + 1, nxt))
            nxt = back + 1 if back > start else nxt
        start = nxt
    return chunks


class DenseIndex:
    """The VectorStore seam in memory: cosine (dot products of unit vectors)."""

    def __init__(self) -> None:
        self.data: dict[str, list[float]] = {}

    def upsert(self, chunks: Sequence[Chunk], vectors: Any) -> None:
        for c, v in zip(chunks, vectors):
            self.data[c.id] = list(v)

    def delete(self, ids: Sequence[str]) -> None:
        for i in ids:
            self.data.pop(i, None)

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        return {i: self.data[i] for i in ids if i in self.data}

    def query(self, vector: Sequence[float], n: int) -> list[tuple[str, float]]:
        scored = [(i, sum(a * b for a, b in zip(vector, v))) for i, v in self.data.items()]
        return sorted(scored, key=lambda x: -x[1])[:n]

    def count(self) -> int:
        return len(self.data)

    def reset(self) -> None:
        self.data.clear()


class BaselineRetriever:
    """Dense-only search over fixed-size chunks; quacks like ``Retriever`` for ``stream_answer``."""

    def __init__(self, chunks: Sequence[Chunk], embedder: Embedder, sections: Sequence[Chunk] = ()) -> None:
        self.chunks = list(chunks)
        self.by_id = {c.id: c for c in self.chunks}
        self.embedder = embedder
        self.store = DenseIndex()
        if self.chunks:
            self.store.upsert(self.chunks, embedder.embed([plain(c.text) for c in self.chunks]))
        self._sections = list(sections)

    def search(self, query: str, k: int = 5, depth: int = 20) -> list[Hit]:
        found = self.store.query(self.embedder.embed([query])[0], k)
        return [Hit(self.by_id[i], score, dense=score) for i, score in found]

    def is_relevant(self, query: str, hits: Sequence[Hit], min_similarity: float) -> bool:
        return max((h.dense or 0.0 for h in hits), default=0.0) >= min_similarity

    def retrieve(self, query: str, k: int, min_relevance: float) -> Retrieval:
        """The ``k`` nearest windows and the cosine gate; the query is searched as asked (no expansion)."""
        hits = self.search(query, k)
        return Retrieval(query, query, tuple(hits), bool(hits) and self.is_relevant(query, hits, min_relevance))

    def widen(self, found: Retrieval, budget: int) -> Retrieval:
        """No widening: a plain pipeline quotes the windows it found."""
        return found

    def answering(self, found: Retrieval, min_similarity: float, min_coverage: float | None = None) -> list[int]:
        """No evidence check: a plain pipeline passes the model's refusals on."""
        return []

    def sections_of(self, chunk: Chunk) -> list[str]:
        """The notes' sections whose lines this window overlaps, in order."""
        return [s.section for s in self._sections
                if s.source == chunk.source and (s.page, s.cell) == (chunk.page, chunk.cell)
                and s.start <= chunk.end and chunk.start <= s.end]


def build_baseline(corpus: Path, embedder: Embedder, sections: Sequence[Chunk]) -> BaselineRetriever:
    """The baseline over the same notes as ``sections`` (our chunks, used to map windows to sections)."""
    chunks: list[Chunk] = []
    for path in note_files(corpus):
        document = read_note(path).document
        for part in document.parts if document is not None else ():
            chunks.extend(located(c, part) for c in fixed_size_chunks(part.text, source_name(corpus, path)))
    return BaselineRetriever(chunks, embedder, sections)
