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
from tutor.generations import BUILDING, KEEP_PREVIOUS
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
    """A Chroma collection: persisted in a folder (``path``), or on a Chroma server (``url``)."""

    def __init__(self, path: Path | None = None, url: str = "", name: str = COLLECTION,
                 copy_from: str | None = None) -> None:
        self.path = path
        self.url = url
        self.name = name
        self.copy_from = copy_from  # a collection on the same server to start from (a new generation)
        self._client: Any = None
        self._collection = None

    @property
    def client(self):  # type: ignore[no-untyped-def]
        if self._client is None:
            from tutor.embedding import offline_env

            offline_env()
            try:
                import chromadb
                from chromadb.config import Settings as ChromaSettings
            except ImportError:
                raise TutorError("chromadb is not installed", fix="run scripts/setup") from None
            settings = ChromaSettings(anonymized_telemetry=False)
            if self.url:
                self._client = connect(self.url, settings)
            else:
                assert self.path is not None
                self.path.mkdir(parents=True, exist_ok=True)
                try:
                    self._client = chromadb.PersistentClient(path=str(self.path), settings=settings)
                except Exception as exc:  # chromadb's Rust core raises its own kinds for a bad database
                    _forget_failed_system(str(self.path))
                    raise self._damaged(exc) from None
        return self._client

    def _damaged(self, exc: Exception) -> TutorError:
        detail = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        return TutorError(f"the Chroma database in {self.path} is damaged ({detail})",
                          fix="run: tutor ingest --rebuild")

    @property
    def collection(self):  # type: ignore[no-untyped-def]
        if self._collection is None:
            try:
                self._collection = self.client.get_or_create_collection(
                    self.name, metadata={"hnsw:space": "cosine"}, embedding_function=None
                )
            except TutorError:
                raise
            except Exception as exc:
                if self.url:
                    raise
                raise self._damaged(exc) from None
            if self.copy_from:
                source, self.copy_from = self.copy_from, None
                _copy_collection(self.client, source, self._collection)
        return self._collection

    def reset(self) -> None:
        self.copy_from = None
        if self.path is not None and not self.path.exists():
            return
        if self.name in _collection_names(self.client):
            self.client.delete_collection(self.name)
        self._collection = None

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        """In calls as large as Chroma allows, with a numpy matrix: 3,100 chunks take 2.7 s so, against
        7.3 s in calls of 31 with lists of floats (measured)."""
        if not chunks:
            return
        import numpy as np

        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(chunks), -1)
        step = self.client.get_max_batch_size()
        for start in range(0, len(chunks), step):
            part = chunks[start : start + step]
            self.collection.upsert(
                ids=[c.id for c in part],
                embeddings=matrix[start : start + step],
                documents=[c.text for c in part],
                metadatas=[_metadata(c) for c in part],
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


def has_local_vectors(folder: Path) -> bool:
    """Whether an index generation folder holds vectors of its own (a snapshot, or a Chroma database)."""
    return (folder / "vectors.npy").exists() or (folder / "chroma").is_dir()


class LocalStore:
    """Chroma on disk for writes; a numpy snapshot of its vectors for reads. One per index generation."""

    def __init__(self, folder: Path) -> None:
        self.chroma = ChromaStore(folder / "chroma")
        self.matrix_path = folder / "vectors.npy"
        self.ids_path = folder / "vectors.ids"
        self._snapshot: tuple[list[str], Any] | None = None
        self._dirty = False

    @property
    def has_vectors(self) -> bool:
        """False for a generation folder with no vectors of its own (one a team ingest wrote for a server)."""
        return has_local_vectors(self.matrix_path.parent)

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
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1) if ids else np.zeros((0, 0), np.float32)
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
                if not self.has_vectors:  # never make up an empty Chroma database here
                    raise TutorError(f"the index generation {self.matrix_path.parent} has no vectors of its own "
                                     "(its vectors are on a Chroma server)", fix="run: tutor ingest --rebuild")
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


def _collection_names(client: Any) -> set[str]:
    """Names of the collections a Chroma client sees (older chromadb lists objects, newer lists names)."""
    return {c if isinstance(c, str) else c.name for c in client.list_collections()}


def _forget_failed_system(identifier: str) -> None:
    """chromadb keeps a system that failed to start cached under its path, so every later open fails
    with an unrelated AttributeError; drop it, so a later open (after a rebuild) starts afresh."""
    from chromadb.api.shared_system_client import SharedSystemClient

    for table in ("_identifier_to_system", "_identifier_to_refcount"):
        getattr(SharedSystemClient, table, {}).pop(identifier, None)


def connect(url: str, settings: Any = None):  # type: ignore[no-untyped-def]
    """chromadb's HTTP client for a Chroma server URL such as ``http://127.0.0.1:8000``, checked to answer."""
    from urllib.parse import urlsplit

    import chromadb

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TutorError(f"TUTOR_CHROMA_URL {url!r} is not a server address",
                         fix="use the form http://HOST:PORT, e.g. http://127.0.0.1:8000")
    port = parts.port or (443 if parts.scheme == "https" else 8000)
    try:
        client = chromadb.HttpClient(host=parts.hostname, port=port, ssl=parts.scheme == "https",
                                     settings=settings)
        client.heartbeat()
    except Exception as exc:  # chromadb raises several kinds for a server that is not there
        raise TutorError(f"cannot reach the Chroma server at {url} ({exc.__class__.__name__})",
                         fix="start it (chroma run --path DIR --port PORT), or unset TUTOR_CHROMA_URL "
                             "to use the local index") from None
    return client


def _copy_collection(client: Any, source: str, target: Any, page: int = 1000) -> None:
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
    def client(self):  # type: ignore[no-untyped-def]
        if self._client is None:
            from chromadb.config import Settings as ChromaSettings

            self._client = connect(self.url, ChromaSettings(anonymized_telemetry=False))
        return self._client

    def collection_name(self, generation: str) -> str:
        return f"{self.name}-{generation.removesuffix(BUILDING)}"

    def store(self, generation: str, copy_from: str | None = None) -> ChromaStore:
        return ChromaStore(url=self.url, name=self.collection_name(generation),
                           copy_from=self.collection_name(copy_from) if copy_from else None)

    def has(self, generation: str) -> bool:
        """Whether the server holds the vectors of ``generation``."""
        return self.collection_name(generation) in _collection_names(self.client)

    def _meta(self):  # type: ignore[no-untyped-def]
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
        ours = sorted(c for c in _collection_names(self.client)
                      if c.startswith(f"{self.name}-g") and c[len(self.name) + 2:].isdigit())
        for old in [c for c in ours if c != self.collection_name(generation)][:-keep or None]:
            self.client.delete_collection(old)
            meta.delete(ids=[f"catalog-{old[len(self.name) + 1:]}"])


def _metadata(c: Chunk) -> dict[str, str | int]:
    """What Chroma keeps beside a chunk's vector; the page or cell only when there is one (no None there)."""
    meta: dict[str, str | int] = {"source": c.source, "section": c.section, "start": c.start, "end": c.end,
                                  "content_hash": c.content_hash}
    meta.update({k: v for k, v in (("page", c.page), ("cell", c.cell)) if v is not None})
    return meta
