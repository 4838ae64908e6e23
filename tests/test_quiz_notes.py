"""Quiz rules for other people's notes, on small written notes: look-alike sections, meta lines, lines that
cannot stand alone, giveaways by word roots, and short answers and cards that say whose section they ask about."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.fakes import ScriptedModel
from tutor.cards import place
from tutor.choices import Planner, statement
from tutor.chunking import chunk_text
from tutor.phrasing import card_messages, listed_short, stem_messages
from tutor.quiz import GenerationStats, QuizItem, build, build_planned, generate
from tutor.records import Chunk
from tutor.siblings import groups, is_meta_line
from tutor.validation import Validator, point_given_away, telltale

# Four design notes cut into the same sections, as a team's pattern catalogue is.
PATTERNS = {
    "oven": ("Oven pattern", ["Bake many loaves at one fixed time each night", "Plan the flour order a day ahead"],
             ["You can rerun a batch that burnt", "The fire burns only while it is needed"],
             ["You need someone to start the oven"]),
    "stall": ("Stall pattern", ["Sell warm bread to walkers at the market", "Answer each buyer while they wait"],
              ["Buyers get bread straight from the tray", "Prices change with the morning crowd"],
              ["The stall closes when it rains"]),
    "van": ("Van pattern", ["Drive loaves to villages without a bakery", "Take orders by phone the day before"],
            ["Reach customers far from town", "Loaves arrive sliced and bagged"],
            ["Fuel costs rise with distance"]),
    "club": ("Club pattern", ["Members collect a weekly subscription loaf", "Members vote on the next recipe"],
             ["Steady income known weeks ahead", "Little flour goes to waste"],
             ["Members leave when the recipe bores them"]),
}


@contextmanager
def quiz_session(tmp_path: Path, chunks: list[Chunk], model: ScriptedModel) -> Iterator[Callable[..., QuizItem | None]]:
    """A quiz session over ``chunks`` (fresh bank and progress) whose model is ``model``; yields what it makes
    of one chunk as one kind of item."""
    from tutor.bank import Bank
    from tutor.reviews import Reviews
    from tutor.session import QuizSession

    class Notes:  # the session's view of a tutor: the chunks' model, no embedder, a silent log
        embedder = None
        log = staticmethod(lambda message: None)

    Notes.model = model  # type: ignore[attr-defined]
    with Reviews(tmp_path / "p.sqlite3") as reviews:
        session = QuizSession(Notes(), reviews, Bank(tmp_path / "bank.json"))
        validator = Validator({c.content_hash: c for c in chunks})
        yield lambda chunk, kind: session._one(chunk, kind, Planner(chunks), model, validator, 0)

def pattern_note(title: str, usecase: list[str], pros: list[str], cons: list[str]) -> str:
    bullets = "\n".join
    return (f"# {title}\n\n## Usecase\n{bullets('- ' + x for x in usecase)}\n\n## Pros\n"
            f"{bullets('- ' + x for x in pros)}\n\n## Cons\n{bullets('- ' + x for x in cons)}\n\n"
            "## Needs consideration\n- Check the weather forecast each week\n- Keep a spare mixer\n\n"
            "## Sample\nhttps://example.com/bakery/sample\n")


def catalogue(**changes: str) -> list[Chunk]:
    chunks: list[Chunk] = []
    for name, (title, usecase, pros, cons) in PATTERNS.items():
        text = changes.get(name) or pattern_note(title, usecase, pros, cons)
        chunks += chunk_text(text, f"{name}.md")
    return chunks


def pros_of(chunks: list[Chunk], source: str) -> Chunk:
    return next(c for c in chunks if c.source == source and c.section == "Pros")


def test_sections_that_recur_in_every_note_get_no_which_section_item_but_which_pattern() -> None:
    chunks = catalogue()
    titles = {f"{name}.md": title for name, (title, *_) in PATTERNS.items()}
    oven = [g for g in groups(chunks, titles) if g.parent == "Oven pattern"]
    assert oven and oven[0].template  # Usecase / Pros / Cons / Needs consideration: roles every note repeats
    plans = [p for p in Planner(chunks, titles).plans(pros_of(chunks, "oven.md")) if p.shape == "which"]
    (which,) = plans
    # was: "Under which section of “Oven pattern” ...?" with Usecase / Pros / Cons / Needs consideration
    assert set(which.options) == {"Oven pattern", "Stall pattern", "Van pattern", "Club pattern"}
    assert which.answer == "Oven pattern" and which.heading == "Pros" and which.parent == ""
    asked = stem_messages(which)[-1]["content"]
    assert "(under its “Pros”)" in asked and "Oven" not in asked
    # the key is stated where the line sits: the note titled "Oven pattern" (was: only its section was read)
    item = build_planned(which, Validator({c.content_hash: c for c in chunks}).problems)
    assert item is not None and item.answer == "Oven pattern"


def test_a_pattern_whose_other_sections_state_the_line_is_not_a_wrong_option() -> None:
    # the Van pattern says "You can rerun a batch that burnt" too, though under Usecase, not Pros
    van = pattern_note("Van pattern", ["Drive loaves to villages", "You can rerun a batch that burnt"],
                       ["Reach customers far from town", "Loaves arrive sliced and bagged"], ["Fuel costs"])
    chunks = catalogue(van=van)
    titles = {f"{name}.md": title for name, (title, *_) in PATTERNS.items()}
    plans = Planner(chunks, titles).plans(pros_of(chunks, "oven.md"))
    which = next(p for p in plans if p.shape == "which")
    # was: only the Van pattern's own "Pros" was read, so it was a wrong option for a line it states too;
    # with two fair wrong options left, the line gets no item and the planner asks about the next one
    assert which.fact == "The fire burns only while it is needed" and "Van pattern" in which.options


def test_a_top_level_section_is_named_with_its_note_title_in_cards_and_short_answers() -> None:
    chunks = catalogue()
    pros = pros_of(chunks, "oven.md")
    assert place(pros) == "“Pros” of “Oven pattern”"
    assert "“Pros” of “Oven pattern”" in card_messages(pros, "You can rerun a batch that burnt")[-1]["content"]
    item = listed_short(pros, ["You can rerun a batch that burnt", "The fire burns only while it is needed"])
    assert item is not None and item.question == "Which 2 points do your notes make under “Pros” of “Oven pattern”?"
    assert Validator({c.content_hash: c for c in chunks}).problems(item) == []


def test_a_short_list_falls_back_to_its_own_lines_after_one_failed_try() -> None:
    chunks = catalogue()
    pros = pros_of(chunks, "oven.md")
    lines = ["You can rerun a batch that burnt", "The fire burns only while it is needed"]
    giveaway = {"key_points": lines, "question": "Why can you rerun a batch that burnt in the oven pattern?"}
    model = ScriptedModel(json.dumps(giveaway))
    stats = GenerationStats()
    item = generate(pros, "short", model, Validator({c.content_hash: c for c in chunks}).problems, stats)
    assert item is not None and item.generator == "notes" and item.key_points == tuple(lines)
    assert (stats.tried, stats.first_try, stats.valid, stats.fallback, stats.replies) == (1, 0, 1, 1, 1)
    assert stats.rejected == {"giveaway": 1}


def test_one_line_gets_no_short_answer_and_a_short_list_is_named_whole_in_a_session(tmp_path) -> None:  # type: ignore[no-untyped-def]
    chunks = catalogue()
    cons = next(c for c in chunks if c.source == "oven.md" and c.section == "Cons")
    model = ScriptedModel()  # a model that must not be asked
    with quiz_session(tmp_path, chunks, model) as one:
        assert one(cons, "short") is None
        # a list of 2-4 lines: "name all its points", built from the notes (was: the model picked some of them)
        listed = one(pros_of(chunks, "oven.md"), "short")
    assert model.received == []
    assert listed is not None and listed.generator == "notes" and listed.extra["shape"] == "list"
    assert listed.question == "Which 2 points do your notes make under “Pros” of “Oven pattern”?"
    assert listed.key_points == ("You can rerun a batch that burnt", "The fire burns only while it is needed")


def test_resources_citations_and_course_objectives_are_meta_lines() -> None:
    meta = ["- [kaggle.com](kaggle.com) is a good place for datasets and competitions.",
            "- [Ada Lovelace](https://example.org/ada) is one of the best in the field of computing machinery.",
            "  - Ideas are from the following papers (they share similar ideas):",
            "    - [Karpathy and Li, 2015. Deep visual-semantic alignments](https://example.org/p.pdf)",
            "  - Simonyan & Zisserman 2015. Very deep convolutional networks for image recognition",
            "  - Image taken from [tutorialspoint.com](http://www.tutorialspoint.com/)",
            "This is the first course of the deep learning specialization, taught by a professor of the field.",
            "> - Be able to build, train and apply fully connected deep neural networks",
            "> Learn to set up a machine learning problem with a neural network mindset.",
            "> Discover how CNNs can be applied to multiple fields, including art generation"]
    assert [x for x in meta if not is_meta_line(x)] == []
    kept = ["- In 2015 residual networks won the image recognition challenge",
            "- **Understand constraints** (data, performance, timeline, ethics)",
            "- [Gradient descent](gradient.md) moves the weights against the gradient, one small step at a time",
            "- You may rerun the job in case of error."]
    assert [x for x in kept if is_meta_line(x)] == []


def test_a_line_asked_about_must_stand_alone() -> None:
    assert not statement("Similar to LeNet-5 but bigger")  # leans on the line before
    assert not statement("From the above we can conclude the pseudo code")
    assert not statement("The other cells will represent the others")
    assert not statement("Output dA[l-1], dW[l], db[l]")  # a formula, not a fact in words
    assert not statement("LeNet-5")
    assert not statement("Based on the last example, error analysis helps you decide what to fix first")
    assert statement("Dev and test sets have to come from the same distribution")
    assert statement("Light image size")


def test_a_word_that_shares_only_its_root_with_the_answer_gives_it_away() -> None:
    assert telltale("Train-then-serve pattern", ["Batch pattern", "Van pattern", "Club pattern"],
                    "Which pattern is about serving after training?") == {"serv", "train"}
    assert point_given_away("Loaves arrive sliced", "When do the loaves arrive?")
    assert point_given_away("Prices changed", "Which prices change?")  # one root, two forms


def test_a_model_question_that_does_not_ask_which_part_gives_way_to_the_template() -> None:
    from tests.test_siblings import BY, PLANNER, validator

    p = next(p for p in PLANNER.plans(BY["2. Knead"]) if p.shape == "which")
    stats = GenerationStats()
    content_question = {"question": f"What happens when you {p.fact.lower()}, before the dough rises?"}
    item = generate(BY["2. Knead"], "mcq", ScriptedModel(json.dumps(content_question)), validator().problems, stats,
                    plan=p)
    # its options are steps, but the question asked about the dough: the plan's own wording is kept instead
    assert item is not None and item.question == p.question and stats.rejected == {"off-fact": 1}


def test_a_section_named_after_its_parent_gets_no_which_section_item() -> None:
    notes = ("# Bakery\n\n## Proofing Guide\n\n### Proofing basics\n- Cover the dough with a damp cloth\n"
             "- Keep it away from cold draughts\n\n### Shaping\n- Fold the edges into the middle\n\n"
             "### Scoring\n- Cut a shallow slash with a razor\n\n### Baking\n- Heat the stone for an hour\n")
    chunks = chunk_text(notes, "bakery.md")
    basics = next(c for c in chunks if c.section.endswith("Proofing basics"))
    # "Under which section of “Proofing Guide” ...?" would hold the answer's own word, "Proofing"
    assert [p for p in Planner(chunks).plans(basics) if p.shape == "which"] == []
    shaping = next(c for c in chunks if c.section.endswith("Shaping"))
    assert [p.answer for p in Planner(chunks).plans(shaping) if p.shape == "which"] == ["Shaping"]


def test_a_card_on_a_list_entry_asks_by_its_label_or_as_a_cloze_with_no_model() -> None:
    from tests.test_siblings import BY, validator
    from tutor.cards import list_card

    labelled = list_card(BY["Knife Cuts"])  # "- **Sourdough** - A bread leavened by ...", "- **Julienne**: ..."
    assert labelled is not None and labelled.generator == "notes"
    assert labelled.question == "Under “Knife Cuts” of “Baking”, what do your notes say of “Sourdough”?"
    assert labelled.key_points == ("A bread leavened by a wild yeast culture instead of commercial yeast",)
    assert validator().problems(labelled) == []
    cloze = list_card(BY["3. Proof"])  # three plain entries: a model's front would ask for any of them
    assert cloze is not None and cloze.question == "“Proof”: complete the line from your notes: “Leave the dough …”"
    assert cloze.key_points == ("Leave the dough covered in a warm place",) and validator().problems(cloze) == []
    two = list_card(BY["5. Cool"])  # was: two entries, so the model wrote a front that either entry answered
    assert two is not None and two.generator == "notes" and two.question.startswith("“Cool”: complete the line")
    assert two.key_points == ("Rest the loaf on a wire rack",) and validator().problems(two) == []


def test_a_short_list_with_a_two_word_entry_is_still_named_whole() -> None:
    from tutor.phrasing import list_lines

    notes = ("# M\n\n## Matrix\n- **Rows**: Users\n- **Columns**: Items (videos, products)\n"
             "- **Values**: Ratings given\n")
    (chunk,) = [c for c in chunk_text(notes, "m.md") if c.section == "Matrix"]
    # was: "Rows: Users" is too short to ask about alone, so the model picked 2 of the 3 and missed the rows
    assert list_lines(chunk) == ["Rows: Users", "Columns: Items (videos, products)", "Values: Ratings given"]


def test_a_card_front_that_any_line_of_its_section_answers_gives_way_to_a_cloze() -> None:
    chunks = catalogue()
    pros = next(c for c in chunks if c.source == "van.md" and c.section == "Pros")
    check = Validator({c.content_hash: c for c in chunks}).problems
    stats = GenerationStats()
    vague = {"question": "What does the Van pattern allow, according to its Pros?"}  # both pros answer it
    item = generate(pros, "card", ScriptedModel(json.dumps(vague)), check, stats)
    assert item is not None and item.extra["phrasing"] == "template" and item.question.startswith("“Pros” of “Van")
    assert stats.rejected == {"off-fact": 1} and "others fit it too" in stats.problems[0]
    # a front that keeps a word only its line has asks for that line: kept as the model wrote it
    anchored = {"question": "Under the Pros of the Van pattern, which customers does it suit?"}
    item = generate(pros, "card", ScriptedModel(json.dumps(anchored)), check, GenerationStats())
    assert item is not None and item.extra["phrasing"] == "model"
    assert item.key_points == ("Reach customers far from town",)


def test_a_question_that_points_at_a_statement_it_does_not_show_gives_way_to_the_template() -> None:
    chunks = catalogue()
    titles = {f"{name}.md": title for name, (title, *_) in PATTERNS.items()}
    which = next(p for p in Planner(chunks, titles).plans(pros_of(chunks, "oven.md")) if p.shape == "which")
    stats = GenerationStats()
    garbled = {"question": "Which pattern in the Pros section does this statement about rerunning a burnt batch fit?"}
    item = generate(which.chunks[0], "mcq", ScriptedModel(json.dumps(garbled)),
                    Validator({c.content_hash: c for c in chunks}).problems, stats, plan=which)
    assert item is not None and item.question == which.question and stats.rejected == {"off-fact": 1}


def test_a_short_answer_on_part_of_a_longer_list_must_say_which_entries_it_asks_for() -> None:
    from tests.conftest import NOTES

    chunks = chunk_text(NOTES.read_text(), NOTES.name)
    supervised = next(c for c in chunks if c.section.endswith("> Supervised Learning"))  # five labelled entries
    check = Validator({c.content_hash: c for c in chunks}).problems
    points = {"key_points": ["Higher accuracy", "Computationally expensive at scale"]}
    named = build("short", {**points, "question": "What are the advantage and the disadvantage of supervised "
                                                  "recommenders?"}, supervised, "t")
    assert check(named) == []  # each point's own label is in the question
    vague = build("short", {**points, "question": "What should you know about supervised recommenders?"},
                  supervised, "t")
    assert "the question does not say which 2 of the 5 entries" in check(vague)[0]  # any two entries answer it


def test_a_heading_that_asks_a_question_over_one_statement_is_a_card_with_no_model() -> None:
    from tutor.cards import list_card

    notes = ("# Q\n\n## Interview answers\n\n### What makes a good baker?\nPatience with the dough, a hot oven and "
             "early mornings.\n\n### Why rest the loaf?\nThe crumb sets while it cools. Slicing early makes it "
             "gummy.\n")
    chunks = chunk_text(notes, "q.md")
    good, rest = (next(c for c in chunks if c.section.endswith(h)) for h in ("good baker?", "the loaf?"))
    card = list_card(good)
    assert card is not None and card.generator == "notes" and card.question == "What makes a good baker?"
    assert card.key_points == ("Patience with the dough, a hot oven and early mornings",)
    assert Validator({c.content_hash: c for c in chunks}).problems(card) == []
    assert list_card(rest) is None  # two statements: one of them would be half the answer


def test_the_model_writes_no_short_answer_on_a_paragraph_or_an_unlabelled_long_list(tmp_path) -> None:  # type: ignore[no-untyped-def]
    notes = ("# Bakery\n\n## Morning\nThe oven is lit at four. The first loaves go in at five. The shop opens at "
             "seven.\n\n## Tools\n- A bench scraper cuts the dough\n- A proofing basket shapes the loaf\n"
             "- A lame scores the crust\n- A peel slides loaves into the oven\n- A rack cools the bread\n")
    chunks = chunk_text(notes, "b.md")
    model = ScriptedModel()  # no reply queued: asking it fails the test
    with quiz_session(tmp_path, chunks, model) as one:
        for section in ("Morning", "Tools"):  # was: the model picked 2-3 sentences or entries and asked for them
            chunk = next(c for c in chunks if c.section == section)
            assert one(chunk, "short") is None
    assert model.received == []


def test_a_list_of_code_or_of_what_the_lecturer_said_is_not_named_whole() -> None:
    from tutor.phrasing import list_lines

    notes = ("# N\n\n## Scale\n- Calculate: `a_log = log(a)  # e.g. a = 0.0001 then a_log = -4`\n"
             "- Calculate: `b_log = log(b)  # e.g. b = 1 then b_log = 0`\n\n"
             "## Lecture\n- Mainly he is talking about logistic regression for a binary classifier\n"
             "- He showed an example with cat pictures\n\n## Steps\n- Weigh the flour\n- Mix the dough by hand\n")
    by = {c.section: c for c in chunk_text(notes, "n.md")}
    assert list_lines(by["Scale"]) == [] and list_lines(by["Lecture"]) == []  # was: "Which 2 points …?" on them
    assert list_lines(by["Steps"]) == ["Weigh the flour", "Mix the dough by hand"]


def test_a_cloze_card_takes_an_entry_whose_first_words_open_no_other_entry() -> None:
    from tutor.cards import list_card

    notes = ("# N\n\n## Ideas\n- Collect more data\n- Collect more diverse training set\n"
             "- Train the network for longer\n")
    (chunk,) = [c for c in chunk_text(notes, "n.md") if c.section == "Ideas"]
    card = list_card(chunk)  # was: "complete the line: “Collect …”", which both first entries complete
    assert card is not None and card.key_points == ("Train the network for longer",)
    assert card.question == "“Ideas” of “N”: complete the line from your notes: “Train the …”"


def test_a_passage_with_no_line_that_stands_alone_gets_no_card_written_whole(tmp_path) -> None:  # type: ignore[no-untyped-def]
    notes = "# N\n\n## Interview\nBased on the last example, he said it takes a lot of time with no need at all.\n"
    chunks = chunk_text(notes, "n.md")
    model = ScriptedModel()  # nothing queued: a card written whole ("Who is …?") would ask it
    (chunk,) = [c for c in chunks if c.section == "Interview"]
    with quiz_session(tmp_path, chunks, model) as one:
        assert one(chunk, "card") is None
    assert model.received == []


def test_a_session_card_on_a_paragraph_is_a_line_to_complete_with_no_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    notes = ("# Bakery\n\n## Morning\nThe oven is lit at four every morning. The first loaves go in at five. "
             "The shop opens at seven.\n")
    chunks = chunk_text(notes, "b.md")
    model = ScriptedModel()  # nothing queued: the model's fronts asked for any line of the paragraph
    (chunk,) = [c for c in chunks if c.section == "Morning"]
    with quiz_session(tmp_path, chunks, model) as one:
        card = one(chunk, "card")
    assert model.received == [] and card is not None and card.generator == "notes"
    assert card.question == "“Morning” of “Bakery”: complete the line from your notes: “The oven …”"
    assert card.key_points == ("The oven is lit at four every morning",)


def test_a_table_gives_a_card_on_a_cell_and_a_three_word_line_no_cloze() -> None:
    from tests.conftest import NOTES
    from tutor.cards import cloze_shown, line_card, table_card

    chunks = chunk_text(NOTES.read_text(), NOTES.name)
    table = next(c for c in chunks if c.section.endswith("Data Scientist vs. Machine Learning Engineer (MLE)"))
    card = table_card(table)  # was: a cloze of the row, "complete the line: “| Primary Focus | Analysis …”"
    assert card is not None and card.generator == "notes" and card.key_points == ("Analysis and experimentation",)
    assert card.question == ("In “Data Scientist vs. Machine Learning Engineer (MLE)”, what is the primary focus of "
                             "“Data Scientist”?")
    assert Validator({c.content_hash: c for c in chunks}).problems(card) == []
    assert line_card(table) is None  # a table row is no line to complete
    assert cloze_shown("Data structures and algorithms") == ""  # was: "Data …", too little to go on


def test_a_list_of_fields_other_lists_repeat_gets_no_which_one_item_and_labels_are_not_phrased() -> None:
    notes = ("# Ovens\n\n## Wood oven\n- **Fuel**: Oak logs\n- **Heat**: Very high and uneven\n"
             "- **Taste**: Smoky crust\n- **Advantage**: Flavour\n\n## Gas oven\n- **Fuel**: Mains gas\n"
             "- **Heat**: Even and steady\n- **Taste**: Plain crust\n- **Advantage**: Control\n\n## Bakers\n"
             "- **Mixer**: Weighs and mixes the dough\n- **Shaper**: Folds and rolls each loaf\n"
             "- **Oven hand**: Loads and watches the oven\n- **Seller**: Greets buyers at the counter\n")
    chunks = chunk_text(notes, "o.md")
    by = {c.section: c for c in chunks}
    planner = Planner(chunks)
    # was: "In “Wood oven”, which one is: “Oak logs”?" with Heat / Taste / Advantage as wrong options
    assert [p for p in planner.plans(by["Wood oven"]) if p.shape == "label"] == []
    (label,) = [p for p in planner.plans(by["Bakers"]) if p.shape == "label"]
    assert not label.phrased_by_model  # its template wording is the item: the model's named the value in other words
