"""``tutor eval``: load the dataset, run, write the report, print the table; exit 1 under a threshold.

A dataset with its own ``corpus`` is run on those notes, indexed in the data directory
(``<data_dir>/eval-index/``), so the user's notes and index are never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from tutor.errors import TutorError
from tutor.evals.dataset import Dataset, load_dataset
from tutor.evals.metrics import parse_overrides
from tutor.evals.runner import ONLY, run_eval

THRESHOLDS_ENV = "TUTOR_EVAL_THRESHOLDS"  # "hit@5=0.9,faithfulness=0.8": overrides the dataset's thresholds


def run_command(args: Any, tutor: Any, console: Any) -> int:
    from tutor.evals.report import headline, terminal_table, to_dict, trust_summary, write_report

    only = args.only or "answers"
    if only not in ONLY:
        raise TutorError(f"unknown part {only!r} for --only", fix=f"choose one of: {', '.join(ONLY)}", exit_code=2)
    if args.limit is not None and args.limit < 1:
        raise TutorError(f"--limit must be at least 1, not {args.limit}", exit_code=2)
    split = getattr(args, "split", None)
    dataset = load_dataset(Path(args.dataset)).select(args.tag, args.case, args.limit, split)
    tutor = dataset_tutor(tutor, dataset)
    env = [x for x in os.environ.get(THRESHOLDS_ENV, "").split(",") if x.strip()]
    overrides = {**parse_overrides(env), **parse_overrides(args.threshold)}
    if only != "retrieval":
        console.status(f"(answering {len(dataset.cases)} cases with {tutor.backend_name}; "
                       f"{'with' if not args.no_baseline else 'without'} the baseline)")
    if args.quiz < 0:
        raise TutorError(f"--quiz must be 0 or more, not {args.quiz}", exit_code=2)
    folder = Path(args.report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = folder / f"partial-{os.getpid()}.jsonl"  # rows as they are scored; removed once the report is out
    run = run_eval(tutor, dataset, only=only, baseline=not args.no_baseline, thresholds=overrides,
                   progress=False if args.quiet else None, quiz_items=args.quiz, checkpoint=checkpoint,
                   split=split)
    json_path, html_path = write_report(run, folder)
    checkpoint.unlink(missing_ok=True)
    if args.json:
        console.print(json.dumps({**to_dict(run), "report": {"json": str(json_path), "html": str(html_path)}},
                                 ensure_ascii=False, indent=1))
    else:
        console.print(headline(run))
        console.print(terminal_table(run))
        failing = ", ".join(f"{p} {sum(bool(r['failures']) for r in rows)}" for p, rows in run.results.items())
        console.print("\n" + "\n".join(trust_summary(run)))
        console.print(f"\nFailing cases: {failing} (listed in the report, with what was retrieved and answered)")
        console.print(f"Report: {html_path} (and {json_path.name})")
    status = 0
    crashed = [r["id"] for rows in run.results.values() for r in rows if r.get("crashed")]
    if crashed:
        console.err.write(f"error: {len(crashed)} case(s) crashed ({', '.join(crashed[:5])}): a bug in the tutor; "
                          f"each one's traceback is in the report ({json_path.name}, field \"crashed\")\n")
        status = 1
    if run.failed_thresholds:
        under = ", ".join(f"{t['metric']} {t['value']:.2f} (needs {t['direction']} {t['threshold']:g})"
                          for t in run.failed_thresholds)
        console.err.write(f"error: eval failed: {under}\n")
        status = 1
    return status


def eval_index(data_dir: Path, corpus: Path) -> Path:
    """Where a dataset's own notes are indexed: one folder per notes folder, under the data directory."""
    digest = hashlib.sha256(str(corpus.resolve()).encode("utf-8")).hexdigest()[:10]
    return data_dir / "eval-index" / f"{corpus.name}-{digest}"


def dataset_tutor(tutor: Any, dataset: Dataset) -> Any:
    """The tutor to evaluate: ``tutor`` itself, or one over the dataset's own notes and index."""
    if dataset.corpus is None:
        return tutor
    from tutor.pipeline import Tutor

    settings = replace(tutor.settings, corpus=dataset.corpus, index=eval_index(tutor.settings.data_dir, dataset.corpus),
                       chroma_url="")
    return Tutor(settings, log=tutor.log, progress=tutor.progress)
