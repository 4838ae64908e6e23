"""The ``Tutor`` wiring: reading a part never builds the index; ``open_index`` and ``ensure_index`` do."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.fakes import HashEmbedder, MemoryStore, ScriptedModel
from tutor.config import Settings
from tutor.errors import TutorError
from tutor.generations import current
from tutor.llm import LLMError
from tutor.pipeline import Tutor


def fresh(settings: Settings, model: ScriptedModel | None = None) -> Tutor:
    return Tutor(settings, embedder=HashEmbedder(), store=MemoryStore(), model=model, progress=False)


def test_reading_the_index_parts_never_builds_the_index(settings: Settings) -> None:
    tutor = fresh(settings)
    for part in ("retriever", "catalog"):
        with pytest.raises(TutorError, match="no notes to search"):
            getattr(tutor, part)
    assert current(settings.index) is None  # nothing was ingested


def test_open_index_builds_it_once_then_parts_read_it(settings: Settings) -> None:
    messages: list[str] = []
    tutor = Tutor(settings, embedder=HashEmbedder(), store=MemoryStore(), log=messages.append, progress=False)
    retriever = tutor.open_index()
    assert current(settings.index) is not None and retriever is tutor.retriever
    assert tutor.catalog.chunks and any("first run" in m for m in messages)
    (settings.corpus / "new.md").write_text("# New\nSomething new.\n")
    assert tutor.open_index() is retriever  # opened already: no second look at the notes
    assert tutor.ensure_index() is not None  # the explicit call does look, and refreshes


def test_a_tutor_on_the_extractive_backend_never_opens_a_model(settings: Settings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def no(*_a: object, **_k: object) -> None:
        raise AssertionError("open_model was called")

    monkeypatch.setattr("tutor.pipeline.open_model", no)
    tutor = fresh(replace(settings, backend="extractive"))
    assert tutor.model is None and tutor.backend_name == "extractive"
    answer = list(tutor.ask("What are the two approaches of recommendation systems?"))[-1]
    assert answer.extractive  # type: ignore[union-attr]


def test_a_model_that_cannot_be_opened_is_an_llm_error(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise TutorError("no model file at /x.gguf", fix="set TUTOR_MODEL to a .gguf file", exit_code=1)

    monkeypatch.setattr("tutor.pipeline.open_model", broken)
    with pytest.raises(LLMError) as info:
        fresh(replace(settings, backend="llamacpp")).model  # noqa: B018 - opening it is the point
    assert str(info.value) == "no model file at /x.gguf (fix: set TUTOR_MODEL to a .gguf file)"
