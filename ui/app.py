"""The study web app: ``create_app`` lays out the Gradio Blocks and wires their events, ``launch`` serves it.

The page's handlers are in ``ui.handlers``, over ``ui.core.Study`` (which adapts the tutor's own
generators); what they show is made by ``ui.render``. Errors reach the page as messages, never as
tracebacks. Named API endpoints (``/chat``, ``/search``, ``/quiz_next``, ``/quiz_hint``, ``/quiz_grade``,
``/progress``, ``/status``) take and return JSON and work from ``gradio_client``.
"""

import ipaddress
import os
from collections.abc import Callable, Iterator
from typing import Any

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: it never phones home

import gradio as gr  # noqa: E402

from tutor.errors import TutorError  # noqa: E402
from tutor.notes import NOTE_SUFFIXES  # noqa: E402
from tutor.quiz import KINDS  # noqa: E402
from ui.core import Study, pairs, public_item  # noqa: E402
from ui.handlers import (  # noqa: E402
    ANY,
    add_notes_view,
    api_error,
    chat_stream,
    new_quiz_state,
    notes_view,
    progress_view,
    quiz_grade,
    quiz_hint,
    quiz_next,
    retry_stream,
    search_view,
)
from ui.render import CSS, sources_html  # noqa: E402

QUEUE_SIZE = 32  # requests waiting beyond this are turned away with a message
MODEL = "model"  # concurrency group of chat and note changes: one at a time
# Quiz work has its own queue: a saved item, a contrast drill or a multiple-choice grade needs no
# model, so it is not kept waiting behind someone's answer; when it does need the model (writing an
# item, judging a short answer) the backend itself lets one generation run at a time.
QUIZ = "quiz"
FONTS = ["ui-sans-serif", "system-ui", "sans-serif"]  # no web fonts: the app works offline


# --- the app ---------------------------------------------------------------------------------------


