"""Words of a text: tokenizing, stemming, the keyword notions and their overlap, used by every stage.

One tokenizer (:func:`tokenize`) feeds them all; the notions differ on purpose, in how far two words
must agree to count as the same:

- :func:`tokenize` — search terms for BM25, in order, with repeats and the forms of hyphenated terms.
- :func:`keywords` — distinct stemmed words, matched exactly: for quiz checks, where "manual" and
  "manually" must stay apart (an option is given away only by its own words).
- :func:`word_families` — keywords cut to six letters, so "manual"/"manually" and "evaluate"/"evaluation"
  meet: for finding a fact's lines in the notes (sibling sections, wrong options, grading).
- :func:`plain_words` — keywords without the hyphenated whole ("crisp-dm"): a term counts once.
- :func:`claim_words` — plain words cut to five letters, without numbers: whether a passage backs an
  answer's sentence ("analysis"/"analyse" meet as "analy").
- :func:`terms` — words rooted (-ing, -ed, final e) and cut to six letters: the evals' key points,
  lenient so a paraphrase that keeps the words scores.

:func:`overlap` is the share of one text's words found in another, under any of these notions.
Limits: English only, ASCII letters and digits; the stemmer only strips plurals and possessives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from has have how i in is it its of on or s so that the "
    "their them then there these they this to was what when where which who why will with you your vs "
    "versus between difference differ compare".split()
)
# A citation marker in an answer: [1], [2, 3], [notes 1 and 2]; never an index glued to code (`shape[1]`).
MARKER = re.compile(r"(?<![\w)])\[\s*(?:(?:notes?|sources?)\s*)?(\d+(?:\s*(?:,|;|and)\s*\d+)*)\s*\]", re.IGNORECASE)
CITED = re.compile(r"(?<![\w)])\[(\d+)\]")  # a marker as the checked answer writes it: [1]


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


def keywords(text: str) -> set[str]:
    """Distinct stemmed words, matched exactly (quiz checks: an option given away, a point stated)."""
    return set(tokenize(text))


def word_families(text: str) -> set[str]:
    """Keywords cut to their first six letters, so "manual"/"manually" and "evaluate"/"evaluation" meet."""
    return {t[:6] for t in tokenize(text)}


def plain_words(text: str) -> set[str]:
    """Keywords without the hyphenated whole, so a hyphenated term counts by its parts (and joined)."""
    return {t for t in tokenize(text) if "-" not in t}


# Markdown that carries no words a reader can use, or whose words are only its label.
IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")  # a picture: no words a learner can use
LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # a link (or a picture): group 1 is its words
URL = re.compile(r"https?://\S+")  # a bare address
FENCE_MARK = re.compile(r"`{3}\w*")  # backticks opening a code block, and its language (chunking.FENCE: a fence line)


def says_something(text: str) -> bool:
    """Whether ``text`` holds two words of its own at least: not a picture, a link or a fence alone,
    nor a lone label ("- **AlexNet**") whose content is in the lines under it.

    >>> [says_something(t) for t in ["![diagram](diagram.png)", "https://github.com/x/y", "  - ```", "- **AlexNet**",
    ...                              "- Pipeline definition.", "See [the model load pattern](../load.md)"]]
    [False, False, False, False, True, True]
    """
    words = FENCE_MARK.sub(" ", URL.sub(" ", LINK.sub(r"\1", IMAGE.sub(" ", text))))
    return len(plain_words(words)) >= 2


def claim_words(text: str) -> set[str]:
    """Content words of a claim, no markers or numbers, cut to five letters: "analysis"/"analyse" meet.

    >>> sorted(claim_words("Analysis of 2 data-sets [1]"))
    ['analy', 'data', 'datas', 'set']
    """
    return {t[:5] for t in plain_words(MARKER.sub(" ", text)) if not t.isdigit()}


def _root(word: str) -> str:
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return (word[:-1] if word.endswith("e") and len(word) > 4 else word)[:6]


def terms(text: str) -> set[str]:
    """Content words, stemmed and cut to six letters: "analysis"/"analyse", "define"/"defining" meet.

    >>> sorted(terms("Deploying production-ready systems [2]"))
    ['deploy', 'produc', 'ready', 'system']
    >>> terms("defining") == terms("define"), terms("iteration") == terms("iterative")
    (True, True)
    """
    text = MARKER.sub(" ", text).replace("-", " ").replace("/", " ")
    return {_root(t) for t in tokenize(text)}


def overlap(text: str, source: str, words: Callable[[str], set[str]] = keywords) -> float:
    """Share of ``text``'s words (by the notion ``words``) found in ``source`` (0 when ``text`` has none).

    >>> overlap("Higher accuracy", "- **Advantage**: Higher accuracy")
    1.0
    >>> overlap("Lower latency", "- **Advantage**: Higher accuracy")
    0.0
    >>> overlap("rerun the job", "You may rerun the job in case of error", word_families)
    1.0
    >>> overlap("Manual model evaluation", "To manually evaluate a model", word_families)
    1.0
    >>> overlap("Manual model evaluation", "To manually evaluate a model")
    0.3333333333333333
    """
    mine = words(text)
    return len(mine & words(source)) / len(mine) if mine else 0.0


def telltale_words(correct: str, others: Sequence[str], text: str,
                   notions: Sequence[Callable[[str], set[str]]] = (keywords,)) -> set[str]:
    """Words of ``text`` that ``correct`` has and none of ``others`` has, by each word notion in turn:
    a question holding one of them points at the correct option.

    >>> sorted(telltale_words("Data Understanding", ["Modeling", "Evaluation"], "Which step cleans data?"))
    ['data']
    """
    found: set[str] = set()
    for words in notions:
        rest: set[str] = set().union(*(words(o) for o in others)) if others else set()
        found |= (words(correct) - rest) & words(text)
    return found


def split_sentences(text: str) -> list[str]:
    """Sentences and list lines, each keeping the markers that follow it."""
    return [p.strip() for p in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9*(\"'])|\n+", text) if p.strip()]
