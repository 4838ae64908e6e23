"""Okapi BM25 keyword scoring: built in memory from token lists, or read from an index generation's shelf.

Both forms score alike (the same postings, idf and lengths, the same arithmetic): an ingest builds the
index once and stores it (``tutor.shelf``); a question then reads only its own terms' postings.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutor.shelf import ShelfTerms


def hyphenated_terms(vocabulary: Iterable[str]) -> dict[str, str]:
    """Each hyphenated term of the vocabulary by its letters written together ("crispdm" -> "crisp-dm")."""
    return {w.replace("-", ""): w for w in vocabulary if "-" in w}


class BM25:
    """Okapi BM25 over a fixed list of documents.

    The postings are held as compressed sparse columns (one numpy array of document numbers and one of
    term counts, sliced per term): about 8 bytes a posting, where a dict of lists of tuples took ~60.
    Documents are read one at a time (a generator does), so their token lists are never all held at once.
    """

    def __init__(self, documents: Iterable[list[str]], k1: float = 1.5, b: float = 0.75) -> None:
        import numpy as np

        self.k1, self.b = k1, b
        self.terms: dict[str, int] = {}  # term -> its column
        columns, docs, counts, lengths = array("i"), array("i"), array("i"), array("i")
        for i, doc in enumerate(documents):
            lengths.append(len(doc))
            for term, tf in Counter(doc).items():
                columns.append(self.terms.setdefault(term, len(self.terms)))
                docs.append(i)
                counts.append(tf)
        self.n = len(lengths)
        self.avg = (sum(lengths) / self.n) if self.n else 0.0
        order = np.argsort(np.frombuffer(columns, dtype=np.int32), kind="stable")  # by term, then document
        self.docs = np.frombuffer(docs, dtype=np.int32)[order]
        self.counts = np.frombuffer(counts, dtype=np.int32)[order]
        df = np.bincount(np.frombuffer(columns, dtype=np.int32), minlength=len(self.terms))
        self.starts = np.concatenate([[0], np.cumsum(df)])
        self.lengths = np.frombuffer(lengths, dtype=np.int32).copy()
        self.idf = {t: math.log(1 + (self.n - int(df[c]) + 0.5) / (int(df[c]) + 0.5)) for t, c in self.terms.items()}

    def postings(self, term: str) -> tuple[Any, Any] | None:
        """(documents, term counts) of one term, or None when no document has it."""
        column = self.terms.get(term)
        if column is None:
            return None
        start, end = self.starts[column], self.starts[column + 1]
        return self.docs[start:end], self.counts[start:end]


    def _score(self, query: Sequence[str]) -> tuple[Any, Any]:
        """(scores of all documents, the matching documents in the order first met), term by term."""
        import numpy as np

        scores = np.zeros(self.n)
        met = []
        for term in set(query):
            found = self.postings(term)
            if found is None:
                continue
            docs, tf = found
            norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[docs] / self.avg)
            scores[docs] += self.idf[term] * tf * (self.k1 + 1) / norm
            met.append(docs)
        if not met:
            return scores, np.zeros(0, dtype=np.int32)
        every = np.concatenate(met)
        matched, first = np.unique(every, return_index=True)
        return scores, matched[np.argsort(first, kind="stable")]

    def scores(self, query: Sequence[str]) -> dict[int, float]:
        """BM25 score of each document sharing a term with ``query``."""
        scores, matched = self._score(query)
        return {int(i): float(scores[i]) for i in matched}

    def top(self, query: Sequence[str], depth: int) -> list[tuple[int, float]]:
        """The ``depth`` best documents for ``query``, best first (ties: the document met first)."""
        import numpy as np

        scores, matched = self._score(query)
        best = matched[np.argsort(-scores[matched], kind="stable")[:depth]]
        return [(int(i), float(scores[i])) for i in best]


class StoredBM25(BM25):
    """A BM25 index read from a shelf: a term's postings and idf are read when a query has that term."""

    def __init__(self, terms: ShelfTerms, k1: float = 1.5, b: float = 0.75) -> None:
        import numpy as np

        self.k1, self.b = k1, b
        self.shelf_terms = terms
        self.terms: Mapping[str, Any] = terms  # type: ignore[assignment]
        self.idf: Mapping[str, float] = terms  # type: ignore[assignment]
        self.lengths = np.frombuffer(terms.meta("lengths"), dtype=np.int32)
        self.n = len(self.lengths)
        self.avg = float(terms.meta("avg"))

    def postings(self, term: str) -> tuple[Any, Any] | None:
        import numpy as np

        found = self.shelf_terms.postings(term)
        if found is None:
            return None
        return np.frombuffer(found[0], dtype=np.int32), np.frombuffer(found[1], dtype=np.int32)
