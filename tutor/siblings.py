"""What the notes' own structure offers a quiz: list entries, meta content, definitions and siblings.

Wrong options that make a learner think come from the notes themselves: the other items of the same
kind. Three structures supply them, found here without any model:

- sibling sections: the children of one heading in one file ("Six Key Steps > 1. Business
  Understanding" .. "6. Iteration"), named by their own headings;
- parallel sections: one heading name that recurs under several parents or files ("Pros" in every
  design-pattern note), named by their parent (or the file's title);
- labelled entries of one list (``- **System thinking**: Focus on scalability``), named by label.

Meta content is never quizzed: sections such as a table of contents, references or "see also",
and lines that are only links or images, or that point at a course, book or blog. Limits: only
Markdown structure is read (headings, ``-``/``*``/``1.`` lists); prose paragraphs offer no siblings.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tutor.records import Chunk, plain
from tutor.text import IMAGE, LINK, URL, word_families

ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*\S)\s*$")
NUMBERED = re.compile(r"^\s*\(?\d+[.)]\s+")
TAGGED = re.compile(r"^\s*\[[A-Z]{2,8}\]\s*")  # "[WIP] Data model versioning pattern"
LABEL = re.compile(r"^\*\*(?P<b>[^*]{2,60}?)\*\*\s*(?::|\s[-–—]\s)\s*(?P<v>.+)$"
                   r"|^(?P<p>[A-Z][\w /&'()-]{1,40}?):\s+(?P<pv>.+)$")
DEFINITION = re.compile(r"^(?:the |an? )?(?:one |any )?[a-z]", re.IGNORECASE)
TAG = re.compile(r"</?[a-zA-Z][^>]*>")
META_HEADING = re.compile(
    r"^(?:table of contents|contents|toc|index|references?|bibliography|sources?|further reading|reading list|"
    r"resources|links|useful links|see also|related(?: .*)?|acknowledg(?:e)?ments?|credits|licen[cs]e|"
    r"diagram ?\d*|figures?|images?|samples?|sample code|course summary|about(?: .*)?|repositories|attribution|"
    r"copyright|licen[cs]e texts?|changelog|provenance|files)$", re.IGNORECASE)
# A line about the material rather than the subject: "this course", "the first course", "see also".
ABOUT_MATERIAL = re.compile(
    r"\b(?:this|the|next|previous|that|our|my|following) (?:[\w-]+ ){0,2}(?:course|specialization|specialisation|"
    r"book|blog|video|lecture|tutorial|chapter|article|post|repo|repository|notebook|website|site|paper)s?\b"
    r"|\bsee also\b|\bread more\b|\b(?:taken|inspired|adapted|quoted) (?:from|by)\b|\bproceedings\b"
    r"|(?-i:\b[A-Z][a-z]+(?: (?:and|&) [A-Z][a-z]+,? |,? et\.? ?al\.?,? ?|, )\(?(?:19|20)\d\d\b)"  # "Li, 2015"
    r"|\bcopyright\b|\blicen[cs]ed? under\b|\bmit licen[cs]e\b", re.IGNORECASE)
# A quoted learning objective, as a course's own summary gives them: "> - Be able to build ...".
OBJECTIVE = re.compile(r"^\s*>\s*(?:[-*+]\s+)?(?:learn|understand|discover|explore|implement|master|be able to|"
                       r"know how to|you will|you'll|after \d+ weeks)\b", re.IGNORECASE)
# A line whose subject is an outside resource: it opens with a link to a web address ("[kaggle.com](kaggle.com) is").
RESOURCE_FIRST = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+)?\[+[^\]]+\]\((?:https?://|www\.|[\w-]+(?:\.[\w-]+)*"
                            r"\.(?!(?:md|markdown|txt|ipynb|pdf|html?|png|jpe?g|gif|svg)\b)[a-z]{2,6}/?\))",
                            re.IGNORECASE)
GROUP_NOUNS = {"steps": "step", "phases": "phase", "stages": "stage", "areas": "area", "approaches": "approach",
               "types": "type", "kinds": "kind", "patterns": "pattern", "methods": "method", "roles": "role",
               "techniques": "technique", "components": "component", "principles": "principle",
               "risks": "risk", "metrics": "metric", "layers": "layer", "strategies": "strategy"}
PROCESS = re.compile(r"\b(?:steps?|phases?|stages?|process|lifecycle|life cycle|pipeline|workflow|procedure)\b",
                     re.IGNORECASE)
MIN_GROUP = 4  # a multiple-choice item has four options: the answer and three siblings
MAX_NAME = 60  # characters: a longer heading makes a poor option
RECURRING = 3  # a heading name under this many parents is a role the notes repeat, not a topic of its own


@dataclass(frozen=True)
class Entry:
    """One item of a list in the notes, as plain text; ``label`` and ``value`` when it is ``Label: value``."""

    text: str
    label: str = ""
    value: str = ""
    numbered: bool = False
    intro: bool = False  # the line introduces a nested list ("Options to rerun the job:")


@dataclass(frozen=True)
class Group:
    """Sections of the notes that stand side by side: each member is a name and its chunks."""

    noun: str  # what one member is called in a question: "step", "pattern", "section"
    parent: str  # what they belong to, for the question's wording ("" for parallel sections across files)
    names: tuple[str, ...]
    members: tuple[tuple[Chunk, ...], ...]
    ordered: bool = False  # numbered steps of a process: "which comes after" is a fair question
    template: bool = False  # most member names recur as headings elsewhere ("Pros", "Cons", "Usecase")
    scopes: tuple[str, ...] = ()  # per member, all it says (a parallel section's whole parent); else its own text

    def index(self, chunk: Chunk) -> int:
        return next(i for i, m in enumerate(self.members) if any(c.content_hash == chunk.content_hash for c in m))

    def text(self, i: int) -> str:
        return "\n".join(f"{c.section}\n{c.text}" for c in self.members[i])

    def scope(self, i: int) -> str:
        """All member ``i`` says: a line found here would make it a right answer too."""
        return self.scopes[i] if self.scopes else self.text(i)


def clean_line(line: str) -> str:
    """A note's line as plain text: no list marker, links as their text, no images, tags or URLs.

    >>> clean_line("- **Advantage**: see [the docs](http://x.y) <br> ![d](d.png)")
    'Advantage: see the docs'
    """
    line = TAG.sub(" ", IMAGE.sub(" ", line))
    line = URL.sub(" ", LINK.sub(r"\1", line))
    m = ITEM.match(line)
    body = m.group(3) if m else line
    return " ".join(plain(body.lstrip("> ")).split()).strip(" :")


def is_meta_line(line: str) -> bool:
    """True for a line that is only a link, an image or markup, or that points at the material itself.

    >>> [is_meta_line(x) for x in ["![diagram](d.png)", "* [Intro](#intro)", "- Take the course at [C](http://c)",
    ...                            "- Data quality determines model success"]]
    [True, True, True, False]
    """
    text = clean_line(line)
    if not word_families(text):
        return bool(line.strip())
    links = LINK.findall(line) + URL.findall(line)
    if links and len(word_families(text)) <= 4 + 2 * len(links):
        return True  # mostly links: an index or a reading list
    if OBJECTIVE.match(line) or RESOURCE_FIRST.match(line):
        return True
    return bool(ABOUT_MATERIAL.search(text)) or (bool(links) and bool(ABOUT_MATERIAL.search(line)))


def is_meta_section(section: str) -> bool:
    """True when a heading of the path names meta content (contents, references, see also, diagrams...).

    >>> is_meta_section("Course > Table of contents"), is_meta_section("Batch pattern > Pros")
    (True, False)
    """
    return any(META_HEADING.match(name_of(part)) for part in section.split(" > "))


def content(chunk: Chunk) -> str:
    """The chunk's text without meta lines (links, images, pointers to the material); "" for a meta section."""
    if is_meta_section(chunk.section):
        return ""
    return "\n".join(line for line in chunk.text.splitlines() if line.strip() and not is_meta_line(line))


