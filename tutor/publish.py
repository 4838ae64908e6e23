"""Publishing an index on a team's Chroma server: one collection of vectors per generation, a
``<name>-meta`` collection naming the live one, and the copy a new generation starts from.

A learner's tutor reads the live generation only; publishing replaces one record, so it switches
from one complete generation to the next. The vectors themselves are written through
``tutor.store.ChromaStore``, like the local index's.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from tutor.errors import TutorError
from tutor.generations import BUILDING, KEEP_PREVIOUS
from tutor.store import ChromaStore, collection_names, connect


def _copy_collection(source: str, client: Any, target: Any, page: int = 1000) -> None:
    """Copy every record of collection ``source`` into ``target`` (same server): the start of a new generation."""
    try:
        origin = client.get_collection(source, embedding_function=None)
    except Exception:  # the previous generation is gone: start empty, the ingest re-adds what is missing
        return
    offset = 0
    while True:
        got = origin.get(include=["embeddings", "documents", "metadatas"], limit=page, offset=offset)
        if not got["ids"]:
            return
        target.upsert(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                      metadatas=got["metadatas"])
        offset += len(got["ids"])


class ServerIndex:
    """A published index on a Chroma server, for a team: one collection of vectors per generation
    (``<name>-g000007``) and a ``<name>-meta`` collection holding each generation's catalog and the
    ``CURRENT`` record that names the live one. Publishing replaces that one record, so learners'
    tutors switch from one complete generation to the next, never to half of one.
    """

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from chromadb.config import Settings as ChromaSettings

            self._client = connect(self.url, ChromaSettings(anonymized_telemetry=False))
        return self._client

    def collection_name(self, generation: str) -> str:
        return f"{self.name}-{generation.removesuffix(BUILDING)}"

    def store(self, generation: str, copy_from: str | None = None) -> ChromaStore:
        """The vectors of ``generation``; a new one starts as a copy of generation ``copy_from``."""
        start = partial(_copy_collection, self.collection_name(copy_from)) if copy_from else None
        return ChromaStore(url=self.url, name=self.collection_name(generation), on_create=start)

    def has(self, generation: str) -> bool:
        """Whether the server holds the vectors of ``generation``."""
        return self.collection_name(generation) in collection_names(self.client)

    def _meta(self) -> Any:
        return self.client.get_or_create_collection(f"{self.name}-meta", embedding_function=None)

    def live_generation(self) -> str | None:
        """The name of the live generation, or None when nothing was published."""
        pointer = self._meta().get(ids=["CURRENT"], include=["documents"])
        return pointer["documents"][0] if pointer["ids"] else None

    def live(self) -> tuple[str, str] | None:
        """(generation, catalog JSON) of the live generation, or None when nothing was published."""
        generation = self.live_generation()
        if generation is None:
            return None
        meta = self._meta()
        got = meta.get(ids=[f"catalog-{generation}"], include=["documents"])
        if not got["ids"]:
            raise TutorError(f"the index on {self.url} is damaged (no catalog for {generation})",
                             fix="run: tutor ingest --rebuild (with TUTOR_CHROMA_URL set)")
        return generation, got["documents"][0]

    def publish(self, generation: str, catalog_json: str, keep: int = KEEP_PREVIOUS) -> None:
        """Make ``generation`` the live one, then drop the collections of all but ``keep`` older ones."""
        meta = self._meta()
        dim = [[0.0]]  # Chroma stores a vector with every record; these records are found by id only
        meta.upsert(ids=[f"catalog-{generation}"], documents=[catalog_json], embeddings=dim)
        meta.upsert(ids=["CURRENT"], documents=[generation], embeddings=dim)  # the switch
        ours = sorted(c for c in collection_names(self.client)
                      if c.startswith(f"{self.name}-g") and c[len(self.name) + 2:].isdigit())
        for old in [c for c in ours if c != self.collection_name(generation)][:-keep or None]:
            self.client.delete_collection(old)
            meta.delete(ids=[f"catalog-{old[len(self.name) + 1:]}"])
