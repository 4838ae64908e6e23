"""Small fakes behind our own seams: a deterministic embedder, an in-memory store, a scripted model."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

from tutor.llm import LLMError, Message, TextStream
from tutor.records import Chunk
from tutor.retrieval import tokenize


class HashEmbedder:
    """Bag of words hashed into 512 dimensions: texts that share words are close, deterministically."""

    name = "fake-hash-512"
    dim = 512

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        out = []
        for text in texts:
            v = [0.0] * self.dim
            for token in tokenize(text):
                h = int(hashlib.md5(token.encode()).hexdigest(), 16)
                v[h % self.dim] += 1.0 if (h >> 8) % 2 else -1.0
            norm = math.sqrt(sum(x * x for x in v)) or 1.0
            out.append([x / norm for x in v])
        return out


class MemoryStore:
    """The VectorStore seam in a dict."""

    def __init__(self) -> None:
        self.data: dict[str, list[float]] = {}

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        for c, v in zip(chunks, vectors):
            self.data[c.id] = list(v)

    def delete(self, ids: Sequence[str]) -> None:
        for i in ids:
            self.data.pop(i, None)

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        return {i: self.data[i] for i in ids if i in self.data}

    def query(self, vector: Sequence[float], n: int) -> list[tuple[str, float]]:
        scored = [(i, sum(a * b for a, b in zip(vector, v))) for i, v in self.data.items()]
        return sorted(scored, key=lambda x: -x[1])[:n]

    def count(self) -> int:
        return len(self.data)

    def reset(self) -> None:
        self.data.clear()

    def commit(self) -> None:
        self.commits = getattr(self, "commits", 0) + 1


class ScriptedModel:
    """Replies with queued texts, in pieces, and records what it was sent."""

    def __init__(self, *replies: str, name: str = "scripted:test") -> None:
        self.replies = list(replies)
        self.name = name
        self.received: list[list[Message]] = []
        self.fail_after: int | None = None  # raise LLMError after this many pieces
        self.finish_reason = "stop"  # what each stream says it stopped for ("length": the token limit)

    def enqueue(self, *replies: str) -> None:
        self.replies.extend(replies)

    def stream(self, messages: list[Message], *, max_tokens: int = 320, temperature: float = 0.1,
               schema: dict[str, Any] | None = None) -> TextStream:
        self.received.append(list(messages))
        if not self.replies:
            raise AssertionError("ScriptedModel has no reply queued")
        reply = self.replies.pop(0)
        for i in range(0, len(reply), 7):
            if self.fail_after is not None and i // 7 >= self.fail_after:
                raise LLMError("connection dropped", fix="try again")
            yield reply[i : i + 7]
        return self.finish_reason