def name_of(heading: str) -> str:
    """A heading as an option names it: no numbering, no markdown.

    >>> name_of("2. Data Understanding & Preparation")
    'Data Understanding & Preparation'
    """
    return TAGGED.sub("", NUMBERED.sub("", plain(heading))).strip()


def entries(chunk: Chunk) -> list[Entry]:
    """The top-level items of the chunk's lists (the least indented), meta lines left out; when every top-level
    item only introduces a nested list ("You have many ideas to improve it:"), the nested items instead."""
    found = [(len(m.group(1).expandtabs(4)), m) for line in content(chunk).splitlines() if (m := ITEM.match(line))]
    levels = sorted({indent for indent, _ in found})
    out: list[Entry] = []
    for level in levels[:2]:
        out = _entries_at(found, level)
        if not out or not all(e.intro for e in out) or len(levels) < 2:
            return out
    return out


def _entries_at(found: list[tuple[int, re.Match[str]]], level: int) -> list[Entry]:
    out = []
    for indent, m in found:
        if indent != level:
            continue
        raw = TAG.sub(" ", URL.sub(" ", LINK.sub(r"\1", m.group(3)))).strip()
        text = clean_line(raw)
        if not word_families(text):
            continue
        lab = LABEL.match(raw)
        label, value = "", ""
        if lab:
            label = plain(lab.group("b") or lab.group("p") or "").strip()
            value = clean_line(lab.group("v") or lab.group("pv") or "")
        out.append(Entry(text, label, value, numbered=m.group(2)[0].isdigit(), intro=raw.rstrip("*_ ").endswith(":")))
    return out


