"""Integration: quiz items written by the real embedded LLM, graded with the real MiniLM, the CLI in a subprocess.

The generation test prints the measured first-try validity rate and seconds per item (run with -s to
see them); TUTOR_TEST_THREADS sets llama.cpp's threads (default: all cores).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NOTES, need
from tutor.grading import grade
from tutor.pipeline import Tutor
from tutor.quiz import LLM_KINDS, GenerationStats, build, generate
from tutor.records import Citation
from tutor.session import _spread
from tutor.validation import Validator

pytestmark = pytest.mark.integration
NOTE_LINES = NOTES.read_text().splitlines()


def quoted_from_the_notes(citation) -> bool:  # type: ignore[no-untyped-def]
    first, last = citation.lines
    return citation.source == NOTES.name and "\n".join(NOTE_LINES[first - 1 : last]) == citation.text


@pytest.mark.llm
def test_the_embedded_model_writes_valid_items_across_kinds(llm_tutor: Tutor, tmp_path: Path) -> None:
    threads = int(os.environ.get("TUTOR_TEST_THREADS", "0"))
    model = llm_tutor.model
    if threads:
        from tutor.llm.llamacpp import LlamaCppModel

        model = LlamaCppModel(model.path, model.name, model.n_ctx, threads)  # type: ignore[union-attr]
    chunks = [c for c in _spread(sorted(llm_tutor.retriever.chunks, key=lambda c: c.start)) if len(c.text) >= 100]
    slots = [(c, LLM_KINDS[i % 3]) for i, c in enumerate(chunks[:14])]
    by_hash = {c.content_hash: c for c in llm_tutor.retriever.chunks}
    validator = Validator(by_hash, embedder=llm_tutor.embedder)
    stats = GenerationStats()
    items = []
    for chunk, kind in slots:
        item = generate(chunk, kind, model, validator.problems, stats)  # type: ignore[arg-type]
        print(f"{kind:>5} {'ok' if item else 'skipped':<7} first-try {stats.first_try}/{stats.tried} "
              f"replies {stats.replies} {stats.seconds:7.1f}s  {chunk.section}", flush=True)
        if item is not None:
            validator.accept(item)
            items.append(item)
    per_item = stats.seconds / stats.tried
    summary = {"slots": stats.tried, "valid": stats.valid, "first_try": stats.first_try,
               "first_try_rate": round(stats.first_try_rate, 3), "replies": stats.replies,
               "seconds_per_slot": round(per_item, 1), "problems": stats.problems,
               "items": [i.to_dict() | {"citations": len(i.citations)} for i in items]}
    print("\nquiz generation on the embedded model:", json.dumps(summary, indent=1))
    assert len(items) >= 10, summary
    assert {i.kind for i in items} == set(LLM_KINDS)
    fresh = Validator(by_hash, embedder=llm_tutor.embedder)
    for item in items:
        assert fresh.problems(item) == [], item
        fresh.accept(item)
        assert item.citations and all(quoted_from_the_notes(c) for c in item.citations)


def test_grading_with_minilm_hits_paraphrases_and_misses_opposites(real_tutor: Tutor) -> None:
    chunk = next(c for c in real_tutor.retriever.chunks if c.section.endswith("> Supervised Learning"))
    item = build("short", {"question": "What are the advantage and the disadvantage of supervised recommenders?",
                           "key_points": ["Higher accuracy", "Computationally expensive at scale"]}, chunk, "t")
    assert Validator({chunk.content_hash: chunk}).problems(item) == []
    full = grade(item, "It gives higher accuracy, but it is computationally expensive at scale.",
                 embedder=real_tutor.embedder)
    assert full.score == 1.0
    opposite = grade(item, "It has lower accuracy.", embedder=real_tutor.embedder)
    assert opposite.score == 0.0 and opposite.missed[1].teaching.lines == chunk.lines  # type: ignore[union-attr]
    off_topic = grade(item, "I had pasta for lunch.", embedder=real_tutor.embedder)
    assert off_topic.score == 0.0


def test_cli_quiz_session_then_progress_after_a_restart(real_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "TUTOR_CORPUS": str(real_settings.corpus), "TUTOR_INDEX": str(real_settings.index),
           "TUTOR_DATA_DIR": str(tmp_path / "data"), "TUTOR_BACKEND": "extractive", "NO_COLOR": "1"}

    def tutor(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tutor.cli", *args], input=stdin, env=env, text=True,
                              capture_output=True, timeout=600)

    done = tutor("quiz", "--kind", "contrast", "--section", "roles", "-n", "3", stdin="/hint\nA\nB\n/hint\n/hint\nA\n")
    assert done.returncode == 0, done.stderr
    assert "Q1 · contrast drill" in done.stdout and "Look in your notes under" in done.stdout
    assert "Source: ml-process-summary.md › Professional Roles in ML" in done.stdout
    assert "3 answered" in done.stdout
    report = tutor("progress", "--json")
    data = json.loads(report.stdout)
    assert data["attempts"] == 3 and data["items"] == 3 and data["streak"] == 1
    roles = next(s for s in data["sections"] if s["section"] == "Professional Roles in ML")
    assert roles["attempts"] == 3 and roles["practised"] == 1
    assert "Professional Roles in ML > Data Scientist vs. Machine Learning Engineer (MLE)" not in data["gaps"]
    items = tutor("quiz", "--json", "--kind", "contrast", "-n", "2")
    lines = [json.loads(line) for line in items.stdout.splitlines()]
    assert len(lines) == 2 and all(set(x) >= {"kind", "question", "options", "answer_index", "citations"}
                                   for x in lines)
    assert all(quoted_from_the_notes(Citation(c["n"], c["source"], c["section"], tuple(c["lines"]), c["text"]))
               for x in lines for c in x["citations"])


DEV_CORPUS = Path(__file__).resolve().parent.parent / "evals" / "corpus-dev"  # other people's notes, in the repo


@pytest.mark.llm
@pytest.mark.parametrize("notes", ["home", "dev"])
def test_the_embedded_model_writes_items_from_the_notes_own_siblings(notes: str, llm_tutor: Tutor,
                                                                     tmp_path: Path) -> None:
    """Bounded (3 items a corpus): the home notes, and other people's notes (a slice of evals/corpus-dev)."""
    from dataclasses import replace

    from tutor.bank import Bank
    from tutor.evals.quiz import gives_away
    from tutor.reviews import Reviews
    from tutor.session import QuizSession
    from tutor.siblings import clean_line
    from tutor.validation import same_option

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    if notes == "home":
        (corpus / NOTES.name).write_text(NOTES.read_text())
    else:
        need(DEV_CORPUS.is_dir(), f"{DEV_CORPUS} not found")
        for name in ("mlsdp-serving-batch-pattern.md", "mlsdp-serving-synchronous-pattern.md",
                     "mlsdp-serving-asynchronous-pattern.md", "mlsdp-serving-prediction-cache-pattern.md",
                     "dlai-3-structuring-machine-learning-projects.md"):
            (corpus / name).write_text((DEV_CORPUS / name).read_text())
    settings = replace(llm_tutor.settings, corpus=corpus, index=tmp_path / "index")
    tutor = Tutor(settings, embedder=llm_tutor.embedder, model=llm_tutor.model, progress=False)
    with Reviews(tmp_path / "progress.sqlite3") as reviews:
        session = QuizSession(tutor, reviews, Bank(tmp_path / "bank.json"))
        items = list(session.items(kind="mcq", n=2)) + list(session.items(kind="card", n=1))
        chunks = {c.content_hash: c for c in session.chunks()}
    print(f"\n{notes}: {json.dumps([i.to_dict() for i in items], ensure_ascii=False, indent=1)}\n"
          f"stats: tried {session.stats.tried} first-try {session.stats.first_try} built {session.stats.built} "
          f"rejected {session.stats.rejected} {session.stats.seconds:.0f}s", flush=True)
    assert len(items) == 3 and [i.kind for i in items] == ["mcq", "mcq", "card"]
    fresh = Validator(chunks, embedder=tutor.embedder)  # as the session checks what the model wrote
    for item in items:
        assert fresh.problems(item) == [], item
        assert not gives_away(item.to_dict() | {"extra": item.extra}), item
        for c in item.citations:
            lines = (corpus / c.source).read_text().splitlines()
            assert "\n".join(lines[c.lines[0] - 1 : c.lines[1]]) == c.text
    for item in items[:2]:  # every wrong option is one of the notes' own siblings or list entries
        wrong = [o for k, o in enumerate(item.options) if k != item.answer_index]
        siblings = item.extra.get("siblings", "").split("\n")
        listed = [clean_line(x) for c in item.citations for x in c.text.splitlines()]
        assert all(any(same_option(o, s) for s in siblings + listed) for o in wrong), item
