"""The only module that talks to Chroma: a persistent collection of chunk vectors (cosine).

Chroma never embeds anything itself here: its default embedding function would download a model,
so vectors always come from ``tutor.embedding``. chromadb is imported on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from tutor.errors import TutorError
from tutor.records import Chunk

COLLECTION = "notes"


class VectorStore(Protocol):
    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]: ...

    def query(self, vector: Sequence[float], n: int) -> list[tuple[str, float]]:
        """The ``n`` nearest chunk ids with their cosine similarity, best first."""
        ...

    def count(self) -> int: ...

    def reset(self) -> None:
        """Remove every vector."""
        ...


class ChromaStore:
    """A Chroma collection persisted in ``<index>/chroma``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._collection = None

    @property
    def collection(self):  # type: ignore[no-untyped-def]
        if self._collection is None:
            from tutor.embedding import offline_env

            offline_env()
            try:
                import chromadb
                from chromadb.config import Settings as ChromaSettings
            except ImportError:
                raise TutorError("chromadb is not installed", fix="run scripts/setup") from None
            self.path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(
                path=str(self.path), settings=ChromaSettings(anonymized_telemetry=False)
            )
            self._client = client
            self._collection = client.get_or_create_collection(
                COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
        return self._collection

    def reset(self) -> None:
        if not self.path.exists():
            return
        self.collection  # noqa: B018 - opens the client
        self._client.delete_collection(COLLECTION)
        self._collection = None

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        if not chunks:
            return
        self.collection.upsert(
            ids=[c.id for c in chunks],
            embeddings=[list(v) for v in vectors],
            documents=[c.text for c in chunks],
            metadatas=[
                {"source": c.source, "section": c.section, "start": c.start, "end": c.end,
                 "content_hash": c.content_hash}
                for c in chunks
            ],
        )

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self.collection.delete(ids=list(ids))

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        return {i: [float(x) for x in v] for i, v in zip(got["ids"], got["embeddings"])}

    def query(self, vector: Sequence[float], n: int) -> list[tuple[str, float]]:
        total = self.count()
        if total == 0:
            return []
        got = self.collection.query(
            query_embeddings=[list(vector)], n_results=min(n, total), include=["distances"]
        )
        return [(i, 1.0 - float(d)) for i, d in zip(got["ids"][0], got["distances"][0])]

    def count(self) -> int:
        return int(self.collection.count())
