"""What the model writes that must not reach the learner: repeats, the worked example, refusals."""

from __future__ import annotations

import time

from tests.fakes import ScriptedModel
from tutor.config import Settings
from tutor.drafting import LEAKS, Draft, write
from tutor.records import TextDelta


def drafted(reply: str, finish: str = "stop") -> tuple[str, Draft]:
    """What the learner saw, and the draft, when the model writes ``reply``."""
    model = ScriptedModel(reply)
    model.finish_reason = finish
    draft = Draft()
    shown = "".join(d.text for d in write(model, [], Settings(), time.perf_counter(), draft)
                    if isinstance(d, TextDelta))
    return shown, draft


def test_a_repeated_sentence_stops_the_model_and_is_never_shown() -> None:
    loop = "The batch pattern runs predictions in bulk [1]. " + "It is used for training on batch [1]. " * 12
    shown, draft = drafted(loop, finish="length")
    assert draft.text == "The batch pattern runs predictions in bulk [1]. It is used for training on batch [1]."
    assert shown.rstrip() == draft.text
    assert any("repeating" in w for w in draft.warnings)
    assert not draft.incomplete, "a loop stopped on purpose is not an answer cut off by the token limit"


def test_the_model_is_closed_at_the_first_repeat_not_run_to_the_limit() -> None:
    pulled = []

    class Counting(ScriptedModel):
        def stream(self, messages, **kw):  # type: ignore[no-untyped-def, override]
            for piece in super().stream(messages, **kw):
                pulled.append(piece)
                yield piece
            return "length"

    model = Counting("Dropout drops units at random [1]. " * 50)
    list(write(model, [], Settings(), time.perf_counter(), Draft()))
    assert len("".join(pulled)) < 3 * len("Dropout drops units at random [1]. ")


def test_a_sentence_copied_from_the_worked_example_is_left_out() -> None:
    leak = LEAKS[-1]  # "In plant cells, chloroplasts carry out photosynthesis [2]."
    shown, draft = drafted(f"The triplet loss compares an anchor with a positive and a negative [1]. {leak} "
                           "It adds a margin alpha [1].")
    assert "chloroplast" not in draft.text and "chloroplast" not in shown
    assert draft.text == ("The triplet loss compares an anchor with a positive and a negative [1]. "
                          "It adds a margin alpha [1].")
    assert any("worked example" in w for w in draft.warnings)


def test_a_loop_with_another_sentence_between_is_stopped_at_the_third_time() -> None:
    loop = "The batch pattern is used for training [1]. The batch training pattern runs jobs [1]. " * 5
    shown, draft = drafted(loop, finish="length")
    assert draft.text == ("The batch pattern is used for training [1]. The batch training pattern runs jobs [1]. "
                          "The batch pattern is used for training [1]. The batch training pattern runs jobs [1].")
    assert shown.rstrip() == draft.text and any("repeating" in w for w in draft.warnings)


def test_a_line_the_notes_give_twice_may_be_said_twice() -> None:
    advice = ("High bias: try a bigger network [1]. Try a different model suitable for your data [1]. "
              "High variance: try more data [1]. Try a different model suitable for your data [1]. "
              "Repeat until both are low [1].")
    shown, draft = drafted(advice)
    assert draft.text == advice and shown == advice and draft.warnings == []


def test_short_lines_may_repeat_and_a_plain_answer_passes_untouched() -> None:
    table = "Pros [1]:\n- None\n- Fast to train on small data\nCons [1]:\n- None\n- Hard to debug at scale"
    shown, draft = drafted(table)
    assert draft.text == table and shown == table and draft.warnings == []


def test_a_refusal_is_held_back_whole() -> None:
    shown, draft = drafted("NOT_COVERED")
    assert shown == "" and draft.said_nothing
