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
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import NOTES
from tests.fakes import FolderStore, HashEmbedder

FINE, FAILS = 0, 1  # the exit code expected: 0, or non-zero with one "error: ... (fix: ...)" line
COMMANDS = ("ask", "search", "chat", "ingest", "quiz", "progress", "eval", "doctor", "ui")
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
    index_from_an_older_version: BROKEN_INDEX,
    index_from_before_generations: ALL_FINE | {"doctor": FAILS},  # rebuilt on first use, like no index
    generation_without_vectors: BROKEN_INDEX | {"ingest": FINE, "quiz": FINE, "progress": FINE},
    index_half_written: ALL_FINE,
    index_pointer_damaged: BROKEN_INDEX,
    data_folder_unwritable: ALL_FINE | {"quiz": FAILS, "progress": FAILS},
    progress_database_damaged: ALL_FINE | {"quiz": FAILS, "progress": FAILS},
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
    import ui.app as app

    chat = list(app.chat_stream(study, "DS vs MLE?", [], []))[-1][0][-1]["content"]
    return {
        "status": study.status_markdown(),
        "notes": app._notes_status(study),
        "chat": chat,
        "search": app.search_view(study, "DS vs MLE?", 3),
        "quiz": str(app.quiz_next(study, app.ANY, "contrast", False, app.new_quiz_state())[0]),
        "progress": str(app.progress_view(study)[1]),
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
    if command == "ui":
        assert set(fake_ui) == {"status", "notes", "chat", "search", "quiz", "progress"}
        fixes_in_the_page(fake_ui)
        if STATES[state]["ask"] == FAILS:  # what ask says on the command line, the page says as it opens
            assert "Problem:" in fake_ui["chat"] and "cannot be searched yet" in fake_ui["status"], fake_ui
            assert "(the page shows this too)" in err
    assert "Traceback" not in capsys.readouterr().err  # nothing printed one behind our back either

