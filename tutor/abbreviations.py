"""Abbreviations learned from the notes, and a query with them spelled out.

"Machine Learning Engineer (MLE)" defines MLE, and capitalised phrases define their initials
("Data Scientist" -> DS); an acronym the notes never use is looked up as a phrase whose initials it is
("NMS" -> "non-max suppression"). Hyphenated terms also match written together ("crispdm" -> "CRISP-DM").
Mined at ingest (the catalog keeps them; each file's evidence is kept beside it, ``abbreviations.json``,
so a change mines the changed files only) and used by retrieval on every query. Limits: English
capitalisation; initials of two to five letters for the phrase lookup.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path

from tutor.keywords import hyphenated_terms
from tutor.records import Chunk
from tutor.text import STOPWORDS, WORD

PHRASE = re.compile(r"\b(?:[A-Z][a-z]+[ -]){1,3}[A-Z][a-z]+\b")
DEFINED = re.compile(r"\b((?:[A-Z][A-Za-z]+[ -]){1,5}[A-Z][A-Za-z]+)\s*\(([A-Z][A-Z0-9]{1,7})\)")


def _initials(words: Sequence[str]) -> str:
    """First letters; an acronym among the words counts whole ("Bidirectional RNN" -> BRNN)."""
    return "".join(w if len(w) > 1 and w.isupper() else w[0] for w in words).upper()


def spelled_out(abbr: str, texts: Iterable[str]) -> str | None:
    """The phrase of the notes whose initials are ``abbr``: the most frequent, seen at least twice and
    more often than ``abbr`` itself (notes that mostly write "CNN" are searched for "CNN" as it is; notes
    that write "batch normalization" and once "BN" are searched for the phrase).

    >>> spelled_out("NMS", ["Non-max suppression drops boxes.", "Then non-max  suppression again."])
    'non-max suppression'
    >>> spelled_out("BN", ["Batch normalization speeds up learning.", "batch normalization at test time", "a BN layer"])
    'batch normalization'
    >>> spelled_out("BN", ["Batch normalization speeds up learning.", "BN at test time", "a BN layer"]) is None
    True
    >>> spelled_out("XYZ", ["nothing here"]) is None
    True
    """
    letters = abbr.lower()
    if not (2 <= len(letters) <= 5 and letters.isascii() and letters.isalpha()):
        return None
    pattern = re.compile(r"\b" + r"[ \t-]+".join(f"({ch}[a-z]+)" for ch in letters) + r"\b", re.IGNORECASE)
    itself = re.compile(rf"\b{re.escape(abbr)}s?\b")
    counts: Counter[str] = Counter()
    used = 0
    for text in texts:
        used += len(itself.findall(text))
        for m in pattern.finditer(text):
            if not any(w.lower() in STOPWORDS for w in m.groups()):
                counts[re.sub(r"[ \t]+", " ", m.group().lower())] += 1
    found = counts.most_common(1)
    return found[0][0] if found and found[0][1] >= max(2, used + 1) else None


def mine_abbreviations(chunks: Iterable[Chunk]) -> dict[str, str]:
    """Abbreviation -> expansion, learned from the notes.

    >>> c = Chunk("a:1", "a", "Roles", 1, 1, "Data Scientist vs. Machine Learning Engineer (MLE)", "h")
    >>> mine_abbreviations([c])
    {'DS': 'Data Scientist', 'MLE': 'Machine Learning Engineer'}
    >>> c2 = Chunk('a:2', 'a', 'Roles', 2, 2, 'Critical Importance of CI/CD', 'h')
    >>> mine_abbreviations([c2])
    {}
    """
    return merge_mined([mine_part(chunks)])


@dataclass
class Mined:
    """What some chunks (one file's) contribute to the abbreviations: kept per file, so an ingest that
    changes one file mines that file only (``merge_mined`` gives what mining every chunk would)."""

    defined: dict[str, str] = field(default_factory=dict)  # "MLE" -> "Machine Learning Engineer", first seen
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # initials -> phrase -> count, first seen
    words: list[str] = field(default_factory=list)  # words used that could be initials (2-4 letters), upper-cased


def mine_part(chunks: Iterable[Chunk]) -> Mined:
    """The abbreviation evidence of ``chunks``, in their order."""
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
    # PHRASE's initials are 2-4 ASCII capitals, so only such words can rule one out.
    short = sorted(w for w in words_used if 2 <= len(w) <= 4 and w.isascii() and w.isalpha())
    return Mined(defined, {a: dict(c) for a, c in counts.items()}, short)


def merge_mined(parts: Iterable[Mined]) -> dict[str, str]:
    """Abbreviation -> expansion from the parts in the notes' order: the first definition, else the most
    frequent phrase with those initials (ties: the first seen); initials the notes use as a word of their
    own ("CI/CD") are not guessed at."""
    defined: dict[str, str] = {}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    words_used: set[str] = set()
    for part in parts:
        for abbr, long in part.defined.items():
            defined.setdefault(abbr, long)
        for abbr, phrases in part.counts.items():
            counts[abbr].update(phrases)
        words_used.update(part.words)
    found = {abbr: c.most_common(1)[0][0] for abbr, c in counts.items() if abbr not in words_used}
    found.update(defined)
    return dict(sorted(found.items()))


def mine_by_file(chunks: Iterable[Chunk], cached: dict[str, tuple[str, Mined]]) -> tuple[dict[str, str],
                                                                                     dict[str, tuple[str, Mined]]]:
    """The abbreviations of ``chunks`` (in the index's order, each file's together), mining only the files
    whose chunks are not those of ``cached`` (source -> (key, part), from the last ingest); also the parts
    to keep for the next one. Same result as ``mine_abbreviations`` over every chunk."""
    runs: list[tuple[str, list[Chunk]]] = []
    for chunk in chunks:
        if runs and runs[-1][0] == chunk.source:
            runs[-1][1].append(chunk)
        else:
            runs.append((chunk.source, [chunk]))
    if len({source for source, _ in runs}) < len(runs):  # a file's chunks apart: no per-file parts
        return mine_abbreviations(c for _, part in runs for c in part), {}
    parts: dict[str, tuple[str, Mined]] = {}
    for source, part in runs:
        key = hashlib.sha256("\n".join(c.content_hash for c in part).encode()).hexdigest()
        old = cached.get(source)
        parts[source] = old if old is not None and old[0] == key else (key, mine_part(part))
    return merge_mined(mined for _, mined in parts.values()), parts


MINED = "abbreviations.json"  # beside the catalog: each file's abbreviation evidence (tutor.abbreviations.Mined)


def load_mined(folder: Path | None) -> dict[str, tuple[str, Mined]]:
    """The per-file abbreviation parts an ingest kept in a generation; none when absent or unreadable (then
    every file is mined again, as before they were kept)."""
    if folder is None:
        return {}
    try:
        data = json.loads((folder / MINED).read_text(encoding="utf-8"))
        return {s: (v["key"], Mined(v["defined"], v["counts"], v["words"])) for s, v in data.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def save_mined(folder: Path, parts: dict[str, tuple[str, Mined]]) -> None:
    """Write the per-file abbreviation parts into a generation folder, atomically."""
    rows = ",\n".join(f"{json.dumps(s)}: {json.dumps({'key': key} | vars(m))}" for s, (key, m) in parts.items())
    tmp = folder / (MINED + ".tmp")
    tmp.write_text("{\n" + rows + "\n}" if rows else "{}", encoding="utf-8")
    os.replace(tmp, folder / MINED)


def expand_query(query: str, abbreviations: dict[str, str], vocabulary: AbstractSet[str] | None = None,
                 hyphenated: Mapping[str, str] | None = None) -> str:
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
