"""Every command in every odd starting state: one line with a fix, the right exit code, never a traceback.

The matrix runs in process with the hashed fake embedder, twice: on a fake store kept per index
generation as ``LocalStore`` keeps it (fast), and on the real local store, Chroma and the numpy
snapshot (marked ``integration``). A few real subprocess runs at the end show the real components
agree. ``tutor ui`` starts without serving: its ``launch`` is replaced by a function that reads what
each tab shows first, through the app's own handlers; a real ``tutor ui`` is started at the end.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import NOTES, REPO
from tests.fakes import FolderStore, HashEmbedder

FINE, FAILS = 0, 1  # the exit code expected: 0, or non-zero with one "error: ... (fix: ...)" line
COMMANDS = ("ask", "search", "chat", "ingest", "quiz", "progress", "eval", "doctor", "ui", "export")
ALL_FINE = dict.fromkeys(COMMANDS, FINE) | {"doctor": FINE}


class Place:
    """The folders of one run: notes, index, data; a state changes them before the command runs."""

    def __init__(self, root: Path, built: Path) -> None:
        self.root = root
        self.template = built  # notes and an index built from them once, copied by ``built``
        self.corpus = root / "corpus"
        self.index = root / "index"
        self.data = root / "data"
        self.progress_db: Path | None = None

    def env(self) -> dict[str, str]:
        env = {"TUTOR_CORPUS": str(self.corpus), "TUTOR_INDEX": str(self.index), "TUTOR_DATA_DIR": str(self.data)}
        if self.progress_db is not None:
            env["TUTOR_PROGRESS_DB"] = str(self.progress_db)
        return env

    def notes(self) -> None:
        self.corpus.mkdir(parents=True, exist_ok=True)
        shutil.copy(NOTES, self.corpus / NOTES.name)

    def built(self, run: Callable[..., tuple[int, str, str]]) -> Path:
        """Notes and their index (a copy of one built once: the same mtimes, so it is up to date); the live
        generation's folder."""
        shutil.copytree(self.template / "corpus", self.corpus, copy_function=shutil.copy2)
        shutil.copytree(self.template / "index", self.index, copy_function=shutil.copy2)
        return self.index / (self.index / "CURRENT").read_text().strip()


# --- the states: each prepares a Place (given a runner to build an index with) ---------------------


