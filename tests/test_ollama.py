"""The Ollama adapter against a real local HTTP server speaking Ollama's API (no mocks of our code)."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from tests.ollama_server import FakeOllama
from tutor.config import Settings
from tutor.llm import LLMError, open_model
from tutor.llm.ollama import OllamaModel
from tutor.pipeline import Tutor
from tutor.records import Answer, TextDelta

pytestmark = pytest.mark.integration


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with FakeOllama() as s:
        yield s


def test_stream_sends_the_documented_request_and_yields_the_pieces(server: FakeOllama) -> None:
    server.replies.append("MLEs build production systems [1].")
    model = OllamaModel(server.url, "qwen2.5-coder:1.5b", timeout=10)
    pieces = list(model.stream([{"role": "system", "content": "rules"}, {"role": "user", "content": "q"}],
                               max_tokens=50, temperature=0.0))
    assert "".join(pieces) == "MLEs build production systems [1]."
    assert len(pieces) > 1  # it really streamed
    body = server.requests[-1]["body"]
    assert server.requests[-1]["path"] == "/api/chat"
    assert body["model"] == "qwen2.5-coder:1.5b" and body["stream"] is True
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["options"]["num_predict"] == 50 and body["options"]["temperature"] == 0.0
    assert body["options"]["num_ctx"] == 4096  # never the server's smaller default, which cuts prompts silently


def test_schema_is_sent_as_format(server: FakeOllama) -> None:
    server.replies.append('{"ok": true}')
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    model = OllamaModel(server.url, "qwen2.5-coder:1.5b")
    assert "".join(model.stream([{"role": "user", "content": "q"}], schema=schema)) == '{"ok": true}'
    assert server.requests[-1]["body"]["format"] == schema


def test_tags_tell_whether_the_model_is_there(server: FakeOllama) -> None:
    assert OllamaModel(server.url, "qwen2.5-coder:1.5b").ready()
    assert not OllamaModel(server.url, "llama3:8b").ready()
    with pytest.raises(LLMError, match="does not have the model llama3:8b") as info:
        OllamaModel(server.url, "llama3:8b").check()
    assert info.value.fix == "run: ollama pull llama3:8b (or set TUTOR_OLLAMA_MODEL)"


def test_model_missing_at_chat_time_is_a_clear_error(server: FakeOllama) -> None:
    model = OllamaModel(server.url, "qwen2.5-coder:1.5b")
    server.models = []
    with pytest.raises(LLMError, match="does not have the model"):
        list(model.stream([{"role": "user", "content": "q"}]))


def test_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(LLMError, match="cannot reach Ollama") as info:
        OllamaModel(f"http://127.0.0.1:{port}", "m").models()
    assert "ollama serve" in info.value.fix


def test_a_stalled_server_times_out(server: FakeOllama) -> None:
    server.stall_seconds = 2.0
    model = OllamaModel(server.url, "qwen2.5-coder:1.5b", timeout=0.5)
    with pytest.raises(LLMError, match="did not answer within"):
        list(model.stream([{"role": "user", "content": "q"}]))


def test_connection_dropped_mid_stream_marks_the_answer_incomplete(server: FakeOllama, tutor: Tutor,
                                                                     settings: Settings) -> None:
    server.replies.append("Data scientists focus on analysis and experimentation [1]. And more words here.")
    server.drop_after = 12  # after the first sentence and its marker
    ollama = OllamaModel(server.url, "qwen2.5-coder:1.5b", timeout=5)
    tutor = Tutor(tutor.settings, embedder=tutor.embedder, store=tutor.store, model=ollama, progress=False)
    items = list(tutor.ask("What do data scientists focus on?"))
    answer = items[-1]
    assert isinstance(answer, Answer)
    assert answer.incomplete and any("cut off" in w and "connection" in w for w in answer.warnings)
    assert "".join(i.text for i in items if isinstance(i, TextDelta)).startswith("Data scientists focus")


def test_auto_prefers_a_running_ollama_with_the_model(server: FakeOllama, settings: Settings) -> None:
    model = open_model(replace(settings, backend="auto", ollama_host=server.url))
    assert model is not None and model.name == "ollama:qwen2.5-coder:1.5b"


def test_auto_without_ollama_or_embedded_model_answers_extractively(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("tutor.llm.llamacpp.available", lambda: False)
    messages: list[str] = []
    assert open_model(replace(settings, backend="auto"), log=messages.append) is None
    assert "cited passages only" in messages[0]
