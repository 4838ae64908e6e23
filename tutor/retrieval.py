"""Hybrid search over the notes: dense (the vector store) plus BM25 keywords, fused by reciprocal rank.

Short, abbreviated queries work because abbreviations are expanded from the notes themselves:
"Machine Learning Engineer (MLE)" defines MLE, and capitalised phrases define their initials
("Data Scientist" -> DS). Hyphenated terms also match written together ("crispdm" -> "CRISP-DM").
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from tutor.embedding import Embedder
from tutor.records import Chunk, Hit, Retrieval
from tutor.store import VectorStore

RRF_K = 60
WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from has have how i in is it its of on or s so that the "
    "their them then there these they this to was what when where which who why will with you your vs "
    "versus between difference differ compare".split()
)
PHRASE = re.compile(r"\b(?:[A-Z][a-z]+[ -]){1,3}[A-Z][a-z]+\b")
DEFINED = re.compile(r"\b((?:[A-Z][A-Za-z]+[ -]){1,5}[A-Z][A-Za-z]+)\s*\(([A-Z][A-Z0-9]{1,7})\)")


def stem(word: str) -> str:
    """A very light stemmer: enough to match plurals and possessives.

    >>> [stem(w) for w in ["scientists", "process", "risks", "steps", "data"]]
    ['scientist', 'process', 'risk', 'step', 'data']
    """
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed keywords; a hyphenated term also counts written together.

    >>> tokenize("CRISP-DM: the Six Key Steps")
    ['crisp-dm', 'crispdm', 'crisp', 'dm', 'six', 'key', 'step']
    """
    tokens: list[str] = []
    for match in WORD.finditer(text):
        word = match.group().lower()
        if "-" in word:
            parts = word.split("-")
            tokens.extend([word, "".join(parts), *(stem(p) for p in parts if p not in STOPWORDS)])
        elif word not in STOPWORDS:
            tokens.append(stem(word.replace("'", "")))
    return tokens


def _initials(words: Sequence[str]) -> str:
    return "".join(w[0] for w in words).upper()


def mine_abbreviations(chunks: Iterable[Chunk]) -> dict[str, str]:
    """Abbreviation -> expansion, learned from the notes.

    >>> c = Chunk("a:1", "a", "Roles", 1, 1, "Data Scientist vs. Machine Learning Engineer (MLE)", "h")
    >>> mine_abbreviations([c])
    {'DS': 'Data Scientist', 'MLE': 'Machine Learning Engineer'}
    >>> c2 = Chunk('a:2', 'a', 'Roles', 2, 2, 'Critical Importance of CI/CD', 'h')
    >>> mine_abbreviations([c2])
    {}
    """
    defined: dict[str, str] = {}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    words_used: set[str] = set()
    for chunk in chunks:
        for text in (chunk.section, chunk.text.replace("**", "")):
            words_used.update(w.upper() for w in WORD.findall(text))
            for long, abbr in DEFINED.findall(text):
                words = long.replace("-", " ").split()
                for n in range(len(words), 1, -1):
                    if _initials(words[-n:]) == abbr:
                        defined.setdefault(abbr, " ".join(words[-n:]))
                        break
            for phrase in PHRASE.findall(text):
                counts[_initials(phrase.replace("-", " ").split())][phrase] += 1
    # Initials that the notes use as a word of their own ("CI/CD") are not guessed at.
    found = {abbr: c.most_common(1)[0][0] for abbr, c in counts.items() if abbr not in words_used}
    found.update(defined)
    return dict(sorted(found.items()))


def expand_query(query: str, abbreviations: dict[str, str], vocabulary: set[str] | None = None) -> str:
    """The query with known abbreviations spelled out after it (and "crispdm" as "CRISP-DM").

    >>> expand_query("DS vs MLE?", {"DS": "Data Scientist", "MLE": "Machine Learning Engineer"})
    'DS vs MLE? (Data Scientist; Machine Learning Engineer)'
    >>> expand_query("crispdm steps?", {}, {"crisp-dm", "crispdm", "step"})
    'crispdm steps? (CRISP-DM)'
    """
    extra: list[str] = []
    hyphenated = {w.replace("-", ""): w for w in vocabulary or () if "-" in w}
    for match in WORD.finditer(query):
        word = match.group()
        joined = hyphenated.get(word.lower())
        if joined and "-" not in word and joined.upper() not in extra:
            extra.append(joined.upper() if len(joined) <= 12 else joined)
        key = word.upper().replace("-", "")
        if key not in abbreviations:
            continue
        # An upper-case word is an abbreviation; a lower-case one only if the notes never use it as a word.
        if word.isupper() or vocabulary is None or word.lower() not in vocabulary:
            if abbreviations[key] not in extra:
                extra.append(abbreviations[key])
    return f"{query} ({'; '.join(extra)})" if extra else query


