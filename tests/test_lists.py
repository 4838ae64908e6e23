"""List questions get the notes' whole list: the items an answer left out are added, cited."""

from __future__ import annotations

from tests.fakes import ScriptedModel
from tutor.answering import final
from tutor.lists import asks_for_list, completion, has_list, item_lists, missing_items
from tutor.pipeline import Tutor
from tutor.records import Answer

METHODS = """### Other regularization methods

- **Data augmentation**:
  - For example in computer vision you can flip all your pictures horizontally.
- **Early stopping**:
  - Plot the training and the dev set cost together for each iteration.
- **Model Ensembles**:
  - Train multiple independent models.
"""


def outermost(text: str) -> list[str]:
    """The items of the outermost list in ``text`` (the list with no lead)."""
    return next((items for lead, items in item_lists(text) if not lead), [])


def test_list_questions_are_told_from_single_fact_questions() -> None:
    assert asks_for_list("Besides L2 and dropout, what other regularization methods are there?")
    assert asks_for_list("Which classic CNN architectures are described?")
    assert asks_for_list("Pros and cons of end-to-end learning?")
    assert not asks_for_list("What is the formula for Leaky ReLU?")
    assert not asks_for_list("How are anchor box shapes chosen?")


def test_only_the_outermost_items_count_and_their_markup_is_gone() -> None:
    assert outermost(METHODS) == ["Data augmentation", "Early stopping", "Model Ensembles"]
    assert outermost("1. Collect data\n2. [Train](t.md) a model\n3. Deploy it. Then monitor.") == \
        ["Collect data", "Train a model", "Deploy it."]
    assert outermost("No list here, only a sentence.") == []


def test_the_items_an_answer_names_are_not_added_again() -> None:
    asked = "Which regularization methods are there?"
    assert missing_items("Early stopping ends training when dev cost rises [1].", METHODS, asked) == \
        ["Data augmentation", "Model Ensembles"]
    assert missing_items("Data augmentation, early stopping and model ensembles [1].", METHODS, asked) == []
    assert missing_items("x [1].", "- a b\n- c d", asked) == [], "two items are not a list worth completing"
    assert completion("Data augmentation, early stopping and model ensembles [1].", METHODS, 1, asked) == ""


def test_a_one_item_answer_to_a_list_question_gets_the_rest_of_the_list_cited(tutor: Tutor,
                                                                             model: ScriptedModel) -> None:
    question = "What are the six key steps of the ML process?"
    model.enqueue("Yes [1].")  # a grounded throwaway: no second ask
    placeholder = final(tutor.ask(question))
    steps = next(i for i, h in enumerate(placeholder.retrieval.hits) if len(outermost(h.chunk.text)) >= 3)
    n = steps + 1
    first = outermost(placeholder.retrieval.hits[steps].chunk.text)[0]
    model.enqueue(f"The first step is {first} [{n}].")
    answer: Answer = final(tutor.ask(question))
    assert not answer.refused and f"Your notes also list [{n}]:" in answer.answer
    added = answer.answer.split(f"Your notes also list [{n}]:")[1].strip().splitlines()
    items = outermost(placeholder.retrieval.hits[steps].chunk.text)
    assert added == [f"- {item} [{n}]" for item in items[1:]]
    assert answer.unsupported == () and n in [c.n for c in answer.citations]


def test_a_question_for_one_fact_gets_no_list(tutor: Tutor, model: ScriptedModel) -> None:
    model.enqueue("Yes [1].")  # a grounded throwaway: no second ask
    found = final(tutor.ask("What is the goal of the deployment step?"))
    model.enqueue("It puts the model into production [1].")
    answer = final(tutor.ask("What is the goal of the deployment step?"))
    assert "Your notes" not in answer.answer, found


BATCH = """- Mind the batch size of one job.
- Mind the time limit: a nightly batch must end by morning.
- Options to rerun the job in case of failure:
  - Retry all: rerun the whole prediction of a batch.
  - Partial retry: rerun on the failed dataset.
  - No retry: run prediction on the failed dataset on the next batch.
"""


def test_a_sub_list_the_question_asks_for_is_completed_and_others_are_not() -> None:
    said = "Retry all: rerun the whole prediction of a batch [1]."
    assert missing_items(said, BATCH, "What options are there to rerun a failed job?") == [
        "Partial retry: rerun on the failed dataset.",
        "No retry: run prediction on the failed dataset on the next batch."]
    assert missing_items(said, BATCH, "What should I mind in a batch pattern?") == [], \
        "a sub-list whose lead shares no word with the question is not the list asked for"
    assert completion(said, BATCH, 2, "Which options are there to rerun?").count("[2]") == 3


def test_a_two_item_list_is_completed_only_when_the_question_names_it() -> None:
    notes = ("- Two main advantages of Convs are:\n  - Parameter sharing.\n    - A detector useful in one part of "
             "the image is useful in another.\n  - Sparsity of connections.\n    - Each output depends on few inputs.")
    question = "What are the two main advantages of convolutional layers?"
    assert has_list(notes, question) and not has_list(notes) and not has_list(notes, "What is parameter sharing?")
    said = "Parameter sharing [1]. A detector useful in one part of the image is useful in another [1]."
    assert completion(said, notes, 1, question) == "\n\nYour notes also list [1]:\n- Sparsity of connections. [1]"
    assert completion(said, notes, 1, "Why share parameters?") == ""
