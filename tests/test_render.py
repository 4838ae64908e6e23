"""The pure renderers: records into the page's HTML/Markdown (``ui.render``) and the terminal's lines
(``tutor.render``), on hand-made records: no tutor, no model, no Gradio."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tutor.doctor import Check
from tutor.errors import TutorError
from tutor.grading import Grade, PointResult
from tutor.ingest import IngestReport
from tutor.quiz import QuizItem
from tutor.records import Answer, Citation, Notice, TextDelta, Timings
from tutor.render import (
    Console,
    print_answer_footer,
    print_answer_stream,
    print_checks,
    print_hits,
    print_page_status,
    when,
)
from tutor.reviews import ProgressReport, SectionMastery
from ui import render
from ui.core import NotesFolder

EVIL = "<script>alert(1)</script>"
ROLES = Citation(1, "notes.md", "Roles > DS vs MLE", (170, 172), f"DS analyse; MLE build {EVIL}")
STEPS = Citation(2, "notes.md", "CRISP-DM > Steps", (10, 14), "1. Business understanding\n2. Data understanding")
SLIDE = Citation(3, "lecture-07.pdf", "Chapter 2", (1, 4), "Gradient descent", page=5)


def answer(**changes: Any) -> Answer:
    fields: dict[str, Any] = {"question": "DS vs MLE?", "answer": "DS analyse [1].\nMLE build & ship [2].",
                              "citations": (ROLES, STEPS), "refused": False, "backend": "scripted:test",
                              "timings": Timings(35.2, 2600.0, 4100.0)}
    return Answer(**(fields | changes))


def console() -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(out, err), out, err


# --- ui.render: answers --------------------------------------------------------------------------------


def test_answer_html_links_each_marker_to_its_passage_and_escapes_notes_and_model_text() -> None:
    page = render.answer_html(answer(answer=f"DS analyse {EVIL} [1].\nMLE build [2]."))
    assert '<a class="marker" href="#cite-1">[1]</a>' in page and '<a class="marker" href="#cite-2">[2]</a>' in page
    assert "<script>" not in page and "&lt;script&gt;" in page and "<br>" in page
    assert '<details class="citation" id="cite-2"><summary>[2] notes.md › CRISP-DM &gt; Steps · lines 10-14' in page
    assert "cut off" not in page and page.count("<details") == 2 and " open" not in page
    assert "<summary>[3] lecture-07.pdf › p. 5 › Chapter 2 · lines 1-4</summary>" in render.sources_html(
        answer(citations=(SLIDE,)))


def test_answer_html_of_a_cut_off_answer_and_of_one_citing_nothing() -> None:
    assert "(the answer was cut off; press Retry to ask again)" in render.answer_html(answer(incomplete=True))
    bare = render.answer_html(answer(answer="Nothing cited.", citations=()))
    assert bare == '<div class="answer">Nothing cited.</div>'


def test_a_refused_answer_says_not_in_your_notes_and_lists_the_nearest_sections() -> None:
    page = render.answer_html(answer(refused=True, citations=(), nearest=("A > B", "C <D>"),
                                     warnings=("the model said so",)))
    assert "Not in your notes." in page and render.NOT_COVERED_NOTICE in page
    assert "<li>A &gt; B</li><li>C &lt;D&gt;</li>" in page and "(the model said so)" in page
    assert 'class="answer"' not in page and "marker" not in page
    assert "Nearest sections" not in render.answer_html(answer(refused=True, citations=()))


def test_the_sources_panel_shows_the_last_answers_passages_open() -> None:
    assert "appear here" in render.sources_html(None)
    assert "appear here" in render.sources_html(answer(citations=()))
    panel = render.sources_html(answer())
    assert panel.count("<details") == 2 and panel.count(" open>") == 2 and "&lt;script&gt;" in panel


def test_notices_and_problems_are_escaped_and_an_unknown_failure_hides_its_message() -> None:
    assert render.notice_html("model <down>") == '<p class="notice">⚠️ model &lt;down&gt;</p>'
    assert render.writing_html("<p>n</p>", "a < b") == "<p>n</p>a &lt; b"
    known = render.problem_html(TutorError("no index <here>", fix="run: tutor ingest"))
    assert "<strong>Problem:</strong> no index &lt;here&gt;<br><em>Fix:</em> run: tutor ingest" in known
    assert "Fix:" not in render.problem_html(TutorError("no fix"))
    unknown = render.problem_html(KeyError("secret internals"))
    assert "Something went wrong" in unknown and "(KeyError)" in unknown and "secret" not in unknown


# --- ui.render: search, quiz, progress, status -------------------------------------------------------


def hit(rank: int, text: str, dense: float | None, keyword: float | None) -> dict[str, Any]:
    return {"rank": rank, "score": 0.032522, "dense": dense, "keyword": keyword, "source": "notes.md",
            "section": "Ethics > Risks", "lines": [40, 47], "text": text}


def test_search_hits_show_rank_place_and_only_the_signals_they_have() -> None:
    assert render.hits_html([]) == "<p>No passages found.</p>"
    page = render.hits_html([hit(1, EVIL, 0.61234, None), hit(2, "bias", None, 1.5)])
    assert "1. notes.md › Ethics &gt; Risks · lines 40-47 · score 0.0325 · cosine 0.61</summary>" in page
    assert "2. notes.md › Ethics &gt; Risks · lines 40-47 · score 0.0325 · bm25 1.50</summary>" in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    slide = hit(1, "slide", 0.5, None) | {"source": "lecture-07.pdf", "section": "lecture-07", "page": 2}
    deck = render.hits_html([slide])
    assert "1. lecture-07.pdf › p. 2 · lines 40-47 · score" in deck


MCQ = QuizItem("q1", "mcq", "Which step takes longest?", ("Modeling", "Data preparation", "Evaluation", "Deployment"),
               answer_index=1, citations=(STEPS,), section="CRISP-DM > Steps")
SHORT = QuizItem("q2", "short", "Advantage and disadvantage?", key_points=("accuracy", "cost"), citations=(ROLES,),
                 section="Recommenders")


def test_quiz_items_show_kind_last_heading_and_lettered_options() -> None:
    assert render.item_markdown(MCQ, 3) == ("**Q3 · multiple choice · Steps**\n\nWhich step takes longest?\n\n"
                                            "- **A)** Modeling\n- **B)** Data preparation\n- **C)** Evaluation\n"
                                            "- **D)** Deployment")
    assert render.item_markdown(SHORT, 1) == "**Q1 · short answer · Recommenders**\n\nAdvantage and disadvantage?"
    assert "Untick *due*" in render.no_item_markdown(True) and "another section" in render.no_item_markdown(False)


def test_the_last_hint_says_it_reveals_the_answer() -> None:
    assert render.hint_markdown(1, "Look in your notes") == "**Hint 1 of 3:** Look in your notes"
    assert render.hint_markdown(3, "B").endswith("(the answer: what you type now is recorded as not known)")


def test_grade_feedback_for_a_wrong_choice_names_the_letter_and_the_next_review() -> None:
    grade = Grade("q1", "mcq", 0.0, (PointResult("Data preparation", False, teaching=STEPS),), hints_used=1)
    due = SimpleNamespace(due=datetime.now(UTC) + timedelta(days=3, hours=1))
    text = render.grade_markdown(MCQ, grade, due)  # type: ignore[arg-type]
    assert text.startswith("### ✗ Not quite: the answer is B) Data preparation")
    assert "**Read again:**\n\n*notes.md › CRISP-DM > Steps (lines 10-14)*\n\n> 1. Business understanding\n> 2." in text
    assert text.endswith("Recorded as again · 1 hint used · next review in 3 days")
    right = Grade("q1", "mcq", 1.0, (PointResult("Data preparation", True),))
    source = "*Source: notes.md › CRISP-DM > Steps (lines 10-14)*"
    assert render.grade_markdown(MCQ, right, None) == f"### ✓ Correct\n\n{source}"


def test_grade_feedback_for_written_answers_lists_points_and_quotes_each_teaching_passage_once() -> None:
    points = (PointResult("accuracy", True), PointResult("cost", False, teaching=ROLES),
              PointResult("scale", False, teaching=ROLES))
    text = render.grade_markdown(SHORT, Grade("q2", "short", 1 / 3, points, hints_used=2, note="typo forgiven"), None)
    assert text.startswith("### ✗ Score 33%: 1 of 3 key points\n- ✓ hit: accuracy\n- ✗ missed: cost\n- ✗ missed: scale")
    assert "\n(typo forgiven)" in text and text.count("*notes.md › Roles > DS vs MLE (lines 170-172)*") == 1
    half = render.grade_markdown(SHORT, Grade("q2", "short", 0.5, points[:2]), None)
    assert half.startswith("### ~ Score 50%")


def report(**changes: Any) -> ProgressReport:
    sections = (SectionMastery("A" * 50, 4, 2, 3, 5, 0.456, 2), SectionMastery("Basics", 2, 0, 0, 0, None, 0))
    fields: dict[str, Any] = {"sections": sections, "due": 2, "attempts": 5, "items": 3, "streak": 1,
                              "gaps": ("Basics",), "last_practice": "2026-11-30"}
    return ProgressReport(**(fields | changes))


def test_progress_rows_and_summary() -> None:
    rows = render.mastery_rows(report())
    assert rows == [{"section": "A" * 40, "mastery %": 45.6, "due": 2},
                    {"section": "Basics", "mastery %": 0.0, "due": 0}]
    text = render.progress_markdown(report())
    assert text.startswith("**Due now:** 2 · **items practised:** 3 · **attempts:** 5 · **streak:** 1 day\n")
    assert f"**Due per section:** {'A' * 50} (2)" in text and "**Never practised (1 sections):**\n- Basics" in text
    assert "No attempts yet" not in text
    empty = render.progress_markdown(report(sections=(), due=0, attempts=0, items=0, streak=0, gaps=()))
    assert "**streak:** 0 days" in empty and "Due per section" not in empty and "No attempts yet" in empty


def test_status_notes_and_ingest_summaries() -> None:
    assert render.status_markdown("llamacpp:qwen", "", "") == "**Backend:** `llamacpp:qwen`"
    down = render.status_markdown("extractive", "Ollama is down", "no notes yet")
    assert "(no language model: answers are the cited passages themselves)" in down
    assert "  \n⚠️ The language model is not available: Ollama is down  \n⚠️ Your notes cannot" in down
    corpus, index = Path("/n/corpus"), Path("/n/index")
    assert "No notes folder at `/n/corpus` yet" in render.notes_markdown(NotesFolder(corpus, index, None, None, ()))
    fresh = render.notes_markdown(NotesFolder(corpus, index, (("a.md", 1234567),), None, ()))
    assert "**not built yet**" in fresh and fresh.endswith("- `a.md` (1,234,567 bytes)")
    stale = render.notes_markdown(NotesFolder(corpus, index, (("a.md", 1), ("b/c.md", 2)), 31, ("a.md",)))
    assert "Index: **31 chunks** from 2 file(s); **out of date** for: a.md" in stale
    assert "; up to date." in render.notes_markdown(NotesFolder(corpus, index, (("a.md", 1),), 31, ()))
    done = render.ingest_markdown(IngestReport(added=["a.md"], chunks=3, embedded=3, warnings=["skipped x.bin"]))
    assert done.startswith("Indexed 3 chunks (1 added") and done.endswith("\n- warning: skipped x.bin")


# --- tutor.render: the terminal ----------------------------------------------------------------------


def test_a_notice_after_streamed_text_starts_what_follows_on_a_new_line() -> None:
    c, out, err = console()
    final = answer()
    events = [TextDelta("1"), Notice("asking again"), TextDelta("DS analyse [1]."), final]
    assert print_answer_stream(events, c) is final
    assert out.getvalue() == "1\nDS analyse [1]." and err.getvalue() == "warning: asking again\n"


def test_an_answer_streams_to_stdout_notices_to_stderr_then_its_footer() -> None:
    c, out, err = console()
    final = answer(removed_markers=(7,), unsupported=("A claim.",), warnings=("shortened",))
    assert print_answer_stream([Notice("model down"), TextDelta("DS "), TextDelta("analyse [1]."), final], c) is final
    print_answer_footer(final, c)
    sources = "Sources:\n  [1] notes.md › Roles > DS vs MLE (lines 170-172)\n  [2] notes.md › CRISP-DM > Steps"
    assert out.getvalue().startswith(f"DS analyse [1].\n\n{sources}")
    assert out.getvalue().endswith("(scripted:test · retrieval 35 ms · first token 2.6s · total 4.1s)\n")
    assert err.getvalue() == ("warning: model down\nwarning: removed the marker [7]: it names no passage the answer "
                              "was given\nwarning: no citation supports: 'A claim.'\nwarning: shortened\n")


def test_a_withheld_draft_is_followed_by_the_refusal_on_its_own_line_and_the_reason() -> None:
    c, out, err = console()
    refused = answer(answer="Your notes don't cover this.", refused=True, citations=(), warnings=("withheld",))
    print_answer_footer(print_answer_stream([TextDelta("1"), refused], c), c)
    assert out.getvalue().startswith("1\nYour notes don't cover this.\n") and err.getvalue() == "warning: withheld\n"


def test_a_refused_answer_in_the_terminal_lists_the_nearest_sections() -> None:
    c, out, _ = console()
    refused = answer(answer="Your notes don't cover this.", refused=True, citations=(), nearest=("A > B",))
    print_answer_footer(refused, c)
    assert out.getvalue() == ("Your notes don't cover this.\nNearest sections of your notes:\n  - A > B\n"
                              "(scripted:test)\n")


def test_terminal_hits_checks_and_page_status() -> None:
    c, out, err = console()
    print_hits([], c)
    print_hits([hit(1, "\n\n".join(f"line {i}" for i in range(8)), 0.5, 2.0)], c)  # blank lines left out
    assert out.getvalue() == ("No passages found.\n1. notes.md › Ethics > Risks (lines 40-47)  score 0.0325 · "
                              "cosine 0.50 · bm25 2.00\n" + "".join(f"   line {i}\n" for i in range(6)) + "   ...\n")
    c, out, _ = console()
    print_hits([hit(2, "x = 1", None, 1.0) | {"source": "week2.ipynb", "section": "Training", "cell": 4}], c)
    assert out.getvalue() == "2. week2.ipynb › cell 4 › Training (lines 40-47)  score 0.0325 · bm25 1.00\n   x = 1\n"
    c, out, _ = console()
    print_checks([Check("notes", True, "1 file"), Check("ollama", False, "down", "start it", required=False),
                  Check("index", False, "missing", "run: tutor ingest")], c)
    assert out.getvalue().splitlines() == ["ok   notes            1 file", "warn ollama           down",
                                           f"     {'':<16} fix: start it", "FAIL index            missing",
                                           f"     {'':<16} fix: run: tutor ingest"]
    c, _, err = console()
    print_page_status(render.status_markdown("extractive", "Ollama is down", ""), c)
    assert err.getvalue() == ("Backend: extractive (no language model: answers are the cited passages themselves)\n"
                              "warning: the language model is not available: Ollama is down "
                              "(the page shows this too)\n")


def test_due_dates_in_hours() -> None:
    t = datetime(2026, 11, 24, tzinfo=UTC)
    assert when(t + timedelta(hours=5, minutes=20), t) == "in 5 hours"
    assert when(t - timedelta(days=1), t) == "now"
