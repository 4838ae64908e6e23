"""The embedded backend's generation guard survives a stream resumed on another thread (as Gradio does)."""

from __future__ import annotations

import threading

from tutor.llm import llamacpp


def test_generation_guard_can_be_released_from_another_thread() -> None:
    def hold() -> object:
        with llamacpp._GENERATING:
            yield "piece"

    stream = hold()
    assert next(stream) == "piece"  # taken on this thread
    errors: list[BaseException] = []

    def finish() -> None:
        try:
            for _ in stream:
                pass
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    worker = threading.Thread(target=finish)
    worker.start()
    worker.join(5)
    assert errors == []
    assert llamacpp._GENERATING.acquire(timeout=1)  # released: the next answer can start
    llamacpp._GENERATING.release()
