"""Small fakes behind our own seams: a deterministic embedder, an in-memory store, a scripted model, an
echoing model, and a ``Tutor`` built on them."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tutor.errors import TutorError
from tutor.llm import LLMError, Message, TextStream
from tutor.prompts import CONDENSE_SYSTEM, GO_ON, JUDGE_SYSTEM, NOT_COVERED
from tutor.records import Chunk, plain
from tutor.text import tokenize

if TYPE_CHECKING:
    from tutor.config import Settings
    from tutor.embedding import Vector, Vectors
    from tutor.pipeline import Tutor

# Model replies for quiz items that pass validation on the sample notes (corpus/ml-process-summary.md).
GOOD_MCQ = {"question": "Which step of CRISP-DM is the most time-consuming?",
            "correct": "Data understanding and preparation",
            "distractors": ["Modeling", "Evaluation", "Deployment"]}
GOOD_SHORT = {"question": "What are the advantage and the disadvantage of supervised recommenders?",
              "key_points": ["Higher accuracy", "Computationally expensive at scale"]}


class HashEmbedder:
    """Bag of words hashed into 512 dimensions: texts that share words are close, deterministically."""

    name = "fake-hash-512"
    dim = 512

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim))
        for row, text in enumerate(texts):
            for token in tokenize(text):
                h = int(hashlib.md5(token.encode()).hexdigest(), 16)
                out[row, h % self.dim] += 1.0 if (h >> 8) % 2 else -1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


class MemoryStore:
    """The VectorStore seam in a dict."""

    def __init__(self) -> None:
        self.data: dict[str, Vector] = {}

    def upsert(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        assert isinstance(vectors, np.ndarray) and vectors.shape[0] == len(chunks), "vectors are one matrix"
        for c, v in zip(chunks, vectors):
            self.data[c.id] = v

    def delete(self, ids: Sequence[str]) -> None:
        for i in ids:
            self.data.pop(i, None)

    def vectors(self, ids: Sequence[str]) -> dict[str, Vector]:
        return {i: self.data[i] for i in ids if i in self.data}

    def query(self, vector: Vector, n: int) -> list[tuple[str, float]]:
        scored = [(i, float(np.dot(vector, v))) for i, v in self.data.items()]
        return sorted(scored, key=lambda x: -x[1])[:n]

    def count(self) -> int:
        return len(self.data)

    def reset(self) -> None:
        self.data.clear()

    def commit(self) -> None:
        self.commits = getattr(self, "commits", 0) + 1


def last_request(model: Any) -> list[Message]:
    """The messages of the model's last request that was not a request to go on after a one-line answer,
    nor a yes-or-no judgement of one passage."""
    return next(m for m in reversed(model.received)
                if not m[-1]["content"].startswith(GO_ON) and m[0]["content"] != JUDGE_SYSTEM)


class ScriptedModel:
    """Replies with queued texts, in pieces, and records what it was sent. A request to go on after a
    one-line answer takes the next of ``more`` instead (NOT_COVERED when none is queued); a ``more`` reply
    ending in "…" stops there at the token limit. Asked whether a passage answers, it takes the next of
    ``judgements`` ("NO" when none is queued)."""

    def __init__(self, *replies: str, name: str = "scripted:test") -> None:
        self.replies = list(replies)
        self.name = name
        self.received: list[list[Message]] = []
        self.markers: list[int] = []  # each stream's highest citable passage (0: no limit)
        self.max_tokens: list[int] = []
        self.more: list[str] = []  # replies to requests to go on after a one-line answer (none left: nothing more)
        self.judgements: list[str] = []  # replies to "does this passage answer?" (none left: "NO")
        self.fail_after: int | None = None  # raise LLMError after this many pieces
        self.finish_reason = "stop"  # what each stream says it stopped for ("length": the token limit)

    def enqueue(self, *replies: str) -> None:
        self.replies.extend(replies)

    def stream(self, messages: list[Message], *, max_tokens: int = 320, temperature: float = 0.1,
               schema: dict[str, Any] | None = None, markers: int = 0) -> TextStream:
        self.received.append(list(messages))
        self.markers.append(markers)
        self.max_tokens.append(max_tokens)
        if messages and messages[-1]["content"].startswith(GO_ON):  # asked for more after a one-line answer
            reply = self.more.pop(0) if self.more else NOT_COVERED
            if reply.endswith("…"):  # a reply cut off at the token limit
                yield reply[:-1]
                return "length"
        elif messages and messages[0]["content"] == JUDGE_SYSTEM:  # does this one passage answer?
            reply = self.judgements.pop(0) if self.judgements else "NO"
        elif not self.replies:
            raise AssertionError("ScriptedModel has no reply queued")
        else:
            reply = self.replies.pop(0)
        for i in range(0, len(reply), 7):
            if self.fail_after is not None and i // 7 >= self.fail_after:
                raise LLMError("connection dropped", fix="try again")
            yield reply[i : i + 7]
        return self.finish_reason


class FolderStore(MemoryStore):
    """The VectorStore seam as ``LocalStore`` keeps it, one per index generation folder, in a JSON file:
    a folder without that file has no vectors (``has_vectors``), and reading it then fails with the fix."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.path = folder / "vectors.json"
        if self.path.exists():
            self.data = {i: np.asarray(v) for i, v in json.loads(self.path.read_text()).items()}

    @property
    def has_vectors(self) -> bool:
        return self.path.exists()

    def _require(self) -> None:
        if not self.has_vectors:
            raise TutorError(f"the index generation {self.path.parent} has no vectors of its own",
                             fix="run: tutor ingest --rebuild")

    def query(self, vector: Vector, n: int) -> list[tuple[str, float]]:
        self._require()
        return super().query(vector, n)

    def count(self) -> int:
        self._require()
        return super().count()

    def commit(self) -> None:
        super().commit()
        self.path.write_text(json.dumps({i: v.tolist() for i, v in self.data.items()}))


