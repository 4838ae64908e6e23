"""Question -> retrieved notes -> streamed answer with checked ``[n]`` citations.

``stream_answer`` is the one generator behind ``tutor ask``, ``tutor chat``, the UI and evals: it
retrieves once (``Retriever.retrieve``: the hits and the relevance decision), yields ``TextDelta``
pieces as the model writes them and, last, the finished ``Answer``, which carries its hits. After generation
every marker is checked: one that names no retrieved chunk is removed (and reported), and a
sentence with no valid marker is reported as unsupported. When retrieval finds nothing relevant,
or the model says the notes don't cover the question, the answer is a refusal naming the nearest
sections; the tutor never answers from general knowledge.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from tutor.comparing import comparing_lines, contrast
from tutor.config import Settings
from tutor.drafting import Draft, write
from tutor.errors import TutorError
from tutor.evidence import RETRY_COVERAGE, lacks_number, restates, unmade_comparisons, unstated_numbers
from tutor.judging import elsewhere, judged
from tutor.lists import asks_for_list, completion, has_list
from tutor.llm import ChatModel, LLMError
from tutor.names import said
from tutor.prompts import CONTEXT_CHARS, NOT_COVERED, answer_messages, condense_messages, more_messages
from tutor.records import FENCE, Answer, AnswerEvent, Citation, Hit, Notice, TextDelta, Timings, plain
from tutor.related import addition, related_lines
from tutor.retrieval import Retriever, comparison_sides
from tutor.text import CITED, IMAGE, MARKER, claim_words, split_sentences, tokenize

MIN_CLAIM_WORDS = 3  # fewer content words is a fragment or a lead-in, not a claim of its own
MORE_TOKENS = 200  # what going on may add: about eight lines of notes, a few seconds of the model
MORE_SENTENCES = 2  # an answer this short, from one passage, is asked to go on (dev: 9 of 65 had two, mostly terse)
EMPTIED = "\x00"  # where a removed sentence was, while the lines it leaves empty are found
REFUSAL_TEXT = "Your notes don't cover this question, so I won't answer it from general knowledge."


SENTINEL = re.compile(rf"\s*\b{NOT_COVERED}\b\.?")  # the refusal word, written after a real answer
QUOTE_CHARS = 1200  # a passage quoted for a refusal overruled: about the widest a section piece is widened to
# Terminal escape sequences pasted with a question (colours, titles): removed whole, not just the ESC.
ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def clean_question(question: str, max_chars: int, what: str = "question") -> str:
    """The question with control characters and escape sequences removed and whitespace runs (newlines,
    tabs) made one space; a TutorError when nothing is left or it is longer than ``max_chars``.

    >>> clean_question("DS\\x00 vs\\x1b[31m MLE\\x07?\\n\\tand AI?", 100)
    'DS vs MLE? and AI?'
    """
    text = ESCAPE_SEQUENCE.sub("", question)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split())
    if not text:
        example = 'search for something, e.g. tutor search "ethical risks"' if what == "query" else \
            'ask something, e.g. tutor ask "DS vs MLE?"'
        raise TutorError(f"the {what} is empty", fix=example, exit_code=2)
    if len(text) > max_chars:
        raise TutorError(f"the {what} is {len(text):,} characters long; the limit is {max_chars:,}",
                         fix=f"ask a shorter {what} (or raise TUTOR_MAX_QUESTION_CHARS)", exit_code=2)
    return text


@dataclass(frozen=True)
class CitationCheck:
    text: str  # the answer with only valid markers
    cited: list[int]
    removed: list[int]  # markers that named no passage
    unsupported: list[str]  # sentences without a marker, or not backed by the passages they cite
    claims: int  # sentences with enough words to be a claim
    repointed: list[tuple[int, int]] = field(default_factory=list)  # (written, corrected) marker numbers
    overclaims: list[str] = field(default_factory=list)  # backed sentences that compare what the notes don't

    @property
    def grounded(self) -> bool:
        """Most claims are backed by the notes (an answer from general knowledge is not); an answer
        with no claim of its own ("Yes [1].") must at least cite."""
        if self.claims == 0:
            return bool(self.cited)
        return len(self.unsupported) * 2 <= self.claims


def spaced(text: str) -> str:
    """No space before punctuation, no run of spaces: as the checked answer (and so its stream) is spaced.

    >>> spaced("MLEs ship  systems [1] .")
    'MLEs ship systems [1].'
    """
    return re.sub(r"[ \t]{2,}", " ", re.sub(r"[ \t]+([.,;:!?])", r"\1", text))


def check_citations(text: str, passages: Sequence[str], min_overlap: float = 0.5) -> CitationCheck:
    """Check the ``[n]`` markers of ``text`` against the numbered ``passages``.

    A marker outside 1..len(passages) is removed. A sentence without a marker takes the markers of
    the sentence before it in the same paragraph (a list under a cited lead-in); it is supported
    when at least ``min_overlap`` of its content words occur in the passages it cites, and listed in
    ``overclaims`` when it also compares in words its passages never use ("scales better"). A claim
    backed by the markers it took gets them written out, so every backed claim shows its citation and a
    sentence left without one is one that no passage backs.

    >>> r = check_citations("DS analyse data [1]. MLEs ship systems [Note 2, 7]. The sky is blue at noon.",
    ...                     ["Data Scientists: analysis of data", "MLE: ships production systems"])
    >>> r.text, r.cited, r.removed, r.unsupported
    ('DS analyse data [1]. MLEs ship systems [2]. The sky is blue at noon.', [1, 2], [7], ['The sky is blue at noon.'])
    >>> r = check_citations("MLEs ship production systems [1].",
    ...                     ["Data Scientists: analysis", "MLEs ship production systems"])
    >>> r.text, r.repointed
    ('MLEs ship production systems [2].', [(1, 2)])
    >>> check_citations("Item-based filtering scales better [1].", ["Item-based filtering scales well"]).overclaims
    ['Item-based filtering scales better [1].']
    >>> check_citations("MLEs ship systems [1]. They ship production systems.", ["MLEs ship production systems"]).text
    'MLEs ship systems [1]. They ship production systems [1].'
    """
    removed: list[int] = []

    def fix(match: re.Match[str]) -> str:
        numbers = [int(x) for x in re.findall(r"\d+", match.group(1))]
        removed.extend(n for n in numbers if not 1 <= n <= len(passages))
        return "".join(f"[{n}]" for n in numbers if 1 <= n <= len(passages))

    cleaned = MARKER.sub(fix, text)
    cleaned = spaced(SENTINEL.sub("", cleaned)).strip()  # a stray sentinel after a real answer goes
    passage_words = [claim_words(p) for p in passages]
    unsupported: list[str] = []
    repointed: list[tuple[int, int]] = []
    overclaims: list[str] = []
    claims = 0
    out: list[str] = []
    pos = 0
    for paragraph in re.split(r"\n\s*\n", cleaned):
        inherited: list[int] = []
        for sentence in split_sentences(paragraph):
            at = cleaned.find(sentence, pos)
            out.append(cleaned[pos:at])
            pos = at + len(sentence)
            own = [int(n) for n in CITED.findall(sentence)]
            markers = own or inherited
            inherited = markers
            words = claim_words(sentence)
            if len(words) < MIN_CLAIM_WORDS or sentence.rstrip().endswith(":"):
                out.append(sentence)
                continue  # a lead-in or a fragment is not a claim of its own
            claims += 1
            overlap = [len(words & w) for w in passage_words]
            backing = set().union(*(passage_words[n - 1] for n in markers)) if markers else set()
            if len(words & backing) >= min_overlap * len(words):
                if unmade_comparisons(sentence, [passages[n - 1] for n in markers]):
                    overclaims.append(sentence)
                if not own:  # backed by the markers it inherits: they are shown, so every claim carries its own
                    sentence = _marked(sentence, markers)
                out.append(sentence)
                continue
            best = max(range(len(passages)), key=lambda i: overlap[i]) if passages else -1
            if best >= 0 and overlap[best] >= min_overlap * len(words):
                # The right fact under the wrong number, or under none (common small-model slips):
                # point it at the passage that has its words.
                if own:
                    repointed.extend((n, best + 1) for n in own if n != best + 1)
                    sentence = re.sub(r"(?<![\w)])(?:\[\d+\])+", f"[{best + 1}]", sentence, count=1)
                    sentence = re.sub(r"(?<=\])(?:\[\d+\])+", "", sentence)
                else:
                    repointed.append((0, best + 1))
                    sentence = _marked(sentence, [best + 1])
                inherited = [best + 1]
            else:
                unsupported.append(sentence)
            out.append(sentence)
    out.append(cleaned[pos:])
    cleaned = "".join(out)
    cited = sorted({int(n) for n in CITED.findall(cleaned)})
    return CitationCheck(cleaned, cited, sorted(set(removed)), unsupported, claims, repointed, overclaims)


def _marked(sentence: str, markers: Sequence[int]) -> str:
    """``sentence`` with ``markers`` written before its closing stop: "X [1][2]."."""
    return re.sub(r"([.!?]?)$", " " + "".join(f"[{n}]" for n in markers) + r"\1", sentence, count=1)


def marker_note(written: int, corrected: int, times: int = 1) -> str:
    """The warning for a marker the check corrected (``written`` 0: added), in ``times`` sentences.

    >>> marker_note(0, 2)
    'added the marker [2] to a sentence the model left uncited: its words are in passage 2'
    >>> marker_note(3, 1, 2)
    'corrected the marker [3] to [1] in 2 sentences: they come from passage 1'
    """
    b = corrected
    if written:
        if times == 1:
            return f"corrected the marker [{written}] to [{b}]: the sentence comes from passage {b}"
        return f"corrected the marker [{written}] to [{b}] in {times} sentences: they come from passage {b}"
    if times == 1:
        return f"added the marker [{b}] to a sentence the model left uncited: its words are in passage {b}"
    return f"added the marker [{b}] to {times} sentences the model left uncited: their words are in passage {b}"


def extended(check: CitationCheck, extra: str, passages: Sequence[str]) -> CitationCheck:
    """``check``'s answer with ``extra`` added, checked again as a whole; the markers corrected in it
    before are still reported.

    >>> first = check_citations("MLEs ship production systems.", ["Data", "MLEs ship production systems"])
    >>> both = extended(first, "\\n- Data [1]", ["Data", "MLEs ship production systems"])
    >>> both.text, both.repointed
    ('MLEs ship production systems [2].\\n- Data [1]', [(0, 2)])
    """
    both = check_citations(check.text + extra, passages)
    return replace(both, repointed=[*check.repointed, *both.repointed])


# Where a streamed answer's sentence is known to be finished: a boundary of ``split_sentences`` with the
# next sentence begun after it.
BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9*(\"'])|\n+")
UNSETTLED = re.compile(r"(?<![\w)])\[.*$|[\s.,;:!?]+$", re.DOTALL)  # a marker, or the stop, may still change


def cited_stream(deltas: Iterable[TextDelta], passages: Sequence[str],
                 kept: Callable[[], str]) -> Generator[TextDelta, None, CitationCheck]:
    """``deltas`` as the learner should read them: each finished sentence as ``check_citations`` leaves it
    (a marker the model left out added, a wrong one corrected), the sentence being written up to its last
    word (its marker and stop may yet change). Once the deltas end, the rest of the checked ``kept()`` text
    (what the answer keeps), whose check is returned. So the terminal, which cannot take back what it
    printed, shows the checked answer as it is written, not the model's raw markers.

    >>> pieces = [TextDelta(p) for p in ("MLEs ship", " production systems. Data", " scientists analyse data", ".")]
    >>> passages = ["Data scientists analyse data", "MLEs ship production systems"]
    >>> shown = cited_stream(pieces, passages, lambda: "MLEs ship production systems. Data scientists analyse data.")
    >>> [d.text for d in shown]
    ['MLEs ship', ' production systems [2]. Data', ' scientists analyse data', ' [1].']
    """
    raw = shown = head = ""
    checked_to = 0  # head is text[:checked_to], checked
    for delta in deltas:
        raw += delta.text
        text = SENTINEL.sub("", raw)  # as check_citations drops a stray sentinel, before it splits sentences
        cuts = [m for m in BOUNDARY.finditer(text) if text[m.end():].strip()]
        cut = cuts[-1].start() if cuts else 0
        if cut != checked_to:  # a sentence was finished: checked once, not at every piece
            head, checked_to = check_citations(text[:cut], passages).text, cut
        tail = text[cut:]
        last = re.search(r"\w+$", tail)
        if last and NOT_COVERED.startswith(last.group()):  # it may be one being written
            tail = tail[: last.start()]
        tail = spaced(UNSETTLED.sub("", tail))
        view = head + tail if head else tail.lstrip()
        if view.startswith(shown) and len(view) > len(shown):
            yield TextDelta(view[len(shown):])
            shown = view
    final = check_citations(kept(), passages)
    if raw and final.text.startswith(shown) and len(final.text) > len(shown):  # nothing shown: a refusal stays unsaid
        yield TextDelta(final.text[len(shown):])
    return final


def nearest_sections(hits: Sequence[Hit], n: int = 3) -> tuple[str, ...]:
    seen: list[str] = []
    for hit in hits:
        label = f"{hit.chunk.source} › {hit.chunk.section}"
        if label not in seen:
            seen.append(label)
    return tuple(seen[:n])


NO_MODEL = ("No language model is available, so these are the most relevant passages of your notes "
            "(an extractive answer, not a written one):")
ASKED_AGAIN = ("the model first gave no answer (it refused, or only restated the question); asked again with "
               "passage [{n}] alone, which holds much of the question's words, it answered from it")
REWRITTEN = ("asked again with passage [{n}] alone, which holds much of the question's words, as {why}: the "
             "model answered from it")
JUDGED_AGAIN = ("the model's first answer was a refusal or went beyond your notes; asked apart, it judged that "
                "passage [{n}] answers the question, and asked again with that passage alone, it answered from it")
ELSEWHERE = ("the first answer cited only passages the model, asked apart, judged not to answer the question, "
             "while it judged that passage [1] does; asked again with passage [1] alone, it answered from it")
JUDGED_QUOTE = ("The model judged this part of your notes to answer your question but could only repeat the "
                "question from it, so here it is as written (quoted, not a written answer):")
OVERRULED = ("The model found no answer in these passages, but this part of your notes holds most of your "
             "question's words, so here it is as written (quoted, not a written answer):")


def extractive_answer(hits: Sequence[Hit], max_passages: int = 3, *, numbers: Sequence[int] = (),
                      lead: str = NO_MODEL, max_chars: int = 300) -> str:
    """The best passages themselves, cited: the answer when no language model is available, or when the
    model refused although a passage holds the question's words. ``numbers`` are the hits' markers. Each
    passage is quoted as its own lines under its section and marker (a list stays a list, code stays
    code; blank lines left out), cut after a whole line once ``max_chars`` are quoted."""
    out = [lead]
    for n, hit in zip(numbers or range(1, len(hits) + 1), hits[:max_passages]):
        out.append(f"- {hit.chunk.section} [{n}]:")
        # one paragraph under its marker: blank lines left out, so each line reads as cited by it
        out.extend(f"  {line}" for line in quoted_lines(hit.chunk.text, max_chars) if line)
    return "\n".join(out)


def quoted_lines(text: str, max_chars: int) -> list[str]:
    r"""A passage's lines as shown (emphasis marks out, code as written) up to ``max_chars``, cut after a
    whole line: "..." marks what was left out, and a code block left open is closed.

    >>> quoted_lines("- **Dropout**:\n  ```python\n  d3 = rand() < keep_prob\n  a3 = a3 / keep_prob\n  ```", 52)
    ['- Dropout:', '  ```python', '  d3 = rand() < keep_prob', '  ```', '...']
    """
    raw = text.strip("\n").splitlines()
    shown = plain("\n".join(raw)).splitlines()
    if len(shown) == len(raw):  # plain() takes indentation out; a nested list or code keeps its own
        shown = [f"{r[: len(r) - len(r.lstrip())]}{p}" if p else "" for r, p in zip(raw, shown)]
    lines = [line.rstrip() for line in shown]
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) > max_chars:
            if not kept:  # one line longer than the whole quote: its start, cut between words
                kept.append(line[:max_chars].rsplit(" ", 1)[0] + " ...")
                return kept
            fences = [k for k in kept if FENCE.match(k)]
            if len(fences) % 2 and kept[-1] == fences[-1]:  # an opening fence with nothing under it goes
                kept.pop()
            elif len(fences) % 2:
                kept.append(fences[-1][: len(fences[-1]) - len(fences[-1].lstrip())] + "```")
            while kept and not kept[-1]:
                kept.pop()
            return [*kept, "..."]
        kept.append(line)
        used += len(line) + 1
    return kept


def quote_check(text: str, numbers: Sequence[int]) -> CitationCheck:
    """The check of a quote of the passages ``numbers``: their own lines, so it cites them and makes no
    claim of its own (checked sentence by sentence, its code lines would get markers)."""
    return CitationCheck(text, sorted(set(numbers)), [], [], 0)


def unmentioned(names: Sequence[str]) -> str:
    """Why a question naming what the notes never write is refused.

    >>> unmentioned(["Kafka"])
    "your notes never mention 'Kafka', so no passage of them can answer for it"
    """
    return f"your notes never mention {said(names)}, so no passage of them can answer for it"


def condense(history: Sequence[tuple[str, str]], follow_up: str, model: ChatModel | None) -> str:
    """A follow-up rewritten as a standalone question, for retrieval."""
    if not history:
        return follow_up
    fallback = f"{history[-1][0]} {follow_up}"
    if model is None:
        return fallback
    try:
        text = "".join(model.stream(condense_messages(history, follow_up), max_tokens=64, temperature=0.0))
    except LLMError:
        return fallback
    text = text.strip().splitlines()[0].strip().strip('"') if text.strip() else ""
    text = re.sub(r"^(standalone question|question)\s*:\s*", "", text, flags=re.IGNORECASE)
    return text if 3 <= len(text) <= 300 else fallback


def stream_answer(
    question: str,
    retriever: Retriever,
    model: ChatModel | None,
    settings: Settings,
    history: Sequence[tuple[str, str]] = (),
) -> Iterator[AnswerEvent]:
    """Yield the answer's text as it is written (``TextDelta``), then the finished ``Answer``.

    ``question`` is as ``clean_question`` left it (``Tutor.ask`` and ``answer`` clean it first).
    """
    started = time.perf_counter()
    standalone = condense(history, question, model) if history else question
    found = retriever.retrieve(standalone, k=settings.top_k, min_relevance=settings.min_relevance)
    found = retriever.widen(found, CONTEXT_CHARS)  # small-to-big: the rest of each hit's section, if it fits
    hits = found.hits
    retrieve_ms = (time.perf_counter() - started) * 1000
    backend = model.name if model is not None else "extractive"

    def timings(first_ms: float | None) -> Timings:
        return Timings(retrieve_ms, first_ms, (time.perf_counter() - started) * 1000)

    def refusal(first_ms: float | None = None, warnings: Sequence[str] = ()) -> Answer:
        return Answer(question, REFUSAL_TEXT, (), True, backend, timings(first_ms), nearest=nearest_sections(hits),
                      standalone_question=standalone if history else None, warnings=tuple(warnings),
                      retrieval=found)

    def finish(check: CitationCheck, first_ms: float | None, warnings: Sequence[str] = (), *,
               extractive: bool = False, incomplete: bool = False) -> Answer:
        notes = tuple(marker_note(a, b, check.repointed.count((a, b))) for a, b in dict.fromkeys(check.repointed))
        return Answer(question, check.text, tuple(Citation.of(n, hits[n - 1].chunk) for n in check.cited), False,
                      backend, timings(first_ms), standalone_question=standalone if history else None,
                      unsupported=tuple(check.unsupported + check.overclaims), removed_markers=tuple(check.removed),
                      extractive=extractive, incomplete=incomplete, warnings=notes + tuple(
                          f"the notes make no such comparison: {s}" for s in check.overclaims) + tuple(warnings),
                      retrieval=found)

    if not found.relevant:
        yield refusal(warnings=[unmentioned(found.unknown)] if found.unknown else [])
        return
    if model is None:
        shown = [n for n, h in enumerate(hits, 1) if (h.dense or 0) >= settings.min_relevance][:3] or \
            list(range(1, min(len(hits), 3) + 1))  # each passage keeps its own number, as it is cited
        text = extractive_answer([hits[n - 1] for n in shown], numbers=shown)
        yield TextDelta(text)
        written_ms = (time.perf_counter() - started) * 1000
        yield finish(quote_check(text, shown), written_ms, extractive=True)
        return
    passages = [h.chunk.embed_text() for h in hits]  # what a written answer's sentences are checked against

    asked = standalone if history else question
    prompted = standalone if history else found.expanded  # what the model is asked: abbreviations spelled out

    draft = Draft()
    check = yield from cited_stream(write(model, answer_messages(prompted, hits), settings, started, draft,
                                          markers=len(hits)), passages, lambda: draft.text)
    warnings = list(draft.warnings)
    partly = retriever.answering(found, settings.min_relevance, RETRY_COVERAGE)  # hold half the question's words

    def listed(check: CitationCheck) -> Generator[TextDelta, None, CitationCheck]:
        """The items a list question's answering list (a cited passage) has that the answer left out, added."""
        if not asks_for_list(asked):
            return check
        for i in partly:
            if i + 1 in check.cited and has_list(hits[i].chunk.text, asked):
                extra = completion(check.text, hits[i].chunk.text, i + 1, asked)
                if extra:
                    yield TextDelta(extra)
                    return extended(check, extra, passages)
                break
        return check

    def compared(check: CitationCheck) -> Generator[TextDelta, None, CitationCheck]:
        """The lines where the passages compare a comparison question's two sides, added when unsaid."""
        sides = comparison_sides(asked)
        extra = contrast(comparing_lines(sides, hits, check.text, retriever.bm25.idf, retriever.spelled())) \
            if sides else ""
        if not extra:
            return check
        yield TextDelta(extra)
        return extended(check, extra, passages)

    def related(check: CitationCheck) -> Generator[TextDelta, None, CitationCheck]:
        """The cited passages' lines closest in meaning to the question that the answer left unsaid."""
        extra = addition(related_lines(prompted, hits, check.cited, check.text, retriever.embedder))
        if not extra:
            return check
        both = extended(check, extra, passages)
        if not both.grounded:
            return check
        yield TextDelta(extra)
        return both

    parroted: set[int] = set()  # passages whose second answer only restated the question

    def numberless(text: str, shown: Sequence[Hit]) -> bool:
        """A quantity question answered with no number, or only with numbers the passages ``shown`` to
        the model give about something else."""
        return lacks_number(text, asked) or unstated_numbers(text, asked, [(h.chunk.context, h.chunk.text)
                                                                           for h in shown])

    def narrowly(n: int, notice: str, warning: str) -> Generator[AnswerEvent, None, Answer | None]:
        """The question asked again with passage [n] alone (keeping its number): the finished answer when
        that one holds (says something, backed, with a number if asked for one), else None."""
        narrow = Draft(first_ms=draft.first_ms)
        yield Notice(notice)
        again = yield from cited_stream(write(model, answer_messages(prompted, [hits[n - 1]], numbers=[n]), settings,
                                              started, narrow, markers=n),
                                        passages, lambda: cite_fragment(narrow.text, passages[n - 1], n))
        if narrow.said_nothing:
            return None
        if restates(narrow.text, asked):
            parroted.add(n)
            return None
        if not again.grounded or numberless(narrow.text, [hits[n - 1]]):
            return None
        again = yield from listed(again)
        if not narrow.incomplete:  # a second answer is as terse as a first: it goes on from its one passage
            again = yield from more(model, prompted, [hits[n - 1]], passages, again, narrow, settings, started, [n])
        again = yield from compared(again)
        again = yield from related(again)
        return finish(again, draft.first_ms, [*narrow.warnings, warning], incomplete=narrow.incomplete)

    def stands(check: CitationCheck) -> Iterator[AnswerEvent]:
        """After a second answer that did not hold, the first one again as it is kept (the terminal shows
        what was written, so it must be written again)."""
        yield Notice("the second answer did not hold; the first one stands:")
        yield TextDelta(check.text)

    def quoted(positions: Sequence[int], lead: str, warning: str) -> Generator[AnswerEvent, None, Answer]:
        """The hits at ``positions`` (0-based) quoted as the answer, labelled by ``lead``, cited."""
        text = extractive_answer([hits[i] for i in positions], len(positions), numbers=[i + 1 for i in positions],
                                 lead=lead, max_chars=QUOTE_CHARS)
        yield TextDelta(text)
        return finish(quote_check(text, [i + 1 for i in positions]), draft.first_ms, [warning], extractive=True)

    def judged_again() -> Generator[AnswerEvent, None, Answer | None]:
        """Asked again with the first of the best passages the model, asked apart, judges to answer. When
        that second answer only restates the question from a passage close in meaning, the passage is
        quoted: the model judged it to answer and could not phrase it ("Before using ML, what should I ask
        ...?" against the notes' "How would you solve the problem without ML?"). A second refusal is not
        quoted: the model read the passage alone and found nothing."""
        n = judged(model, asked, hits, tried)
        if n is None:
            return None
        done = yield from narrowly(n, f"asking again with passage [{n}] alone: asked apart, the model judged "
                                      f"that it answers the question", JUDGED_AGAIN.format(n=n))
        if done is not None or n not in parroted or (hits[n - 1].dense or 0.0) < settings.min_relevance:
            return done
        yield Notice(f"the second answer only restated the question: passage [{n}] is quoted instead")
        return (yield from quoted([n - 1], JUDGED_QUOTE, f"the model judged that passage [{n}] answers your "
                                                         f"question, but asked with it alone only repeated the "
                                                         f"question: it is quoted instead"))

    # backed sentences are kept only with evidence that a passage answers
    kept = kept_part(check, passages) if not check.grounded and partly else None
    no_answer = draft.said_nothing or restates(draft.text, asked)
    no_number = numberless(draft.text, hits)
    why = ("it holds much of the question's words" if no_answer else
           "the first answer gave no number the notes state about it" if no_number else
           "the first answer was not backed by the passages it cites" if not check.grounded and kept is None else "")
    tried: set[int] = set()  # passages the question was asked again with
    if why and partly:
        # A small model often says "not covered" (or restates the question, or answers past the notes)
        # with the answering passage among five. Asked again with the best partly answering passage alone
        # (keeping its number), it usually answers from it.
        n = partly[0] + 1
        tried.add(n)
        done = yield from narrowly(n, f"asking again with passage [{n}] alone: {why}",
                                   (ASKED_AGAIN if no_answer else REWRITTEN).format(n=n, why=why))
        if done:
            yield done
            return
    if draft.said_nothing:
        # A refusal is passed on only when no passage holds most of the question's words; else that
        # passage is quoted, labelled as such (the small model refuses answers it was shown).
        answering = retriever.answering(found, settings.min_relevance)
        if not answering:
            done = yield from judged_again()
            yield done or refusal(draft.first_ms)
            return
        yield (yield from quoted(answering[:2], OVERRULED, "the model said your notes don't cover this, but a "
                                                           "passage holds most of the question's words: it is "
                                                           "quoted instead"))
        return
    if no_number:
        yield refusal(draft.first_ms, [*warnings, "the question asks for a number and the answer gives none the "
                                                  "passages state about it: they do not state it"])
        return
    if not check.grounded:
        # With evidence that a passage answers, the sentences the passages back are kept and the rest
        # left out (named in the warnings); without it, the whole answer is withheld.
        if kept is not None:
            if tried:
                yield from stands(kept)
            kept = yield from listed(kept)
            kept = yield from compared(kept)
            kept = yield from related(kept)
            yield finish(kept, draft.first_ms, [*warnings, *(f"left out, as no passage backs it: {s!r}"
                                                            for s in check.unsupported)],
                         incomplete=draft.incomplete)
            return
        done = yield from judged_again()
        if done:
            yield done
            return
        warnings.append("the model answered beyond your notes (most sentences are not backed by the passages "
                        "they cite), so its answer was withheld")
        yield refusal(draft.first_ms, warnings)
        return
    cited = check.cited  # the model's own citations, before lines of the notes are added
    check = yield from listed(check)
    if not draft.incomplete:  # going on first: its prompt extends the answer's, whose KV cache is still there
        check = yield from more(model, prompted, hits, passages, check, draft, settings, started)
    check = yield from compared(check)
    check = yield from related(check)
    if not tried and elsewhere(model, asked, hits, cited):
        # The small model sometimes answers from a passage beside the point (a neighbouring pattern, the
        # section before) with the answering one first among five; asked apart, it tells them apart.
        done = yield from narrowly(1, "asking again with passage [1] alone: asked apart, the model judged that "
                                      "the passages the answer cites do not answer the question and that [1] does",
                                   ELSEWHERE)
        if done:
            yield done
            return
        yield from stands(check)
    yield finish(check, draft.first_ms, warnings, incomplete=draft.incomplete)


