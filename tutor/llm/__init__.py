"""The LLM seam: one small interface, backends picked by name from a plain registry.

A backend streams text for a list of chat messages. ``open_model`` resolves ``auto``: the user's
Ollama server when it is reachable and has the model, else the embedded llama.cpp model, else
None, which the answering stage turns into an extractive answer (cited passages, no LLM).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any, Protocol, TypedDict

from tutor.config import Settings
from tutor.errors import TutorError


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


# What a backend's ``stream`` is: a generator of text pieces that returns why it stopped ("stop", "length"),
# or None when the backend does not say. Callers that only want the text just iterate it.
TextStream = Generator[str, None, str | None]


class ChatModel(Protocol):
    name: str  # shown to the user and in JSON, e.g. "llamacpp:qwen2.5-coder-1.5b"

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 320,
        temperature: float = 0.1,
        schema: dict[str, Any] | None = None,
        markers: int = 0,
    ) -> TextStream:
        """Text pieces as the model writes them; with ``schema``, the whole text is JSON of that schema.

        ``markers``: the reply cites passages [1]..[markers], so a backend that can steer its sampling
        never writes a marker past them (0: no limit). A backend that cannot ignores it; the citation
        check then removes such a marker."""
        ...


class Completion:
    """One model stream: iterating it gives the text pieces; afterwards ``finish_reason`` says why it stopped."""

    def __init__(self, pieces: TextStream) -> None:
        self._pieces = pieces
        self.finish_reason: str | None = None  # "stop", "length", or None (the backend did not say, or failed)

    def __iter__(self) -> Iterator[str]:
        self.finish_reason = yield from self._pieces


class LLMError(TutorError):
    """The model could not be reached, timed out, or failed mid-answer."""


Factory = Callable[[Settings], ChatModel]


def _llamacpp(settings: Settings) -> ChatModel:
    from tutor.llm.llamacpp import LlamaCppModel

    return LlamaCppModel.for_settings(settings)


def _ollama(settings: Settings) -> ChatModel:
    from tutor.llm.ollama import OllamaModel

    model = OllamaModel(settings.ollama_host, settings.ollama_model, settings.timeout, settings.n_ctx)
    model.check()
    return model


REGISTRY: dict[str, Factory] = {"llamacpp": _llamacpp, "ollama": _ollama}


def register(name: str, factory: Factory) -> None:
    """Add a backend (tests register their scripted fakes here)."""
    REGISTRY[name] = factory


def open_model(settings: Settings, log: Callable[[str], None] = lambda _m: None) -> ChatModel | None:
    """The chat model to answer with, or None for extractive answers."""
    if settings.backend == "extractive":
        return None
    if settings.backend != "auto":
        try:
            factory = REGISTRY[settings.backend]
        except KeyError:
            raise TutorError(f"unknown backend {settings.backend!r}",
                             fix=f"choose one of: auto, extractive, {', '.join(REGISTRY)}") from None
        return factory(settings)
    from tutor.llm.ollama import OllamaModel

    ollama = OllamaModel(settings.ollama_host, settings.ollama_model, settings.timeout, settings.n_ctx)
    if ollama.ready(timeout=0.5):
        return ollama
    try:
        return _llamacpp(settings)
    except TutorError as exc:
        log(f"no language model available ({exc}); answering with cited passages only")
        return None
