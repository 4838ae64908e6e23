"""``tutor doctor``: each part checked for real, with the fix for each failure."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from tutor.config import Settings
from tutor.errors import TutorError


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True  # a failed optional check (e.g. Ollama, when not chosen) is a warning


def _check(name: str, fn: Callable[[], str], required: bool = True) -> Check:
    try:
        return Check(name, True, fn(), required=required)
    except TutorError as exc:
        return Check(name, False, exc.message, exc.fix, required)
    except Exception as exc:  # a doctor reports, it does not crash
        return Check(name, False, f"{exc.__class__.__name__}: {exc}", "see the message", required)


def check_index(settings: Settings) -> str:
    """The index is there, current and consistent (local, or on the team's Chroma server)."""
    from tutor.catalog import load_catalog
    from tutor.ingest import stale_sources

    if settings.chroma_url:
        from tutor.pipeline import Tutor

        catalog = Tutor(settings, progress=False).load_catalog()
        assert catalog is not None and catalog.folder is not None
        from tutor.publish import ServerIndex

        stored = ServerIndex(settings.chroma_url, settings.chroma_collection).store(catalog.folder.name).count()
        if stored != len(catalog.chunks):
            raise TutorError(f"the index on {settings.chroma_url} disagrees with itself: {stored} vectors, "
                             f"{len(catalog.chunks)} chunks in its catalog", fix="run: tutor ingest --rebuild")
        return (f"{len(catalog.chunks)} chunks from {len(catalog.files)} file(s) on the Chroma server "
                f"{settings.chroma_url} ({settings.chroma_collection}, generation {catalog.folder.name})")
    catalog = load_catalog(settings.index, lazy=True)  # as a question reads it: a damaged shelf fails here
    if catalog is None:
        raise TutorError(f"no index at {settings.index} yet", fix="run: tutor ingest (or just ask: it builds it)")
    stale = stale_sources(settings.corpus, catalog) if settings.corpus.is_dir() else []
    if stale:
        raise TutorError(f"out of date: {', '.join(stale[:5])} changed since the last ingest",
                         fix="run: tutor ingest")
    from tutor.store import ChromaStore, LocalStore

    assert catalog.folder is not None
    if not catalog.chunks:
        return f"empty: no notes were indexed yet ({settings.index}, generation {catalog.folder.name})"
    from tutor.pipeline import COMPONENTS

    store = COMPONENTS["store"](settings, catalog.folder)
    snapshot = stored = store.count()  # first: it fails, writing nothing, when there are no vectors
    if isinstance(store, LocalStore):  # the snapshot is read; Chroma, the store of record, must agree
        if not (catalog.folder / "chroma").is_dir():  # a check never creates the database it checks
            raise TutorError(f"the index at {settings.index} is damaged ({catalog.folder.name} has no Chroma "
                             "database)", fix="run: tutor ingest --rebuild")
        stored = ChromaStore(catalog.folder / "chroma").count()
    if not stored == snapshot == len(catalog.chunks):
        raise TutorError(f"the index disagrees with itself: Chroma has {stored} chunks, the search snapshot "
                         f"{snapshot}, the catalog {len(catalog.chunks)}", fix="run: tutor ingest --rebuild")
    return (f"{len(catalog.chunks)} chunks from {len(catalog.files)} file(s), up to date "
            f"({settings.index}, generation {catalog.folder.name})")


def check_notes(settings: Settings) -> str:
    """The notes folder is there and has notes in it."""
    from tutor.notes import note_files
    from tutor.pipeline import check_notes_folder

    check_notes_folder(settings.corpus)
    n = sum(1 for _ in note_files(settings.corpus))
    if n == 0:
        raise TutorError(f"{settings.corpus} has no notes yet (.md, .txt, .pdf, .ipynb, .html)",
                         fix="put your notes there, or copy one in with: tutor ingest FILE")
    return f"{n} note file(s) in {settings.corpus}"


def check_embedding(settings: Settings) -> str:
    """The embedding model loads offline."""
    from tutor.embedding import SentenceTransformerEmbedder, model_path

    vector = SentenceTransformerEmbedder().embed(["doctor"])[0]
    return f"all-MiniLM-L6-v2 loads offline from {model_path()} ({len(vector)} dimensions)"


def check_ollama(settings: Settings) -> str:
    """The Ollama server answers and has the model."""
    from tutor.llm.ollama import OllamaModel

    model = OllamaModel(settings.ollama_host, settings.ollama_model, settings.timeout, settings.n_ctx)
    model.check()
    return f"{settings.ollama_host} is up and has {settings.ollama_model}"


def check_embedded(settings: Settings) -> str:
    """The embedded model file is there (assembled on first use) and matches the official hash."""
    from tutor.llm.modelfile import EMBEDDED, ensure_embedded, verify

    if importlib.util.find_spec("llama_cpp") is None:
        raise TutorError("llama-cpp-python is not installed", fix="run scripts/setup")
    if settings.model is not None:
        if not settings.model.is_file():
            raise TutorError(f"no model file at {settings.model}", fix="set TUTOR_MODEL to a .gguf file")
        return f"TUTOR_MODEL = {settings.model} ({settings.model.stat().st_size / 1e9:.2f} GB; not hash-checked)"
    path = ensure_embedded(settings.model_dir, progress=None)
    verify(path)
    return f"{EMBEDDED.name} at {path}, sha256 {EMBEDDED.sha256[:12]}... verified"


def check_progress(settings: Settings) -> str:
    """The progress database opens (or can be created by the first quiz attempt)."""
    import os

    from tutor.reviews import Reviews

    path = settings.progress_path
    if path.exists():
        with Reviews(path) as reviews:
            return f"{len(reviews.attempts())} quiz attempt(s) in {path}"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise TutorError(f"the progress database {path} cannot be created ({folder} is not a folder you can write)",
                         fix="set TUTOR_DATA_DIR (or TUTOR_PROGRESS_DB) to a place you can write")
    return f"no quiz attempts yet ({path} is made by the first one)"


def run_checks(settings: Settings) -> list[Check]:
    return [
        _check("notes", lambda: check_notes(settings)),
        _check("index", lambda: check_index(settings)),
        _check("embedding model", lambda: check_embedding(settings)),
        _check("ollama", lambda: check_ollama(settings), required=settings.backend == "ollama"),
        _check("embedded model", lambda: check_embedded(settings), required=settings.backend == "llamacpp"),
        _check("progress", lambda: check_progress(settings), required=False),  # only quizzes need it
    ]
