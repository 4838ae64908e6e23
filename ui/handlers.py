"""The page's event handlers: what each click or submit does, as component values for Gradio.

Each handler asks ``ui.core.Study`` and shows the result through ``ui.render``; errors reach the page as
messages (a known state with its fix), never as tracebacks (those go to the server's terminal).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from typing import Any

import gradio as gr

from tutor.errors import TutorError
from tutor.grading import REVEAL
from tutor.records import Answer, Notice, TextDelta
from ui.core import Study
from ui.render import (
    SEARCH_PROMPT,
    answer_html,
    grade_markdown,
    hint_markdown,
    hits_html,
    item_markdown,
    mastery_rows,
    no_item_markdown,
    notice_html,
    problem_html,
    progress_markdown,
    sources_html,
    writing_html,
)

ANY = "any"  # the quiz's section and kind choice that does not narrow


def problem(exc: BaseException) -> str:
    """A failure as the page shows it; an unexpected one is written in full to the server's terminal."""
    if not isinstance(exc, TutorError):
        sys.stderr.write(traceback.format_exc())
    return problem_html(exc)


def api_error(exc: BaseException) -> gr.Error:
    """A failure as a JSON endpoint raises it: the message and fix of a known state, else an internal error."""
    if not isinstance(exc, TutorError):
        sys.stderr.write(traceback.format_exc())
        return gr.Error(f"internal error ({type(exc).__name__}); see the server's terminal")
    return gr.Error(str(exc), print_exception=False)  # a known state: the caller gets the message and the fix


# --- chat ------------------------------------------------------------------------------------------


