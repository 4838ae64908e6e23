"""Shared fixtures: every test gets its own data directory, settings and a small corpus."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.fakes import HashEmbedder, MemoryStore, ScriptedModel
from tutor.config import Settings, load_settings
from tutor.pipeline import Tutor

REPO = Path(__file__).resolve().parent.parent
NOTES = REPO / "corpus" / "ml-process-summary.md"


def need(condition: bool, reason: str) -> None:
    """Skip when a real component is missing; in CI (TUTOR_REQUIRE_INTEGRATION=1) fail instead."""
    if condition:
        return
    if os.environ.get("TUTOR_REQUIRE_INTEGRATION") == "1":
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No TUTOR_* setting leaks in from the machine; data goes to a fresh folder."""
    for var in list(os.environ):
        if var.startswith("TUTOR_") and var != "TUTOR_REQUIRE_INTEGRATION" or var == "OLLAMA_HOST":
            monkeypatch.delenv(var)
    data = tmp_path / "data"
    monkeypatch.setenv("TUTOR_DATA_DIR", str(data))
    # No Ollama server is ever reached by accident: nothing listens on this port.
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    return data


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(NOTES, folder / NOTES.name)
    return folder


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return load_settings({"corpus": str(corpus), "index": str(tmp_path / "index")}, cwd=tmp_path)


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def tutor(settings: Settings, model: ScriptedModel) -> Tutor:
    """The whole pipeline on fakes: hashed embeddings, an in-memory store, a scripted model."""
    return Tutor(settings, embedder=HashEmbedder(), store=MemoryStore(), model=model, progress=False)
