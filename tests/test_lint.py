"""The code passes ruff (part of the one test command, so CI and local runs check the same)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from tests.conftest import REPO, need


def test_ruff_finds_nothing() -> None:
    need(importlib.util.find_spec("ruff") is not None, "ruff not installed (pip install -e '.[dev]')")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "tutor", "tests", "ui", "bench"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