class BM25:
    """Okapi BM25 over a fixed list of documents."""

    def __init__(self, documents: Sequence[list[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.n = len(documents)
        self.lengths = [len(d) for d in documents]
        self.avg = (sum(self.lengths) / self.n) if self.n else 0.0
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, doc in enumerate(documents):
            for term, tf in Counter(doc).items():
                self.postings[term].append((i, tf))
        self.idf = {
            t: math.log(1 + (self.n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()
        }

    def scores(self, query: Sequence[str]) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for term in set(query):
            for i, tf in self.postings.get(term, ()):
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg)
                out[i] += self.idf[term] * tf * (self.k1 + 1) / norm
        return out


class Retriever:
    """Dense + BM25 search over the chunks of one index."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        store: VectorStore,
        embedder: Embedder,
        abbreviations: dict[str, str] | None = None,
    ) -> None:
        self.chunks = list(chunks)
        self.by_id = {c.id: c for c in self.chunks}
        self.store = store
        self.embedder = embedder
        self.abbreviations = abbreviations or {}
        self.bm25 = BM25([tokenize(c.embed_text()) for c in self.chunks])
        self.vocabulary = set(self.bm25.postings)

    def keyword_coverage(self, query: str) -> float:
        """Share of the query's keywords that occur in the notes (0 when it has none)."""
        terms = {t for t in tokenize(query) if "-" not in t}
        return sum(t in self.vocabulary for t in terms) / len(terms) if terms else 0.0

    def is_relevant(self, query: str, hits: Sequence[Hit], min_similarity: float) -> bool:
        """Whether the notes plausibly cover the query: close in meaning, or sharing most of its keywords
        while not far in meaning (short keyword queries such as "crispdm steps?" embed poorly)."""
        best = max((h.dense for h in hits if h.dense is not None), default=0.0)
        return best >= min_similarity or (
            best >= 0.6 * min_similarity and self.keyword_coverage(query) >= 0.5
        )

    def expand(self, query: str) -> str:
        """The query with the notes' abbreviations spelled out (what is searched)."""
        return expand_query(query, self.abbreviations, self.vocabulary)

    def retrieve(self, query: str, k: int, min_relevance: float) -> Retrieval:
        """The ``k`` best chunks for ``query`` and whether the notes cover it: what an answer is written from."""
        expanded = self.expand(query)
        hits = self._ranked(expanded, k)
        return Retrieval(query, expanded, tuple(hits), bool(hits) and self.is_relevant(query, hits, min_relevance))

    def search(self, query: str, k: int = 5, depth: int = 20) -> list[Hit]:
        """The ``k`` best chunks for ``query``, fused from the top ``depth`` of each ranking."""
        return self._ranked(self.expand(query), k, depth)

    def _ranked(self, expanded: str, k: int, depth: int = 20) -> list[Hit]:
        """The ``k`` best chunks for a query whose abbreviations are already spelled out."""
        if not self.chunks:
            return []
        dense = [(i, s) for i, s in self.store.query(self.embedder.embed([expanded])[0], depth) if i in self.by_id]
        keyword = sorted(self.bm25.scores(tokenize(expanded)).items(), key=lambda x: -x[1])[:depth]
        fused: dict[str, float] = defaultdict(float)
        dense_sim = dict(dense)
        keyword_score: dict[str, float] = {}
        for rank, (chunk_id, _) in enumerate(dense):
            fused[chunk_id] += 1 / (RRF_K + rank + 1)
        for rank, (i, score) in enumerate(keyword):
            chunk_id = self.chunks[i].id
            keyword_score[chunk_id] = score
            fused[chunk_id] += 1 / (RRF_K + rank + 1)
        best = sorted(fused.items(), key=lambda x: -x[1])[:k]
        return [
            Hit(self.by_id[i], score, dense=dense_sim.get(i), keyword=keyword_score.get(i)) for i, score in best
        ]
