"""Retrieval measured per component: dense alone, BM25 alone and fused, with and without the title and
heading context, for chunks cut to the embedder's window or by characters only (the old rule).

    nice -n 10 .venv/bin/python bench/retrieval.py                                  # home notes
    nice -n 10 .venv/bin/python bench/retrieval.py --corpus evals/corpus-dev \\
        --dataset evals/corpus-dev.yaml --split dev                                 # another dataset
    ... --grid                                                                      # also a fusion grid
    ... --refusal-curve                                                             # the evidence rule's curve

Everything is built in memory from the notes (no index, no Chroma; the real MiniLM embedder), so one
run takes a minute or two on 2 cores. Scored as ``tutor eval --only retrieval`` scores ours: the first
rank among the top 10 whose heading path is an expected section; hit@1/3/5 and MRR over the answerable
cases, and the relevance gate on all (answerable cases it would refuse / unanswerable ones it lets by).
No LLM is run: follow-ups are condensed as the eval does without one.

``--refusal-curve`` sweeps the evidence threshold of ``tutor.evidence`` (a model's "not covered" is
overruled when a passage holds that share of the question's keywords) in the worst case for it: a model
that refuses every question it is asked. Per threshold: unanswerable cases still refused (by the gate or
for want of an answering passage), and answerable ones refused all the same (false refusals). A real
model refuses fewer answerable questions, so its false refusals are at most these.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tutor.abbreviations import mine_abbreviations  # noqa: E402
from tutor.chunking import MAX_TOKENS, chunk_text  # noqa: E402
from tutor.evals.baseline import DenseIndex  # noqa: E402
from tutor.evals.dataset import split_of  # noqa: E402
from tutor.records import Chunk, plain  # noqa: E402
from tutor.retrieval import Fusion, Retriever  # noqa: E402


@dataclass(frozen=True)
class BareChunk(Chunk):
    """A chunk embedded and keyword-indexed without its title and heading path."""

    def embed_text(self) -> str:
        return plain(self.text)


def build(corpus: Path, embedder: Any, *, window: bool, context: bool, fusion: Fusion) -> Retriever:
    """A retriever over ``corpus`` in memory: chunks cut to the window (or by 1,500 characters only)."""
    chunks: list[Chunk] = []
    for path in sorted(p for p in corpus.rglob("*") if p.suffix.lower() in (".md", ".markdown", ".txt")):
        if path.name == "SOURCE.md":
            continue
        text = path.read_text(encoding="utf-8")
        cut = chunk_text(text, str(path.relative_to(corpus)), max_tokens=MAX_TOKENS if window else 10**9)
        chunks += [c if context else BareChunk(**c.to_dict()) for c in cut if c.text.strip()]
    store = DenseIndex()
    store.upsert(chunks, embedder.embed([c.embed_text() for c in chunks]))
    return Retriever(chunks, store, embedder, mine_abbreviations(chunks), fusion)


@dataclass(frozen=True)
class Case:
    """What this bench needs of an eval case (read from the YAML directly, whatever else it holds)."""

    id: str
    question: str
    answerable: bool
    sections: tuple[str, ...]
    source: tuple[str, ...]  # the files an expected section counts in (none: any file)
    split: str
    history: tuple[tuple[str, str], ...]


def load_cases(path: Path) -> tuple[list[Case], Path | None]:
    """The cases of a dataset file, and its notes folder (``corpus:``, relative to the file) if it names one."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw = data["cases"] if isinstance(data, dict) else data
    corpus = path.parent / data["corpus"] if isinstance(data, dict) and data.get("corpus") else None

    def strings(value: Any) -> tuple[str, ...]:
        return tuple(value) if isinstance(value, list) else (value,) if value else ()

    cases = [Case(str(c.get("id", n)), c["question"], c["kind"] != "unanswerable", strings(c.get("sections")),
                  strings(c.get("source")), c.get("split") or split_of(str(c.get("id", n))),
                  tuple((t["question"], t["answer"]) for t in c.get("history") or ()))
             for n, c in enumerate(raw, 1)]
    return cases, corpus


def first_rank(case: Case, hits: Sequence[Any]) -> int | None:
    from tutor.evals.dataset import matches_section

    for rank, hit in enumerate(hits, 1):
        if (not case.source or hit.chunk.source in case.source) and \
                any(matches_section(e, hit.chunk.section) for e in case.sections):
            return rank
    return None


