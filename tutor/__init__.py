"""tutor: a private, local study tutor. Cited answers from your own notes, offline."""

import os as _os

# numpy's OpenBLAS spins a thread per core; beside llama.cpp's threads on a small machine that
# oversubscription made query embedding 5-8x slower (measured). One BLAS thread is predictable.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from tutor.config import Settings, load_settings  # noqa: E402
from tutor.errors import TutorError  # noqa: E402
from tutor.records import Answer, Chunk, Citation, Hit, Timings  # noqa: E402

__all__ = ["Answer", "Chunk", "Citation", "Hit", "Settings", "Timings", "TutorError", "load_settings"]
__version__ = "0.1.0"
