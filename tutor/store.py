"""The only module that talks to Chroma for an index's vectors (cosine), on disk or on a server.

Chroma never embeds anything itself here: its default embedding function would download a model,
so vectors always come from ``tutor.embedding``, as float32 matrices (a row per chunk), and go to
Chroma as such. chromadb is imported on first use. Publishing generations on a team's server (which
collection is live) is ``tutor.publish``.

``LocalStore``, the default, keeps Chroma as the store of record (the collection other Chroma tools
can open) and answers queries from a numpy snapshot of the same vectors (``vectors.npy`` and
``vectors.ids`` in the index generation), kept in step with the writes in memory and saved at the
end of an ingest: Chroma is written, never read back, so a search never imports chromadb (1-3 s
here), and exact cosine over a few thousand chunks takes well under a millisecond. Chroma is read
only to make a snapshot for an index from before snapshots.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, overload

from tutor.errors import TutorError
from tutor.records import Chunk

if TYPE_CHECKING:
    from tutor.embedding import Vector, Vectors

COLLECTION = "notes"


class VectorStore(Protocol):
    def upsert(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        """Add or replace the chunks, with ``vectors`` a matrix of one row per chunk."""
        ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def vectors(self, ids: Sequence[str]) -> dict[str, Vector]:
        """The stored vector of each of ``ids`` that is there."""
        ...

    def query(self, vector: Vector, n: int) -> list[tuple[str, float]]:
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
                 on_create: Callable[[Any, Any], None] | None = None) -> None:
        self.path = path
        self.url = url
        self.name = name
        # called as on_create(client, collection) when the collection is first opened, unless reset first:
        # how ``tutor.publish`` starts a new generation as a copy of the live one
        self.on_create = on_create
        self._client: Any = None
        self._collection: Any = None

    @property
    def client(self) -> Any:
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
    def collection(self) -> Any:
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
            if self.on_create is not None:
                prepare, self.on_create = self.on_create, None
                prepare(self.client, self._collection)
        return self._collection

    def reset(self) -> None:
        self.on_create = None
        if self.path is not None and not self.path.exists():
            return
        if self.name in collection_names(self.client):
            self.client.delete_collection(self.name)
        self._collection = None

    def upsert(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        """In calls as large as Chroma allows, with a numpy matrix: 3,100 chunks take 2.7 s so, against
        7.3 s in calls of 31 with lists of floats (measured)."""
        if not chunks:
            return
        import numpy as np

        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(chunks), -1)  # what Chroma keeps
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

    def vectors(self, ids: Sequence[str]) -> dict[str, Vector]:
        if not ids:
            return {}
        import numpy as np

        got = self.collection.get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"])}

    def query(self, vector: Vector, n: int) -> list[tuple[str, float]]:
        import numpy as np

        total = self.count()
        if total == 0:
            return []
        got = self.collection.query(query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
                                    n_results=min(n, total), include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(got["ids"][0], got["distances"][0])]

    def count(self) -> int:
        return int(self.collection.count())

    def all_vectors(self) -> tuple[list[str], Vectors]:
        """Every id and its vector (rows in the order of the ids)."""
        import numpy as np

        got = self.collection.get(include=["embeddings"])
        ids = list(got["ids"])
        if not ids:
            return [], np.zeros((0, 0), dtype=np.float32)
        return ids, np.asarray(got["embeddings"], dtype=np.float32).reshape(len(ids), -1)

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
    """Chroma on disk, the store of record, written; a numpy snapshot of the same vectors, read.

    One per index generation. The snapshot is loaded once (in a draft generation: the copy of the
    live one), changed in memory by each write beside Chroma, and saved by ``commit``.
    """

    def __init__(self, folder: Path) -> None:
        self.chroma = ChromaStore(folder / "chroma")
        self.matrix_path = folder / "vectors.npy"
        self.ids_path = folder / "vectors.ids"
        self._snapshot: tuple[Sequence[str], Vectors] | None = None
        self._dirty = False

    @property
    def has_vectors(self) -> bool:
        """False for a generation folder with no vectors of its own (one a team ingest wrote for a server)."""
        return has_local_vectors(self.matrix_path.parent)

    def upsert(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        if not chunks:
            return
        import numpy as np

        ids, matrix = self._load(writing=True)
        rows = np.asarray(vectors, dtype=np.float32).reshape(len(chunks), -1)
        self.chroma.upsert(chunks, rows)
        new = {c.id for c in chunks}
        keep = np.fromiter((i not in new for i in ids), dtype=bool, count=len(ids))
        kept_ids = [i for i, k in zip(ids, keep) if k]
        self._snapshot = ([*kept_ids, *(c.id for c in chunks)],
                          np.concatenate([matrix[keep], rows]) if kept_ids else rows)
        self._dirty = True

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        import numpy as np

        have, matrix = self._load(writing=True)
        self.chroma.delete(ids)
        gone = set(ids)
        keep = np.fromiter((i not in gone for i in have), dtype=bool, count=len(have))
        self._snapshot = ([i for i, k in zip(have, keep) if k], matrix[keep])
        self._dirty = True

    def vectors(self, ids: Sequence[str]) -> dict[str, Vector]:
        have, matrix = self._load()
        wanted = set(ids)
        return {i: matrix[n] for n, i in enumerate(have) if i in wanted}

    def reset(self) -> None:
        import numpy as np

        self.chroma.reset()
        self._snapshot = ([], np.zeros((0, 0), dtype=np.float32))
        self._dirty = True

    def commit(self) -> None:
        """Save the snapshot, atomically (a reader sees the old one or the new one); Chroma is written already."""
        if not self._dirty and self.matrix_path.exists():
            return
        import numpy as np

        ids, matrix = self._load()
        tmp_matrix = self.matrix_path.with_suffix(".tmp.npy")
        tmp_ids = self.ids_path.with_suffix(".tmp")
        np.save(tmp_matrix, matrix)
        tmp_ids.write_text("\n".join(ids), encoding="utf-8")
        os.replace(tmp_ids, self.ids_path)
        os.replace(tmp_matrix, self.matrix_path)
        self._dirty = False
        self.chroma.close()  # the writer is done: no open database left on this generation

    def _load(self, writing: bool = False) -> tuple[Sequence[str], Vectors]:
        """The snapshot (ids, matrix); a writer on a folder with no vectors at all starts from none."""
        if self._snapshot is None:
            import numpy as np

            if writing and not self.has_vectors:
                self._snapshot = ([], np.zeros((0, 0), dtype=np.float32))
            elif not self.matrix_path.exists():
                if not self.has_vectors:  # never make up an empty Chroma database here
                    raise TutorError(f"the index generation {self.matrix_path.parent} has no vectors of its own "
                                     "(its vectors are on a Chroma server)", fix="run: tutor ingest --rebuild")
                self._snapshot = self.chroma.all_vectors()  # an index from before snapshots: make one
                self._dirty = True
                self.commit()
            else:
                ids = IdColumn(self.ids_path.read_bytes() if self.ids_path.exists() else b"")
                try:  # mapped, not read: a page of it is resident once a search has read it (all, after one)
                    matrix = np.load(self.matrix_path, mmap_mode="r")
                except (OSError, ValueError):
                    matrix = None
                if matrix is None or len(ids) != len(matrix):
                    raise TutorError(f"the vector snapshot in {self.matrix_path.parent} is damaged",
                                     fix="run: tutor ingest --rebuild")
                self._snapshot = (ids, matrix)
        assert self._snapshot is not None
        return self._snapshot

    def query(self, vector: Vector, n: int) -> list[tuple[str, float]]:
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


class IdColumn(Sequence[str]):
    """The snapshot's chunk ids as the bytes of ``vectors.ids`` and where each line starts: a search reads the
    ids of its few hits, and 33,000 ids as a list of str took 2.5 MB. Made with no large temporary array:
    glibc raises its mmap threshold after freeing one, and the embedder's buffers then stay in the heap
    (11 MB more RSS at 33,000 chunks, measured)."""

    def __init__(self, blob: bytes) -> None:
        from itertools import accumulate

        import numpy as np

        self.blob = blob
        count = blob.count(b"\n") + 1 if blob else 0
        # starts[n] is where id n begins; starts[count] is one past the end (a newline after the last one)
        self.starts = np.fromiter(accumulate((len(line) + 1 for line in blob.split(b"\n")), initial=0)
                                  if blob else [0], dtype=np.int64, count=count + 1)

    def __len__(self) -> int:
        return len(self.starts) - 1

    @overload
    def __getitem__(self, n: int) -> str: ...
    @overload
    def __getitem__(self, n: slice) -> list[str]: ...
    def __getitem__(self, n: int | slice) -> str | list[str]:
        if isinstance(n, slice):
            return [self[i] for i in range(*n.indices(len(self)))]
        n = range(len(self))[n]  # negative from the end; IndexError past it
        return self.blob[self.starts[n] : self.starts[n + 1] - 1].decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return iter(self.blob.decode("utf-8").split("\n") if self.blob else ())


def collection_names(client: Any) -> set[str]:
    """Names of the collections a Chroma client sees (older chromadb lists objects, newer lists names)."""
    return {c if isinstance(c, str) else c.name for c in client.list_collections()}


def _forget_failed_system(identifier: str) -> None:
    """chromadb keeps a system that failed to start cached under its path, so every later open fails
    with an unrelated AttributeError; drop it, so a later open (after a rebuild) starts afresh."""
    from chromadb.api.shared_system_client import SharedSystemClient

    for table in ("_identifier_to_system", "_identifier_to_refcount"):
        getattr(SharedSystemClient, table, {}).pop(identifier, None)


def connect(url: str, settings: Any = None) -> Any:
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


def _metadata(c: Chunk) -> dict[str, str | int]:
    """What Chroma keeps beside a chunk's vector; the page or cell only when there is one (no None there)."""
    meta: dict[str, str | int] = {"source": c.source, "section": c.section, "start": c.start, "end": c.end,
                                  "content_hash": c.content_hash}
    meta.update({k: v for k, v in (("page", c.page), ("cell", c.cell)) if v is not None})
    return meta