def more(model: ChatModel, question: str, hits: Sequence[Hit], passages: Sequence[str], check: CitationCheck,
         draft: Draft, settings: Settings, started: float,
         numbers: Sequence[int] = ()) -> Generator[TextDelta, None, CitationCheck]:
    """A one- or two-sentence answer, with the rest of what the notes say about it.

    A small model stops at the first fact where the notes give four (the note it cites, or the section
    beside it that holds the details). Told to go on, it copies the notes' other lines; those the
    passages back are added (a line that is only a picture, or says again what is said, is not), and
    the answer is checked again as a whole. Nothing is added when the model has nothing more to say.
    """
    if len(split_sentences(check.text)) > MORE_SENTENCES or len(check.cited) != 1:
        return check
    n = check.cited[0]
    if numbers and n not in numbers:  # its marker was corrected to a passage that was not in its prompt
        return check
    extra = Draft()
    bounded = replace(settings, max_tokens=min(settings.max_tokens, MORE_TOKENS))
    try:
        for _ in write(model, more_messages(question, hits, draft.text, n, numbers), bounded, started, extra,
                       markers=max(numbers or [len(hits)])):
            pass  # shown once checked: only the backed lines are kept
    except LLMError:
        return check  # the model failed before writing more: the answer already given stands
    if extra.said_nothing:
        return check
    lines = extra.text.strip().splitlines()[: -1 if extra.incomplete else None]  # a line cut off goes
    lines = fresh_lines(lines, check.text, passages)
    kept = kept_part(check_citations("\n".join(lines), passages), passages) if lines else None
    if kept is None:
        return check
    both = extended(replace(check, text=check.text.rstrip()), f"\n{kept.text}", passages)
    if not both.grounded:
        return check
    yield TextDelta(both.text[len(check.text.rstrip()):] if both.text.startswith(check.text.rstrip())
                    else f"\n{kept.text}")
    return both


