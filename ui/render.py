"""The study page's HTML and Markdown, made from the tutor's records: pure functions, no Gradio, no state.

Answers with clickable ``[n]`` citations, the sources panel, notices and problems, search hits, quiz items,
hints and grade feedback, the progress summary. ``CSS`` styles the classes used here. Text from the notes
or the model is escaped for HTML; Markdown outputs are shown by Gradio's sanitising Markdown component.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tutor.errors import TutorError
from tutor.grading import REVEAL, Grade
from tutor.quiz import KIND_NAMES, QuizItem
from tutor.records import Answer, where
from tutor.render import LETTERS, hit_signals, when
from tutor.reviews import ItemState, ProgressReport
from tutor.text import CITED

if TYPE_CHECKING:
    from tutor.ingest import IngestReport
    from ui.core import NotesFolder

NOT_COVERED_NOTICE = "Your notes don't cover this question, so the tutor will not answer it from general knowledge."
SECTION_WIDTH = 40  # characters of a section name under the mastery chart
CSS = """
.notice { background: #fff4e5; border-left: 4px solid #f0a030; padding: 6px 10px; }
.not-covered { background: #eef3ff; border-left-color: #5078f0; }
.warning { color: #8a5a00; font-size: 0.9em; }
details.citation { border: 1px solid #ddd; border-radius: 6px; padding: 4px 8px; margin: 4px 0; }
details.citation summary { cursor: pointer; font-weight: 600; }
pre.cited-text { white-space: pre-wrap; font-size: 0.85em; max-height: 18em; overflow: auto; }
a.marker { font-weight: 600; text-decoration: none; }
.muted { color: #888; }
"""


# --- answers -----------------------------------------------------------------------------------------


def citation_html(answer: Answer, open_all: bool = False) -> str:
    """Each cited passage as a clickable ``[n]`` that opens to its text, with its file, section and lines."""
    parts = []
    for c in answer.citations:
        label = f"[{c.n}] {c.where()} · lines {c.lines[0]}-{c.lines[1]}"
        parts.append(f'<details class="citation" id="cite-{c.n}"{" open" if open_all else ""}>'
                     f"<summary>{html.escape(label)}</summary>"
                     f'<pre class="cited-text">{html.escape(c.text)}</pre></details>')
    return "\n".join(parts)


def answer_html(answer: Answer) -> str:
    """The answer as the chat shows it: notices, the text with its markers, and the citations."""
    if answer.refused:
        body = f'<p class="notice not-covered"><strong>Not in your notes.</strong> {NOT_COVERED_NOTICE}</p>'
        if answer.nearest:
            near = "".join(f"<li>{html.escape(n)}</li>" for n in answer.nearest)
            body += f"<p>Nearest sections of your notes:</p><ul>{near}</ul>"
        for w in answer.warnings:
            body += f'<p class="warning">({html.escape(w)})</p>'
        return body
    text = html.escape(answer.answer).replace("\n", "<br>")
    text = CITED.sub(lambda m: f'<a class="marker" href="#cite-{m.group(1)}">[{m.group(1)}]</a>', text)
    out = f'<div class="answer">{text}</div>'
    if answer.incomplete:
        out += '<p class="warning">(the answer was cut off; press Retry to ask again)</p>'
    if answer.citations:
        out += '<div class="sources"><strong>Sources</strong> (click one to read the passage):\n'
        out += citation_html(answer) + "</div>"
    return out


def sources_html(answer: Answer | None) -> str:
    """The sources panel beside the chat: the last answer's passages, open."""
    if answer is None or not answer.citations:
        return '<p class="muted">The passages the last answer cites appear here.</p>'
    return citation_html(answer, open_all=True)


def notice_html(text: str) -> str:
    """A notice above an answer (e.g. the model is down and the extractive answer stands in)."""
    return f'<p class="notice">⚠️ {html.escape(text)}</p>'


def writing_html(notice: str, text: str) -> str:
    """An answer while it is being written: its notice, then the text so far (markers not linked yet)."""
    return notice + html.escape(text)


def problem_html(exc: BaseException) -> str:
    """A failure as the page shows it: the message and the fix of a known state, else where the details are."""
    if isinstance(exc, TutorError):
        fix = f"<br><em>Fix:</em> {html.escape(exc.fix)}" if exc.fix else ""
        return f'<p class="notice"><strong>Problem:</strong> {html.escape(exc.message)}{fix}</p>'
    return (f'<p class="notice"><strong>Something went wrong</strong> ({html.escape(type(exc).__name__)}). '
            "The details are in the terminal that runs <code>tutor ui</code>.</p>")


# --- search ------------------------------------------------------------------------------------------

SEARCH_PROMPT = '<p class="muted">Type a query to see the ranked passages an answer would be built from.</p>'


def hits_html(hits: Sequence[dict[str, Any]]) -> str:
    """Ranked search hits (their ``to_dict`` form), each opening to its passage."""
    if not hits:
        return "<p>No passages found.</p>"
    out = []
    for h in hits:
        place = where(h["source"], h["section"], h.get("page"), h.get("cell"))
        label = f"{h['rank']}. {place} · lines {h['lines'][0]}-{h['lines'][1]} · {hit_signals(h)}"
        out.append(f'<details class="citation hit"><summary>{html.escape(label)}</summary>'
                   f'<pre class="cited-text">{html.escape(h["text"])}</pre></details>')
    return "\n".join(out)


# --- quiz --------------------------------------------------------------------------------------------


def item_markdown(item: QuizItem, number: int) -> str:
    """A quiz item as the page asks it: number, kind, section, question, lettered options."""
    where = item.section.rpartition(" > ")[2]
    text = f"**Q{number} · {KIND_NAMES[item.kind]} · {where}**\n\n{item.question}"
    if item.options:
        text += "\n\n" + "\n".join(f"- **{letter})** {option}" for letter, option in zip(LETTERS, item.options))
    return text


def no_item_markdown(due: bool) -> str:
    """Why no question was served for the selection."""
    if due:
        return "Nothing is due for review. Untick *due* to practise new questions."
    return ("No question could be made for this selection. Try another section or kind "
            "(with no language model, only saved questions and items built from the notes' structure are available: "
            "contrast drills, steps in order, 'which is NOT listed' and definitions).")


def hint_markdown(level: int, text: str) -> str:
    """A step of the hint ladder; the last one reveals the answer, and says what that costs."""
    suffix = " (the answer: what you type now is recorded as not known)" if level == REVEAL else ""
    return f"**Hint {level} of {REVEAL}:** {text}{suffix}"


def grade_markdown(item: QuizItem, grade: Grade, state: ItemState | None) -> str:
    """Feedback on an answer: right or the answer, points hit and missed, the passages to read again."""
    lines = []
    if grade.kind in ("mcq", "contrast"):
        if grade.correct:
            lines.append("### ✓ Correct")
        else:
            letter = LETTERS[item.answer_index or 0]
            lines.append(f"### ✗ Not quite: the answer is {letter}) {item.answer}")
    else:
        mark = "✓" if grade.correct else "✗" if grade.score < 0.5 else "~"
        lines.append(f"### {mark} Score {grade.score:.0%}: {len(grade.hit)} of {len(grade.points)} key points")
        for p in grade.points:
            lines.append(f"- ✓ hit: {p.point}" if p.hit else f"- ✗ missed: {p.point}")
    if grade.note:
        lines.append(f"\n({grade.note})")
    taught = [p.teaching for p in grade.missed if p.teaching is not None]
    if taught:
        lines.append("\n**Read again:**")
        seen = set()
        for c in taught:
            if c.label() in seen:
                continue
            seen.add(c.label())
            quoted = "\n".join(f"> {line}" for line in c.text.strip().splitlines()[:12])
            lines.append(f"\n*{c.label()}*\n\n{quoted}")
    elif item.citations:
        lines.append(f"\n*Source: {item.citations[0].label()}*")
    if state is not None:
        hinted = f" · {grade.hints_used} hint{'s' * (grade.hints_used != 1)} used" if grade.hints_used else ""
        lines.append(f"\nRecorded as {grade.rating.name.lower()}{hinted} · next review {when(state.due)}")
    return "\n".join(lines)


# --- progress ----------------------------------------------------------------------------------------


def mastery_rows(report: ProgressReport) -> list[dict[str, Any]]:
    """The mastery chart's rows, in the notes' order: section (shortened), mastery %, items due."""
    return [{"section": s.section[:SECTION_WIDTH], "mastery %": round(100 * (s.mastery or 0.0), 1), "due": s.due}
            for s in report.sections]


def progress_markdown(report: ProgressReport) -> str:
    """The summary under the chart: due, practised, attempts, streak, due per section, never practised."""
    lines = [f"**Due now:** {report.due} · **items practised:** {report.items} · **attempts:** {report.attempts} · "
             f"**streak:** {report.streak} day{'s' * (report.streak != 1)}", ""]
    due = [s for s in report.sections if s.due]
    if due:
        lines.append("**Due per section:** " + ", ".join(f"{s.section} ({s.due})" for s in due))
    if report.gaps:
        lines.append(f"\n**Never practised ({len(report.gaps)} sections):**")
        lines += [f"- {g}" for g in report.gaps]
    if not report.attempts:
        lines.append("\nNo attempts yet: take a quiz in the **Quiz** tab.")
    return "\n".join(lines)


# --- status and notes --------------------------------------------------------------------------------


def status_markdown(backend: str, model_problem: str, notes_problem: str) -> str:
    """The line atop the page: who writes answers, and why the model or the notes are not usable, if so."""
    text = f"**Backend:** `{backend}`"
    if backend == "extractive":
        text += " (no language model: answers are the cited passages themselves)"
    if model_problem:
        text += f"  \n⚠️ The language model is not available: {model_problem}"
    if notes_problem:
        text += f"  \n⚠️ Your notes cannot be searched yet: {notes_problem}"
    return text


def notes_markdown(folder: NotesFolder) -> str:
    """The Notes tab's status: the folders, whether the index is built and up to date, the note files."""
    if folder.files is None:
        return f"No notes folder at `{folder.corpus}` yet: add a note below."
    lines = [f"**Notes folder:** `{folder.corpus}` · **index:** `{folder.index}`", ""]
    if folder.chunks is None:
        lines.append("Index: **not built yet** (it is built on the first question, or press Re-index).")
    else:
        lines.append(f"Index: **{folder.chunks} chunks** from {len(folder.files)} file(s)"
                     + (f"; **out of date** for: {', '.join(folder.stale)}" if folder.stale else "; up to date."))
    lines.append("")
    lines += [f"- `{name}` ({size:,} bytes)" for name, size in folder.files]
    return "\n".join(lines)


def ingest_markdown(report: IngestReport) -> str:
    """What a re-index did: the summary, then each warning."""
    text = report.summary()
    for w in report.warnings:
        text += f"\n- warning: {w}"
    return text
