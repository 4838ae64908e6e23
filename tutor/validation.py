"""Checks every quiz item must pass before a learner sees it; each check names what is wrong.

- citations: each cites a chunk of the notes, with that chunk's exact text, section and lines;
- multiple choice and contrast: the answer index is in range, the options are distinct (compared
  normalised), the correct option is supported by the cited chunk (its words are in it, or, with an
  embedder, it means the same), and the question does not give the answer away; for a "which of
  these is NOT" item, the three wrong options are listed in the first cited chunk and the key is not;
  a question phrased on a line of the notes must be about that line;
- short answers and cards: every key point is stated by one line of the cited chunk (not merely
  made of its words scattered over the passage), is not contradicted there ("lower" for "higher"),
  does not come from a meta line (a link, a pointer to a course or book), and is not in the question;
- no giveaways: the question must not contain the words that only the correct option has, nor most
  of a key point's words, nor (with an embedder) restate the answer in other words;
- no duplicate of an item already in the bank (same normalised question, or nearly the same meaning).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from tutor.choices import facts
from tutor.embedding import Embedder
from tutor.quiz import KINDS, QuizItem, normalise
from tutor.records import Chunk
from tutor.siblings import clean_line, entries, is_meta_line
from tutor.text import keywords, overlap, telltale_words, terms

SUPPORTED = 0.5  # share of an answer's keywords that must occur in the cited chunk
SUPPORTED_MEANING = 0.6  # or: cosine similarity of the answer and the chunk, with an embedder
GIVEN_AWAY = 0.8  # share of a correct option's keywords found in the question that gives it away
POINT_GIVEN_AWAY = 0.5  # share of a key point's keywords (2 or more) found in the question that gives it away
RESTATED = 0.85  # cosine of the question and the answer from which the question restates the answer
SAME_ENTRY = 0.75  # cosine from which two list entries say the same thing (MiniLM: paraphrases 0.75-0.9)
STATED_LINE = 0.6  # share of a key point's keywords in one line of the passage: the line states it
STATED_MEANING = 0.7  # or: cosine of the point and one line, with an embedder
ON_FACT = 0.3  # share of the fact's keywords a question phrased on it must keep (or cosine 0.5)
PART_WORDS = frozenset("section part heading item list where under which".split())
OPPOSITES = dict(p.split("/") for p in (
    "higher/lower lower/higher more/less less/more most/least least/most high/low low/high increase/decrease "
    "decrease/increase faster/slower slower/faster best/worst worst/best first/last last/first easy/hard "
    "hard/easy cheap/expensive expensive/cheap scalable/unscalable supervised/unsupervised "
    "unsupervised/supervised always/never never/always").split())
# A question that points at a text it does not show ("does this statement belong to", "the line above").
UNSEEN = re.compile(r"\b(?:this|that|the following|the above|the given|the quoted) (?:statement|line|sentence|quote|"
                    r"fact|note|text|passage|excerpt)\b|\b(?:from|in) the (?:above|line|note)\b", re.IGNORECASE)
UNSEEN_PROBLEM = "the question is not about the line it asks for: it refers to a statement the learner cannot see"
LONG_LIST = 5  # entries from which a short answer on some of them must name each (a shorter list is named whole)
DUPLICATE_MEANING = 0.92  # cosine similarity of two questions of one kind that makes them duplicates
MAX_CHARS = 300
LISTED = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")  # a bullet or numbered line (table cells are not)


def gives_away(answer: str, question: str) -> bool:
    """True when the question's wording already contains the answer."""
    a, q = normalise(answer), normalise(question)
    return bool(a) and (f" {a} " in f" {q} " or overlap(answer, question) >= GIVEN_AWAY)


def telltale(correct: str, others: list[str], question: str, roots: bool = True) -> set[str]:
    """Words of the question that only the correct option has: matching them finds the answer (with
    ``roots``, also a word sharing only its root with the answer's: "serving" for "serve").

    >>> sorted(telltale("Data Understanding", ["Modeling", "Evaluation", "Deployment"], "Which step cleans data?"))
    ['data']
    >>> telltale("Modeling", ["Evaluation", "Deployment", "Iteration"], "Which step takes least time?")
    set()
    >>> sorted(telltale("Train-then-serve pattern", ["Batch pattern", "Model-in-image pattern"], "Serving what?"))
    ['serv']
    """
    return telltale_words(correct, others, question, (keywords, terms) if roots else (keywords,))


