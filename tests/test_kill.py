"""Integration: a real ingest (real MiniLM, real Chroma, a real process) killed with SIGKILL at many
points leaves the previous index fully usable; the next ingest finishes the job."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import NOTES
from tutor.catalog import load_catalog
from tutor.generations import current
from tutor.retrieval import Retriever
from tutor.store import ChromaStore, LocalStore

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parent.parent


def more_notes(corpus: Path, copies: int) -> None:
    """Notes of the same shape as the real ones, with other words: real work for the embedder."""
    text = NOTES.read_text()
    for n in range(1, copies + 1):
        renamed = re.sub(r"^(#+ .*)$", lambda m, n=n: f"{m.group(1)} (course {n})", text, flags=re.M)
        (corpus / f"course-{n}.md").write_text(renamed.replace("ML", f"ML{n}"))


def check_usable(index: Path, minilm, expect_folder: Path | None = None) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """The live generation is complete and consistent, and searching it works."""
    catalog = load_catalog(index)
    assert catalog is not None and catalog.folder is not None
    if expect_folder is not None:
        assert catalog.folder == expect_folder
    chroma = ChromaStore(catalog.folder / "chroma")
    try:
        assert chroma.count() == len(catalog.chunks)
    finally:
        chroma.close()
    store = LocalStore(catalog.folder)
    assert store.count() == len(catalog.chunks)
    hits = Retriever(list(catalog.chunks.values()), store, minilm, catalog.abbreviations).search("DS vs MLE?", k=3)
    assert hits and "Data Scientist" in " ".join(h.chunk.text for h in hits)
    return catalog.folder.name, [h.chunk.id for h in hits]


def survivors(index: Path, grace: float = 5.0) -> list[int]:
    """Processes still running with this index in their environment (workers of a killed ingest)."""
    marker = f"TUTOR_INDEX={index}".encode()
    deadline = time.monotonic() + grace
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    if marker in (entry / "environ").read_bytes().split(b"\0"):
                        found.append(int(entry.name))
                except OSError:
                    continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def start_ingest(corpus: Path, index: Path, data: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TUTOR_CORPUS": str(corpus), "TUTOR_INDEX": str(index), "TUTOR_DATA_DIR": str(data),
           "HF_HUB_OFFLINE": "1"}
    with open(data.parent / "ingest.err", "ab") as err:
        return subprocess.Popen([sys.executable, "-m", "tutor.cli", "ingest", "-q"], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)


def test_sigkill_at_any_point_of_a_real_ingest_leaves_the_previous_index_usable(tmp_path: Path, minilm) -> None:  # type: ignore[no-untyped-def]
    corpus, index, data = tmp_path / "corpus", tmp_path / "index", tmp_path / "data"
    corpus.mkdir()
    (corpus / NOTES.name).write_text(NOTES.read_text())
    first = start_ingest(corpus, index, data)
    assert first.wait(timeout=300) == 0, (tmp_path / "ingest.err").read_text()
    live = current(index)
    assert live is not None
    baseline = check_usable(index, minilm, live)

    more_notes(corpus, 8)  # ~250 more chunks to embed and write
    outcomes = []
    # Kill points: as soon as the draft generation appears, then spread over the ingest, then the
    # instant the switch happens (the publish and prune steps).
    for delay in ("draft", 0.5, 1.5, 3.0, 5.0, 8.0, 12.0, "switch"):
        proc = start_ingest(corpus, index, data)
        started = time.monotonic()
        if delay == "draft":
            while not any(p.name.endswith(".building") for p in index.iterdir()) and proc.poll() is None:
                time.sleep(0.005)
        elif delay == "switch":
            while current(index) == live and proc.poll() is None:
                time.sleep(0.002)
        else:
            while time.monotonic() - started < float(delay) and proc.poll() is None:
                time.sleep(0.01)
        finished = proc.poll() is not None
        assert not finished or proc.returncode == 0, (tmp_path / "ingest.err").read_text()[-2000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        now = current(index)
        if now == live:
            assert check_usable(index, minilm, live) == baseline, f"killed at {delay}: the old index changed"
        else:  # killed after the switch: the new generation is the live one and it is complete
            assert now is not None
            check_usable(index, minilm, now)
            live, baseline = now, check_usable(index, minilm, now)
        outcomes.append((delay, "finished first" if finished else "killed", now.name if now else None))
    print("\nkill points:", outcomes)
    assert sum(1 for _, what, _ in outcomes if what == "killed") >= 5, outcomes

    assert not survivors(index), "a killed ingest left worker processes behind"
    last = start_ingest(corpus, index, data)
    assert last.wait(timeout=600) == 0, (tmp_path / "ingest.err").read_text()
    catalog = load_catalog(index)
    assert catalog is not None and len(catalog.files) == 9
    check_usable(index, minilm)
    assert not [p for p in index.iterdir() if p.name.endswith(".building")]


def test_sigkill_mid_quiz_loses_no_graded_attempt(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / NOTES.name).write_text(NOTES.read_text())
    env = {**os.environ, "TUTOR_CORPUS": str(corpus), "TUTOR_INDEX": str(tmp_path / "index"),
           "TUTOR_DATA_DIR": str(tmp_path / "data"), "TUTOR_BACKEND": "extractive", "HF_HUB_OFFLINE": "1",
           "PYTHONUNBUFFERED": "1"}
    quiz = subprocess.Popen([sys.executable, "-m", "tutor.cli", "quiz", "-n", "5"], cwd=REPO, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert quiz.stdin is not None and quiz.stdout is not None
    seen = b""
    for answer in (b"A\n", b"B\n"):
        quiz.stdin.write(answer)
        quiz.stdin.flush()
        while seen.count(b"Recorded as") < (1 if answer == b"A\n" else 2):
            piece = quiz.stdout.read1(4096)
            assert piece, f"the quiz ended early: {seen.decode()}"
            seen += piece
    quiz.send_signal(signal.SIGKILL)  # mid-session: the third question is waiting for its answer
    quiz.wait(timeout=30)
    quiz.stdin.close()
    quiz.stdout.close()
    progress = subprocess.run([sys.executable, "-m", "tutor.cli", "progress", "--json"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
    assert progress.returncode == 0, progress.stderr
    assert json.loads(progress.stdout)["attempts"] == 2