def definitions(chunk: Chunk) -> list[tuple[str, str]]:
    """(term, definition) pairs the chunk states: ``**Term** - A ...`` or ``**Term**: the ...`` lines."""
    out = []
    for line in content(chunk).splitlines():
        raw = TAG.sub(" ", LINK.sub(r"\1", line.strip()))
        m = ITEM.match(raw)
        raw = m.group(3) if m else raw
        lab = LABEL.match(raw)
        if not lab or not lab.group("b"):
            continue
        term, meaning = plain(lab.group("b")).strip(), clean_line(lab.group("v"))
        if len(term.split()) <= 8 and len(meaning.split()) >= 4 and DEFINITION.match(meaning) and (
                meaning.split()[0].lower() in ("a", "an", "the", "one", "any")):
            out.append((term, meaning))
    return out


def titles(corpus: Path, sources: Iterable[str]) -> dict[str, str]:
    """The title (a lone opening ``# `` heading) of each note file that has one and can be read."""
    out = {}
    for source in sources:
        try:
            with (corpus / source).open(encoding="utf-8", errors="replace") as f:
                head = [next(f, "") for _ in range(5)]
        except OSError:
            continue
        first = next((line for line in head if line.strip()), "")
        if first.startswith("# "):
            out[source] = name_of(first[2:].strip().strip("#").strip())
    return out


def _noun(names: Sequence[str], parent: str) -> str:
    last = parent.split()[-1].lower() if parent.split() else ""
    if last in GROUP_NOUNS:
        return GROUP_NOUNS[last]
    ends = {n.split()[-1].lower() for n in names if n.split()}
    end = ends.pop() if len(ends) == 1 else ""
    return end if end.isalpha() and len(end) > 2 else "section"


def _subtree(chunks: Sequence[Chunk], source: str, parent: str) -> str:
    """The text of every chunk of ``source`` under the heading path ``parent`` (the whole file for "")."""
    return "\n".join(f"{c.section}\n{content(c)}" for c in chunks if c.source == source and (
        not parent or c.section == parent or c.section.startswith(parent + " > ")))


def groups(chunks: Sequence[Chunk], file_titles: Mapping[str, str] | None = None) -> list[Group]:
    """Every group of at least four sibling or parallel sections in the notes (meta sections left out).

    A group of siblings whose names mostly recur under other parents (the "Usecase", "Pros", "Cons" of
    every design-pattern file) is marked ``template``: its sections are roles a file is cut into, and a
    line could often sit under several of them. Parallel sections are told apart by all their parent says.
    """
    file_titles = file_titles or {}
    usable = [c for c in chunks if content(c).strip()]
    children: dict[tuple[str, str], dict[str, list[Chunk]]] = defaultdict(lambda: defaultdict(list))
    parallel: dict[str, dict[tuple[str, str], list[Chunk]]] = defaultdict(lambda: defaultdict(list))
    for c in sorted(usable, key=lambda c: (c.source, c.start)):
        parent, _, leaf = c.section.rpartition(" > ")
        if leaf.strip().endswith("?") or len(name_of(leaf)) > MAX_NAME:
            continue  # a question or a long phrase as a heading makes a poor option
        children[(c.source, parent)][leaf].append(c)  # top-level sections are the children of the file
        parallel[name_of(leaf).lower()][(c.source, parent)].append(c)
    out = []
    for (source, parent), members in children.items():
        if len(members) >= MIN_GROUP:
            names = tuple(name_of(leaf) for leaf in members)
            ordered = all(NUMBERED.match(leaf) for leaf in members) and bool(PROCESS.search(parent))
            owner = name_of(parent.rpartition(" > ")[2]) if parent else file_titles.get(source, "")
            template = 2 * sum(len(parallel.get(n.lower(), ())) >= RECURRING for n in names) >= len(names)
            out.append(Group(_noun(names, owner), owner, names, tuple(tuple(m) for m in members.values()), ordered,
                             template))
    for places in parallel.values():
        named: dict[str, tuple[Chunk, ...]] = {}
        scopes: list[str] = []
        for (source, parent), found in places.items():
            name = name_of(parent.rpartition(" > ")[2]) if parent else file_titles.get(source, "")
            if name and name.lower() not in {n.lower() for n in named}:
                named[name] = tuple(found)
                scopes.append(_subtree(usable, source, parent))
        if len(named) >= MIN_GROUP:
            out.append(Group(_noun(list(named), ""), "", tuple(named), tuple(named.values()), scopes=tuple(scopes)))
    return out


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of two texts' keywords: how near a sibling is, to pick plausible ones."""
    x, y = word_families(a), word_families(b)
    return len(x & y) / len(x | y) if x | y else 0.0
