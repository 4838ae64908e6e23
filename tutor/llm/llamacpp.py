"""The embedded backend: a GGUF model run in process by llama-cpp-python.

One loaded copy per model file per process, shared by chat, ``--batch``, the UI and evals; llama.cpp
then reuses its KV cache for the prompt prefix that repeats (the system prompt).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tutor.config import Settings
from tutor.errors import TutorError
from tutor.llm import LLMError, Message
from tutor.llm.modelfile import EMBEDDED, ensure_embedded

_LOADED: dict[tuple[str, int, int], Any] = {}
_LOCK = threading.RLock()  # one generation at a time per process: a llama.cpp context is not thread-safe


def _close_all() -> None:
    """Free the models before the interpreter tears down the modules llama.cpp's destructor needs."""
    while _LOADED:
        _, llm = _LOADED.popitem()
        try:
            llm.close()
        except Exception:  # noqa: BLE001 - nothing useful to say at exit
            pass


atexit.register(_close_all)


def available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


class LlamaCppModel:
    def __init__(self, path: Path, name: str, n_ctx: int = 4096, threads: int = 0) -> None:
        self.path = path
        self.name = name
        self.n_ctx = n_ctx
        self.threads = threads or os.cpu_count() or 2
        self.last_finish_reason: str | None = None

    @classmethod
    def for_settings(cls, settings: Settings, progress: bool | None = None) -> LlamaCppModel:
        if not available():
            raise TutorError("llama-cpp-python is not installed", fix="run scripts/setup, or use --backend ollama")
        if settings.model is not None:
            if not settings.model.is_file():
                raise TutorError(f"no model file at {settings.model}", fix="set TUTOR_MODEL to a .gguf file")
            return cls(settings.model, f"llamacpp:{settings.model.stem}", settings.n_ctx, settings.threads)
        path = ensure_embedded(settings.model_dir, progress=progress, log=lambda m: _stderr(m))
        return cls(path, f"llamacpp:{EMBEDDED.name}", settings.n_ctx, settings.threads)

    def load(self) -> Any:
        key = (str(self.path), self.n_ctx, self.threads)
        with _LOCK:
            if key not in _LOADED:
                from llama_cpp import Llama

                try:
                    _LOADED[key] = Llama(
                        model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.threads,
                        n_batch=512, verbose=False,
                    )
                except (ValueError, RuntimeError) as exc:
                    raise TutorError(f"llama.cpp could not load {self.path} ({exc})",
                                     fix="check that it is a GGUF model file") from None
            return _LOADED[key]

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 320,
        temperature: float = 0.1,
        schema: dict[str, Any] | None = None,
    ) -> Iterator[str]:
        llm = self.load()
        kwargs: dict[str, Any] = {}
        if schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        self.last_finish_reason = None
        with _LOCK:
            try:
                for part in llm.create_chat_completion(
                    messages=list(messages), stream=True, max_tokens=max_tokens,
                    temperature=temperature, seed=0, **kwargs,
                ):
                    choice = part["choices"][0]
                    text = choice.get("delta", {}).get("content")
                    if text:
                        yield text
                    if choice.get("finish_reason"):
                        self.last_finish_reason = choice["finish_reason"]
            except ValueError as exc:  # e.g. the prompt does not fit the context window
                raise LLMError(f"llama.cpp refused the prompt ({exc})",
                               fix="ask a shorter question or raise TUTOR_N_CTX") from None


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr)
