"""Measure quiz item generation on a notes folder: what `tutor quiz` writes, kind by kind, with timings.

    nice -n 10 python bench/quiz_items.py --corpus corpus --index /tmp/quiz-index --out /tmp/items.json -n 4

Runs the real session (``tutor.session.QuizSession``) with a fresh question bank and progress database
in a temporary folder, asks for ``-n`` items of each kind, and writes every item served (with its
citations) and the generator's stats to ``--out``. The rates are computed from that file by
``tutor.evals.quiz.measure`` (``--score``), so the same evaluators judge items from any version.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

KINDS = ("mcq", "short", "card")


def generate(corpus: Path, index: Path, n: int, kinds: tuple[str, ...], backend: str = "llamacpp",
             out: Path | None = None) -> dict[str, Any]:
    """Items of each kind from a fresh bank on the notes in ``corpus``, and how generation went; written to
    ``out`` after each kind too, so a run stopped for time keeps the kinds it finished."""
    from tutor.bank import Bank
    from tutor.config import load_settings
    from tutor.pipeline import Tutor
    from tutor.reviews import Reviews
    from tutor.session import QuizSession

    settings = load_settings({"corpus": str(corpus), "index": str(index), "backend": backend})
    tutor = Tutor(settings, log=lambda m: print(m, file=sys.stderr, flush=True), progress=False)
    tutor.ensure_index()
    items: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    data: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        with Reviews(Path(tmp) / "progress.sqlite3") as reviews:
            session = QuizSession(tutor, reviews, Bank(Path(tmp) / "bank.json"))
            for kind in kinds:
                started = time.perf_counter()
                before = _counts(session.stats)
                got = list(session.items(kind=kind, n=n))
                after = _counts(session.stats)
                runs.append({"kind": kind, "served": len(got), "seconds": round(time.perf_counter() - started, 1),
                             "stats": {k: round(after[k] - before[k], 1) for k in after}})
                items += [i.to_dict() | {"generator": i.generator, "extra": dict(i.extra)} for i in got]
                print(f"{kind}: {len(got)} items in {runs[-1]['seconds']}s", file=sys.stderr, flush=True)
                data = {"corpus": str(corpus), "model": tutor.backend_name, "runs": runs,
                        "stats": _stats(session.stats), "items": items}
                if out is not None:
                    out.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str))
    return data


def _stats(s: Any) -> dict[str, Any]:
    stats = {"tried": s.tried, "valid": s.valid, "first_try": s.first_try, "replies": s.replies,
             "seconds": round(s.seconds, 1), "problems": s.problems}
    return stats | {k: v for k, v in vars(s).items() if k not in stats}


def _counts(stats: Any) -> dict[str, float]:
    """The generator's counters now, to tell one kind's share of a session from the next."""
    names = ("tried", "valid", "first_try", "replies", "seconds", "built", "phrased", "fallback")
    return {k: float(getattr(stats, k, 0)) for k in names}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("-n", type=int, default=4, help="items of each kind")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--backend", default="llamacpp", help="extractive: only the items built from the notes")
    parser.add_argument("--score", action="store_true", help="score an --out file already written; no model")
    args = parser.parse_args()
    if not args.score:
        generate(args.corpus, args.index, args.n, tuple(args.kinds.split(",")), args.backend, args.out)
    try:
        from tutor.evals.quiz import measure
    except ImportError:  # a version of the tutor without the evaluators: the file is written, score it later
        print(f"written {args.out}; score it with --score")
        return 0
    print(json.dumps(measure(json.loads(args.out.read_text()), args.corpus), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
