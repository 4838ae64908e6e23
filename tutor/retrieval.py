"""Hybrid search over the notes: dense (the vector store) plus BM25 keywords, fused by their standardised
scores (reciprocal rank fusion is kept for measurement).

Short, abbreviated queries work because abbreviations learned from the notes at ingest
(``tutor.abbreviations``) are spelled out after the query; comparisons ("A vs B") bring each side's
best passage into the top.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tutor.abbreviations import expand_query, hyphenated_terms, spelled_out
from tutor.embedding import Embedder
from tutor.keywords import BM25, StoredBM25
from tutor.names import marked_up, unknown_names
from tutor.records import Chunk, Hit, Retrieval
from tutor.shelf import ChunkRows, ChunkTable, ShelfHyphens, ShelfTerms
from tutor.store import VectorStore
from tutor.text import plain_words, says_something, tokenize


@dataclass(frozen=True)
class Fusion:
    """How the two rankings are fused: tuned on the dev splits only (bench/retrieval.py --grid).

    ``zscore`` (the default): each ranking's top ``depth`` scores are standardised (score minus their
    mean, over their spread) and added with the weights; a chunk missing from one ranking takes that
    ranking's lowest standardised score. Unlike reciprocal rank, it keeps how far ahead a chunk is: a
    passage BM25 puts far above the rest is not levelled with a near tie. On the dev splits it raised
    MRR 0.856 -> 0.878 (other notes) and 0.914 -> 0.957 (home notes) over ``rrf`` at its best settings.
    """

    method: Literal["zscore", "rrf"] = "zscore"  # or "rrf": reciprocal rank fusion, weight / (rrf_k + rank)
    dense_weight: float = 1.0  # 0.35-0.55 of the sum tried on dev: equal weights were best for both
    keyword_weight: float = 1.0
    depth: int = 20  # how far down each ranking is read (20, 50, 100 tried; 20 best for zscore, 50 for rrf)
    rrf_k: int = 10  # rrf only: the best of 10/30/60 on dev with depth 50


MODES = ("hybrid", "dense", "keyword")
SPARE = 8  # candidates past k fetched, so that pieces saying nothing can be passed over
SPELLED_OUT = re.compile(r"\s*\([^()]*\)$")  # what expand_query appends: " (Data Scientist; ...)"
# "A vs B", "difference between A and B", "compare A and/with/to B", "how does A differ from B".
COMPARISON = (
    re.compile(r"^(?P<a>.+?)\s+(?:vs\.?|versus)\s+(?P<b>.+?)$", re.IGNORECASE),
    re.compile(r"\bdifferences?\s+between\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)$", re.IGNORECASE),
    re.compile(r"\b(?:compare|contrast)\s+(?P<a>.+?)\s+(?:and|with|to)\s+(?P<b>.+?)$", re.IGNORECASE),
    re.compile(r"\b(?:does|do|is|are)\s+(?P<a>.+?)\s+differ\s+from\s+(?P<b>.+?)$", re.IGNORECASE),
)
# What follows a side and is not it: "sigmoid for hidden units", "asynchronous in the horizontal pattern".
QUALIFIER = re.compile(r"\s+(?:for|in|to|of|on|at|with|when|during|as)\s.*$", re.IGNORECASE)
LEADING = re.compile(r"^(?:what(?:'s| is| are)?|how|when|why|which|the|is|are|do|does)\s+", re.IGNORECASE)


def comparison_sides(query: str) -> tuple[str, str] | None:
    """The two things a comparison question asks about, or None.

    >>> comparison_sides("DS vs MLE?")
    ('DS', 'MLE')
    >>> comparison_sides("What is the difference between batch and online serving?")
    ('batch', 'online serving')
    >>> comparison_sides("How does L1 regularization differ from L2?")
    ('L1 regularization', 'L2')
    >>> comparison_sides("What is dropout?") is None
    True

    What follows the second side scopes both ("tanh vs sigmoid for hidden units": tanh for hidden units):

    >>> comparison_sides("Synchronous vs asynchronous in the microservice horizontal pattern?")
    ('Synchronous in the microservice horizontal pattern', 'asynchronous in the microservice horizontal pattern')
    """
    text = query.strip().rstrip("?.! ")
    for pattern in COMPARISON:
        m = pattern.search(text)
        if m:
            a, b = (LEADING.sub("", m.group(side).strip(" ,;:")) for side in ("a", "b"))
            a = LEADING.sub("", a)
            if a and b and len(tokenize(a)) and len(tokenize(b)):
                scope = QUALIFIER.search(b)
                if scope and not QUALIFIER.search(a) and scope.start() > 0:
                    a += scope.group()
                return a, b
    return None


def fused_scores(ranking: Sequence[tuple[str, float]], weight: float, fusion: Fusion) -> tuple[dict[str, float], float]:
    """What one ranking (ids with scores, best first) adds to each chunk's fused score, and what it adds
    to a chunk it does not hold (its lowest share; nothing for reciprocal rank or a ranking without spread).

    >>> shares, floor = fused_scores([("a", 9.0), ("b", 5.0), ("c", 4.0)], 1.0, Fusion())
    >>> {i: round(v, 2) for i, v in shares.items()}, round(floor, 2)
    ({'a': 1.39, 'b': -0.46, 'c': -0.93}, -0.93)
    >>> fused_scores([("a", 0.5)], 1.0, Fusion())  # one match, or all equal: each counts one spread
    ({'a': 1.0}, 0.0)
    >>> fused_scores([("a", 9.0), ("b", 5.0)], 2.0, Fusion(method="rrf", rrf_k=10))  # weight / (rrf_k + rank)
    ({'a': 0.18181818181818182, 'b': 0.16666666666666666}, 0.0)
    """
    if fusion.method == "rrf":
        return {chunk_id: weight / (fusion.rrf_k + rank + 1) for rank, (chunk_id, _) in enumerate(ranking)}, 0.0
    if not ranking:
        return {}, 0.0
    values = [score for _, score in ranking]
    mean = sum(values) / len(values)
    spread = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    if spread == 0:
        return {chunk_id: weight for chunk_id, _ in ranking}, 0.0
    shares = {chunk_id: weight * (score - mean) / spread for chunk_id, score in ranking}
    return shares, min(shares.values())


class Retriever:
    """Dense + BM25 search over the chunks of one index."""

    def __init__(
        self,
        chunks: Sequence[Chunk] | ChunkTable,
        store: VectorStore,
        embedder: Embedder,
        abbreviations: dict[str, str] | None = None,
        fusion: Fusion = Fusion(),
    ) -> None:
        self.chunks: Sequence[Chunk]
        self.by_id: Mapping[str, Chunk]
        self.bm25: BM25
        if isinstance(chunks, ChunkTable):  # an index on disk: chunks and keyword postings read when needed
            self.chunks, self.by_id = chunks.rows, chunks
            self.bm25 = StoredBM25(ShelfTerms(chunks.shelf))
            self._hyphenated: Mapping[str, str] = ShelfHyphens(chunks.shelf)
        else:
            self.chunks = list(chunks)
            self.by_id = {c.id: c for c in self.chunks}
            self.bm25 = BM25(tokenize(c.embed_text()) for c in self.chunks)
            self._hyphenated = hyphenated_terms(self.bm25.terms)
        self.store = store
        self.embedder = embedder
        self.abbreviations = abbreviations or {}
        self.fusion = fusion
        self.vocabulary = self.bm25.terms.keys()
        self._spelled: dict[str, str | None] = {}
        self._marked_up: set[str] | None = None  # symbols written with a subscript, read when first needed

    def keyword_coverage(self, query: str) -> float:
        """Share of the query's keywords that occur in the notes (0 when it has none)."""
        terms = plain_words(query)
        return sum(t in self.vocabulary for t in terms) / len(terms) if terms else 0.0

    def is_relevant(self, query: str, hits: Sequence[Hit], min_similarity: float) -> bool:
        """Whether the notes plausibly cover the query: close in meaning, or sharing most of its keywords
        while not far in meaning (short keyword queries such as "crispdm steps?" embed poorly), or sharing
        most of them with a best passage that holds most of their rarity-weighted sum: a learner's shorthand
        ("two-stage recsys?") can embed far from every passage while its words pick out one."""
        from tutor.evidence import MIN_COVERAGE, coverage

        best = max((h.dense for h in hits if h.dense is not None), default=0.0)
        if best >= min_similarity:
            return True
        if self.keyword_coverage(query) < 0.5:
            return False
        return best >= 0.6 * min_similarity or (
            bool(hits) and coverage(query, hits[0].chunk.embed_text(), self.bm25.idf, self.spelled()) >= MIN_COVERAGE
        )

    def expand(self, query: str) -> str:
        """The query with the notes' abbreviations spelled out (what is searched)."""
        return self._expand(query)

    def answering(self, found: Retrieval, min_similarity: float, min_coverage: float | None = None) -> list[int]:
        """Positions of the hits that hold at least ``min_coverage`` (default: most) of the question's
        rarity-weighted keywords while close in meaning: evidence that the notes answer it, whatever a
        model says (``tutor.evidence``)."""
        from tutor.evidence import MIN_COVERAGE, answering_passages

        return answering_passages(found.query, found.hits, min_similarity, self.bm25.idf, self.spelled(),
                                  MIN_COVERAGE if min_coverage is None else min_coverage)

    def widen(self, found: Retrieval, budget: int) -> Retrieval:
        """``found`` with each hit grown into the neighbouring pieces of its section within ``budget``
        characters (small-to-big, ``tutor.widening``)."""
        from dataclasses import replace

        from tutor.widening import widen

        every = self.by_id if isinstance(self.by_id, ChunkTable) else self.chunks  # a table reads just the sections
        return replace(found, hits=tuple(widen(found.hits, every, budget)))

    def _texts(self) -> Iterable[str]:
        """Every chunk's text, read from the shelf when the chunks are on disk (for a scan of the notes)."""
        return self.chunks.texts() if isinstance(self.chunks, ChunkRows) else (c.text for c in self.chunks)

    def spelled(self) -> dict[str, str]:
        """Every abbreviation known so far: mined from the notes, and acronyms looked up for queries."""
        return {**{a: e for a, e in self._spelled.items() if e}, **self.abbreviations}

    def _expand(self, query: str) -> str:
        """The query with the notes' abbreviations spelled out; an acronym the notes do not define is
        looked up as a phrase of theirs with those initials, used when they write it more often than the
        acronym ("NMS" -> "non-max suppression", "BN" -> "batch normalization")."""
        known = dict(self.abbreviations)
        for word in set(re.findall(r"\b[A-Z]{2,5}s?\b", query)):
            word = word.rstrip("s") if word.endswith("s") and word[:-1].isupper() else word
            if word in known:
                continue
            if word not in self._spelled:
                self._spelled[word] = spelled_out(word, self._texts())
            if self._spelled[word]:
                known[word] = self._spelled[word]  # type: ignore[assignment]
        return expand_query(query, known, self.vocabulary, self._hyphenated)

    def dense_ranking(self, vector: Any, depth: int) -> list[tuple[str, float]]:
        """Chunk ids by cosine to ``vector``, best first."""
        ranking = self.store.query(vector, depth)
        known = self.by_id.present([i for i, _ in ranking]) if isinstance(self.by_id, ChunkTable) else self.by_id
        return [(i, s) for i, s in ranking if i in known]

    def keyword_ranking(self, query: str, depth: int) -> list[tuple[str, float]]:
        """Chunk ids by BM25 score for ``query``, best first (only chunks sharing a keyword)."""
        top = self.bm25.top(tokenize(query), depth)
        rows = [i for i, _ in top]
        ids = self.chunks.ids_at(rows) if isinstance(self.chunks, ChunkRows) else [self.chunks[i].id for i in rows]
        return [(i, score) for i, (_, score) in zip(ids, top)]

    def retrieve(self, query: str, k: int, min_relevance: float) -> Retrieval:
        """The ``k`` best chunks for ``query`` and whether the notes cover it: what an answer is written from."""
        expanded = self.expand(query)
        hits = self._ranked(expanded, k, self.fusion.depth)
        unknown = self._unknown(query)
        return Retrieval(query, expanded, tuple(hits),
                         bool(hits) and not unknown and self.is_relevant(query, hits, min_relevance), unknown)

    def unknown(self, query: str) -> tuple[str, ...]:
        """The names ``query`` gives that the notes never write ("Kafka"; ``tutor.names``), acronyms
        looked up first so that one the notes spell out is not among them."""
        self.expand(query)
        return self._unknown(query)

    def _unknown(self, query: str) -> tuple[str, ...]:
        """``unknown`` once ``expand`` has looked up the query's acronyms; a symbol the notes write with
        a subscript ("W<sub>ax</sub>", asked as "Wax") is known (the notes are read for those once, and
        only when a question names something their search terms lack)."""
        unknown = unknown_names(query, self.vocabulary, self.spelled())
        if unknown and self._marked_up is None:
            self._marked_up = marked_up(self._texts())
        return tuple(n for n in unknown if n.lower() not in (self._marked_up or set()))

    def search(self, query: str, k: int = 5, depth: int | None = None, mode: str = "hybrid") -> list[Hit]:
        """The ``k`` best chunks for ``query``; ``mode`` keeps one ranking alone (for measurement)."""
        return self._ranked(self.expand(query), k, depth or self.fusion.depth, mode)

    def _ranked(self, expanded: str, k: int, depth: int = 20, mode: str = "hybrid") -> list[Hit]:
        """The ``k`` best chunks for an expanded query. For a comparison ("A vs B") each side is also
        searched on its own, and a side whose best chunk is not among them has it placed second, so the
        passages give evidence for both sides."""
        if not self.chunks:
            return []
        sides = comparison_sides(SPELLED_OUT.sub("", expanded))
        texts = [expanded, *(self._expand(side) for side in sides or ())]
        # One embedding call for the query and both sides: a batch of three costs little more than one.
        vectors = self.embedder.embed(texts) if mode != "keyword" else [None] * len(texts)
        hits = self._fused(expanded, max(k, 1), depth, mode, vectors[0])
        if sides and hits:
            ids = {h.chunk.id for h in hits}
            extra = []
            for text, vector in zip(texts[1:], vectors[1:]):
                best = self._fused(text, 1, depth, mode, vector)
                if best and best[0].chunk.id not in ids:
                    extra.append(best[0])
                    ids.add(best[0].chunk.id)
            hits = [hits[0], *extra, *hits[1:]]
        return hits[:k]

    def _fused(self, text: str, k: int, depth: int, mode: str, vector: Any = None) -> list[Hit]:
        """Dense and keyword rankings of one query (``vector``: its embedding), fused (``Fusion``)."""
        depth = max(depth, k)
        dense: dict[str, float] = {}
        keyword: dict[str, float] = {}
        rankings = []
        if mode != "keyword":
            ranking = self.dense_ranking(self.embedder.embed([text])[0] if vector is None else vector, depth)
            rankings.append(fused_scores(ranking, self.fusion.dense_weight, self.fusion))
            dense = dict(ranking)
        if mode != "dense":
            ranking = self.keyword_ranking(text, depth)
            rankings.append(fused_scores(ranking, self.fusion.keyword_weight, self.fusion))
            keyword = dict(ranking)
        ids = dict.fromkeys(i for shares, _ in rankings for i in shares)  # dense order first: ties stay put
        fused = {i: sum(shares.get(i, floor) for shares, floor in rankings) for i in ids}
        # a piece that says nothing of its own (a picture, a link, a fence) is no passage: the next one is taken
        best = sorted(fused.items(), key=lambda x: -x[1])[: k + SPARE]
        chunks = self.by_id.many([i for i, _ in best]) if isinstance(self.by_id, ChunkTable) else self.by_id
        return [Hit(chunks[i], score, dense=dense.get(i), keyword=keyword.get(i)) for i, score in best
                if says_something(chunks[i].text)][:k]