def chat_stream(study: Study, message: str, chat: list, turns: list) -> Iterator[tuple[list, list, Any, str]]:
    """Yield (chat messages, turns, sources panel, question box) while the answer is written."""
    message = (message or "").strip()
    if not message:
        yield chat, turns, gr.skip(), ""
        return
    chat = list(chat or []) + [{"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
    turns = [tuple(t) for t in turns or []]
    yield chat, turns, gr.skip(), ""
    notice, text, answer = "", "", None
    try:
        for event in study.ask(message, turns):
            match event:
                case TextDelta(text=piece):
                    text += piece
                    chat = chat[:-1] + [{"role": "assistant", "content": writing_html(notice, text)}]
                    yield chat, turns, gr.skip(), ""
                case Notice(text=said):
                    notice = notice_html(said)
                    chat = chat[:-1] + [{"role": "assistant", "content": notice}]
                    yield chat, turns, gr.skip(), ""
                case Answer():
                    answer = event
    except Exception as exc:  # noqa: BLE001 - the page shows a message, never a traceback
        chat = chat[:-1] + [{"role": "assistant", "content": notice + problem(exc)}]
        yield chat, turns, gr.skip(), ""
        return
    assert answer is not None
    chat = chat[:-1] + [{"role": "assistant", "content": notice + answer_html(answer)}]
    if not answer.refused:
        turns = turns + [(message, answer.answer)]
    yield chat, turns, sources_html(answer), ""


def retry_stream(study: Study, chat: list, turns: list) -> Iterator[tuple[list, list, Any, str]]:
    """Ask the last question again."""
    chat = list(chat or [])
    question = next((m["content"] for m in reversed(chat) if _role(m) == "user"), None)
    if question is None:
        yield chat, turns, gr.skip(), ""
        return
    while chat and _role(chat[-1]) != "user":
        chat.pop()
    chat.pop()
    turns = [tuple(t) for t in turns or []]
    if turns and turns[-1][0] == _text(question):
        turns = turns[:-1]
    yield from chat_stream(study, _text(question), chat, turns)


def _role(message: Any) -> str:
    return message.get("role", "") if isinstance(message, dict) else getattr(message, "role", "")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{"type": "text", "text": ...}]
        return " ".join(c.get("text", "") for c in content if isinstance(c, dict))
    return str(content)


# --- quiz ------------------------------------------------------------------------------------------


def new_quiz_state() -> dict[str, Any]:
    """A browser tab's quiz: the item shown, hints taken, items seen, its number, whether it is graded."""
    return {"id": None, "hints": 0, "seen": [], "number": 0, "graded": False}


def quiz_next(study: Study, section: str, kind: str, due: bool, state: dict) -> tuple:
    """(question, options, answer box, hint, grade, state) for the next item."""
    state = dict(state or new_quiz_state())
    section = "" if section in (None, ANY) else section
    try:
        item = study.quiz_next(section, "" if kind in (None, ANY) else kind, bool(due), state["seen"])
    except Exception as exc:  # noqa: BLE001
        return (problem(exc), gr.update(visible=False), gr.update(visible=False), "", "", state)
    if item is None:
        return (no_item_markdown(bool(due)), gr.update(visible=False), gr.update(visible=False), "", "", state)
    state.update(id=item.id, hints=0, graded=False, number=state["number"] + 1, seen=state["seen"] + [item.id])
    choices = bool(item.options)
    return (item_markdown(item, state["number"]),
            gr.update(choices=list(item.options), value=None, visible=choices),
            gr.update(value="", visible=not choices), "", "", state)


def quiz_hint(study: Study, state: dict) -> tuple[str, dict]:
    """The next step of the hint ladder for the item shown."""
    state = dict(state or new_quiz_state())
    if not state.get("id"):
        return "Press **Next question** first.", state
    if state["graded"]:
        return "This one is graded already: press **Next question**.", state
    state["hints"] = min(state["hints"] + 1, REVEAL)
    try:
        text = study.quiz_hint(state["id"], state["hints"])
    except Exception as exc:  # noqa: BLE001
        return problem(exc), state
    return hint_markdown(state["hints"], text), state


def quiz_grade(study: Study, choice: str | None, written: str, state: dict) -> tuple[str, dict]:
    """Grade and record the answer to the item shown (once)."""
    state = dict(state or new_quiz_state())
    if not state.get("id"):
        return "Press **Next question** first.", state
    if state["graded"]:
        return gr.skip(), state
    try:
        item, grade, st = study.quiz_grade(state["id"], (choice if choice else written) or "", state["hints"])
    except Exception as exc:  # noqa: BLE001
        return problem(exc), state
    state["graded"] = True
    return grade_markdown(item, grade, st), state


# --- progress and notes ----------------------------------------------------------------------------


def progress_view(study: Study) -> tuple[Any, str]:
    """(the mastery chart, the summary under it)."""
    import pandas as pd

    try:
        report = study.progress_report()
    except Exception as exc:  # noqa: BLE001
        return gr.skip(), problem(exc)
    rows = mastery_rows(report)
    frame = pd.DataFrame(rows or [{"section": "(no sections)", "mastery %": 0.0, "due": 0}])
    order = list(dict.fromkeys(r["section"] for r in rows)) or None  # the notes' order, not the alphabet's
    return gr.update(value=frame, sort=order), progress_markdown(report)


def search_view(study: Study, query: str, k: float) -> str:
    """The ranked passages for a query, or why there are none."""
    if not (query or "").strip():
        return SEARCH_PROMPT
    try:
        hits = study.search(query, int(k))
    except Exception as exc:  # noqa: BLE001
        return problem(exc)
    return hits_html(hits)


def add_notes_view(study: Study, files: list | None, name: str, text: str, progress: Any = None) -> tuple[str, str]:
    """Save uploaded files and/or a typed note under the notes folder, then re-index them."""
    saved = []
    try:
        for f in files or []:
            path = f if isinstance(f, str) else getattr(f, "name", str(f))
            shown = os.path.basename(getattr(f, "orig_name", None) or path)
            with open(path, "rb") as fh:
                saved.append(study.save_note(shown, fh.read(study_max_bytes() + 1)))
        if (text or "").strip():
            note = (name or "").strip() or "note"
            if not note.lower().endswith((".md", ".markdown", ".txt")):
                note += ".md"
            saved.append(study.save_note(note, text.encode("utf-8")))
        if progress is not None:
            progress(0.1, desc="Indexing the notes...")
        summary = study.reindex()  # incremental: only new or changed files are embedded
        if progress is not None:
            progress(1.0, desc="Done")
    except Exception as exc:  # noqa: BLE001
        return problem(exc), notes_view(study)
    names = ", ".join(f"`{p.name}`" for p in saved) or "nothing new"
    return f"Saved {names}. {summary}", notes_view(study)


def study_max_bytes() -> int:
    """The largest note file read from an upload (one byte more is read, to tell it is too large)."""
    from tutor.notes import MAX_BYTES, MAX_FILE_BYTES

    return max(MAX_FILE_BYTES, *MAX_BYTES.values())


def notes_view(study: Study) -> str:
    """The Notes tab's status, or the problem that keeps it from being read."""
    try:
        return study.notes_status()
    except Exception as exc:  # noqa: BLE001
        return problem(exc)
