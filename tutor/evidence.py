"""Evidence beyond word overlap: does a retrieved passage answer the question, and does an answer
sentence claim a comparison its passage does not make?

A small model sometimes says "not covered" while the passage that answers is quoted to it, and
sometimes joins a passage's words into a stronger claim ("X scales better" where the notes only say
X is scalable). Both are judged here from the words alone (no model): the first by how much of the
question the best passages contain, the second by comparative words the sentence uses and its cited
passages never do. Limits: a paraphrase with none of the question's words is not recognised as an
answer; a comparison the passage makes in other words ("beats") is not recognised as made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from tutor.records import Hit
from tutor.text import MARKER, claim_words, plain_words, terms

RETRY_COVERAGE = 0.5  # share at which a refused question is asked again with that passage alone (tuned on dev)
MIN_COVERAGE = 0.7  # share of the question's keyword weight a passage must hold to count as answering it (tuned on dev)
COMPARATIVE = re.compile(
    r"\b(better|worse|best|worst|faster|slower|cheaper|simpler|easier|harder|stronger|weaker|superior|inferior|"
    r"outperforms?|beats?|[a-z]{3,}er\s+than|(?:more|less|fewer)\s+(?:[a-z]+\s+){0,2}than)\b",
    re.IGNORECASE,
)
# Words of the asking, not of the topic: they say nothing about whether a passage answers.
QUESTION_WORDS = frozenset("explain describe tell give list mean means meaning example examples use used using "
                           "purpose according note notes lecture course should would could must might may shall "
                           "need want know get make way ways thing things".split())


def _terms(text: str) -> set[str]:
    return plain_words(text) - QUESTION_WORDS


def coverage(question: str, passage: str, idf: Mapping[str, float] | None = None,
             abbreviations: Mapping[str, str] | None = None) -> float:
    """Share of the question's keywords that the passage contains, each weighted by its rarity in the
    notes (``idf``; a word the notes never use weighs most): "learning" and "model" say little in ML
    notes, "rate" a lot. An abbreviation counts as contained when its expansion is. 1 when the
    question has no keywords.

    >>> coverage("What does dropout do at test time?", "Dropout: at test time no units are dropped")
    1.0
    >>> round(coverage("Which learning rate fits?", "learning a model", {"learning": 0.5, "rate": 2.0, "fit": 2.0}), 2)
    0.11
    >>> coverage("DS duties?", "Data Scientist duties", abbreviations={"DS": "Data Scientist"})
    1.0
    """
    terms = _terms(question)
    if not terms:
        return 1.0
    weights = idf or {}
    top = max(weights.values(), default=1.0)
    weight = {t: weights.get(t, top) for t in terms}
    present = _terms(passage)
    spelled = {a.lower(): _terms(e) for a, e in (abbreviations or {}).items()}
    covered = [t for t in terms if t in present or (spelled.get(t) and spelled[t] <= present)]
    return sum(weight[t] for t in covered) / sum(weight.values())


def answering_passages(question: str, hits: Sequence[Hit], min_similarity: float,
                       idf: Mapping[str, float] | None = None, abbreviations: Mapping[str, str] | None = None,
                       min_coverage: float = MIN_COVERAGE) -> list[int]:
    """Positions (0-based) of the hits close in meaning to ``question`` that hold most of its keywords."""
    return [i for i, h in enumerate(hits) if (h.dense or 0.0) >= min_similarity
            and coverage(question, h.chunk.embed_text(), idf, abbreviations) >= min_coverage]


def unmade_comparisons(sentence: str, passages: Sequence[str]) -> list[str]:
    """Comparative words of ``sentence`` that none of ``passages`` uses: a comparison they do not make.

    >>> unmade_comparisons("Item-based filtering scales better [1].", ["Collaborative filtering is scalable"])
    ['better']
    >>> unmade_comparisons("Batch serving is cheaper than online serving [1].", ["Batch is cheaper than online"])
    []
    """
    used = {m.group().lower() for p in passages for m in COMPARATIVE.finditer(p)}
    said = []
    for m in COMPARATIVE.finditer(sentence):
        word = m.group().lower()
        if word not in used and not (word.endswith("than") and any(u.endswith("than") for u in used)):
            said.append(word)
    return said


# Words that make a short answer an answer even when all its other words are the question's ("No, ...").
VERDICT = re.compile(r"\b(yes|no|not|never|none|only|always|both|neither|either)\b|\d", re.IGNORECASE)


def restates(text: str, question: str) -> bool:
    """Whether an answer only restates its question: every content word is the question's own, and it
    gives no verdict (yes, no, not, a number).

    >>> restates("The three reasons deep learning is taking off [1].",
    ...          "What are the three reasons deep learning is taking off?")
    True
    >>> restates("No, dropout is not used at test time [1].", "Is dropout used at test time?")
    False
    >>> restates("Deep learning is taking off for data and computation [1].", "Why is deep learning taking off?")
    False
    """
    said = claim_words(text)
    return bool(said) and said <= claim_words(question) and not VERDICT.search(MARKER.sub(" ", text))


# A question that asks for a quantity ("how many", "what value"), and the words that give one.
ASKS_NUMBER = re.compile(
    r"\bhow\s+(?:many|much)\b|\bwhat\s+(?:value|number|percentage|size)\b"
    r"|\bwhat\s+(?!(?:is|are|was|were|does|do|did|should|would|can)\b)(?:[\w-]+\s+){1,2}"
    r"(?:values?|numbers?|percentages?|thresholds?)\b", re.IGNORECASE)  # "what threshold value", "what default values"
NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|fifty|hundred|"
    r"thousands?|millions?|billions?|dozens?|half|twice|double|none|zero|"
    r"least|most|majority|minority|bulk)\b", re.IGNORECASE)  # "takes the least time" answers "how much time"


# A number written with digits ("138", "0.5", "96MB" gives "96"), and the noun a quantity question asks
# for ("how many parameters": the answer's number counts parameters, it does not name what has them).
DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
ASKED_FOR = re.compile(r"\bhow\s+(?:many|much)\s+(\w+)|\bwhat\s+(?:value|number|percentage|size)\s+of\s+(\w+)",
                       re.IGNORECASE)


def ancestors(lines: Sequence[str], at: int) -> list[str]:
    """The list items ``lines[at]`` sits under, nearest first: each line above it indented less.

    >>> ancestors(["- VGG-16", "", "  - A modification", "  - It has 138 million parameters."], 3)
    ['- VGG-16']
    """
    found = []
    depth = len(lines[at]) - len(lines[at].lstrip())
    for line in reversed(lines[:at]):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent < depth:
            found.append(line)
            depth = indent
        if depth == 0:
            break
    return found


def unstated_numbers(text: str, question: str, notes: Sequence[tuple[str, str]]) -> bool:
    """Whether every number an answer to a quantity question gives (in digits, not one the question
    names) stands in the ``notes`` (each (heading context, text)) only about something else: no line
    holding it names, with the line before it, the list items above it and its heading, any of the
    question's words (besides the quantity asked for). Asked "How many parameters does the 152-layer ResNet have?", a
    model answered "around 138 million [5]": the notes give 138 million for VGG-16, and no number of
    parameters for ResNet. False when the answer gives no digits (``lacks_number`` decides then).

    >>> vgg = ("Case studies > Classic networks > VGG-16", "- VGG-16\\n  - It has around 138 million parameters.")
    >>> unstated_numbers("The 152-layer ResNet has around 138 million parameters [1].",
    ...                  "How many parameters does the 152-layer ResNet have?", [vgg])
    True
    >>> unstated_numbers("VGG-16 has 138 million parameters [1].", "How many parameters does VGG-16 have?", [vgg])
    False
    >>> said = ("Classic networks", "- VGG-16 is large by modern standards.\\n- It has 138 million parameters.")
    >>> unstated_numbers("VGG-16 has 138 million parameters [1].", "How many parameters does VGG-16 have?", [said])
    False
    """
    if not ASKS_NUMBER.search(question):
        return False
    given = set(DIGITS.findall(MARKER.sub(" ", text))) - set(DIGITS.findall(question))
    if not given:
        return False
    asked = terms(question)
    for m in ASKED_FOR.finditer(question):
        asked -= terms(m.group(1) or m.group(2) or "")
    for context, body in notes:
        lines = body.splitlines()
        for i, line in enumerate(lines):
            if not given & set(DIGITS.findall(line)):
                continue
            before = next((x for x in reversed(lines[:i]) if x.strip()), "")  # "VGG-16 is large. It has 138M"
            if terms(" ".join([context, before, line, *ancestors(lines, i)])) & asked:
                return False
    return True


def lacks_number(text: str, question: str) -> bool:
    """Whether the question asks for a quantity and the answer gives none of its own (one the question
    names does not count): the notes do not state it
    (asked "how many seconds should a cache entry live?", a model answers with what a cache does).

    >>> lacks_number("The server stores each prediction as a cache value [2].", "How many seconds should entries live?")
    True
    >>> lacks_number("Pick 5-20 negative examples for small data [1].", "How many negative examples should I pick?")
    False
    >>> lacks_number("The server stores predictions [2].", "What does the cache store?")
    False
    >>> lacks_number("Run web single with multiple replicas [1].", "How many replicas should web single run?")
    True
    >>> lacks_number("Modeling takes the least time of the six steps [1].", "How much time does modeling take?")
    False
    >>> lacks_number("Set it below the largest gradient [1].", "What threshold value should I set for clipping?")
    True
    >>> lacks_number("The cache stores the prediction as the value [1].", "What is stored as the cache value?")
    False
    """
    given = {m.lower() for m in NUMBER.findall(MARKER.sub(" ", text))}
    return bool(ASKS_NUMBER.search(question)) and not given - {m.lower() for m in NUMBER.findall(question)}
