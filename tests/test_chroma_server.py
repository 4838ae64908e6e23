"""Integration: a team's index on a real Chroma server (`chroma run` on loopback), through chromadb's
HTTP client: an admin ingests and publishes; learners with no notes and no local index search and ask."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import NOTES, need
from tutor.cli import main
from tutor.config import Settings, load_settings
from tutor.doctor import check_index
from tutor.errors import TutorError
from tutor.pipeline import Tutor
from tutor.publish import ServerIndex
from tutor.records import Answer

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = Path(sys.executable).parent / "chroma"
    need(binary.exists() or shutil.which("chroma") is not None, "the chroma CLI is not installed")
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    with open(folder / "server.log", "wb") as log:
        server = subprocess.Popen([str(binary if binary.exists() else "chroma"), "run", "--path", str(folder / "data"),
                                   "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not start: {(folder / 'server.log').read_text()}") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def team(tmp_path: Path, url: str, name: str, corpus: Path | None = None, **extra: str) -> Settings:
    values = {"corpus": str(corpus or tmp_path / "no-notes"), "index": str(tmp_path / f"index-{name}"),
              "data_dir": str(tmp_path / "data"), "backend": "extractive", "chroma_url": url,
              "chroma_collection": "class-a", **extra}
    return load_settings(values, env={}, cwd=tmp_path)


def test_admin_ingests_to_the_server_and_a_learner_with_nothing_local_searches_and_asks(
    tmp_path: Path, chroma_url: str, minilm
) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / NOTES.name).write_text(NOTES.read_text())
    admin = Tutor(team(tmp_path, chroma_url, "admin", corpus), embedder=minilm, progress=False)
    report = admin.ingest()
    assert report.added == [NOTES.name] and report.chunks > 20
    server = ServerIndex(chroma_url, "class-a")
    live = server.live()
    assert live is not None and live[0] == "g000001"
    assert server.store("g000001").count() == report.chunks
    local = Path(admin.settings.index) / "g000001"
    assert not (local / "chroma").exists() and not (local / "vectors.npy").exists(), "vectors live on the server"

    learner_settings = team(tmp_path, chroma_url, "learner")  # no notes folder, no local index
    learner = Tutor(learner_settings, embedder=minilm, progress=False)
    hits = learner.search("DS vs MLE?")
    assert "Data Scientist vs. Machine Learning Engineer" in " ".join(h.chunk.section for h in hits[:3])
    answer = list(learner.ask("What are the six steps of CRISP-DM?"))[-1]
    assert isinstance(answer, Answer) and not answer.refused and answer.citations
    assert all(c.text in NOTES.read_text() for c in answer.citations)
    assert not Path(learner_settings.index).exists(), "a learner's tutor writes nothing locally"

    # The admin edits the notes: a new generation is published; a learner's next session sees it.
    note = corpus / NOTES.name
    note.write_text(note.read_text() + "\n## Team Notes\nOffice hours are on Thursdays at noon.\n")
    assert admin.ingest().updated == [NOTES.name]
    assert server.live() is not None and server.live()[0] == "g000002"  # type: ignore[index]
    fresh = Tutor(learner_settings, embedder=minilm, progress=False)
    assert "Thursdays" in fresh.search("when are office hours?")[0].chunk.text
    assert "Thursdays" not in " ".join(h.chunk.text for h in learner.search("when are office hours?"))

    for n in range(3):  # older generations are dropped from the server, two are kept
        note.write_text(note.read_text() + f"\n## More {n}\nText {n}.\n")
        admin.ingest()
    assert [g for g in ("g000002", "g000003", "g000004", "g000005") if server.has(g)] == ["g000003", "g000004",
                                                                                          "g000005"]


def test_the_cli_against_the_server_in_a_real_process(tmp_path: Path, chroma_url: str) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / NOTES.name).write_text(NOTES.read_text())
    env = {"TUTOR_CHROMA_URL": chroma_url, "TUTOR_CHROMA_COLLECTION": "cli-class", "TUTOR_CORPUS": str(corpus),
           "TUTOR_INDEX": str(tmp_path / "admin-index"), "TUTOR_DATA_DIR": str(tmp_path / "data"),
           "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    run = lambda *args, **kw: subprocess.run([sys.executable, "-m", "tutor.cli", *args], capture_output=True,  # noqa: E731
                                             text=True, env={**env, **kw}, cwd=tmp_path, timeout=300)
    first = run("search", "crispdm steps?")
    assert first.returncode == 1 and "no index named 'cli-class'" in first.stderr and "tutor ingest" in first.stderr
    assert run("ingest", "-q").returncode == 0
    result = run("search", "--json", "-k", "2", "crispdm steps?", TUTOR_CORPUS=str(tmp_path / "none"),
                 TUTOR_INDEX=str(tmp_path / "learner-index"))
    assert result.returncode == 0, result.stderr
    assert any("CRISP-DM" in h["text"] for h in json.loads(result.stdout)["hits"])
    learner = load_settings({"corpus": str(tmp_path / "none"), "index": str(tmp_path / "learner-index"),
                             "chroma_url": chroma_url, "chroma_collection": "cli-class"}, env={}, cwd=tmp_path)
    assert "on the Chroma server" in check_index(learner)  # what `tutor doctor` reports


def test_an_unreachable_server_is_one_line_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = team(tmp_path, f"http://127.0.0.1:{free_port()}", "x")
    with pytest.raises(TutorError, match="cannot reach the Chroma server") as info:
        Tutor(settings, progress=False).search("DS vs MLE?")
    assert "chroma run" in info.value.fix and "unset TUTOR_CHROMA_URL" in info.value.fix
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setenv("TUTOR_CHROMA_URL", settings.chroma_url)
    code = main(["search", "--index", str(tmp_path / "i"), "DS vs MLE?"], out=out, err=err)
    assert code == 1 and err.getvalue().startswith("error: cannot reach the Chroma server")
    assert err.getvalue().count("\n") == 1
    with pytest.raises(TutorError, match="not a server address"):
        Tutor(replace(settings, chroma_url="ftp://x"), progress=False).search("DS vs MLE?")


def test_publishing_to_a_server_leaves_the_local_index_working(tmp_path: Path, chroma_url: str, minilm) -> None:  # type: ignore[no-untyped-def]
    from tutor.generations import current
    from tutor.pipeline import team_folder

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / NOTES.name).write_text(NOTES.read_text())
    settings = team(tmp_path, chroma_url, "admin", corpus, chroma_collection="class-b")
    local = replace(settings, chroma_url="")
    assert Tutor(local, embedder=minilm, progress=False).ingest().chunks > 20
    before = current(local.index)

    report = Tutor(settings, embedder=minilm, progress=False).ingest()  # the same folder, now publishing
    assert report.added == [NOTES.name]
    assert current(local.index) == before, "a team ingest does not switch the local index"
    assert (team_folder(settings) / "CURRENT").exists() and team_folder(settings).parent == local.index
    hits = Tutor(local, embedder=minilm, progress=False).search("DS vs MLE?")  # the plain search of the issue
    assert "Data Scientist vs. Machine Learning Engineer" in " ".join(h.chunk.section for h in hits[:3])
    out, err = io.StringIO(), io.StringIO()
    assert main(["search", "-q", "--corpus", str(corpus), "--index", str(local.index), "crispdm steps?"],
                out=out, err=err) == 0, err.getvalue()

    # A second admin machine (no team folder of its own) continues from the server's live generation.
    other = replace(settings, index=tmp_path / "other-index")
    note = corpus / NOTES.name
    note.write_text(note.read_text() + "\n## Team Notes\nOffice hours are on Thursdays at noon.\n")
    again = Tutor(other, embedder=minilm, progress=False).ingest()
    assert again.updated == [NOTES.name] and again.reused > 20, "incremental: the server's vectors are reused"
    server = ServerIndex(chroma_url, "class-b")
    assert server.live() is not None and server.live()[0] == "g000002"  # type: ignore[index]
    learner = Tutor(settings, embedder=minilm, progress=False)
    assert "Thursdays" in learner.search("when are office hours?")[0].chunk.text
