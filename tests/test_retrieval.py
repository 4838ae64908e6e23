from __future__ import annotations

from tests.conftest import NOTES
from tests.fakes import HashEmbedder, MemoryStore
from tutor.abbreviations import expand_query, mine_abbreviations
from tutor.chunking import chunk_text
from tutor.records import Chunk
from tutor.retrieval import BM25, Retriever
from tutor.text import tokenize


def retriever_of(chunks: list[Chunk], abbreviations: dict[str, str] | None = None) -> Retriever:
    """A retriever over ``chunks`` alone, with the hashing embedder."""
    store, embedder = MemoryStore(), HashEmbedder()
    store.upsert(chunks, embedder.embed([c.embed_text() for c in chunks]))
    return Retriever(chunks, store, embedder, abbreviations or {})


def make_retriever() -> Retriever:
    chunks = chunk_text(NOTES.read_text(), "ml-process-summary.md")
    return retriever_of(chunks, mine_abbreviations(chunks))


def test_bm25_ranks_the_document_with_the_rare_term_first() -> None:
    docs = [tokenize(t) for t in ["cats and dogs", "dogs bark loudly", "cats purr", "the weather today"]]
    scores = BM25(docs).scores(tokenize("purr"))
    assert max(scores, key=scores.__getitem__) == 2
    assert set(scores) == {2}


def test_bm25_top_is_its_scores_sorted_with_ties_in_the_order_met() -> None:
    docs = [tokenize(t) for t in ["cats dogs", "dogs cats", "cats", "birds", "dogs", "fish"]]
    bm25 = BM25(iter(docs))  # documents are read one at a time
    query = tokenize("dogs cats birds")
    scores = bm25.scores(query)
    assert set(scores) == {0, 1, 2, 3, 4} and scores[0] == scores[1]
    ranked = sorted(scores.items(), key=lambda x: -x[1])
    assert bm25.top(query, 10) == ranked and bm25.top(query, 2) == ranked[:2]
    assert bm25.top(tokenize("whales"), 5) == [] and bm25.scores([]) == {}
    assert len(bm25.docs) == len(bm25.counts) == 8  # one posting per (term, document): held as two arrays


def test_abbreviations_come_from_the_notes() -> None:
    abbreviations = mine_abbreviations(chunk_text(NOTES.read_text(), "ml-process-summary.md"))
    assert abbreviations["MLE"] == "Machine Learning Engineer"
    assert abbreviations["DS"] == "Data Scientist"
    assert "CI" not in abbreviations  # the notes use CI/CD as a word of its own


def test_abbreviated_question_finds_the_roles_section() -> None:
    hits = make_retriever().search("DS vs MLE?", k=3)
    assert any("Data Scientist" in h.chunk.section for h in hits[:2])
    assert hits[0].keyword is not None  # the keyword side matched the expanded words


def test_written_together_term_finds_the_hyphenated_one() -> None:
    retriever = make_retriever()
    assert "CRISP-DM" in expand_query("crispdm steps?", retriever.abbreviations, retriever.vocabulary)
    hits = retriever.search("crispdm steps?", k=3)
    assert any("CRISP-DM" in h.chunk.text for h in hits)


def test_hits_are_fused_best_first_and_limited_to_k() -> None:
    hits = make_retriever().search("ethical risks bias fairness", k=4)
    assert len(hits) == 4
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].chunk.section == "Risk Management in ML Systems > Ethical Risks"


def test_keyword_coverage_tells_notes_words_from_foreign_ones() -> None:
    retriever = make_retriever()
    assert retriever.keyword_coverage("crispdm steps") == 1.0
    assert retriever.keyword_coverage("capital of France") == 0.0


def test_a_comparison_brings_evidence_for_each_side_into_the_top() -> None:
    chunks = chunk_text("# Serving\n## Batch pattern\nRuns predictions on a schedule over bulk data.\n"
                        "## Online pattern\nAnswers each request in real time.\n"
                        + "".join(f"## Batch note {i}\nBatch jobs and batch sizes, batch batch.\n" for i in range(6)),
                        "serving.md")
    retriever = retriever_of(chunks)
    sections = [h.chunk.section for h in retriever.search("batch vs online pattern", k=3)]
    assert "Online pattern" in sections and any(s.startswith("Batch") for s in sections)


