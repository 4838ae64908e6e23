"""tutor: a private, local study tutor. Cited answers from your own notes, offline.

The public API for scripts: ``load_settings`` (flags, ``TUTOR_*`` variables, ``tutor.toml``, defaults,
as the CLI resolves them), ``Tutor`` (search, ask, ingest), the records it returns and ``TutorError``.
``tutor.langchain.TutorRetriever`` is the search as a LangChain retriever. ``import tutor`` stays
cheap: ``Tutor`` is imported on first use, and no model, index or heavy library is loaded until used.
"""

import os as _os
from typing import TYPE_CHECKING, Any

# numpy's OpenBLAS spins a thread per core; beside llama.cpp's threads on a small machine that
# oversubscription made query embedding 5-8x slower (measured). One BLAS thread is predictable.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from tutor.config import Settings, load_settings  # noqa: E402
from tutor.errors import TutorError  # noqa: E402
from tutor.records import Answer, Chunk, Citation, Hit, Timings  # noqa: E402

if TYPE_CHECKING:
    from tutor.pipeline import Tutor

__all__ = ["Answer", "Chunk", "Citation", "Hit", "Settings", "Timings", "Tutor", "TutorError", "load_settings"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``tutor.Tutor`` imported on first use, so ``import tutor`` (and ``tutor --help``) stays instant."""
    if name == "Tutor":
        from tutor.pipeline import Tutor

        return Tutor
    raise AttributeError(f"module 'tutor' has no attribute {name!r}")
