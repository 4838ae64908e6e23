"""Run the cases through our pipeline and the baseline, and score every case.

One ``Tutor`` gives the index, the embedder and the model (loaded once for the whole run). Each case
is retrieved (always) and answered (unless only retrieval is asked for), then scored by the
evaluators of ``tutor.evals.metrics``. Nothing here prints: progress goes to a tqdm bar on stderr.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.answering import answer as final_answer
from tutor.answering import clean_question, condense
from tutor.errors import TutorError
from tutor.evals import metrics as m
from tutor.evals.dataset import Case, Dataset
from tutor.evals.metrics import matches_section, matches_source
from tutor.records import Chunk

if TYPE_CHECKING:
    from tqdm import tqdm

    from tutor.embedding import Vector, Vectors

ONLY = ("retrieval", "answers", "quiz")
QUIZ_ITEMS = 5  # quiz items generated per run, by default
CASE_MIN_KEY_POINTS = 0.5  # a case whose answer says under half its key points (both ways) is listed as failing
CASE_MIN_FAITHFULNESS = 0.67


@dataclass
class Pipeline:
    name: str
    retriever: Any  # a Retriever, or anything with retrieve and search
    sections_of: Callable[[Chunk], list[str]]
    description: str = ""


@dataclass
class EvalRun:
    dataset: str
    mode: str  # retrieval | answers
    backend: str | None
    settings: dict[str, Any]
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # pipeline -> per-case rows
    summaries: dict[str, dict[str, float | None]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    thresholds: list[dict[str, Any]] = field(default_factory=list)  # checked on our pipeline
    started: str = ""
    seconds: float = 0.0
    quiz: dict[str, Any] | None = None

    @property
    def failed_thresholds(self) -> list[dict[str, Any]]:
        return [t for t in self.thresholds if t["ok"] is False]

    @property
    def ok(self) -> bool:
        return not self.failed_thresholds


def check_sections(dataset: Dataset, chunks: Sequence[Chunk]) -> None:
    """Every expected section must name a section of the indexed notes, in the case's file when it names one
    (a typo would score as a miss)."""
    known = {(c.source, c.section) for c in chunks}
    for case in dataset.cases:
        missing = sorted(set(case.source) - {source for source, _ in known})
        if missing:
            raise TutorError(f"{dataset.path}: case {case.id!r}: the source {', '.join(missing)} is not in the notes",
                             fix="copy the file name from: tutor search --json (field source)", exit_code=2)
        for expected in case.sections:
            if not any(matches_source(case.source, f) and matches_section(expected, s) for f, s in known):
                where = f" of {', '.join(case.source)}" if case.source else ""
                raise TutorError(f"{dataset.path}: case {case.id!r}: the section {expected!r} is not in the notes"
                                 f"{where}",
                                 fix="copy the heading path from: tutor search --json (field section)", exit_code=2)


class CachedEmbedder:
    """An embedder that remembers: ``warm`` embeds many texts in one batch, later calls reuse them.

    Used for ``--only retrieval``, where every query is known up front (one batch instead of a model call
    per query); not for answers, whose retrieval time must be what a learner waits for.
    """

    def __init__(self, embedder: Any) -> None:
        self.inner = embedder
        self.name = getattr(embedder, "name", "?")
        self.dim = getattr(embedder, "dim", 0)
        self.cache: dict[str, Vector] = {}

    def warm(self, texts: Sequence[str]) -> None:
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        self.cache.update(zip(todo, self.inner.embed(todo)))

    def embed(self, texts: Sequence[str]) -> Vectors:
        import numpy as np

        self.warm(texts)
        if not texts:
            return np.zeros((0, self.dim))
        return np.stack([self.cache[t] for t in texts])


def our_pipeline(tutor: Any, embedder: Any = None) -> Pipeline:
    retriever = tutor.retriever
    if embedder is not None:
        from tutor.retrieval import Retriever

        retriever = Retriever(retriever.chunks, retriever.store, embedder, retriever.abbreviations)
    return Pipeline("ours", retriever, lambda c: [c.section],
                    "heading-aware chunks with heading paths, hybrid dense + BM25 (standardised scores), abbreviations")


def baseline_pipeline(tutor: Any, embedder: Any = None) -> Pipeline:
    from tutor.evals.baseline import CHUNK_CHARS, OVERLAP_CHARS, build_baseline

    retriever = build_baseline(tutor.settings.corpus, embedder or tutor.embedder, tutor.retriever.chunks)
    return Pipeline("baseline", retriever, retriever.sections_of,
                    f"fixed {CHUNK_CHARS}-char chunks ({OVERLAP_CHARS} overlap), no heading paths, dense-only top-k")


def run_eval(tutor: Any, dataset: Dataset, *, only: str = "answers", baseline: bool = True,
             thresholds: dict[str, float] | None = None, progress: bool | None = None,
             quiz_items: int = QUIZ_ITEMS, checkpoint: Path | None = None, split: str | None = None) -> EvalRun:
    """Score ``dataset`` on our pipeline (and the baseline); thresholds are checked on ours.

    With ``checkpoint``, each case's row is appended there as JSON as soon as it is scored, so a long
    run that is stopped still leaves what it measured (and shows how far it got). ``split`` only names the
    split ``dataset`` was selected from, for the report.
    """
    if only not in ONLY:
        raise TutorError(f"unknown part {only!r} for --only", fix=f"choose one of: {', '.join(ONLY)}", exit_code=2)
    started = time.perf_counter()
    settings = tutor.settings
    tutor.open_index()  # built or refreshed first, as for tutor ask
    if only != "quiz":
        check_sections(dataset, tutor.retriever.chunks)
    embedder = CachedEmbedder(tutor.embedder) if only == "retrieval" else None
    if embedder is not None:
        embedder.warm(_queries(dataset, tutor.retriever))
    pipelines = [] if only == "quiz" else [our_pipeline(tutor, embedder)]
    pipelines += [baseline_pipeline(tutor, embedder)] if baseline and only != "quiz" else []
    model = tutor.model if only != "retrieval" else None
    backend = (model.name if model is not None else "extractive") if only != "retrieval" else None
    run = EvalRun(str(dataset.path), only, backend,
                  {"top_k": settings.top_k, "min_relevance": settings.min_relevance,
                   "embedder": getattr(tutor.embedder, "name", "?"), "cases": len(dataset.cases),
                   "split": split or "all", "corpus": str(settings.corpus)},
                  started=datetime.now(UTC).isoformat(timespec="seconds"))
    bar = _bar(len(dataset.cases) * len(pipelines), progress)
    run.results["ours"], run.summaries["ours"] = [], m.summarise([])
    try:
        for pipeline in pipelines:
            rows = []
            for case in dataset.cases:
                bar.set_postfix_str(f"{pipeline.name}: {case.id}"[:40])
                rows.append(run_case(pipeline, case, settings, model, tutor.embedder.embed, only == "answers"))
                if checkpoint is not None:
                    with checkpoint.open("a", encoding="utf-8") as f:
                        f.write(json.dumps({"pipeline": pipeline.name, **rows[-1]}, ensure_ascii=False) + "\n")
                bar.update(1)
            run.results[pipeline.name] = rows
            run.summaries[pipeline.name] = m.summarise(rows)
            run.descriptions[pipeline.name] = pipeline.description
    finally:
        bar.close()
    if only != "retrieval" and quiz_items > 0:
        from tutor.evals.quiz import quiz_summary, sample_items

        sampled = sample_items(tutor, quiz_items)
        if sampled is not None:  # None without a model (extractive): quiz metrics are not run
            items, stats = sampled
            scores = quiz_summary(items, stats["tried"])
            run.quiz = {**scores, "generator": stats, "items": items}
            run.summaries["ours"].update(scores)
    run.thresholds = m.check_thresholds(run.summaries["ours"], {**dataset.thresholds, **(thresholds or {})})
    run.seconds = round(time.perf_counter() - started, 1)
    return run


def _queries(dataset: Dataset, retriever: Any) -> list[str]:
    """What retrieval will embed for each case without an LLM: the query, and ours with abbreviations spelled out."""
    out = []
    for case in dataset.cases:
        query = condense(case.history, case.question, None) if case.history else case.question
        out += [query, retriever.expand(query)]
    return out


def run_case(pipeline: Pipeline, case: Case, settings: Any, model: Any, embed: m.Embed,
             answers: bool) -> dict[str, Any]:
    """One case on one pipeline: its scores, what was retrieved and answered, and why it fails (if it does)."""
    row: dict[str, Any] = {"id": case.id, "kind": case.kind, "question": case.question,
                           "answerable": case.answerable, "sections": list(case.sections), "source": list(case.source),
                           "split": case.in_split, "failures": []}
    answer = None
    try:
        if answers:
            answer = final_answer(case.question, pipeline.retriever, model, settings, case.history)
            assert answer.retrieval is not None
            found = answer.retrieval  # what the answer was written from: scored as it is, not searched again
            row["retrieval_ms"] = answer.timings.retrieve_ms
        else:  # without answers the queries were embedded in one batch: no per-question time
            query = condense(case.history, case.question, None) if case.history else case.question
            query = clean_question(query, settings.max_question_chars)
            found = pipeline.retriever.retrieve(query, settings.top_k, settings.min_relevance)
    except TutorError as exc:
        if exc.exit_code != 2:
            raise  # a broken setup stops the run; a bad question fails only its case
        row["failures"].append(f"error: {exc.message}")
        return row
    except Exception as exc:  # a bug met by one case: recorded, and the run goes on (the eval then fails)
        row["failures"].append(f"crashed: {type(exc).__name__}: {exc}")
        row["crashed"] = "".join(traceback.format_exception(exc))
        return row
    top = list(found.hits)
    row["query"] = found.query
    row["retrieved"] = [{"rank": r, "source": h.chunk.source, "sections": pipeline.sections_of(h.chunk),
                         "lines": list(h.chunk.lines),
                         "dense": None if h.dense is None else round(h.dense, 3)} for r, h in enumerate(top, 1)]
    row["gate_refused"] = float(not found.relevant)
    if case.answerable:
        def ranked(hits: Sequence[Any]) -> list[list[str]]:
            return [pipeline.sections_of(h.chunk) if matches_source(case.source, h.chunk.source) else [] for h in hits]

        rank = m.first_rank(case.sections, ranked(top))
        if rank is None and settings.top_k < m.MRR_DEPTH:  # ranks past the passages answered from count for MRR
            rank = m.first_rank(case.sections, ranked(pipeline.retriever.search(found.query, k=m.MRR_DEPTH)))
        row["rank"] = rank
        row.update(m.retrieval_scores(rank))
        if rank is None or rank > settings.top_k:
            row["failures"].append(f"retrieval: no expected section in the top {settings.top_k} passages")
        if not answers and row["gate_refused"]:
            row["failures"].append("retrieval: the relevance gate would refuse it before any LLM")
    elif not answers and not row["gate_refused"]:
        row["failures"].append("retrieval: the relevance gate let it through (the LLM must refuse it)")
    if answer is not None:
        _score_answer(row, case, answer, [(h.chunk.source, h.chunk.lines) for h in top], embed)
    return row


def _score_answer(row: dict[str, Any], case: Case, answer: Any, retrieved: list[tuple[str, tuple[int, int]]],
                  embed: m.Embed) -> None:
    data = answer.to_dict()
    row["answer"] = {k: data[k] for k in ("answer", "refused", "standalone_question", "warnings", "nearest",
                                          "extractive", "incomplete")}
    row["answer"]["citations"] = [{k: c[k] for k in ("n", "section", "lines")} for c in data["citations"]]
    row["refused"] = answer.refused
    timings = answer.timings
    row["first_token_ms"] = timings.first_token_ms if not answer.refused else None
    row["total_ms"] = timings.total_ms
    if not case.answerable:
        if not answer.refused:
            row["failures"].append("answered a question the notes don't cover")
        return
    if answer.refused:
        row.update(kp_lexical=0.0, kp_semantic=0.0)
        row["failures"].append("refused a question the notes answer")
        return
    lexical = m.lexical_matches(case.key_points, answer.answer)
    semantic = m.semantic_matches(case.key_points, answer.answer, embed)
    row.update(kp_lexical=m.recall(lexical), kp_semantic=m.recall(semantic))
    row["key_points"] = [{"key_point": k[0], "lexical": a, "semantic": b}
                         for k, a, b in zip(case.key_points, lexical, semantic)]
    if max(row["kp_lexical"], row["kp_semantic"]) < CASE_MIN_KEY_POINTS:
        missed = [k[0] for k, a, b in zip(case.key_points, lexical, semantic) if not (a or b)]
        row["failures"].append(f"key points missed: {'; '.join(missed)}")
    supports = m.support(answer.answer, {c.n: f"{c.section}\n{c.text}" for c in answer.citations}, embed)
    row["faithfulness"] = m.faithfulness(supports)
    row["unsupported"] = [s.sentence for s in supports if not s.supported]
    if row["faithfulness"] is not None and row["faithfulness"] < CASE_MIN_FAITHFULNESS:
        row["failures"].append(f"unsupported by the cited chunks: {'; '.join(row['unsupported'])}")
    problems = m.citation_problems(data, retrieved)
    row["citations_valid"] = float(not problems)
    row["failures"].extend(f"citation: {p}" for p in problems)


def _bar(total: int, progress: bool | None) -> tqdm[Any]:
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    return tqdm(total=total, desc="Evaluating", unit="case", file=sys.stderr, leave=False, disable=not show)
