"""The LLM seam: one small interface, backends picked by name from a plain registry.

A backend streams text for a list of chat messages. ``open_model`` resolves ``auto``: the user's
Ollama server when it is reachable and has the model, else the embedded llama.cpp model, else
None, which the answering stage turns into an extractive answer (cited passages, no LLM).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypedDict

from tutor.config import Settings
from tutor.errors import TutorError


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


class ChatModel(Protocol):
    name: str  # shown to the user and in JSON, e.g. "llamacpp:qwen2.5-coder-1.5b"

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 320,
        temperature: float = 0.1,
        schema: dict[str, Any] | None = None,
    ) -> Iterator[str]:
        """Text pieces as the model writes them; with ``schema``, the whole text is JSON of that schema."""
        ...


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
