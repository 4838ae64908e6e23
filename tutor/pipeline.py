"""Wiring: settings -> embedder, store, index, retriever, model. Used by the CLI, the UI and evals.

``Tutor`` builds each part once, on first use, so a command pays only for what it touches, and a
long-lived process (chat, ``--batch``, the UI) keeps the embedding model and LLM loaded. Reading a
part never changes the index: ``ensure_index`` builds or refreshes it, and ``open_index`` (which
``ask`` and ``search`` call) does so once before loading it. A Tutor without a language model is one
whose settings name the ``extractive`` backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.answering import clean_question, stream_answer
from tutor.catalog import Catalog, OldIndex, catalog_from_json, load_catalog
from tutor.config import Settings
from tutor.embedding import Embedder
from tutor.errors import TutorError
from tutor.generations import BUILDING, IndexBusy, adopt, current, ingest_lock
from tutor.ingest import IngestReport, ingest, stale_sources
from tutor.llm import ChatModel, LLMError, open_model
from tutor.records import AnswerEvent, Hit
from tutor.retrieval import Retriever
from tutor.shelf import ChunkTable
from tutor.store import VectorStore

if TYPE_CHECKING:
    from tutor.publish import ServerIndex


def _minilm(settings: Settings) -> Embedder:
    from tutor.embedding import make_embedder

    return make_embedder(settings.embedder)


def _chroma(settings: Settings, folder: Path) -> VectorStore:
    """The local store of a generation folder, or its collection on the team's Chroma server."""
    if settings.chroma_url:
        from tutor.publish import ServerIndex

        base = None
        if folder.name.endswith(BUILDING):  # a new generation starts as a copy of the live one
            live = current(folder.parent)
            base = live.name if live is not None else None
        return ServerIndex(settings.chroma_url, settings.chroma_collection).store(folder.name, copy_from=base)
    from tutor.store import LocalStore

    return LocalStore(folder)


def check_notes_folder(corpus: Path) -> None:
    """A TutorError with the fix when the notes folder is missing or is not a folder."""
    if corpus.is_dir():
        return
    if corpus.exists():
        raise TutorError(f"the notes folder {corpus} is a file, not a folder",
                         fix="point --corpus / TUTOR_CORPUS at the folder that holds your notes")
    raise TutorError(f"no notes folder at {corpus}",
                     fix="create it with your notes (.md, .txt, .pdf, .ipynb, .html), or pass --corpus / "
                         "set TUTOR_CORPUS")


def team_folder(settings: Settings) -> Path:
    """Where a team ingest keeps its own generations (catalogs only): beside the local index, never in it.

    >>> team_folder(Settings(index=Path("index"), chroma_url="http://10.0.0.5:8000", chroma_collection="class-a"))
    PosixPath('index/team-class-a-10.0.0.5-8000')
    """
    import re

    server = re.sub(r"[^A-Za-z0-9.]+", "-", settings.chroma_url.split("://")[-1]).strip("-")
    return settings.index / f"team-{settings.chroma_collection}-{server}"


def _has_vectors(store: VectorStore) -> bool:
    """False only for a store that knows it lacks its generation's vectors (``LocalStore.has_vectors``)."""
    return bool(getattr(store, "has_vectors", True))


# How the default embedder and the store of one index generation are made: the seam tests use to
# run the CLI on fakes. ``store`` is called as store(settings, generation_folder).
COMPONENTS: dict[str, Callable[..., Any]] = {"embedder": _minilm, "store": _chroma}


