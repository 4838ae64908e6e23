"""Wiring: settings -> embedder, store, index, retriever, model. Used by the CLI, the UI and evals.

``Tutor`` builds each part once, on first use, so a command pays only for what it touches, and a
long-lived process (chat, ``--batch``, the UI) keeps the embedding model and LLM loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tutor.answering import stream_answer
from tutor.config import Settings
from tutor.embedding import Embedder
from tutor.errors import TutorError
from tutor.ingest import IngestReport, ingest, load_catalog, stale_sources
from tutor.llm import ChatModel, open_model
from tutor.records import Answer, Hit
from tutor.retrieval import Retriever
from tutor.store import VectorStore


def _minilm(settings: Settings) -> Embedder:
    from tutor.embedding import make_embedder

    return make_embedder(settings.embedder)


def _chroma(settings: Settings) -> VectorStore:
    from tutor.store import LocalStore

    return LocalStore(settings.index)


# How the default embedder and store are made: the seam tests use to run the CLI on fakes.
COMPONENTS: dict[str, Callable[[Settings], Any]] = {"embedder": _minilm, "store": _chroma}


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
        self._store = store
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

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            self._store = COMPONENTS["store"](self.settings)
        return self._store

    @property
    def model(self) -> ChatModel | None:
        """The chat model (None: extractive answers); opened once, on first use."""
        if not self._model_opened:
            self._model = open_model(self.settings, log=self.log)
            self._model_opened = True
        return self._model

    @property
    def backend_name(self) -> str:
        model = self.model
        return model.name if model is not None else "extractive"

    def ingest(self, only: Sequence = (), rebuild: bool = False) -> IngestReport:
        report = ingest(self.settings.corpus, self.settings.index, self.embedder, self.store,
                        only=only, rebuild=rebuild, progress=self.progress, log=self.log)
        self._retriever = None
        return report

    def ensure_index(self) -> IngestReport | None:
        """Build or refresh the index when it is missing or older than the notes."""
        if not self.settings.corpus.is_dir():
            raise TutorError(f"no notes folder at {self.settings.corpus}",
                             fix="create it with your .md/.txt notes, or pass --corpus / set TUTOR_CORPUS")
        catalog = load_catalog(self.settings.index)
        stale = stale_sources(self.settings.corpus, catalog)
        if not stale:
            return None
        if catalog is None:
            self.log("Building the index of your notes (first run)...")
        else:
            more = " ..." if len(stale) > 3 else ""
            self.log(f"Notes changed ({', '.join(stale[:3])}{more}); updating the index...")
        report = self.ingest()
        self.log(report.summary())
        for warning in report.warnings:
            self.log(f"warning: {warning}")
        return report

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self.ensure_index()
            catalog = load_catalog(self.settings.index)
            if catalog is None or not catalog.chunks:
                raise TutorError(f"there are no notes to search in {self.settings.corpus}",
                                 fix="add .md or .txt files there, then run: tutor ingest")
            self._retriever = Retriever(list(catalog.chunks.values()), self.store, self.embedder,
                                        catalog.abbreviations)
        return self._retriever

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        from tutor.answering import clean_question

        query = clean_question(query, self.settings.max_question_chars)
        return self.retriever.search(query, k=k or self.settings.top_k)

    def ask(self, question: str, history: Sequence[tuple[str, str]] = ()) -> Iterator[str | Answer]:
        """Stream an answer: text pieces, then the ``Answer``."""
        from tutor.answering import clean_question

        clean_question(question, self.settings.max_question_chars)  # a bad question fails before any loading
        retriever = self.retriever
        return stream_answer(question, retriever, self.model, self.settings, history)
