"""Multiple-choice items whose options the notes supply: the key and three siblings of the same kind.

A plan is made in code from the structure ``tutor.siblings`` finds, and checked before any model sees it:

- ``which``: a line of one section, and the section's name among three sibling or parallel sections,
  none of which states that line ("Which pattern lists “You may rerun the job” under Pros?");
- ``label``: the value of a labelled entry, and its label among the other labels of the same list;
- ``not``: three entries of a list section, and one entry of a sibling section that the cited passage
  does not state ("Which of these is NOT listed under “Ethical Risks”?");
- ``order``: numbered steps of a process ("Which step comes right after “Modeling”?").

The model may phrase a ``which`` or ``label`` question (``tutor.quiz``); the options are never its own.
A section with no siblings gets no plan: the session asks it another kind of question.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tutor.records import Chunk
from tutor.siblings import Group, clean_line, content, entries, groups, name_of, similarity
from tutor.text import overlap, telltale_words, terms, word_families

STATED = 0.5  # share of a line's keywords found in a section that makes the line true there too
NOT_STATED = 0.55  # the key of a "not" item: less than this share of its keywords in the cited passage
MAX_OPTION = 140  # characters: longer entries make options nobody reads
MIN_FACT_WORDS = 3


@dataclass(frozen=True)
class Plan:
    """A multiple-choice item the notes supply, before its question is phrased."""

    shape: str  # "which", "label", "not" or "order"
    question: str  # the question as a template words it (used as is, or when the model's phrasing fails)
    options: tuple[str, ...]
    answer_index: int
    chunks: tuple[Chunk, ...]  # the chunk the key comes from first, then the sibling(s) it is told from
    fact: str = ""  # the line of the notes the question asks about ("which", "label")
    noun: str = ""
    allowed: tuple[str, ...] = ()  # every sibling that may be a wrong option (none of them states the fact)
    parent: str = ""  # what the options belong to ("Batch pattern"), for the model's question
    heading: str = ""  # the heading the line is under, when the options are its parents ("Pros")

    @property
    def answer(self) -> str:
        return self.options[self.answer_index]

    @property
    def phrased_by_model(self) -> bool:
        """Only a "which" item: for a "label" item the model's question named the value in other words and no
        longer fit its key ("Which is an algorithm used in software development?" for “Strong CS fundamentals”)."""
        return self.shape == "which"


def _slot(seed: str, n: int) -> int:
    return int(hashlib.sha256(seed.encode()).hexdigest(), 16) % n


def _place(key: str, others: Sequence[str], seed: str) -> tuple[tuple[str, ...], int]:
    slot = _slot(seed, len(others) + 1)
    return (*others[:slot], key, *others[slot:]), slot


def _distinctive(answer: str, others: Sequence[str], fact: str) -> bool:
    """True when ``fact`` has a word only the answer has among the options (as families or as roots, so
    "serving" is caught for "Train-then-serve"): a question holding it gives the answer away."""
    return bool(telltale_words(answer, others, fact, (word_families, terms)))


VAGUE_START = frozenset("he she we i it this that these those so also another suppose for here then but and or "
                        "if as in lets let's note now what why how example example: similar similarly hint "
                        "sometimes from".split())
# A line that leans on what is around it in the note: "from the above", "the previous section", "the others".
ELSEWHERE = re.compile(r"\b(?:above|below|previous|the others?|the (?:\w+ )?example|as shown|shown (?:here|in))\b",
                       re.IGNORECASE)
WORDLIKE = re.compile(r"^[(\"'“]?[A-Za-z][a-z]+(?:[-'][A-Za-z]+)*[)\"'”,.;:!?]*$")
PROSE = 0.6  # share of a line's tokens that are plain words, for it to be asked about


def statement(text: str) -> bool:
    """True for a line that can stand alone as a fact: not a pointer ("He talked about"), code or a lead-in.

    >>> statement("Most time-consuming step in ML projects"), statement("For example:"), statement("He said so")
    (True, False, False)
    """
    return len(terms(text)) >= MIN_FACT_WORDS and stands_alone(text)


SPEAKER = frozenset({"he", "she"})  # "Mainly he is talking about …": a line about a lecture, not the subject


def stands_alone(text: str) -> bool:
    """True for a line that makes sense alone, however short ("Rows: Users"): not a pointer, code or a lead-in.

    >>> stands_alone("Rows: Users"), stands_alone("Mainly he is talking about regression")
    (True, False)
    >>> stands_alone("Calculate: `a_log = log(a)  # e.g. a = 0.0001 then a_log = -4`")
    False
    """
    words = text.split()
    return (bool(words) and len(text) <= 220 and text.count("`") < 4 and not text.rstrip().endswith((":", ",", "?"))
            and words[0].lower() not in VAGUE_START and not SPEAKER & {w.lower() for w in words[:2]}
            and not ELSEWHERE.search(text) and prose(text))


def prose(text: str) -> bool:
    """True when most of a line is words, not a formula or code ("Output dA[l-1], dW[l], db[l]" is not).

    >>> prose("The code inside an epoch should be vectorized"), prose("Output dA[l-1], dW[l], db[l]")
    (True, False)
    """
    tokens = text.split()
    return sum(bool(WORDLIKE.match(t)) for t in tokens) >= PROSE * len(tokens)


def facts(chunk: Chunk) -> list[str]:
    """Lines of the chunk a question can ask about: its list entries, else its sentences."""
    found = [e.text for e in entries(chunk) if not e.intro]
    if not found:
        found = [s.strip() for unit in _units(content(chunk))
                 for s in unit.replace("! ", ". ").replace("? ", ". ").split(". ")]
    return [f.rstrip(".") for f in found if statement(f)]


def _units(text: str) -> list[str]:
    r"""The passage's lines as plain text, a line joined to the one before only when it carries on its sentence
    (lower case after no full stop); a lead-in line ("Ideas to try:") is left out.

    >>> _units("Ideas to try:\nCollect more data.\nTrain longer\nwith Adam.")
    ['Collect more data.', 'Train longer with Adam.']
    """
    units: list[str] = []
    ended = True
    for raw in text.splitlines():
        line = clean_line(raw)
        if not line:
            continue
        if not ended and line[0].islower() and units:
            units[-1] += " " + line
        else:
            units.append(line)
        ended = raw.rstrip().endswith((".", "!", "?", ":"))
        if raw.rstrip().endswith(":"):
            units.pop()
    return units


class Planner:
    """Plans for every chunk of the notes; the groups of siblings are found once."""

    def __init__(self, chunks: Sequence[Chunk], file_titles: Mapping[str, str] | None = None) -> None:
        self.groups = groups(chunks, file_titles)
        seen: dict[str, set[str]] = {}
        for c in chunks:
            for e in entries(c):
                if e.label:
                    seen.setdefault(e.label.lower(), set()).add(c.content_hash)
        # a label that several lists repeat ("Advantage" under each approach) names a field, not one of a kind
        self.fields = frozenset(label for label, where in seen.items() if len(where) > 1)
        self.of: dict[str, list[Group]] = {}
        for g in self.groups:
            for member in g.members:
                for c in member:
                    self.of.setdefault(c.content_hash, []).append(g)

    def plans(self, chunk: Chunk) -> list[Plan]:
        """Every plan for ``chunk``: one of each shape it allows, "which" (or "label"), "order", "not"."""
        mine = self.of.get(chunk.content_hash, [])
        found = {"which": next((p for g in mine if (p := self._which(g, chunk))), None) or self._label(chunk),
                 "order": next((p for g in mine if (p := self._order(g, chunk))), None),
                 "not": next((p for g in mine if (p := self._not(g, chunk))), None)}
        return [p for p in found.values() if p is not None]

    def _which(self, g: Group, chunk: Chunk) -> Plan | None:
        if g.template:
            return None  # "is this line a Pro, a Usecase or a Consideration?" has several fair answers
        i = g.index(chunk)
        answer = g.names[i]
        ranked = sorted((j for j in range(len(g.names)) if j != i),
                        key=lambda j: (-similarity(g.text(i), g.text(j)), abs(j - i)))
        shared = frozenset.intersection(*(frozenset(word_families(n)) for n in g.names))
        for fact in facts(chunk):
            if len(fact) > MAX_OPTION:
                continue  # a long quote makes a question nobody reads to the end
            fair = [j for j in ranked
                    if overlap(fact, g.scope(j), word_families) < STATED and not _namesake(answer, g.names[j], shared)]
            names = [g.names[j] for j in fair[:3]]
            if len(names) < 3:
                continue
            if _distinctive(answer, names, f"{fact} {g.parent}") or overlap(answer, fact, word_families) >= STATED:
                continue  # the line names its own section: any question on it gives the answer away
            options, index = _place(answer, names, chunk.content_hash + fact)
            leaf = name_of(chunk.section.rpartition(" > ")[2])
            question = (f"Under which {g.noun} of “{g.parent}” do your notes say: “{fact}”?" if g.parent
                        else f"Which {g.noun} has, under “{leaf}”: “{fact}”?")
            return Plan("which", question, options, index, (chunk,), fact, g.noun, tuple(g.names[j] for j in fair),
                        g.parent, "" if g.parent else leaf)
        return None

    def _label(self, chunk: Chunk) -> Plan | None:
        labelled = [e for e in entries(chunk) if e.label and e.value and len(e.label) <= 60]
        if len(labelled) < 4 or len({e.label.lower() for e in labelled}) < len(labelled):
            return None
        if any(e.label.lower() in self.fields for e in labelled):
            return None  # fields of a record ("Features", "Advantage"): not options of one kind (contrast drills)
        for entry in labelled:
            if len(word_families(entry.value)) < MIN_FACT_WORDS - 1:
                continue
            rest = [e for e in labelled if e is not entry and overlap(entry.value, e.text, word_families) < STATED]
            rest.sort(key=lambda e: -similarity(e.text, entry.text))
            names = [e.label for e in rest[:3]]
            if len(names) < 3 or _distinctive(entry.label, names, entry.value):
                continue
            options, index = _place(entry.label, names, chunk.content_hash + entry.label)
            leaf = name_of(chunk.section.rpartition(" > ")[2])
            return Plan("label", f"In “{leaf}”, which one is: “{entry.value}”?", options, index, (chunk,),
                        entry.value, "one", tuple(e.label for e in rest))
        return None

    def _not(self, g: Group, chunk: Chunk) -> Plan | None:
        listed = [e.text for e in entries(chunk) if len(e.text) <= MAX_OPTION and not e.intro and statement(e.text)]
        if len(listed) < 3:
            return None
        i = g.index(chunk)
        mine = content(chunk) + "\n" + chunk.section
        leaf = name_of(chunk.section.rpartition(" > ")[2])
        for j in sorted((j for j in range(len(g.names)) if j != i), key=lambda j: abs(j - i)):
            for sibling in g.members[j]:
                for e in entries(sibling):
                    if len(e.text) > MAX_OPTION or e.intro or not statement(e.text):
                        continue
                    if (overlap(e.text, mine, word_families) > NOT_STATED
                            or any(similarity(e.text, x) > 0.3 for x in listed)):
                        continue
                    if word_families(e.text) & word_families(leaf):
                        continue  # names the section's own subject: it may well be true there too
                    true = _spread_pick(listed, 3, chunk.content_hash)
                    if _odd_form(e.text, true):
                        continue
                    options, index = _place(e.text, true, chunk.content_hash + e.text)
                    where = f" in “{g.parent}”" if g.parent else f" for the {g.names[i]}"
                    return Plan("not", f"Which of these is NOT listed under “{leaf}”{where}?", options, index,
                                (chunk, sibling), noun=g.noun)
        return None

    def _order(self, g: Group, chunk: Chunk) -> Plan | None:
        if not g.ordered:
            return None
        i = g.index(chunk)
        near = sorted((j for j in range(len(g.names)) if j not in (i, i - 1)), key=lambda j: (abs(j - i), j))[:3]
        if len(near) < 3:
            return None
        names = [g.names[j] for j in near]
        options, index = _place(g.names[i], names, chunk.content_hash + "order")
        if i == 0:
            question = f"Which {g.noun} comes first in “{g.parent}”?"
            cited: tuple[Chunk, ...] = (chunk,)
        else:
            question = f"In “{g.parent}”, which {g.noun} comes right after “{g.names[i - 1]}”?"
            cited = (chunk, g.members[i - 1][0])
        siblings = tuple(n for j, n in enumerate(g.names) if j != i)  # where the wrong options come from
        return Plan("order", question, options, index, cited, noun=g.noun, allowed=siblings)


def _namesake(answer: str, name: str, shared: frozenset[str] = frozenset()) -> bool:
    """True when a sibling's name is mostly the answer's ("Understanding mini-batch gradient descent" beside
    "Mini-batch gradient descent"): as a wrong option it would be a trap, not a test. Words every name of the
    group has (``shared``: "pattern" in "Batch pattern", "Cache pattern") do not count.

    >>> _namesake("Mini-batch gradient descent", "Understanding mini-batch gradient descent")
    True
    >>> _namesake("Modeling", "Evaluation"), _namesake("Batch pattern", "Cache pattern", frozenset({"patter"}))
    (False, False)
    """
    mine, theirs = word_families(answer) - shared, word_families(name) - shared
    both = len(mine & theirs)
    return bool(mine and theirs) and (both >= STATED * len(mine) or both >= STATED * len(theirs))


def _odd_form(key: str, listed: Sequence[str]) -> bool:
    """True when the listed options share a first word the odd one lacks: its form alone gives it away.

    >>> _odd_form("Evaluation may be better", ["Condition when A", "Condition where B", "Condition where C"])
    True
    """
    first = {x.split()[0].lower() for x in listed if x.split()}
    return len(first) == 1 and len(listed) > 1 and (key.split() or [""])[0].lower() not in first


def _spread_pick(items: Sequence[str], n: int, seed: str) -> list[str]:
    """``n`` of ``items`` chosen stably from a seed, kept in note order."""
    ranked = sorted(range(len(items)), key=lambda k: hashlib.sha256(f"{seed}{k}".encode()).hexdigest())
    return [items[k] for k in sorted(ranked[:n])]