def create_app(study: Study | None = None, tutor_factory: Callable[[], Any] | None = None) -> gr.Blocks:
    """The Blocks of the study app; nothing is served until ``launch``."""
    if study is None:
        if tutor_factory is None:
            raise ValueError("give a Study or a tutor_factory")
        study = Study(tutor_factory)
    s = study

    with gr.Blocks(title="tutor: study your notes") as demo:
        status = gr.Markdown(elem_id="status")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="Chat with your notes", elem_id="chatbot", height=480,
                                             feedback_options=None, sanitize_html=True, buttons=["copy"])
                        question = gr.Textbox(placeholder="Ask about your notes, e.g. DS vs MLE?", show_label=False,
                                              elem_id="question", submit_btn=True)
                        with gr.Row():
                            retry = gr.Button("Retry", elem_id="retry", size="sm")
                            clear = gr.Button("Clear chat", elem_id="clear", size="sm")
                    with gr.Column(scale=2):
                        gr.Markdown("**Sources of the last answer**")
                        sources = gr.HTML(sources_html(None), elem_id="sources")
                turns = gr.State([])

            with gr.Tab("Quiz", id="quiz"):
                with gr.Row():
                    section = gr.Dropdown([ANY], value=ANY, label="Section", allow_custom_value=True,
                                          elem_id="quiz-section")
                    kind = gr.Dropdown([ANY, *KINDS], value=ANY, label="Kind", elem_id="quiz-kind")
                    due = gr.Checkbox(label="Only what is due", elem_id="quiz-due")
                    next_btn = gr.Button("Next question", variant="primary", elem_id="quiz-next")
                item_md = gr.Markdown("Press **Next question** to start.", elem_id="quiz-question")
                options = gr.Radio([], label="Your choice", visible=False, elem_id="quiz-options")
                written = gr.Textbox(label="Your answer", lines=3, visible=False, elem_id="quiz-answer")
                with gr.Row():
                    hint_btn = gr.Button("Hint", elem_id="quiz-hint")
                    grade_btn = gr.Button("Check my answer", variant="primary", elem_id="quiz-grade-btn")
                hint_md = gr.Markdown(elem_id="quiz-hint-text")
                grade_md = gr.Markdown(elem_id="quiz-grade")
                quiz_state = gr.State(new_quiz_state())

            with gr.Tab("Progress", id="progress") as progress_tab:
                plot = gr.BarPlot(x="section", y="mastery %", y_lim=[0, 100], x_label_angle=-30,
                                  title="Mastery per section", elem_id="mastery-plot", height=360)
                progress_md = gr.Markdown(elem_id="progress-summary")
                refresh = gr.Button("Refresh", size="sm")

            with gr.Tab("Notes", id="notes") as notes_tab:
                notes_md = gr.Markdown(elem_id="notes-status")
                with gr.Row():
                    with gr.Column():
                        upload = gr.File(label=f"Upload notes ({', '.join(NOTE_SUFFIXES)})", file_count="multiple",
                                         file_types=list(NOTE_SUFFIXES), elem_id="upload")
                    with gr.Column():
                        note_name = gr.Textbox(label="New note: file name", placeholder="week-3.md",
                                               elem_id="note-name")
                        note_text = gr.Textbox(label="New note: text (Markdown)", lines=5, elem_id="note-text")
                with gr.Row():
                    add_btn = gr.Button("Save and re-index", variant="primary", elem_id="add-notes")
                    reindex_btn = gr.Button("Re-index everything", elem_id="reindex")
                add_md = gr.Markdown(elem_id="add-result")
                gr.Markdown("**Search** (what retrieval finds for a query, best first)")
                with gr.Row():
                    query = gr.Textbox(show_label=False, placeholder="e.g. ethical risks", elem_id="search", scale=4)
                    k = gr.Slider(1, 20, value=5, step=1, label="passages", scale=1)
                hits_html = gr.HTML(elem_id="search-results")

        # --- events (UI) ---
        def on_load() -> tuple[str, Any, str]:
            try:
                sections = s.sections()
            except Exception:  # noqa: BLE001
                sections = []
            return s.status_markdown(), gr.update(choices=[ANY, *sections]), notes_view(s)

        demo.load(on_load, None, [status, section, notes_md], api_visibility="private")

        def send(message: str, chat: list, t: list) -> Iterator[tuple]:
            yield from chat_stream(s, message, chat, t)

        def again(chat: list, t: list) -> Iterator[tuple]:
            yield from retry_stream(s, chat, t)

        chat_out = [chatbot, turns, sources, question]
        question.submit(send, [question, chatbot, turns], chat_out, concurrency_id=MODEL,
                        api_visibility="undocumented", api_name="ui_chat")
        retry.click(again, [chatbot, turns], chat_out, concurrency_id=MODEL, api_visibility="undocumented",
                    api_name="ui_retry")
        clear.click(lambda: ([], [], sources_html(None), ""), None, chat_out, api_visibility="private", queue=False)

        quiz_out = [item_md, options, written, hint_md, grade_md, quiz_state]
        next_btn.click(lambda sec, kd, d, st: quiz_next(s, sec, kd, d, st), [section, kind, due, quiz_state],
                       quiz_out, concurrency_id=QUIZ, api_visibility="undocumented", api_name="ui_quiz_next")
        hint_btn.click(lambda st: quiz_hint(s, st), [quiz_state], [hint_md, quiz_state], api_visibility="private")
        grade_args: dict[str, Any] = dict(fn=lambda c, w, st: quiz_grade(s, c, w, st),
                                          inputs=[options, written, quiz_state], outputs=[grade_md, quiz_state],
                                          concurrency_id=QUIZ)
        grade_btn.click(**grade_args, api_visibility="undocumented", api_name="ui_quiz_grade")
        written.submit(**grade_args, api_visibility="private")

        progress_tab.select(lambda: progress_view(s), None, [plot, progress_md], api_visibility="private")
        refresh.click(lambda: progress_view(s), None, [plot, progress_md], api_visibility="private")
        notes_tab.select(lambda: notes_view(s), None, notes_md, api_visibility="private")

        def add(files: list | None, name: str, text: str, progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
            return add_notes_view(s, files, name, text, progress)

        def reindex_all(progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
            return add_notes_view(s, None, "", "", progress)

        add_btn.click(add, [upload, note_name, note_text], [add_md, notes_md], concurrency_id=MODEL,
                      api_visibility="private")
        reindex_btn.click(reindex_all, None, [add_md, notes_md], concurrency_id=MODEL, api_visibility="private")
        query.submit(lambda q, n: search_view(s, q, n), [query, k], hits_html, concurrency_limit=2,
                     api_visibility="private")

        # --- named JSON endpoints (gradio_client) ---
        def chat(question: str, history: list[list[str]] | None = None) -> dict:
            """Answer a question from the notes. history: earlier [question, answer] pairs, oldest first.
            Returns the answer as JSON (answer with [n] markers, citations, refused, nearest, backend, ...)
            plus notice: set when the language model was down and the extractive answer stands in."""
            try:
                answer, notice = s.chat(question, pairs(history or []))
            except Exception as exc:  # noqa: BLE001
                raise api_error(exc) from None
            return answer.to_dict() | {"notice": notice}

        def search(query: str, k: int = 5) -> dict:
            """The ranked passages for a query: rank, score, dense, keyword, source, section, lines, text."""
            try:
                return {"query": query, "hits": s.search(query, k)}
            except Exception as exc:  # noqa: BLE001
                raise api_error(exc) from None

        def quiz_next_api(section: str = "", kind: str = "", due: bool = False,
                          exclude: list[str] | None = None) -> dict:
            """The next quiz item (id, kind, section, question, options; no answer), or {} when there is none.
            exclude: ids already seen, so each call gives a new item."""
            try:
                item = s.quiz_next(section, kind, due, exclude or [])
            except Exception as exc:  # noqa: BLE001
                raise api_error(exc) from None
            return public_item(item) if item else {}

        def quiz_hint_api(item_id: str, level: int = 1) -> str:
            """Step 1-3 of the hint ladder for a served item (3 reveals the answer)."""
            try:
                return s.quiz_hint(item_id, level)
            except Exception as exc:  # noqa: BLE001
                raise api_error(exc) from None

        def quiz_grade_api(item_id: str, answer: str, hints_used: int = 0) -> dict:
            """Grade and record an answer: score, correct, points (hit, teaching passage), the item with its
            answer, and the next review time."""
            try:
                item, grade, state = s.quiz_grade(item_id, answer, hints_used)
            except Exception as exc:  # noqa: BLE001
                raise api_error(exc) from None
            return grade.to_dict() | {"correct": grade.correct, "item": item.to_dict(),
                                      "next_review": state.due.isoformat()}

        def progress() -> dict:
            """Mastery per section, due count, attempts, streak and never-practised sections."""
            try:
                return s.progress_report().to_dict()
            except Exception as exc:  # noqa: BLE001
                raise api_error(exc) from None

        def status_api() -> dict:
            """The backend answering (and why the language model is down, if it is)."""
            name, problem = s.backend()
            return {"backend": name, "problem": problem}

        gr.api(chat, api_name="chat", concurrency_id=MODEL)
        gr.api(search, api_name="search", concurrency_limit=2)
        gr.api(quiz_next_api, api_name="quiz_next", concurrency_id=QUIZ)
        gr.api(quiz_hint_api, api_name="quiz_hint", concurrency_limit=4)
        gr.api(quiz_grade_api, api_name="quiz_grade", concurrency_id=QUIZ)
        gr.api(progress, api_name="progress", concurrency_limit=2)
        gr.api(status_api, api_name="status", concurrency_limit=4)

    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    return demo


def is_loopback(host: str) -> bool:
    """
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    """
    >>> parse_auth("ann:s3cret:x"), parse_auth(None)
    (('ann', 's3cret:x'), None)
    """
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise TutorError("--auth must be user:password", fix="e.g. --auth ann:a-long-passphrase", exit_code=2)
    return user, password


def launch_options(host: str, port: int, auth: str | None) -> dict[str, Any]:
    """``Blocks.launch`` arguments: loopback unless asked; a login required off loopback; never a share link."""
    credentials = parse_auth(auth)
    if not is_loopback(host) and credentials is None:
        raise TutorError(f"binding {host} makes the tutor reachable from other machines, so it needs a login",
                         fix="add --auth user:password (or set TUTOR_UI_AUTH), or bind 127.0.0.1", exit_code=2)
    if not 1 <= port <= 65535:
        raise TutorError(f"--port must be between 1 and 65535, not {port}", exit_code=2)
    return {"server_name": host, "server_port": port, "auth": credentials, "share": False, "inbrowser": False,
            "show_error": False, "ssr_mode": False, "quiet": True, "css": CSS,
            "theme": gr.themes.Default(font=FONTS, font_mono=["ui-monospace", "monospace"])}


def launch(study: Study, host: str = "127.0.0.1", port: int = 7860, auth: str | None = None,
           block: bool = True) -> gr.Blocks:
    options = launch_options(host, port, auth)
    demo = create_app(study)
    try:
        demo.launch(prevent_thread_lock=not block, **options)
    except OSError as exc:
        raise TutorError(f"cannot serve on {host}:{port} ({exc})", fix="choose another --port") from None
    return demo