def score(retriever: Retriever, cases: Sequence[Case], mode: str, min_relevance: float) -> dict[str, float]:
    """hit@1/3/5 and MRR over the answerable cases; the gate's refusals on both kinds."""
    from tutor.answering import condense
    from tutor.evals.metrics import retrieval_scores

    rows, gate_wrong, let_by, unanswerable = [], 0, 0, 0
    for case in cases:
        query = condense(case.history, case.question, None) if case.history else case.question
        hits = retriever.search(query, k=10, mode=mode)
        relevant = bool(hits) and retriever.is_relevant(query, hits[:5], min_relevance)
        if not case.answerable:
            unanswerable += 1
            let_by += relevant
            continue
        rows.append(retrieval_scores(first_rank(case, hits)))
        gate_wrong += not relevant
    n = max(len(rows), 1)
    out = {key: sum(r[key] for r in rows) / n for key in ("hit@1", "hit@3", "hit@5", "rr")}
    out["gate refuses answerable"] = gate_wrong / n
    out["gate lets unanswerable by"] = let_by / max(unanswerable, 1)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    from tutor.embedding import FastMiniLM
    from tutor.evals.runner import CachedEmbedder

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, help="the notes (default: the dataset's corpus, else corpus/)")
    p.add_argument("--dataset", type=Path, default=REPO / "evals" / "cases.yaml")
    p.add_argument("--split", help="only the cases of this split (dev or test), when the dataset has splits")
    p.add_argument("--min-relevance", type=float, default=0.30)
    p.add_argument("--grid", action="store_true", help="also try fusion settings (tune on dev only)")
    p.add_argument("--refusal-curve", action="store_true", help="sweep the evidence threshold (see above)")
    p.add_argument("--json", type=Path, help="write the rows here")
    args = p.parse_args(argv)
    cases, corpus = load_cases(args.dataset)
    args.corpus = args.corpus or corpus or REPO / "corpus"
    if args.split:
        cases = [c for c in cases if c.split == args.split]
    embedder = CachedEmbedder(FastMiniLM())
    rows: list[dict[str, Any]] = []
    print(f"{args.dataset.name} ({args.split or 'all'}): {sum(c.answerable for c in cases)} answerable, "
          f"{sum(not c.answerable for c in cases)} unanswerable")
    print(f"{'chunks':10} {'context':8} {'ranking':8} {'hit@1':>6} {'hit@3':>6} {'hit@5':>6} {'MRR':>6} "
          f"{'gate-ans':>8} {'gate-unans':>10}")
    for window in (False, True):
        for context in (False, True):
            retriever = build(args.corpus, embedder, window=window, context=context, fusion=Fusion())
            for mode in ("dense", "keyword", "hybrid"):
                s = score(retriever, cases, mode, args.min_relevance)
                rows.append({"window": window, "context": context, "mode": mode, **s})
                print(f"{'window' if window else '1500 char':10} {'yes' if context else 'no':8} {mode:8} "
                      f"{s['hit@1']:6.2f} {s['hit@3']:6.2f} {s['hit@5']:6.2f} {s['rr']:6.2f} "
                      f"{s['gate refuses answerable']:8.2f} {s['gate lets unanswerable by']:10.2f}")
    if args.grid:
        base = build(args.corpus, embedder, window=True, context=True, fusion=Fusion())
        print("\nfusion grid (window, context):")
        grid = [Fusion(method="rrf", rrf_k=rrf_k, dense_weight=w, depth=depth)
                for rrf_k in (10, 30, 60) for w in (0.5, 1.0, 1.5, 2.0) for depth in (20, 50)]
        grid += [Fusion(method="zscore", dense_weight=w, depth=depth)
                 for w in (0.54, 0.67, 0.82, 1.0, 1.22, 1.5, 1.86) for depth in (20, 50, 100)]
        for fusion in grid:
            s = score(replace_fusion(base, fusion), cases, "hybrid", args.min_relevance)
            rows.append({"window": True, "context": True, "mode": "hybrid", "fusion": vars(fusion), **s})
            knob = f"rrf_k={fusion.rrf_k:3}" if fusion.method == "rrf" else " " * 8
            print(f"  {fusion.method:6} {knob} dense_weight={fusion.dense_weight:.2f} depth={fusion.depth:3}  "
                  f"hit@1 {s['hit@1']:.2f} hit@3 {s['hit@3']:.2f} hit@5 {s['hit@5']:.2f} MRR {s['rr']:.2f}")
    if args.refusal_curve:
        base = build(args.corpus, embedder, window=True, context=True, fusion=Fusion())
        print("\nevidence threshold (a model that refuses everything it is asked):")
        for row in refusal_curve(base, cases, args.min_relevance):
            rows.append(row)
            print(f"  coverage >= {row['threshold']:.2f}: unanswerable refused {row['unanswerable refused']:.2f}, "
                  f"false refusals at most {row['false refusals']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


def refusal_curve(retriever: Retriever, cases: Sequence[Case], min_relevance: float) -> list[dict[str, float]]:
    """The evidence rule at each threshold, with a model that refuses everything (see the module doc)."""
    from tutor.answering import condense
    from tutor.evidence import answering_passages

    found = []
    for case in cases:
        query = condense(case.history, case.question, None) if case.history else case.question
        found.append((case, retriever.retrieve(query, 5, min_relevance)))
    out = []
    for threshold in (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01):
        def refused(f: Any, t: float = threshold) -> bool:
            return not f.relevant or not answering_passages(f.query, f.hits, min_relevance, retriever.bm25.idf,
                                                            retriever.spelled(), t)
        answerable = [refused(f) for c, f in found if c.answerable]
        unanswerable = [refused(f) for c, f in found if not c.answerable]
        out.append({"threshold": threshold, "unanswerable refused": sum(unanswerable) / max(len(unanswerable), 1),
                    "false refusals": sum(answerable) / max(len(answerable), 1)})
    return out


def replace_fusion(retriever: Retriever, fusion: Fusion) -> Retriever:
    """The same index with other fusion settings (nothing re-embedded)."""
    clone = Retriever.__new__(Retriever)
    clone.__dict__.update(retriever.__dict__)
    clone.fusion = replace(fusion)
    return clone


if __name__ == "__main__":
    main()
