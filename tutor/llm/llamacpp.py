"""The embedded backend: a GGUF model run in process by llama-cpp-python.

One loaded copy per model file per process, shared by chat, ``--batch``, the UI and evals; llama.cpp
then reuses its KV cache for the prompt prefix that repeats (the system prompt and worked example).
Across processes, the KV cache of the first answer is saved to the cache folder (keyed by model,
context size and the fixed messages), so the next ``tutor ask`` skips re-reading that prefix: at
~40 prompt tokens/s on two cores that saves seconds on every cold question. A prompt that extends a
saved family (asking an answer to go on adds the answer and a request to the answer's messages) is
served by that family's file and writes none of its own: a file per question would be ~50 MB each and
push the answer family out of the four kept.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import importlib.util
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from tutor.config import Settings
from tutor.errors import TutorError
from tutor.llm import LLMError, Message, TextStream
from tutor.llm.modelfile import EMBEDDED, ensure_embedded

_LOADED: dict[tuple[str, int, int], Any] = {}
_LOAD = threading.Lock()
# One generation at a time per process: a llama.cpp context is not thread-safe. A semaphore, not a
# lock: it is held across the stream's yields, and a server (Gradio) may resume a stream on another
# thread, which a thread-owned lock refuses to release.
_GENERATING = threading.BoundedSemaphore(1)


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
    def __init__(self, path: Path, name: str, n_ctx: int = 4096, threads: int = 0,
                 cache_dir: Path | None = None) -> None:
        self.path = path
        self.name = name
        self.n_ctx = n_ctx
        self.threads = threads or os.cpu_count() or 2
        self.cache_dir = cache_dir  # where prompt-prefix KV caches are kept; None: not across processes
        self.restored_tokens = 0  # prompt tokens the last answer took from a saved KV cache

    @classmethod
    def for_settings(cls, settings: Settings, progress: bool | None = None) -> LlamaCppModel:
        if not available():
            raise TutorError("llama-cpp-python is not installed", fix="run scripts/setup, or use --backend ollama")
        if settings.model is not None:
            if not settings.model.is_file():
                raise TutorError(f"no model file at {settings.model}", fix="set TUTOR_MODEL to a .gguf file")
            return cls(settings.model, f"llamacpp:{settings.model.stem}", settings.n_ctx, settings.threads,
                       settings.data_dir / "cache")
        path = ensure_embedded(settings.model_dir, progress=progress, log=lambda m: _stderr(m))
        return cls(path, f"llamacpp:{EMBEDDED.name}", settings.n_ctx, settings.threads, settings.data_dir / "cache")

    def load(self) -> Any:
        key = (str(self.path), self.n_ctx, self.threads)
        with _LOAD:
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
        markers: int = 0,
    ) -> TextStream:
        llm = self.load()
        kwargs: dict[str, Any] = {}
        if schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        if markers:
            from llama_cpp import LogitsProcessorList
            kwargs["logits_processor"] = LogitsProcessorList([MarkerLimit(llm, markers)])
        finish_reason: str | None = None
        saved, new = self._cache_files(messages)
        with _GENERATING:
            self.restored_tokens = self._restore(llm, saved) if saved else 0
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
                        finish_reason = choice["finish_reason"]
            except ValueError as exc:  # e.g. the prompt does not fit the context window
                raise LLMError(f"llama.cpp refused the prompt ({exc})",
                               fix="ask a shorter question or raise TUTOR_N_CTX") from None
            if new is not None and not new.exists():
                with contextlib.suppress(OSError):  # an unwritable data folder only costs the next answer time
                    self._save(llm, new)
        return finish_reason

    def _cache_files(self, messages: list[Message]) -> tuple[Path | None, Path | None]:
        """(the saved KV cache to start ``messages`` from, the file to save after them): the family of the
        longest run of leading messages (all but the last at most) that has a file, and none to save; or,
        when none has, the family of all but the last message, to save. A family's file is keyed by the
        model, the context size and its messages."""
        if self.cache_dir is None or len(messages) < 2:
            return None, None
        model = [self.path.name, self.path.stat().st_size, self.n_ctx]  # read once, not once a family
        families = []  # longest first
        for k in range(len(messages) - 1, 0, -1):
            key = hashlib.sha256(json.dumps([*model, messages[:k]]).encode()).hexdigest()[:16]
            families.append(self.cache_dir / f"{self.path.stem}.{key}.kv")
        return next(((path, None) for path in families if path.exists()), (None, families[0]))

    @staticmethod
    def _restore(llm: Any, path: Path) -> int:
        """Load a saved KV cache into a fresh context; llama.cpp then reuses its longest common prefix."""
        if llm.n_tokens or not path.exists():
            return 0
        import llama_cpp

        capacity = llm.n_ctx()
        tokens = (llama_cpp.llama_token * capacity)()
        count = ctypes.c_size_t(0)
        if not llama_cpp.llama_state_load_file(llm._ctx.ctx, str(path).encode(), tokens, capacity,
                                               ctypes.byref(count)):
            path.unlink(missing_ok=True)  # from another llama.cpp build, or damaged: make a new one
            return 0
        llm.input_ids[: count.value] = tokens[: count.value]
        llm.n_tokens = count.value
        return int(count.value)

    def _save(self, llm: Any, path: Path) -> None:
        import llama_cpp

        n = int(llm.n_tokens)
        if n == 0:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tokens = (llama_cpp.llama_token * n)(*llm.input_ids[:n].tolist())
        if llama_cpp.llama_state_save_file(llm._ctx.ctx, str(tmp).encode(), tokens, n):
            os.replace(tmp, path)
            for old in sorted(path.parent.glob(f"{self.path.stem}.*.kv"), key=lambda p: p.stat().st_mtime)[:-4]:
                old.unlink(missing_ok=True)  # keep the four newest prompt families
        else:
            tmp.unlink(missing_ok=True)


# The text just written ends inside a citation marker: "[" and its digits so far. A "[" right after a word,
# a bracket or a backtick is code ("shape[1]", "a[i][0]"), not a marker.
OPEN_MARKER = re.compile(r"(?:^|[^\w\])`])\[(\d*)$")


class MarkerLimit:
    """A llama.cpp logits processor: inside a citation marker, the digits that would make it name no
    passage ("[6]" with five, "[0]") are not sampled. The model then writes a marker that names a
    passage, which the citation check can still correct, instead of one it must remove."""

    def __init__(self, llm: Any, limit: int) -> None:
        self.llm = llm
        self.limit = limit
        # Qwen2's tokenizer (like most) writes each digit as a token of its own; a digit it does not is left be
        tokens = {d: llm.tokenize(str(d).encode(), add_bos=False, special=False) for d in range(10)}
        self.digits = {str(d): t[0] for d, t in tokens.items() if len(t) == 1}

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        tail = self.llm.detokenize(list(input_ids[-4:])).decode("utf-8", "ignore")
        opened = OPEN_MARKER.search(tail)
        if opened:
            for digit, token in self.digits.items():
                number = opened.group(1) + digit
                if number.startswith("0") or int(number) > self.limit:
                    scores[token] = -float("inf")
        return scores


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr)