class Tutor:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        store: VectorStore | None = None,
        model: ChatModel | None = None,
        log: Callable[[str], None] = lambda _m: None,
        progress: bool | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._given_store = store  # a store passed in serves every generation (tests, evals)
        self._store = store
        self._catalog: Catalog | None = None
        self._model = model
        self._model_opened = model is not None
        self._retriever: Retriever | None = None
        self.log = log
        self.progress = progress

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = COMPONENTS["embedder"](self.settings)
        return self._embedder

    def store_at(self, folder: Path) -> VectorStore:
        """The vector store of one index generation."""
        if self._given_store is not None:
            return self._given_store
        return COMPONENTS["store"](self.settings, folder)

    def server(self) -> ServerIndex | None:
        """The team's Chroma server index (``chroma_url``), or None for the local index."""
        if not self.settings.chroma_url:
            return None
        from tutor.publish import ServerIndex

        return ServerIndex(self.settings.chroma_url, self.settings.chroma_collection)

    def load_catalog(self) -> Catalog | None:
        """The live catalog as it is now (local, or published on the Chroma server); None if none yet."""
        server = self.server()
        if server is None:
            return load_catalog(self.settings.index, lazy=True)
        live = server.live()
        if live is None:
            raise TutorError(f"the Chroma server at {self.settings.chroma_url} has no index named "
                             f"{self.settings.chroma_collection!r} yet",
                             fix="run tutor ingest with TUTOR_CHROMA_URL set, on the machine that has the notes")
        generation, text = live
        try:
            return catalog_from_json(text, Path(generation), f"{self.settings.chroma_url} ({server.name})")
        except OldIndex as exc:  # only the machine with the notes can rebuild a team index
            raise TutorError(exc.message, fix="run tutor ingest with TUTOR_CHROMA_URL set, on the machine that "
                                              "has the notes (it rebuilds the index there)") from None

    @property
    def catalog(self) -> Catalog:
        """The live index's catalog as it is (``ensure_index`` builds or refreshes it)."""
        if self._catalog is None:
            catalog = self.load_catalog()
            if (catalog is None or not catalog.chunks) and self.settings.chroma_url:
                raise TutorError(f"the index {self.settings.chroma_collection!r} on {self.settings.chroma_url} has "
                                 "no notes to search yet", fix="add notes on the machine that publishes it, then "
                                 "run tutor ingest there with TUTOR_CHROMA_URL set")
            if catalog is None or not catalog.chunks:
                raise TutorError(f"the notes folder {self.settings.corpus} has no notes to search yet",
                                 fix="put notes there (.md, .txt, .pdf, .ipynb, .html), or copy one in with: "
                                     "tutor ingest FILE")
            self._catalog = catalog
        return self._catalog

    @property
    def store(self) -> VectorStore:
        """The vector store of the live generation (the one ``catalog`` was read from)."""
        if self._store is None:
            catalog = self.catalog
            assert catalog.folder is not None
            self._store = self.store_at(catalog.folder)
        return self._store

    @property
    def model(self) -> ChatModel | None:
        """The chat model (None: extractive answers); opened once, on first use, and never with the
        ``extractive`` backend. A model that cannot be opened is an ``LLMError``, like one that fails mid-answer."""
        if not self._model_opened and self.settings.backend != "extractive":
            try:
                self._model = open_model(self.settings, log=self.log)
            except LLMError:
                raise
            except TutorError as exc:
                raise LLMError(exc.message, fix=exc.fix, exit_code=exc.exit_code) from None
        self._model_opened = True
        return self._model

    @property
    def backend_name(self) -> str:
        model = self.model
        return model.name if model is not None else "extractive"

    def ingest(self, only: Sequence = (), rebuild: bool = False, lock_wait: float = 0.0) -> IngestReport:
        """Index the notes. With a Chroma server, publish there; the local index is then left as it is."""
        check_notes_folder(self.settings.corpus)
        server = self.server()
        folder = self.settings.index if server is None else team_folder(self.settings)
        if server is not None:
            self._start_from_server(server, folder)
        live = current(folder)
        if server is not None and live is not None and not rebuild and not server.has(live.name):
            self.log(f"{self.settings.chroma_url} does not have this index's vectors; rebuilding it there")
            rebuild = True
        # A generation with no vectors of its own (a team ingest wrote catalogs here before) cannot be updated.
        if server is None and live is not None and not rebuild and not _has_vectors(self.store_at(live)):
            self.log(f"the index at {folder} has no vectors of its own ({live.name}); rebuilding it")
            rebuild = True
        report = ingest(self.settings.corpus, folder, self.embedder, self.store_at,
                        only=only, rebuild=rebuild, progress=self.progress, log=self.log, lock_wait=lock_wait)
        if server is not None:  # publish (again, if a previous run stopped before it could)
            catalog = load_catalog(folder)
            if catalog is not None and catalog.folder is not None and (
                server.live_generation() != catalog.folder.name
            ):
                server.publish(catalog.folder.name, catalog.to_json())
        self._retriever = None
        self._catalog = None
        self._store = self._given_store
        return report

    def _start_from_server(self, server: ServerIndex, folder: Path) -> None:
        """A first team ingest on this machine starts from the server's live generation, not from nothing."""
        if current(folder) is not None:
            return
        live = server.live()
        if live is None:
            return
        with ingest_lock(folder):
            if current(folder) is None:
                adopt(folder, live[0], {"catalog.json": live[1]})

    def ensure_index(self) -> IngestReport | None:
        """Build or refresh the index when it is missing or older than the notes.

        An index on a Chroma server is shared: only ``tutor ingest`` changes it, never a question.
        """
        if self.settings.chroma_url:
            return None
        check_notes_folder(self.settings.corpus)
        old_format = False
        try:
            catalog = load_catalog(self.settings.index, lazy=True)
            stale = stale_sources(self.settings.corpus, catalog)
        except OldIndex:  # nothing to answer from until it is rebuilt (ingest says why)
            catalog, stale, old_format = None, [], True
        if not stale and not old_format:
            if catalog is not None and catalog.chunks and self._catalog is None:
                self._catalog = catalog  # read once: at 30,000 chunks a second parse costs a second and its memory
            return None
        if old_format:
            pass  # ingest says why in one line
        elif catalog is None:
            self.log("Building the index of your notes (first run)...")
        else:
            more = " ..." if len(stale) > 3 else ""
            self.log(f"Notes changed ({', '.join(stale[:3])}{more}); updating the index...")
        try:
            report = self.ingest()
        except IndexBusy:
            if catalog is not None:
                self.log("Another process is updating the index; answering from the current one.")
                return None
            self.log("Another process is building the index; waiting for it...")
            report = self.ingest(lock_wait=600.0)
        except TutorError as exc:
            if catalog is None:
                raise
            self.log(f"warning: the index could not be updated: {exc}; answering from the one built before")
            return None
        self.log(report.summary())
        for warning in report.warnings:
            self.log(f"warning: {warning}")
        return report

    @property
    def retriever(self) -> Retriever:
        """Search over the live index as it is (``ensure_index`` builds or refreshes it)."""
        if self._retriever is None:
            catalog = self.catalog
            chunks = catalog.chunks if isinstance(catalog.chunks, ChunkTable) else list(catalog.chunks.values())
            self._retriever = Retriever(chunks, self.store, self.embedder, catalog.abbreviations)
        return self._retriever

    def open_index(self) -> Retriever:
        """Search over the live index, which is built or refreshed first if this Tutor has not opened it yet."""
        if self._retriever is None:
            self.ensure_index()
            self.store.count()  # open the vectors too: an index without them fails here, before any question
        return self.retriever

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        """The ``k`` best passages for ``query`` (the index built or refreshed first, once)."""
        query = clean_question(query, self.settings.max_question_chars, "query")
        return self.open_index().search(query, k=k or self.settings.top_k)

    def ask(self, question: str, history: Sequence[tuple[str, str]] = ()) -> Iterator[AnswerEvent]:
        """Stream an answer: ``TextDelta`` pieces, then the ``Answer`` (the index built or refreshed first, once).
        A bad question, a missing index or a model that cannot be opened raise here, before any event."""
        question = clean_question(question, self.settings.max_question_chars)  # fails before any loading
        retriever = self.open_index()
        return stream_answer(question, retriever, self.model, self.settings, history)
