"""The tutor's hybrid search as a LangChain retriever: ``TutorRetriever().invoke("DS vs MLE?")``.

The one module that speaks LangChain's retriever interface (langchain-core, installed with
langchain-ollama). It adds no search of its own: each query goes through ``Tutor.search``, the same
dense + BM25 fusion, abbreviation expansion and question limits as ``tutor search``, with the same
settings (flags aside: ``TUTOR_*`` variables, ``tutor.toml``, defaults). Importing it loads
langchain-core, so ``import tutor`` does not; the embedding model loads on the first query.
Answering (the LLM, citation checks) stays in ``Tutor.ask``: this returns passages only.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import Field, PrivateAttr

from tutor.config import Settings, load_settings
from tutor.errors import TutorError
from tutor.pipeline import Tutor
from tutor.records import Hit

log = logging.getLogger("tutor")


def to_document(hit: Hit) -> Document:
    """One search hit as a LangChain ``Document``: the passage, and where it is in the notes."""
    chunk = hit.chunk
    metadata: dict[str, Any] = {
        "source": chunk.source,
        "section": chunk.section,
        "lines": list(chunk.lines),
        "score": hit.score,
        "dense": hit.dense,
        "keyword": hit.keyword,
    }
    for place in ("page", "cell"):  # a PDF page or a notebook cell: ``lines`` count within it
        if getattr(chunk, place) is not None:
            metadata[place] = getattr(chunk, place)
    return Document(page_content=chunk.text, metadata=metadata, id=chunk.id)


def _positive(k: Any) -> int:
    """``k`` checked: a whole number of passages, at least 1."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise TutorError(f"k must be a whole number of passages, at least 1, not {k!r}", fix="pass k=1 or more")
    return k


class TutorRetriever(BaseRetriever):
    """The passages of your notes that best match a query, as ``Document``s, best first.

    Settings come from the environment and ``tutor.toml`` like the CLI's; ``k``, ``corpus`` and
    ``index`` override them. ``invoke(query, k=3)`` overrides ``k`` for one call. Pass ``tutor`` to
    search an already built ``Tutor`` (its settings are then used as they are).
    """

    k: int | None = None
    """Passages per query; None: the ``top_k`` setting (5)."""
    corpus: Path | None = None
    """The notes folder; None: the ``corpus`` setting. A changed note is indexed before a query."""
    index: Path | None = None
    """The index folder; None: the ``index`` setting."""
    tutor: Tutor | None = Field(default=None, exclude=True, repr=False)
    """The pipeline searched; None: one built from the settings."""

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def model_post_init(self, context: Any, /) -> None:
        """Resolve the settings now, so a bad one fails at construction rather than at the first query."""
        super().model_post_init(context)
        if self.k is not None:
            _positive(self.k)
        if self.tutor is not None:
            if self.corpus is not None or self.index is not None:
                raise TutorError("TutorRetriever was given a tutor and a corpus or index",
                                 fix="give one: the tutor's settings name its corpus and index")
            return
        flags = {"corpus": self.corpus, "index": self.index}  # as text: "~" and relative paths resolve like flags
        settings = load_settings({**{n: str(v) for n, v in flags.items() if v is not None}, "top_k": self.k})
        self.tutor = Tutor(settings, log=log.info, progress=False)

    @property
    def settings(self) -> Settings:
        """The settings the searches use."""
        assert self.tutor is not None  # set in model_post_init
        return self.tutor.settings

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        assert self.tutor is not None  # set in model_post_init
        count = _positive(k) if k is not None else self.k or self.settings.top_k
        # The first query builds the index and loads the embedder; one thread at a time does that.
        with self._lock:
            hits = self.tutor.search(query, k=count)
        return [to_document(hit) for hit in hits]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        # A search is CPU work of a few milliseconds once loaded: run it off the event loop.
        return await run_in_executor(
            None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(), k=k
        )