def point_given_away(point: str, question: str) -> bool:
    """True when the question holds the key point: all of it, or half its words when it has two or more.

    >>> point_given_away("Higher accuracy", "Why does higher accuracy matter?")
    True
    >>> point_given_away("Computationally expensive at scale", "What is the disadvantage of supervised learning?")
    False
    >>> point_given_away("Serving patterns combined", "Which patterns does serving combine?")
    True
    """
    if gives_away(point, question):
        return True
    for words in (keywords, terms):  # exact stems, then roots ("combined" for "combine")
        mine = words(point)
        share = overlap(point, question, words)
        if (len(mine) >= 2 and share >= POINT_GIVEN_AWAY) or (len(mine) == 1 and share == 1.0):
            return True
    return False


def asks_for_part(question: str, noun: str) -> bool:
    """True when a question whose options name parts of the notes asks for one ("which pattern", "what section").

    >>> asks_for_part("What section of the notes covers large datasets?", "section")
    True
    >>> asks_for_part("What is a common challenge when tuning hyperparameters?", "section")
    False
    """
    words = set(normalise(question).split())
    return bool(words & (PART_WORDS | {noun.lower(), noun.lower() + "s"}))


def points_at_unseen(question: str) -> bool:
    """True when the question refers to a text the learner is not shown ("which pattern does this statement fit?").

    >>> points_at_unseen("Which pattern in Needs consideration does this statement belong to?")
    True
    >>> points_at_unseen("Which pattern has the statement that jobs may be rerun?")
    False
    """
    return bool(UNSEEN.search(question))


def unanchored(question: str, fact: str, named: str, others: Iterable[str]) -> bool:
    """True when a card's front names nothing only its own line says: no word of the line beyond the headings
    (``named``), or only words another line of the passage has too, so that line would answer it as well.

    >>> lines = ["Reach customers far from town", "Loaves arrive sliced and bagged"]
    >>> unanchored("What does the Van pattern allow?", lines[0], "Pros Van pattern", lines[1:])
    True
    >>> unanchored("Which customers can the Van pattern reach?", lines[0], "Pros Van pattern", lines[1:])
    False
    """
    anchor = keywords(question) & (keywords(fact) - keywords(named))
    return not anchor or any(anchor <= keywords(line) for line in others)


def contradicted(point: str, line: str) -> bool:
    """True when the line says the opposite of a word of the point ("lower accuracy" for "higher accuracy").

    >>> contradicted("Higher accuracy", "- **Disadvantage**: Lower accuracy"), contradicted("Scalable", "Scalable")
    (True, False)
    """
    mine, theirs = keywords(point), keywords(line)
    return any(OPPOSITES.get(w) in theirs and w not in theirs for w in mine)


