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


class DigitVocab:
    """A tokenizer as llama.cpp's: each digit, "[", "]" and each word a token of its own."""

    def __init__(self) -> None:
        self.pieces = [str(d) for d in range(10)] + ["[", "]", " [", "a", " x", "`"]

    def tokenize(self, text: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        return [self.pieces.index(text.decode())]

    def detokenize(self, ids: list[int]) -> bytes:
        return "".join(self.pieces[i] for i in ids).encode()

    def ids(self, *pieces: str) -> list[int]:
        return [self.pieces.index(p) for p in pieces]


def banned(vocab: DigitVocab, limit: int, *written: str) -> set[str]:
    scores = llamacpp.MarkerLimit(vocab, limit)(vocab.ids(*written), [0.0] * len(vocab.pieces))
    return {vocab.pieces[i] for i, s in enumerate(scores) if s == -float("inf")}


def test_a_marker_can_only_name_a_passage_and_code_indexes_are_left_alone() -> None:
    vocab = DigitVocab()
    assert banned(vocab, 5, " x", " [") == {"0", "6", "7", "8", "9"}  # "[6]" with five passages, "[0]"
    assert banned(vocab, 12, " x", " [", "1") == {"3", "4", "5", "6", "7", "8", "9"}  # [10]..[12] only
    assert banned(vocab, 5, " x", " [", "1") == set(str(d) for d in range(10))  # [1] is whole: no "[15]"
    assert banned(vocab, 5, "a", "[") == set()  # a[7]: an index in code, not a marker
    assert banned(vocab, 5, "`", "[") == set()
    assert banned(vocab, 5, " x", " [", "1", "]") == set()  # the marker is closed
