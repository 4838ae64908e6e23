"""The only module that talks to Chroma: a persistent collection of chunk vectors (cosine).

Chroma never embeds anything itself here: its default embedding function would download a model,
so vectors always come from ``tutor.embedding``. chromadb is imported on first use.

``LocalStore``, the default, keeps Chroma as the store of record and answers queries from a numpy
snapshot of the same vectors written after each ingest (``vectors.npy`` in the index generation): a search then
never imports chromadb (1-3 s here), and exact cosine over a few thousand chunks takes well under
a millisecond.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

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

    def commit(self) -> None:
        """Make the writes so far visible to readers (called once at the end of an ingest)."""
        ...


class ChromaStore:
    """A Chroma collection persisted in ``<index>/chroma``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._client: Any = None
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

    def all_vectors(self) -> tuple[list[str], list[list[float]]]:
        got = self.collection.get(include=["embeddings"])
        embeddings = got["embeddings"] if got["embeddings"] is not None else []
        return list(got["ids"]), [[float(x) for x in v] for v in embeddings]

    def commit(self) -> None:
        pass  # Chroma persists each write

    def close(self) -> None:
        """Release Chroma's database and files (it reopens on next use)."""
        if self._client is not None:
            self._client.close()
        self._client = None
        self._collection = None


class LocalStore:
    """Chroma on disk for writes; a numpy snapshot of its vectors for reads. One per index generation."""

    def __init__(self, folder: Path) -> None:
        self.chroma = ChromaStore(folder / "chroma")
        self.matrix_path = folder / "vectors.npy"
        self.ids_path = folder / "vectors.ids"
        self._snapshot: tuple[list[str], Any] | None = None
        self._dirty = False

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        if chunks:
            self.chroma.upsert(chunks, vectors)
            self._dirty = True

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self.chroma.delete(ids)
            self._dirty = True

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        return self.chroma.vectors(ids)

    def reset(self) -> None:
        self.chroma.reset()
        self._dirty = True

    def commit(self) -> None:
        """Write the snapshot from Chroma, atomically (a reader sees the old one or the new one)."""
        if not self._dirty and self.matrix_path.exists():
            return
        import numpy as np

        ids, vectors = self.chroma.all_vectors()
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1)
        tmp_matrix = self.matrix_path.with_suffix(".tmp.npy")
        tmp_ids = self.ids_path.with_suffix(".tmp")
        np.save(tmp_matrix, matrix)
        tmp_ids.write_text("\n".join(ids), encoding="utf-8")
        os.replace(tmp_ids, self.ids_path)
        os.replace(tmp_matrix, self.matrix_path)
        self._snapshot = (ids, matrix)
        self._dirty = False
        self.chroma.close()  # the writer is done: no open database left on this generation
    def _load(self) -> tuple[list[str], Any]:
        if self._snapshot is None:
            import numpy as np

            if not self.matrix_path.exists():
                self._dirty = True
                self.commit()  # an index from before snapshots: make one
            else:
                text = self.ids_path.read_text(encoding="utf-8") if self.ids_path.exists() else ""
                ids = text.split("\n") if text else []
                try:
                    matrix = np.load(self.matrix_path)
                except (OSError, ValueError):
                    matrix = None
                if matrix is None or len(ids) != len(matrix):
                    raise TutorError(f"the vector snapshot in {self.matrix_path.parent} is damaged",
                                     fix="run: tutor ingest --rebuild")
                self._snapshot = (ids, matrix)
        assert self._snapshot is not None
        return self._snapshot

    def query(self, vector: Sequence[float], n: int) -> list[tuple[str, float]]:
        import numpy as np

        ids, matrix = self._load()
        if not ids:
            return []
        similarity = matrix @ np.asarray(vector, dtype=np.float32)
        n = min(n, len(ids))
        top = np.argpartition(-similarity, n - 1)[:n]
        top = top[np.argsort(-similarity[top])]
        return [(ids[i], float(similarity[i])) for i in top]

    def count(self) -> int:
        return len(self._load()[0])
