"""Integration: the tutor opens no network connection but to the hosts it was configured with.

Each command runs in a real process with an audit hook that records every socket connect and
every DNS lookup (Python's ``socket.connect`` / ``socket.getaddrinfo`` audit events).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NOTES

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parent.parent

WATCH = """
import json, sys
seen = []
def hook(event, args):
    if event == "socket.connect":
        seen.append(["connect", repr(args[1])])
    elif event == "socket.getaddrinfo":
        seen.append(["lookup", repr(args[0])])
sys.addaudithook(hook)
import atexit
atexit.register(lambda: open(sys.argv[1], "w").write(json.dumps(seen)))
from tutor.cli import main
code = main(sys.argv[2:])
sys.exit(code)
"""


@pytest.mark.parametrize("args", [
    ["ingest", "-q"],
    ["search", "--json", "DS vs MLE?"],
    ["ask", "--json", "--backend", "extractive", "What are the six steps of CRISP-DM?"],
    ["quiz", "--json", "-n", "2", "--backend", "extractive"],
    ["eval", "--only", "retrieval", "--json", "--no-baseline"],
], ids=lambda a: a[0])
def test_a_local_tutor_connects_to_nothing(tmp_path: Path, args: list[str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / NOTES.name).write_text(NOTES.read_text())
    env = {**os.environ, "TUTOR_CORPUS": str(corpus), "TUTOR_INDEX": str(tmp_path / "index"),
           "TUTOR_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    for name in ("ANONYMIZED_TELEMETRY", "GRADIO_ANALYTICS_ENABLED"):
        env.pop(name, None)  # the tutor must not depend on the caller to turn telemetry off
    log = tmp_path / "net.json"
    result = subprocess.run([sys.executable, "-c", WATCH, str(log), *args, "--report-dir", str(tmp_path / "r")]
                            if args[0] == "eval" else [sys.executable, "-c", WATCH, str(log), *args],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(log.read_text()) == []


def test_with_ollama_configured_it_connects_to_that_host_only(tmp_path: Path) -> None:
    """Also shows the watch works: the one connection it records is the configured host's."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed: the ask fails, after connecting
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / NOTES.name).write_text(NOTES.read_text())
    env = {**os.environ, "TUTOR_CORPUS": str(corpus), "TUTOR_INDEX": str(tmp_path / "index"),
           "TUTOR_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1", "OLLAMA_HOST": f"127.0.0.1:{port}"}
    log = tmp_path / "net.json"
    result = subprocess.run([sys.executable, "-c", WATCH, str(log), "ask", "--backend", "ollama", "DS vs MLE?"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "cannot reach Ollama" in result.stderr
    seen = json.loads(log.read_text())
    assert ["connect", f"('127.0.0.1', {port})"] in seen
    assert all(address in ("'127.0.0.1'", f"('127.0.0.1', {port})") for _, address in seen), seen