def fresh_lines(lines: Sequence[str], said: str, passages: Sequence[str]) -> list[str]:
    """The lines that add to what is ``said``: not a picture, not a line a third of whose words are new
    at best, and not a fragment (a few words) that is not the passages' own words.

    >>> fresh_lines(["- ![](gru.png)", "- GRUs fix vanishing gradients [1].", "- fact [1]", "- Update gate [1]",
    ...              "- A memory cell C remembers [1]."], "GRUs fix vanishing gradients [1].",
    ...             ["GRUs fix vanishing gradients. A memory cell C remembers. Update gate"])
    ['- Update gate [1]', '- A memory cell C remembers [1].']
    """
    known = claim_words(said)
    notes = set(tokenize(" ".join(passages)))
    fresh = []
    for line in lines:
        words = claim_words(IMAGE.sub(" ", line))
        if len(words - known) < max(1, len(words) // 3):
            continue
        if len(words) < MIN_CLAIM_WORDS and not set(tokenize(MARKER.sub(" ", line))) <= notes:
            continue  # "- fact [1]" copies the request, not the notes
        fresh.append(line)
        known |= words
    return fresh


def cite_fragment(text: str, passage: str, n: int) -> str:
    """A bare fragment written from passage ``[n]`` alone ("0", "Greedy search."), cited to it when every
    word and number of it is the passage's: with one passage its source is certain; with five it is not.

    >>> cite_fragment("0", "For prereleased model, you give `0` to `X`", 3), cite_fragment("0.5", "give 0", 3)
    ('0 [3]', '0.5')
    """
    words = set(tokenize(MARKER.sub(" ", text)))
    claim = len(claim_words(text)) >= MIN_CLAIM_WORDS  # a claim is checked as any sentence is, not cited blind
    if CITED.search(text) or not words or claim or not words <= set(tokenize(passage)):
        return text
    body = text.rstrip()
    end = body[-1] if body[-1] in ".!?" else ""
    return f"{body[: len(body) - len(end)]} [{n}]{end}"


def kept_part(check: CitationCheck, passages: Sequence[str]) -> CitationCheck | None:
    """An ungrounded answer's backed sentences, checked again, when they make a cited, grounded answer."""
    backed = backed_only(check)
    kept = check_citations(backed, passages) if backed else None
    return kept if kept is not None and kept.grounded and kept.cited else None


def backed_only(check: CitationCheck) -> str:
    """The checked answer without the sentences its passages do not back (a lead-in left with nothing
    under it goes too).

    >>> c = check_citations("MLEs ship systems [1]. The sky is blue at noon today.", ["MLEs ship production systems"])
    >>> backed_only(c)
    'MLEs ship systems [1].'
    """
    text = check.text
    for sentence in check.unsupported:
        text = text.replace(sentence, EMPTIED, 1)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    # a line the removal left with nothing (or only its list mark) goes, and its line break with it
    lines = [line for line in lines if not re.fullmatch(rf"(?:[-*+]|\d+[.)])?\s*(?:{EMPTIED}\s*)+", line)]
    lines = [" ".join(line.replace(EMPTIED, " ").split()) for line in lines]
    while lines and (not lines[-1] or lines[-1].endswith(":")):
        lines.pop()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def final(events: Iterable[AnswerEvent]) -> Answer:
    """The ``Answer`` that ends an answer stream (the text pieces and notices before it are dropped)."""
    result = None
    for event in events:
        match event:
            case Answer():
                result = event
    assert result is not None, "an answer stream ends with its Answer"
    return result


def answer(question: str, retriever: Retriever, model: ChatModel | None, settings: Settings,
           history: Sequence[tuple[str, str]] = ()) -> Answer:
    """The finished answer, without streaming (the question is cleaned first, as ``Tutor.ask`` does)."""
    question = clean_question(question, settings.max_question_chars)
    return final(stream_answer(question, retriever, model, settings, history))
