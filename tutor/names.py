"""Names a question gives that the notes never write: "Kafka", "XGBoost", "SMOTE".

A question about something the notes never name is not answered from them, however close in meaning
the passages found are: asked "Which Kafka settings does the asynchronous pattern recommend?", the
notes' queue lines are near, but the notes say nothing about Kafka. A name here is a word written with
a capital past its first letter ("XGBoost", "ROC") or capitalised inside the sentence ("Australia");
it is unknown when neither it, nor its singular, nor (hyphenated) every part of it is a word of the
notes. Acronyms the notes spell out are not names (``known``: "BN" for batch normalization).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from tutor.text import STOPWORDS, stem

WORD = re.compile(r"[A-Za-z0-9]+(?:[-'’][A-Za-z0-9]+)*")
CONTRACTION = re.compile(r"['’](?:s|ve|m|d|ll|re)$", re.IGNORECASE)
MARKED_UP = re.compile(r"\b([A-Za-z]\w*)<(sub|sup)>([A-Za-z0-9]+)</\2>")  # W<sub>ax</sub>: written "Wax"
VERSION = 3  # characters glued after a name the notes write that still make it that name: "v3", "16", "s"


def names(question: str) -> list[str]:
    """The words of ``question`` that read as names, possessives dropped, in order, each once.

    >>> names("Which Kafka settings does the Async pattern use, per Andrew Ng's notes and XGBoost? I ask.")
    ['Kafka', 'Async', 'Andrew', 'Ng', 'XGBoost']
    >>> names("What is ROC AUC? And BN? How much I've overfit, and what I'd do?")
    ['ROC', 'AUC', 'BN']
    """
    found: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", question):
        for i, match in enumerate(WORD.finditer(sentence)):
            word = CONTRACTION.sub("", match.group())  # "Ng's" is "Ng"; "I've", "I'm" are no names
            inner = any(ch.isupper() for ch in word[1:])
            if len(word) < 2 or not (inner or (i > 0 and word[0].isupper())):
                continue
            if word.lower() in STOPWORDS or word in found:
                continue
            found.append(word)
    return found


def unknown_names(question: str, vocabulary: Collection[str], known: Iterable[str] = ()) -> list[str]:
    """The names in ``question`` the notes never write (``vocabulary``: the notes' search terms).

    >>> vocabulary = {"queue", "vgg", "16", "vgg-16", "andrew", "ng", "transformer", "yolo"}
    >>> unknown_names("Use Kafka or a queue? VGG-16's layers? Andrew Ng's Transformers? YOLO? BN?", vocabulary, ["BN"])
    ['Kafka']
    >>> unknown_names("Is YOLOv3 faster than VGG16 or a YOLOnator?", vocabulary)
    ['YOLOnator']
    """
    spelled = set(known)
    unknown = []
    for name in names(question):
        if name in spelled:
            continue
        word = name.lower()
        parts = [p for p in word.split("-") if p and p not in STOPWORDS]
        forms = {word, stem(word), word.replace("-", ""), stem(word.replace("-", ""))}
        if any(f in vocabulary for f in forms) or (len(parts) > 1 and all(p in vocabulary or stem(p) in vocabulary
                                                               for p in parts)):
            continue
        if any(word[:i] in vocabulary for i in range(len(word) - 1, 2, -1) if len(word) - i <= VERSION):
            continue  # a version or a plural glued on: "YOLOv3", "VGG16" where the notes write "YOLO", "VGG"
        unknown.append(name)
    return unknown


def marked_up(texts: Iterable[str]) -> set[str]:
    """The symbols the notes write with an HTML subscript or superscript, as a question types them:
    "W<sub>ax</sub>" is "wax" (lower-cased). The notes' search terms hold only their parts ("w", "ax").

    >>> sorted(marked_up(["the weights W<sub>ax</sub> and W<sub>aa</sub>", "y<sup>2</sup> is a square"]))
    ['waa', 'wax', 'y2']
    """
    return {f"{base}{mark}".lower() for text in texts for base, _, mark in MARKED_UP.findall(text)}


def said(names: Iterable[str]) -> str:
    """Names as a sentence gives them.

    >>> said(["Kafka"]), said(["ROC", "AUC"])
    ("'Kafka'", "'ROC' or 'AUC'")
    """
    return " or ".join(repr(n) for n in names)