class EchoModel:
    """A model that always has a reply: a sentence of passage [1] cited [1], a standalone question for a
    follow-up, a fixed multiple-choice item under a schema; or an LLMError while ``down``."""

    def __init__(self, name: str = "echo:test", delay: float = 0.0) -> None:
        self.name = name
        self.down = False
        self.delay = delay  # seconds per piece of a chat answer: a slow model, to see what waits for it
        self.received: list[list[Message]] = []

    def stream(self, messages: list[Message], *, max_tokens: int = 320, temperature: float = 0.1,
               schema: dict[str, Any] | None = None, markers: int = 0) -> TextStream:
        if self.down:
            raise LLMError("cannot reach the language model server", fix="start it")
        self.received.append(list(messages))
        reply = self._reply(messages, schema)
        for i in range(0, len(reply), 6):
            if self.delay and schema is None:
                time.sleep(self.delay)
            yield reply[i : i + 6]
        return "stop"

    @staticmethod
    def _reply(messages: list[Message], schema: dict[str, Any] | None) -> str:
        if schema is not None:
            return json.dumps(GOOD_MCQ)
        prompt = messages[-1]["content"]
        if prompt.startswith(GO_ON):
            return NOT_COVERED  # it said the one sentence it had
        if messages[0]["content"] == JUDGE_SYSTEM:
            return "NO"  # it stands by its answer
        if messages[0]["content"] == CONDENSE_SYSTEM:
            asked = re.findall(r"^User: (.*)$", prompt, re.M)[-1]
            follow = re.search(r"Follow-up: (.*)", prompt).group(1)  # type: ignore[union-attr]
            return f"{asked} {follow}"
        body = prompt.split("[1] (", 1)[1].split("\n", 1)[1].split("\n\n[2]", 1)[0]
        for line in plain(body).splitlines():
            words = re.findall(r"[A-Za-z][A-Za-z-]+", line)
            if len(words) >= 4:
                return " ".join(words[:14]) + " [1]."
        return " ".join(re.findall(r"[A-Za-z]+", body)[:10]) + " [1]."


def fake_tutor(settings: Settings, model: Any = None, **kwargs: Any) -> Tutor:
    """The whole pipeline on fakes: hashed embeddings, an in-memory store, ``model`` (None: the configured one)."""
    from tutor.pipeline import Tutor

    return Tutor(settings, embedder=HashEmbedder(), store=MemoryStore(), model=model, progress=False, **kwargs)