class Validator:
    """Validates items against the current chunks (by content hash) and the items already accepted."""

    def __init__(self, chunks: Mapping[str, Chunk], existing: Iterable[QuizItem] = (),
                 embedder: Embedder | None = None) -> None:
        self.chunks = chunks
        self.embedder = embedder
        self.accepted: list[QuizItem] = []
        self._seen: dict[str, str] = {}  # normalised question -> item id
        self._vectors: dict[str, list[float]] = {}
        for item in existing:
            self.accept(item)

    def accept(self, item: QuizItem) -> None:
        """Count ``item`` as in the bank: later items may not duplicate it."""
        self.accepted.append(item)
        self._seen[normalise(item.question)] = item.id

    def problems(self, item: QuizItem) -> list[str]:
        if item.kind not in KINDS:
            return [f"unknown kind {item.kind!r}"]
        out = self._citation_problems(item)
        if out:
            return out  # nothing else can be checked against invented or stale sources
        if len(normalise(item.question).split()) < 3:
            out.append("the question is too short")
        if len(item.question) > MAX_CHARS:
            out.append("the question is too long")
        out += self._choice_problems(item) if item.kind in ("mcq", "contrast") else self._point_problems(item)
        if not out:
            out += self._duplicate_problems(item)
        return out

    def _citation_problems(self, item: QuizItem) -> list[str]:
        if not item.citations:
            return ["the item cites nothing"]
        if len(item.citations) != len(item.chunk_hashes):
            return ["the citations do not match the chunks the item was written from"]
        out = []
        for citation, h in zip(item.citations, item.chunk_hashes):
            chunk = self.chunks.get(h)
            if chunk is None:
                out.append(f"citation [{citation.n}] names a passage that is not in the notes")
            elif (citation.text, citation.section, citation.source, tuple(citation.lines)) != (
                    chunk.text, chunk.section, chunk.source, chunk.lines):
                out.append(f"citation [{citation.n}] does not quote {chunk.source} lines {chunk.start}-{chunk.end}")
        return out

    def _source(self, item: QuizItem) -> str:
        """The cited passages with where they sit: a note's title names a pattern whose "Pros" say a line."""
        titles = [getattr(self.chunks.get(h), "title", "") for h in item.chunk_hashes]
        return "\n".join(f"{t}\n{c.section}\n{c.text}" for t, c in zip(titles, item.citations))

    def _supported(self, text: str, item: QuizItem) -> bool:
        source = self._source(item)
        if overlap(text, source) >= SUPPORTED:
            return True
        if self.embedder is None or not keywords(text):
            return False
        a, *chunks = self.embedder.embed([text, *(c.embed_text() for c in map(self.chunks.get, item.chunk_hashes)
                                                  if c is not None)])
        return max((sum(x * y for x, y in zip(a, v)) for v in chunks), default=0.0) >= SUPPORTED_MEANING

    @staticmethod
    def _listed(option: str, item: QuizItem) -> bool:
        """True when ``option`` is a whole bullet of a cited chunk, or its bold label, or the text after it."""
        want = normalise(option)
        for citation in item.citations:
            for line in citation.text.splitlines():
                if not LISTED.match(line):
                    continue
                label, _, rest = LISTED.sub("", line).partition(":")
                if want in (normalise(line), normalise(label), normalise(rest)):
                    return True
        return False

    def _choice_problems(self, item: QuizItem) -> list[str]:
        out = []
        if item.kind == "mcq" and len(item.options) != 4:
            out.append(f"a multiple-choice item needs 4 options, not {len(item.options)}")
        if item.kind == "contrast" and len(item.options) < 2:
            out.append("a contrast drill needs at least 2 options")
        if not isinstance(item.answer_index, int) or not 0 <= item.answer_index < len(item.options):
            return [*out, f"the answer index {item.answer_index!r} is not one of the {len(item.options)} options"]
        names = [normalise(o) for o in item.options]
        if any(not n for n in names):
            out.append("an option is empty")
        elif len(set(names)) < len(names):
            dup = next(o for o, n in zip(item.options, names) if names.count(n) > 1)
            out.append(f"the option {dup!r} appears twice")
        if any(len(o) > MAX_CHARS for o in item.options):
            out.append("an option is too long")
        correct = item.options[item.answer_index]
        others = [o for i, o in enumerate(item.options) if i != item.answer_index]
        if item.extra.get("shape") == "not":
            return out + self._not_problems(item, correct, others)
        out += _plan_problems(item, correct, others)
        # a planned item's wrong options are siblings checked not to state its line; otherwise none may be listed
        stated = [o for o in others if self._listed(o, item)] if "siblings" not in item.extra else []
        if item.kind == "mcq" and stated:
            out.append(f"the wrong option {stated[0]!r} is also listed in the cited notes: two answers fit")
        if not self._supported(correct, item):
            out.append(f"the correct answer {correct!r} is not what the cited notes say")
        words = telltale(correct, others, item.question, roots=item.kind == "mcq")  # a drill's table wording
        if gives_away(correct, item.question):
            out.append("the question gives away the correct answer")
        elif words:
            out.append(f"the question gives away the correct answer: only it has {', '.join(sorted(words))}")
        elif self._restates(item.question, [correct]):
            out.append("the question restates the correct answer in other words")
        fact = item.extra.get("fact", "")
        if fact and not out and points_at_unseen(item.question):
            out.append(UNSEEN_PROBLEM)
        if fact and not out and not self._about(item.question, fact):
            out.append(f"the question is not about the line of the notes its answer was chosen for: {fact!r}")
        noun = item.extra.get("noun", "")
        if noun and not out and not asks_for_part(item.question, noun):
            out.append(f"the question does not ask which {noun} (its options are the notes' {noun}s)")
        return out

    def _not_problems(self, item: QuizItem, key: str, listed: list[str]) -> list[str]:
        """A "which is NOT" item: the three others are listed in the first cited chunk, the key is not."""
        if len(item.citations) < 2:
            return ["a \"which is NOT\" item must cite the passage its odd option comes from"]
        here = item.citations[0].text
        lines = [normalise(clean_line(x)) for x in here.splitlines()]
        missing = [o for o in listed if normalise(o) not in lines]
        if missing:
            return [f"the option {missing[0]!r} is not listed in the cited notes"]
        if overlap(key, here) >= 0.6:
            return [f"the odd option {key!r} is stated by the cited notes too: two answers fit"]
        if normalise(key) not in [normalise(clean_line(x)) for x in item.citations[1].text.splitlines()]:
            return [f"the odd option {key!r} is not what the notes it cites say"]
        if self._restates(key, listed, SAME_ENTRY):
            return [f"the odd option {key!r} says what a listed one says: two answers fit"]
        return []

    def _restates(self, question: str, answers: list[str], threshold: float = RESTATED) -> bool:
        """With an embedder: the question means nearly the same as one of ``answers``."""
        if self.embedder is None or not answers:
            return False
        q, *vectors = self.embedder.embed([question, *answers])
        return max(_cos(q, v) for v in vectors) >= threshold

    def _about(self, question: str, fact: str) -> bool:
        if overlap(fact, question) >= ON_FACT:
            return True
        if self.embedder is None:
            return False
        q, f = self.embedder.embed([question, fact])
        return _cos(q, f) >= 0.5

    def _stated(self, point: str, item: QuizItem) -> str:
        """"" when one line of the cited passage states ``point``; else why not (meta, contradicted, absent)."""
        lines = [(c.section, False) for c in item.citations]
        for citation in item.citations:
            lines += [(clean_line(x), is_meta_line(x)) for x in citation.text.splitlines() if x.strip()]
        best = max(lines, key=lambda x: overlap(point, x[0]), default=("", False))
        if overlap(point, best[0]) >= STATED_LINE:
            if best[1] and not any(overlap(point, x) >= STATED_LINE for x, meta in lines if not meta):
                return f"the key point {point!r} comes from a link or a pointer to other material (meta)"
            if contradicted(point, best[0]):
                return f"the cited notes say the opposite of the key point {point!r}: {best[0]!r} (contradicts)"
            return ""
        if self.embedder is not None and keywords(point):
            texts = [x for x, meta in lines if not meta and keywords(x)]
            if texts:
                p, *vectors = self.embedder.embed([point, *texts])
                scored = max(zip((_cos(p, v) for v in vectors), texts))
                if scored[0] >= STATED_MEANING and not contradicted(point, scored[1]):
                    return ""
        return f"the key point {point!r} is not what the cited notes say"

    def _point_problems(self, item: QuizItem) -> list[str]:
        if item.options or item.answer_index is not None:
            return [f"a {item.kind} item has no options"]
        want = ((2, 4) if item.extra.get("shape") == "list" else (2, 3)) if item.kind == "short" else (1, 1)
        if not want[0] <= len(item.key_points) <= want[1]:
            return [f"a {item.kind} item needs {want[0]}-{want[1]} key points, not {len(item.key_points)}"]
        out = []
        names = [normalise(p) for p in item.key_points]
        if any(not n for n in names):
            out.append("a key point is empty")
        elif len(set(names)) < len(names):
            out.append("a key point appears twice")
        for point in item.key_points:
            if len(point) > MAX_CHARS:
                out.append("a key point is too long")
            elif why := self._stated(point, item):
                out.append(why)
            elif point_given_away(point, item.question):
                out.append(f"the question gives away the key point {point!r}")
        if not out and self._restates(item.question, list(item.key_points)):
            out.append("the question restates its answer in other words")
        if not out and item.kind == "card" and item.extra.get("phrasing") == "model":
            out += self._front_problems(item)
        if not out and item.kind == "short" and item.generator != "notes":
            out += self._part_problems(item)
        return out

    def _part_problems(self, item: QuizItem) -> list[str]:
        """A short answer on some entries of a list of ``LONG_LIST`` or more must say which: a label or a word only
        each has ("the advantage and the disadvantage"), else the rest of the list answers it too ("the key risks")."""
        chunk = self.chunks.get(item.chunk_hashes[0])
        listed = [e for e in entries(chunk) if not e.intro] if chunk is not None else []
        if len(listed) <= max(len(item.key_points), LONG_LIST - 1):
            return []  # in a short list, how a question asks ("and when do you stop?") tells its entries apart
        named = f"{chunk.section} {chunk.title}" if chunk is not None else ""
        for point in item.key_points:
            entry = next((e for e in listed if normalise(point) in (normalise(e.text), normalise(e.value))), None)
            others = [e.text for e in listed if e is not entry]
            if entry is not None and unanchored(item.question, entry.text, named, others):
                return [f"the question does not say which {len(item.key_points)} of the {len(listed)} entries it asks "
                        f"for: the others fit it too (not about the line {point!r})"]
        return []

    def _front_problems(self, item: QuizItem) -> list[str]:
        """A card front the model wrote on one line: it must show what it asks about and ask for that line only."""
        fact = item.extra.get("fact", "")
        if points_at_unseen(item.question):
            return [UNSEEN_PROBLEM]
        chunk = self.chunks.get(item.chunk_hashes[0])
        if not fact or chunk is None:
            return []
        others = [x for x in facts(chunk) if normalise(x) != normalise(fact)]
        if unanchored(item.question, fact, f"{chunk.section} {chunk.title}", others):
            return [f"the question is not about the line of the notes its answer is: {fact!r} (others fit it too)"]
        return []

    def _duplicate_problems(self, item: QuizItem) -> list[str]:
        same = self._seen.get(normalise(item.question))
        if same is not None and same != item.id:
            return ["the same question is already in the bank"]
        if same == item.id:
            return []
        if self.embedder is None or item.extra.get("shape") in ("not", "order"):
            return []  # a templated question differs from its peers in the section it names, not in meaning
        peers = [o for o in self.accepted if o.kind == item.kind and o.id != item.id]
        if not peers:
            return []
        missing = [o.question for o in peers if o.question not in self._vectors]
        texts = [item.question, *missing]
        vectors = self.embedder.embed(texts)
        self._vectors.update(zip(texts, vectors))
        mine = self._vectors[item.question]
        for other in peers:
            if sum(x * y for x, y in zip(mine, self._vectors[other.question])) >= DUPLICATE_MEANING:
                return [f"nearly the same question is already in the bank: {other.question!r}"]
        return []


def same_option(option: str, named: str) -> bool:
    """True when a model's option is the notes' ``named`` item, in its words or nearly.

    >>> same_option("Data understanding and preparation", "Data Understanding & Preparation")
    True
    >>> same_option("Hyperparameter search", "Modeling")
    False
    """
    return normalise(option) == normalise(named) or (overlap(option, named) >= 0.6 and overlap(named, option) >= 0.5)


def _plan_problems(item: QuizItem, correct: str, others: list[str]) -> list[str]:
    """An item written from a plan: its key is the plan's, and every wrong option is one of the siblings."""
    key, siblings = item.extra.get("key", ""), [s for s in item.extra.get("siblings", "").split("\n") if s]
    if key and not same_option(correct, key):
        return [f"the correct option {correct!r} is not {key!r}, the one the notes name"]
    strangers = [o for o in others if siblings and not any(same_option(o, s) for s in siblings)]
    if strangers:
        return [f"the wrong option {strangers[0]!r} is not one of the notes' own items (pick from the list given)"]
    return []


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))
