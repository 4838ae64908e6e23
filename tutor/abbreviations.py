"""Abbreviations learned from the notes, and a query with them spelled out.

"Machine Learning Engineer (MLE)" defines MLE, and capitalised phrases define their initials
("Data Scientist" -> DS); an acronym the notes never use is looked up as a phrase whose initials it is
("NMS" -> "non-max suppression"). Hyphenated terms also match written together ("crispdm" -> "CRISP-DM").
Mined once per ingest (the catalog keeps them) and used by retrieval on every query. Limits: English
capitalisation; initials of two to five letters for the phrase lookup.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet

from tutor.records import Chunk
from tutor.text import STOPWORDS, WORD

PHRASE = re.compile(r"\b(?:[A-Z][a-z]+[ -]){1,3}[A-Z][a-z]+\b")
DEFINED = re.compile(r"\b((?:[A-Z][A-Za-z]+[ -]){1,5}[A-Z][A-Za-z]+)\s*\(([A-Z][A-Z0-9]{1,7})\)")


def _initials(words: Sequence[str]) -> str:
    """First letters; an acronym among the words counts whole ("Bidirectional RNN" -> BRNN)."""
    return "".join(w if len(w) > 1 and w.isupper() else w[0] for w in words).upper()


def spelled_out(abbr: str, texts: Iterable[str]) -> str | None:
    """The phrase of the notes whose initials are ``abbr``: the most frequent, seen at least twice.

    >>> spelled_out("NMS", ["Non-max suppression drops boxes.", "Then non-max  suppression again."])
    'non-max suppression'
    >>> spelled_out("XYZ", ["nothing here"]) is None
    True
    """
    letters = abbr.lower()
    if not (2 <= len(letters) <= 5 and letters.isascii() and letters.isalpha()):
        return None
    pattern = re.compile(r"\b" + r"[ \t-]+".join(f"({ch}[a-z]+)" for ch in letters) + r"\b", re.IGNORECASE)
    counts: Counter[str] = Counter()
    for text in texts:
        for m in pattern.finditer(text):
            if not any(w.lower() in STOPWORDS for w in m.groups()):
                counts[re.sub(r"[ \t]+", " ", m.group().lower())] += 1
    found = counts.most_common(1)
    return found[0][0] if found and found[0][1] >= 2 else None


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
            words_used.update(map(str.upper, WORD.findall(text)))
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


def hyphenated_terms(vocabulary: Iterable[str]) -> dict[str, str]:
    """Each hyphenated term of the vocabulary by its letters written together ("crispdm" -> "crisp-dm")."""
    return {w.replace("-", ""): w for w in vocabulary if "-" in w}


def expand_query(query: str, abbreviations: dict[str, str], vocabulary: AbstractSet[str] | None = None,
                 hyphenated: dict[str, str] | None = None) -> str:
    """The query with known abbreviations spelled out after it (and "crispdm" as "CRISP-DM").

    ``hyphenated`` (``hyphenated_terms(vocabulary)``) may be passed in, made once, so a query's cost does
    not grow with the notes' vocabulary.

    >>> expand_query("DS vs MLE?", {"DS": "Data Scientist", "MLE": "Machine Learning Engineer"})
    'DS vs MLE? (Data Scientist; Machine Learning Engineer)'
    >>> expand_query("crispdm steps?", {}, {"crisp-dm", "crispdm", "step"})
    'crispdm steps? (CRISP-DM)'
    """
    extra: list[str] = []
    if hyphenated is None:
        hyphenated = hyphenated_terms(vocabulary or ())
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
