"""The lines of a cited passage closest in meaning to the question that the answer left unsaid.

A small model stops at the first fact of a passage that states three about what is asked ("Adam is
related to momentum and RMSprop" where the note says "Adam simply puts RMSprop and momentum together";
"tanh works better for hidden units" where the line after it gives tanh's range). The passages the
answer cites are read line by line, each line is embedded, and the closest to the question that add to
what is said are quoted after the answer, verbatim and cited: the notes' own terms, which no check of
the model's wording can match for faithfulness. A lead-in ("Hyperparameters for Adam:"), a picture, a
link list or a heading adds nothing alone and is not a candidate, nor is a line giving an assistant orders.

A question that asks for a formula or for code ("What's the formula for Leaky ReLU?", "How is the F1
score computed?") wants the notes' own symbols, which a small model rewrites in words ("the maximum of
a small slope times z and z") and which embed far from any question: the closest lines of the cited
passages that hold code the answer does not reproduce come first, whatever their closeness.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tutor.chunking import FENCE
from tutor.embedding import Embedder
from tutor.prompts import INJECTION
from tutor.records import Hit, plain
from tutor.text import IMAGE, claim_words, split_sentences

MIN_SIMILARITY = 0.5  # cosine to the question a line needs (tuned on the dev splits)
BELOW_BEST = 0.2  # and it must be within this of the closest line: the rest are about something else
MAX_LINES = 2  # a few lines that teach; more is a page of notes
MIN_WORDS = 4  # content words: fewer is a label or a fragment
MAX_LINE_CHARS = 300  # a longer line is a paragraph, not a fact

MARK = re.compile(r"^\s*(?:[-*+]|\d{1,2}[.)])\s+")
SKIP = re.compile(r"^\s*(?:#|\||>|!\[|<)")  # headings, table rows, quotes, pictures, markup
BREAK = re.compile(r"\s*<br\s*/?>\s*", re.IGNORECASE)  # an HTML line break inside a Markdown line
FORMULA_QUESTION = re.compile(
    r"\b(?:formulas?|equations?|code|comput(?:e|es|ed|ing)|calculat(?:e|es|ed|ing|ion)|shapes?|sizes?|"
    r"dimensions?)\b", re.IGNORECASE)
# Code a question writes: an indexed name (db[l]), a snake_case or camelCase name, a call (np.dot(...)).
CODE_NAME = re.compile(r"\w+\[[^\]\s]*\]|\b[A-Za-z]\w*_\w+|\b[a-z]+[A-Z]\w*|\b[A-Z][a-z]+[A-Z]\w*|\b\w+\.\w+(?=\()")
MAX_CODE_LINES = 2  # for a formula question, besides the closest lines
CODE = re.compile(r"`([^`]+)`")  # code in a candidate line (a fenced line is a candidate inside backticks)
COMMENT = re.compile(r"(?:^|\s)#.*")  # a comment in code: words about it, not of it
SYMBOL = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?")  # the words of a name (Leaky_RELU, np.zeros) and the numbers in code


def candidates(text: str) -> list[str]:
    """A passage's lines that could stand alone as a fact: list marks dropped, code lines kept inside
    backticks, lead-ins, headings, pictures, tables and fences left out.

    >>> candidates("# Adam\\n- Hyperparameters for Adam:\\n  - beta1: parameter of the momentum, 0.9 by default\\n"
    ...            "```\\nmaximize F1  # optimizing metric, one of them\\n```\\n![](a.png)")
    ['beta1: parameter of the momentum, 0.9 by default', '`maximize F1  # optimizing metric, one of them`']
    """
    out = []
    code = False
    for line in text.splitlines():
        if FENCE.match(line):
            code = not code
            continue
        body = line.strip() if code else BREAK.sub(" ", MARK.sub("", line)).strip()
        if not body or len(body) > MAX_LINE_CHARS or (not code and (SKIP.match(body) or body.endswith(":"))):
            continue
        if len(claim_words(IMAGE.sub(" ", body))) < MIN_WORDS or INJECTION.search(body):
            continue  # a label or a fragment; or words addressed to an assistant, never quoted
        out.append(f"`{body}`" if code and "`" not in body else body)
    return out


def asks_for_formula(question: str) -> bool:
    """Whether the question asks for a formula, code or a computed shape or size.

    >>> asks_for_formula("How is the F1 score computed?"), asks_for_formula("Which methods suit computer vision?")
    (True, False)
    """
    return bool(FORMULA_QUESTION.search(question))


def code_names(question: str) -> list[str]:
    """The code ``question`` writes, each once: indexed names, snake_case and camelCase names, calls.

    >>> code_names("How is db[l] computed, and what do Z_norm, RepeatVector and np.dot(a, b) do?")
    ['db[l]', 'Z_norm', 'RepeatVector', 'np.dot']
    >>> code_names("What does batch normalization do to the learning rate?")
    []
    """
    return list(dict.fromkeys(m.group() for m in CODE_NAME.finditer(question)))


def writes(line: str, name: str) -> bool:
    """Whether ``line`` writes the code ``name``: as written, or its name before an index or call
    (``db[l]`` in ``db = np.sum(dZ)``), as a whole name.

    >>> writes("`db[l] = sum(dZ[l])/m  # axis=1`", "db[l]"), writes("`db = np.sum(dZ)`", "db[l]")
    (True, True)
    >>> writes("`dbx = 1`", "db[l]"), writes("`Z[l] = W[l]A`", "A[l]")
    (False, False)
    """
    base = re.split(r"[\[(]", name)[0]
    return name in line or (len(base) >= 2 and re.search(rf"(?<![\w.]){re.escape(base)}(?![\w])", line) is not None)


def code_said(line: str, said: str) -> bool:
    """Whether every word and number of the code in ``line`` is in ``said`` (True when it holds no code).

    >>> code_said("`Leaky_RELU = max(0.01z,z)`", "Leaky ReLU is max(0.01z, z) [1].")
    True
    >>> code_said("`F1 = 2 / (1/P + 1/R)`", "F1 combines precision and recall [1].")
    False
    >>> code_said("`Leaky_RELU = max(0.01z,z)`", "Leaky ReLU keeps a small slope for negative z [1].")
    False
    """
    known = {symbol.lower() for symbol in SYMBOL.findall(said)}
    return all(symbol.lower() in known for code in CODE.findall(line)
               for symbol in SYMBOL.findall(COMMENT.sub("", code).strip() or code))  # a comment alone: its words


def related_lines(question: str, hits: Sequence[Hit], cited: Sequence[int], said: str, embedder: Embedder,
                  max_lines: int = MAX_LINES) -> list[tuple[int, str]]:
    """Up to ``max_lines`` (passage number, line) of the ``cited`` passages (1-based), closest in meaning
    to ``question`` and adding to ``said``, in the notes' order; first, up to ``MAX_CODE_LINES`` lines
    whose code ``said`` does not give: for a question that writes code (``code_names``) the answer does
    not, the lines of any passage whose code writes most of it; else, for a question asking for a
    formula or code, the closest lines of the cited passages that hold code."""
    import numpy as np

    names = [name for name in code_names(question) if not writes(said, name)]  # what the answer leaves out
    pool = range(1, len(hits) + 1) if names else cited  # the code a question names is sought in every passage
    lines = [(n, line) for n in pool if 1 <= n <= len(hits) for line in candidates(hits[n - 1].chunk.text)]
    if not lines:
        return []
    vectors = np.asarray(embedder.embed([question] + [plain(line) for _, line in lines]))
    scores = vectors[1:] @ vectors[0]
    own = [i for i, (n, _) in enumerate(lines) if n in cited]
    best = max((float(scores[i]) for i in own), default=1.0)
    order = sorted(range(len(lines)), key=lambda i: -scores[i])
    code = [i for i in order if CODE.search(lines[i][1])]
    named = {i: sum(writes(" ".join(CODE.findall(lines[i][1])), name) for name in names) for i in code}
    if any(named.values()):  # the lines writing most of the code the question names, closest first
        code = sorted((i for i in code if named[i]), key=lambda i: -named[i])
    elif asks_for_formula(question):
        code = [i for i in code if lines[i][0] in cited]
    else:
        code = []
    chosen: dict[int, str] = {}
    for i in code:
        if len(chosen) == MAX_CODE_LINES:
            break
        if not code_said(lines[i][1], said):
            chosen[i] = lines[i][1]
            said = f"{said}\n{lines[i][1]}"
    known = claim_words(said)
    closest = 0
    for i in order:
        if closest == max_lines or scores[i] < max(MIN_SIMILARITY, best - BELOW_BEST):
            break
        if i in chosen or lines[i][0] not in cited:
            continue
        fresh = [part for part in split_sentences(lines[i][1]) if adds(part, known)]  # a said sentence goes
        if not fresh:
            continue
        chosen[i] = " ".join(fresh)
        known |= claim_words(chosen[i])
        closest += 1
    return [(lines[i][0], chosen[i]) for i in sorted(chosen)]


def adds(text: str, known: set[str]) -> bool:
    """Whether a third of ``text``'s content words (at least one) are not ``known``.

    >>> said = claim_words("The algorithm has a parameter B, which is the beam width [2].")
    >>> adds("The algorithm has a parameter B, the beam width.", said), adds("Take B = 3 outputs at a time.", said)
    (False, True)
    """
    words = claim_words(text)
    return len(words - known) >= max(1, -(-len(words) // 3))


def addition(lines: Sequence[tuple[int, str]]) -> str:
    """The lines as text to add after an answer, each cited to its passage.

    >>> print(addition([(1, "Adam simply puts RMSprop and momentum together!")]))
    <BLANKLINE>
    <BLANKLINE>
    Your notes also say:
    - Adam simply puts RMSprop and momentum together [1]!
    """
    if not lines:
        return ""
    return "\n\nYour notes also say:\n" + "\n".join(_item(n, line) for n, line in lines)


def _item(n: int, line: str) -> str:
    """A list item of ``line`` with its marker before the closing stop, as the model writes one."""
    end = line[-1] if line[-1] in ".!?" else ""
    return f"- {line[: len(line) - len(end)]} [{n}]{end}"