def test_what_scopes_a_comparison_scopes_both_sides() -> None:
    # "Synchronous vs asynchronous in the horizontal pattern": each side is searched within that pattern, so
    # a note on synchronous serving in general does not take a place from the pattern asked about.
    chunks = chunk_text("# Serving\n## Synchronous pattern\nSynchronous serving blocks until the prediction is made.\n"
                        "## Horizontal pattern\nThe horizontal pattern runs models in parallel, synchronous or "
                        "asynchronous.\n## Horizontal pattern cons\nIn the horizontal pattern the slowest model "
                        "is the bottleneck.\n", "serving.md")
    retriever = retriever_of(chunks)
    hits = retriever.search("Synchronous vs asynchronous in the horizontal pattern?", k=2)
    sections = [h.chunk.section for h in hits]
    assert sections == ["Horizontal pattern", "Horizontal pattern cons"]


def test_an_acronym_the_notes_never_use_is_spelled_out_from_their_phrases() -> None:
    chunks = chunk_text("## Detection\nNon-max suppression keeps the best box.\n\n"
                        "## Tips\nRun non-max suppression per class.\n", "cv.md")
    retriever = retriever_of(chunks)
    assert retriever.expand("How does NMS work?") == "How does NMS work? (non-max suppression)"
    assert retriever.spelled() == {"NMS": "non-max suppression"}
    assert retriever.expand("How does XYZ work?") == "How does XYZ work?"


def test_an_acronym_the_notes_use_now_and_then_is_spelled_out_when_they_mostly_write_the_phrase() -> None:
    chunks = chunk_text("## Batch norm\nBatch normalization speeds up learning.\n\n"
                        "## Why it works\nBatch normalization also regularizes a little.\n\n"
                        "## ResNets\nEach conv is followed by `BN`.\n\n"
                        "## CNN\nA CNN shares weights. Convolutional neural networks are a CNN's long name.\n"
                        "Every CNN here is one of the small convolutional neural networks.\n", "dl.md")
    retriever = retriever_of(chunks)
    assert retriever.expand("Does BN regularize?") == "Does BN regularize? (batch normalization)"
    assert retriever.expand("Why a CNN?") == "Why a CNN?"  # the notes write "CNN" more than its phrase


def test_a_piece_that_says_nothing_of_its_own_is_passed_over_for_the_next() -> None:
    # each heading its own section, as in pattern notes: the diagram and the link match the file's title best
    chunks = chunk_text("# Model load pattern\n\n## Diagram\n![diagram](diagram.png)\n\n## Sample\n"
                        "https://github.com/example/model_load_pattern\n\n## Architecture\n"
                        "The server downloads the model file as its first task.\n\n## Pros\n- Light image size.\n",
                        "model-load.md")
    retriever = retriever_of(chunks)
    sections = [h.chunk.section for h in retriever.search("model load pattern", k=5)]
    assert sections and not {"Diagram", "Sample"} & {s.rsplit(" > ", 1)[-1] for s in sections}
    assert {s.rsplit(" > ", 1)[-1] for s in sections} == {"Architecture", "Pros"}


def test_a_shorthand_question_far_in_meaning_passes_the_gate_when_its_words_pick_out_a_passage() -> None:
    from tutor.records import Hit

    retriever = make_retriever()
    by_section = {c.section.rsplit(" > ", 1)[-1]: c for c in retriever.chunks}
    hybrid, risks = by_section["Hybrid Approach"], by_section["System Risks"]
    question = "two-stage recsys?"  # "recsys" is no word of the notes; the embedder reads the rest as noise
    assert retriever.keyword_coverage(question) >= 0.5
    # far in meaning from every passage (cosine 0.05), but the best passage holds the question's rare words
    assert retriever.is_relevant(question, [Hit(hybrid, 1.0, dense=0.05)], 0.3)
    assert not retriever.is_relevant(question, [Hit(risks, 1.0, dense=0.05)], 0.3)
    # a question most of whose words the notes never use is not let through by one passage's words
    assert not retriever.is_relevant("two-stage sourdough starter feeding?", [Hit(hybrid, 1.0, dense=0.05)], 0.3)


def test_a_symbol_the_notes_write_with_a_subscript_and_a_contraction_are_not_unknown_names() -> None:
    note = ("# RNNs\n\n## Model\n\n- The weights W<sub>ax</sub>, W<sub>aa</sub> and W<sub>ya</sub> are shared.\n"
            "- Overfitting the dev set: compare the dev and test errors.\n")
    retriever = retriever_of(chunk_text(note, "rnn.md"))
    assert retriever.unknown("What are the shapes of Wax, Waa and Wya?") == ()  # written W<sub>ax</sub>
    assert retriever.unknown("How much I've overfit the dev set, and what I'd do?") == ()  # not a name "I've"
    assert retriever.unknown("Which Kafka settings and Wxy weights are shared?") == ("Kafka", "Wxy")
    found = retriever.retrieve("What are the shapes of Wax, Waa and Wya?", k=2, min_relevance=0.0)
    assert found.relevant and found.unknown == ()
