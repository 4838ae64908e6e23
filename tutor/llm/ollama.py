"""The user's Ollama server, through langchain-ollama (``ChatOllama``).

Reachability and model presence are checked with one plain HTTP call to ``/api/tags``; the
answer streams from ``/api/chat``. langchain is imported only when an answer is asked for.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from tutor.errors import TutorError
from tutor.llm import LLMError, Message, TextStream


class OllamaModel:
    def __init__(self, host: str, model: str, timeout: float = 120.0, n_ctx: int = 4096) -> None:
        self.host = host.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.n_ctx = n_ctx  # sent as num_ctx: older servers default to 2048 and silently cut longer prompts
        self.name = f"ollama:{model}"

    def models(self, timeout: float = 2.0) -> list[str]:
        """Names of the models the server has; raises LLMError when it cannot be reached."""
        try:
            with urllib.request.urlopen(f"{self.host}/api/tags", timeout=timeout) as response:
                data = json.load(response)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise LLMError(f"cannot reach Ollama at {self.host} ({reason})",
                           fix="start it with `ollama serve`, set OLLAMA_HOST, or use --backend llamacpp") from None
        return [m.get("name", "") for m in data.get("models", [])]

    def has_model(self, names: list[str]) -> bool:
        wanted = self.model if ":" in self.model else f"{self.model}:latest"
        return wanted in names or self.model in names

    def ready(self, timeout: float = 0.5) -> bool:
        try:
            return self.has_model(self.models(timeout))
        except LLMError:
            return False

    def check(self) -> None:
        if not self.has_model(self.models()):
            raise LLMError(f"Ollama at {self.host} does not have the model {self.model}",
                           fix=f"run: ollama pull {self.model} (or set TUTOR_OLLAMA_MODEL)")

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 320,
        temperature: float = 0.1,
        schema: dict[str, Any] | None = None,
        markers: int = 0,  # Ollama cannot steer sampling per token: check_citations removes a bad marker
    ) -> TextStream:
        try:
            import httpx
            from langchain_ollama import ChatOllama
            from ollama import ResponseError
        except ImportError:
            raise TutorError("langchain-ollama is not installed", fix="run scripts/setup") from None
        chat = ChatOllama(
            model=self.model,
            base_url=self.host,
            temperature=temperature,
            num_predict=max_tokens,
            num_ctx=self.n_ctx,
            format=schema,
            client_kwargs={"timeout": self.timeout},
        )
        try:
            for chunk in chat.stream([(m["role"], m["content"]) for m in messages]):
                if isinstance(chunk.content, str) and chunk.content:
                    yield chunk.content
        except httpx.TimeoutException:
            raise LLMError(f"Ollama at {self.host} did not answer within {self.timeout:g}s",
                           fix="raise TUTOR_TIMEOUT, or use a smaller model") from None
        except (httpx.TransportError, ConnectionError) as exc:
            raise LLMError(f"lost the connection to Ollama at {self.host} ({exc.__class__.__name__})",
                           fix="check that `ollama serve` is running, then ask again") from None
        except ResponseError as exc:
            if exc.status_code == 404:
                raise LLMError(f"Ollama at {self.host} does not have the model {self.model}",
                               fix=f"run: ollama pull {self.model}") from None
            raise LLMError(f"Ollama failed: {exc.error}", fix="see the Ollama server's log") from None
        finally:
            # ChatOllama opens an HTTP client per instance and never closes it; free its sockets now.
            chat._client.close()
        return None  # langchain's stream does not say why the model stopped
