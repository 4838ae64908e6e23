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


def test_a_prompt_extending_a_saved_family_is_served_by_it_and_saves_no_file_of_its_own(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tutor.prompts import answer_messages, judge_messages, more_messages
    from tutor.records import Chunk, Hit

    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"GGUF")
    model = llamacpp.LlamaCppModel(weights, "fake", cache_dir=tmp_path / "cache")
    hits = [Hit(Chunk("a.md:1", "a.md", "A", 1, 1, "- MLEs deploy models.", ""), 1.0)]
    answer = answer_messages("What do MLEs do?", hits)
    saved, new = model._cache_files(answer)
    assert saved is None and new is not None  # the first answer: its family (the fixed messages) is saved
    assert new == model._cache_files(answer_messages("Another question?", hits))[1]  # one family for all
    new.parent.mkdir()
    new.write_bytes(b"state")
    assert model._cache_files(answer_messages("Another question?", hits)) == (new, None)
    going_on = more_messages("What do MLEs do?", hits, "MLEs deploy models [1].", 1)
    assert model._cache_files(going_on) == (new, None)  # no ~50 MB file a question
    judge = model._cache_files(judge_messages("What do MLEs do?", hits[0]))
    assert judge[0] is None and judge[1] not in (None, new)  # another family
    assert llamacpp.LlamaCppModel(weights, "fake")._cache_files(answer) == (None, None)  # no cache folder