def fine(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    p.built(run)


def no_notes_yet(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    p.corpus.mkdir()


def notes_folder_is_a_file(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    p.corpus.write_text("my notes\n")


def notes_folder_missing(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    pass


def index_folder_missing(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    p.notes()


def index_uncreatable(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    p.notes()
    p.index = Path("/proc/tutor-index")  # a virtual file system: nothing can be made there, not even by root


def index_under_a_file(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    p.notes()
    (p.root / "a-file").write_text("")
    p.index = p.root / "a-file" / "index"


def index_from_an_older_version(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    catalog = p.built(run) / "catalog.json"
    catalog.write_text(json.dumps(json.loads(catalog.read_text()) | {"version": 1}))


def index_from_before_generations(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    p.notes()
    p.index.mkdir()
    (p.index / "catalog.json").write_text(json.dumps({"version": 1, "embedder": "x", "files": {}, "chunks": []}))
    (p.index / "chroma").mkdir()


def generation_without_vectors(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    live = p.built(run)  # what a team ingest (TUTOR_CHROMA_URL) used to leave in the local index
    for path in live.iterdir():
        if path.name != "catalog.json":
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def index_half_written(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    live = p.built(run)  # then an ingest killed while writing the next generation
    draft = p.index / "g000002.building"
    shutil.copytree(live, draft)
    (draft / "catalog.json").write_text('{"version": 2, "files": {')
    (draft / "vectors.npy").write_bytes(b"\x93NUMPY")
    (p.index / "CURRENT.tmp").write_text("g0000")
    (p.index / "ingest.lock").write_text("pid 999999, since 02:13:14\n")  # the dead writer's record


def first_ingest_killed(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    p.notes()  # the very first ingest was killed: a draft, a stale lock record, no CURRENT yet
    draft = p.index / "g000001.building"
    shutil.copytree(p.template / "corpus", draft / "notes-copy")
    (draft / "catalog.json").write_text('{"version": 2, "files": {')
    (p.index / "ingest.lock").write_text("pid 999999, since 02:13:14\n")


def index_pointer_damaged(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    p.built(run)
    (p.index / "CURRENT").write_text("g000042\n")


def data_folder_unwritable(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    p.built(run)
    (p.root / "a-file").write_text("")
    p.data = p.root / "a-file" / "data"  # as root can write anywhere, a path under a file stands in for it


def progress_database_damaged(p: Place, run) -> None:  # type: ignore[no-untyped-def]
    p.built(run)
    p.data.mkdir(exist_ok=True)
    (p.data / "progress.sqlite3").write_bytes(b"this is not a database" * 100)


NO_NOTES = dict.fromkeys(COMMANDS, FAILS) | {"ui": FINE}
BROKEN_INDEX = NO_NOTES
STATES: dict[Callable[..., None], dict[str, int]] = {
    fine: ALL_FINE,
    no_notes_yet: NO_NOTES | {"ingest": FINE, "progress": FINE},
    notes_folder_is_a_file: NO_NOTES,
    notes_folder_missing: NO_NOTES,
    index_folder_missing: ALL_FINE | {"doctor": FAILS},  # doctor: "no index yet" until something builds it
    index_uncreatable: BROKEN_INDEX,
    index_under_a_file: BROKEN_INDEX,
    index_from_an_older_version: ALL_FINE | {"doctor": FAILS},  # rebuilt by itself on first use
    index_from_before_generations: ALL_FINE | {"doctor": FAILS},  # rebuilt on first use, like no index
    generation_without_vectors: BROKEN_INDEX | {"ingest": FINE, "quiz": FINE, "progress": FINE, "export": FINE},
    index_half_written: ALL_FINE,
    first_ingest_killed: ALL_FINE | {"doctor": FAILS},  # doctor: "no index yet"
    index_pointer_damaged: BROKEN_INDEX,
    data_folder_unwritable: ALL_FINE | {"quiz": FAILS, "progress": FAILS, "export": FAILS},
    progress_database_damaged: ALL_FINE | {"quiz": FAILS, "progress": FAILS, "export": FAILS},
}


# --- running a command in process ------------------------------------------------------------------


def _fakes(monkeypatch: pytest.MonkeyPatch, store: str) -> None:
    from tutor import pipeline

    monkeypatch.setitem(pipeline.COMPONENTS, "embedder", lambda s: HashEmbedder())
    if store == "fake":
        monkeypatch.setitem(pipeline.COMPONENTS, "store", lambda s, folder: FolderStore(folder))
    monkeypatch.setenv("TUTOR_BACKEND", "extractive")


@pytest.fixture(scope="module", params=["fake", pytest.param("real", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> str:
    """The vector store under the matrix: a fake kept per generation folder, or the real ``LocalStore``."""
    return str(request.param)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, store: str) -> Path:
    """The notes and an index of them, built once per store for the matrix."""
    from tutor.cli import main

    root = tmp_path_factory.mktemp(f"built-{store}")
    (root / "corpus").mkdir()
    shutil.copy(NOTES, root / "corpus" / NOTES.name)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _fakes(monkeypatch, store)
        monkeypatch.setenv("TUTOR_DATA_DIR", str(root / "data"))
        err = io.StringIO()
        assert main(["ingest", "-q", "--corpus", str(root / "corpus"), "--index", str(root / "index")],
                    out=io.StringIO(), err=err) == 0, err.getvalue()
    return root


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path, store: str):  # type: ignore[no-untyped-def]
    """(run, place): ``run(*args, typed=...)`` runs ``tutor ARGS`` in process with the place's settings."""
    from tutor.cli import main

    _fakes(monkeypatch, store)
    monkeypatch.chdir(tmp_path)
    place = Place(tmp_path, template)

    def run(*args: str, typed: str = "") -> tuple[int, str, str]:
        for var, value in place.env().items():
            monkeypatch.setenv(var, value)
        monkeypatch.setattr("sys.stdin", io.StringIO(typed))
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    return run, place


def _dataset(folder: Path) -> Path:
    path = folder / "cases.yaml"
    path.write_text("cases:\n  - id: roles\n    kind: section\n    question: What does a data scientist do?\n"
                    "    sections: [Professional Roles in ML]\n    key_points: [analysis]\n")
    return path


def command_args(command: str, root: Path) -> tuple[list[str], str]:
    """The arguments and the typed input of one command, as a learner would run it."""
    if command in ("ask", "search"):
        return [command, "DS vs MLE?"], ""
    if command == "chat":
        return ["chat"], "DS vs MLE?\n/quit\n"
    if command == "quiz":
        return ["quiz", "--kind", "contrast", "-n", "1"], "/quit\n"
    if command == "export":  # the notes' contrast drills: no model needed, so the state alone decides
        return ["export", str(root / "cards.apkg"), "--kind", "contrast"], ""
    if command == "eval":
        return ["eval", "--only", "retrieval", "--no-baseline", "--dataset", str(_dataset(root)),
                "--report-dir", str(root / "reports")], ""
    if command == "ui":
        return ["ui", "--port", "7999"], ""
    return [command], ""


@pytest.fixture
def fake_ui(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``tutor ui`` builds the app but serves nothing; the pages' first contents are kept here."""
    import ui.app as app

    pages: dict[str, str] = {}

    def launch(study, host: str, port: int, auth: str | None) -> None:  # type: ignore[no-untyped-def]
        pages.update(ui_pages(study))  # the app itself is built and served by the subprocess test below

    monkeypatch.setattr(app, "launch", launch)
    return pages


def ui_pages(study) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """What each tab of the app shows first, through the app's own handler functions."""
    import ui.handlers as handlers

    chat = list(handlers.chat_stream(study, "DS vs MLE?", [], []))[-1][0][-1]["content"]
    return {
        "status": study.status_markdown(),
        "notes": handlers.notes_view(study),
        "chat": chat,
        "search": handlers.search_view(study, "DS vs MLE?", 3),
        "quiz": str(handlers.quiz_next(study, handlers.ANY, "contrast", False, handlers.new_quiz_state())[0]),
        "progress": str(handlers.progress_view(study)[1]),
    }


def fixes_in_the_page(pages: dict[str, str]) -> None:
    for tab, text in pages.items():
        assert "Traceback" not in text and "Something went wrong" not in text, (tab, text)
        if "Problem:" in text:
            assert "Fix:" in text, (tab, text)


def check(command: str, expected: int, code: int, out: str, err: str) -> None:
    """The contract of every command in every state."""
    shown = out + err
    assert "Traceback" not in shown and "failed unexpectedly" not in shown, shown
    if command == "doctor":  # a report of checks, each failure with its fix, not one error line
        assert (code == 0) == (expected == FINE), shown
        assert "see the message" not in out, out  # every failure is a known one, with a real fix
        if code:
            assert "FAIL" in out and "fix: " in out, out
        return
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    if expected == FINE:
        assert code == 0 and not errors, shown
    else:
        assert code != 0 and len(errors) == 1 and "(fix: " in errors[0], shown


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("state", list(STATES), ids=lambda f: f.__name__)
def test_every_command_in_every_starting_state(world, fake_ui, state, command: str,  # type: ignore[no-untyped-def]
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import tutor.doctor as doctor

    run, place = world
    # The doctor's model checks load real models (seconds, gigabytes); the states are about notes, index, data.
    monkeypatch.setattr(doctor, "check_embedding", lambda s: "fake embedder")
    monkeypatch.setattr(doctor, "check_embedded", lambda s: "fake model")
    state(place, run)
    args, typed = command_args(command, place.root)
    code, out, err = run(*args, typed=typed)
    check(command, STATES[state][command], code, out, err)
    if command == "doctor" and state in (data_folder_unwritable, progress_database_damaged):
        assert "warn progress" in out and "fix: " in out, out  # optional for questions, said all the same
    if command == "ui":
        assert set(fake_ui) == {"status", "notes", "chat", "search", "quiz", "progress"}
        fixes_in_the_page(fake_ui)
        if STATES[state]["ask"] == FAILS:  # what ask says on the command line, the page says as it opens
            assert "Problem:" in fake_ui["chat"] and "cannot be searched yet" in fake_ui["status"], fake_ui
            assert "(the page shows this too)" in err
    assert "Traceback" not in capsys.readouterr().err  # nothing printed one behind our back either



def test_the_matrix_has_every_command_of_the_cli() -> None:
    """A new command (``export``, say) fails here until it is added to the matrix above."""
    import argparse

    from tutor.cli import build_parser

    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(commands.choices) == set(COMMANDS)


# --- each reported crash, on its own --------------------------------------------------------------


def test_an_empty_notes_folder_is_a_valid_state(world) -> None:  # type: ignore[no-untyped-def]
    run, place = world
    place.corpus.mkdir()
    code, out, err = run("ingest")
    assert code == 0 and "Indexed 0 chunks" in out and f"No notes in {place.corpus} yet" in out
    assert "tutor ingest FILE" in out and not err
    code, _, err = run("search", "DS vs MLE?")
    assert code == 1 and err.strip().endswith(
        f"error: the notes folder {place.corpus} has no notes to search yet "
        "(fix: put notes there (.md, .txt, .pdf, .ipynb, .html), or copy one in with: tutor ingest FILE)")
    code, out, err = run("progress", "--json")
    assert code == 0 and json.loads(out)["attempts"] == 0 and json.loads(out)["sections"] == []
    code, out, err = run("progress")
    assert code == 0 and out.startswith("Nothing practised yet, and no notes to practise on") and not err
    code, _, err = run("quiz")
    assert code == 1 and "error: there is nothing to quiz on yet" in err
    (place.corpus / "week1.md").write_text("## Bias\nHigh bias underfits the data.\n")
    code, out, _ = run("search", "--json", "bias")  # the first note is picked up without asking
    assert code == 0 and json.loads(out)["hits"][0]["source"] == "week1.md"


def test_copying_a_note_into_a_notes_folder_that_is_a_file_says_so(world) -> None:  # type: ignore[no-untyped-def]
    run, place = world
    notes_folder_is_a_file(place, run)
    note = place.root / "week2.md"
    note.write_text("## Bias\nHigh bias underfits.\n")
    code, _, err = run("ingest", str(note))
    assert code == 1 and err == (f"error: the notes folder {place.corpus} is a file, not a folder (fix: point "
                                 "--corpus / TUTOR_CORPUS at the folder that holds your notes)\n")


@pytest.mark.parametrize("where", ["/proc/tutor-index", "a-file/index"])
def test_an_index_folder_that_cannot_be_made_is_one_line_with_the_fix(world, where: str) -> None:  # type: ignore[no-untyped-def]
    run, place = world
    place.notes()
    (place.root / "a-file").write_text("")
    place.index = place.root / where
    for command in (["ask", "DS vs MLE?"], ["search", "DS vs MLE?"], ["ingest"], ["quiz"], ["progress"]):
        code, out, err = run(*command)
        assert code == 1 and err.count("error: ") == 1, (command, err)
        assert f"error: cannot use {place.index} as the index folder" in err
        assert "(fix: set TUTOR_INDEX (or --index) to a folder you can write" in err


def test_a_generation_without_vectors_says_so_and_a_plain_ingest_rebuilds_it(world) -> None:  # type: ignore[no-untyped-def]
    run, place = world
    generation_without_vectors(place, run)
    code, _, err = run("search", "DS vs MLE?")
    assert code == 1 and "has no vectors of its own" in err and "(fix: run: tutor ingest --rebuild)" in err
    code, out, err = run("ingest")
    assert code == 0 and "no vectors of its own (g000001); rebuilding it" in err and "1 added" in out
    code, out, _ = run("search", "--json", "DS vs MLE?")
    assert code == 0 and json.loads(out)["hits"]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(f.relative_to(folder)): f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file()}


@pytest.mark.parametrize("command", [["ingest"], ["ask", "DS vs MLE?"]])
def test_an_index_from_an_older_version_is_rebuilt_by_itself(world, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    from tutor.catalog import CATALOG_VERSION, OLD_INDEX_NOTICE

    run, place = world
    old = place.built(run).name
    assert run("progress")[0] == 0  # the progress database exists: a rebuild must not touch the data folder
    data_before = _files(place.data)
    catalog = place.index / old / "catalog.json"
    catalog.write_text(json.dumps(json.loads(catalog.read_text()) | {"version": 1}))
    code, out, err = run(*command)
    assert code == 0 and err.count(OLD_INDEX_NOTICE) == 1 and "error" not in err, err
    assert "--rebuild" not in err and "Building the index" not in err and "Notes changed" not in err
    live = (place.index / "CURRENT").read_text().strip()
    assert live != old and json.loads((place.index / live / "catalog.json").read_text())["version"] == CATALOG_VERSION
    assert _files(place.data) == data_before
    code, out, err = run(*command)  # rebuilt once: the next run says nothing about it
    assert code == 0 and OLD_INDEX_NOTICE not in err and (place.index / "CURRENT").read_text().strip() == live
    code, out, _ = run("search", "--json", "DS vs MLE?")
    assert code == 0 and json.loads(out)["hits"][0]["source"] == NOTES.name


def test_a_rebuild_of_an_older_index_killed_midway_leaves_it_live(world, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import tutor.ingest

    run, place = world
    index_from_an_older_version(place, run)
    old = (place.index / "CURRENT").read_text().strip()
    old_catalog = (place.index / old / "catalog.json").read_text()

    def killed(folder: Path, catalog: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(tutor.ingest, "save_catalog", killed)
        code, _, err = run("ingest")  # Ctrl-C while the new generation is being written
        assert code == 130 and "Traceback" not in err, err
    assert (place.index / "CURRENT").read_text().strip() == old  # the old generation is still the live one
    assert (place.index / old / "catalog.json").read_text() == old_catalog
    code, out, err = run("ingest")  # and the next run rebuilds it
    assert code == 0 and "index from an older version" in err and "1 added" in out


def test_an_index_from_a_newer_version_is_left_alone_with_one_line(world) -> None:  # type: ignore[no-untyped-def]
    run, place = world
    catalog = place.built(run) / "catalog.json"
    catalog.write_text(json.dumps(json.loads(catalog.read_text()) | {"version": 99}))
    code, _, err = run("ingest")
    assert code == 1 and err.count("error: ") == 1 and "another version of tutor (format 99)" in err
    assert "(fix: run: tutor ingest --rebuild)" in err


# --- the last resort ------------------------------------------------------------------------------


def test_an_unexpected_error_goes_to_a_crash_file_and_one_line(world, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import tempfile

    from tutor.pipeline import Tutor

    run, place = world
    place.built(run)

    def broken(self, query: str, k: int | None = None) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug nobody foresaw\nsecond line")

    monkeypatch.setattr(Tutor, "search", broken)
    code, out, err = run("search", "DS vs MLE?")
    assert code == 70 and not out and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: tutor failed unexpectedly (RuntimeError: a bug nobody foresaw); the details are "
                          f"in {place.data}/crash-")
    assert err.rstrip().endswith("(fix: please report it, with that file attached)")
    (crash,) = place.data.glob("crash-*.txt")
    text = crash.read_text()
    assert "command: tutor search DS vs MLE?" in text and "Traceback" in text and "def broken" not in text
    assert 'raise RuntimeError("a bug nobody foresaw\\nsecond line")' in text

    place.data = place.root / "a-file" / "data"  # the data folder cannot be written: the temporary folder
    (place.root / "a-file").write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(place.root / "tmp"))
    (place.root / "tmp").mkdir()
    code, _, err = run("search", "DS vs MLE?")
    assert code == 70 and f"the details are in {place.root / 'tmp'}/crash-" in err
    assert len(list((place.root / "tmp").glob("crash-*.txt"))) == 1


def test_known_errors_and_interrupts_never_reach_the_crash_file(world, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from tutor.pipeline import Tutor

    run, place = world
    place.built(run)
    monkeypatch.setattr(Tutor, "search", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert run("search", "x")[0] == 130
    code, _, err = run("ask", "")
    assert code == 2 and err.startswith("error: no question given")
    assert not list(place.data.glob("crash-*.txt"))


# --- the real thing, in subprocesses --------------------------------------------------------------


def tutor_process(place: Place, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "HF_HUB_OFFLINE": "1", "ORT_DISABLE_TELEMETRY": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "TUTOR_BACKEND": "extractive", "OLLAMA_HOST": "http://127.0.0.1:9", "PYTHONPATH": str(REPO)} | place.env()
    return subprocess.run([sys.executable, "-m", "tutor.cli", *args], capture_output=True, text=True, env=env,
                          cwd=place.root, timeout=timeout)


@pytest.mark.integration
def test_real_processes_in_odd_states(tmp_path: Path) -> None:
    place = Place(tmp_path, tmp_path)
    place.corpus.mkdir()
    results = {}
    results["empty: ingest"] = tutor_process(place, "ingest")
    results["empty: search"] = tutor_process(place, "search", "DS vs MLE?")
    results["empty: progress"] = tutor_process(place, "progress")
    place.index = Path("/proc/tutor-index")
    results["uncreatable: ask"] = tutor_process(place, "ask", "DS vs MLE?")
    place.index = tmp_path / "index"
    place.notes()
    assert tutor_process(place, "ingest", "-q").returncode == 0
    live = place.index / (place.index / "CURRENT").read_text().strip()
    for path in live.iterdir():  # what a team ingest used to leave: a catalog and no vectors
        if path.name != "catalog.json":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    results["no vectors: search"] = tutor_process(place, "search", "DS vs MLE?")
    assert not (live / "chroma").exists(), "a failed search makes no database"
    results["no vectors: ingest"] = tutor_process(place, "ingest")
    results["rebuilt: search"] = tutor_process(place, "search", "DS vs MLE?")
    place.data.mkdir(exist_ok=True)
    (place.data / "progress.sqlite3").write_text("not a database")
    results["damaged progress: progress"] = tutor_process(place, "progress")
    for name, r in results.items():
        assert "Traceback" not in r.stdout + r.stderr and "unexpectedly" not in r.stderr, (name, r.stderr)
    codes = {name: r.returncode for name, r in results.items()}
    assert codes == {"empty: ingest": 0, "empty: search": 1, "empty: progress": 0, "uncreatable: ask": 1,
                     "no vectors: search": 1, "no vectors: ingest": 0, "rebuilt: search": 0,
                     "damaged progress: progress": 1}, {n: r.stderr[-300:] for n, r in results.items()}
    for name, r in results.items():
        if r.returncode:
            (line,) = [x for x in r.stderr.splitlines() if x.startswith("error: ")]
            assert "(fix: " in line, name
    assert "No notes in" in results["empty: ingest"].stdout
    assert "cannot use /proc/tutor-index" in results["uncreatable: ask"].stderr
    assert "Data Scientist" in results["rebuilt: search"].stdout


@pytest.mark.integration
def test_the_real_ui_starts_with_no_notes_and_says_so_in_the_page(tmp_path: Path) -> None:
    import socket
    import time
    import urllib.request

    from gradio_client import Client

    place = Place(tmp_path, tmp_path)
    place.corpus.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "TUTOR_BACKEND": "extractive",
           "OLLAMA_HOST": "http://127.0.0.1:9", "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"} | place.env()
    log = tmp_path / "ui.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "tutor.cli", "ui", "--port", str(port)], cwd=tmp_path,
                                env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(url + "gradio_api/info", timeout=5):
                    break
            except OSError:
                time.sleep(0.5)
        client = Client(url, verbose=False)
        with pytest.raises(Exception, match="has no notes to search yet") as info:
            client.predict("DS vs MLE?", 3, api_name="/search")
        assert "Traceback" not in str(info.value)
        assert client.predict(api_name="/progress")["attempts"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    assert "warning: your notes cannot be searched yet: the notes folder" in text and "Traceback" not in text


def test_an_unwritable_data_folder_is_one_line_for_the_embedded_model(tmp_path: Path) -> None:
    from tutor.errors import TutorError
    from tutor.llm.modelfile import ModelSpec, ensure_embedded

    (tmp_path / "a-file").write_text("")
    spec = ModelSpec(name="tiny", filename="tiny.gguf", package_prefix="none", parts=0, sha256="0" * 64, size=0)
    with pytest.raises(TutorError) as info:
        ensure_embedded(tmp_path / "a-file" / "data" / "models", spec)
    assert info.value.message.startswith(f"cannot write the embedded model into {tmp_path}/a-file/data/models")
    assert "TUTOR_DATA_DIR" in info.value.fix
