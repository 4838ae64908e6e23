"""Quiz quality on a sample of generated items: valid, answerable from the cited chunk, correct key.

The evaluators work on plain items, ``{"question", "choices", "answer", "source_text"}`` (the answer is
the text of the right choice, or its 0-based index), so they do not depend on how the quiz is built.
``sample_items`` is the hook to the quiz generator (``tutor/quiz.py``, another issue): until that
module exists, it returns None and ``tutor eval`` reports the quiz metrics as not run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tutor.evals.metrics import SUPPORT_OVERLAP, terms


def _key(item: Mapping[str, Any]) -> str | None:
    answer, choices = item.get("answer"), list(item.get("choices") or [])
    if isinstance(answer, int) and not isinstance(answer, bool):
        return str(choices[answer]) if 0 <= answer < len(choices) else None
    return str(answer) if answer is not None and str(answer) in map(str, choices) else None


def _support(text: str, source: str) -> float:
    words = terms(text)
    return len(words & terms(source)) / len(words) if words else 0.0


def item_scores(item: Mapping[str, Any]) -> dict[str, float]:
    """Three 0/1 scores for one item.

    >>> item = {"question": "Which approach scales best?", "choices": ["Collaborative filtering", "Supervised"],
    ...         "answer": 0, "source_text": "Unsupervised Learning (Collaborative Filtering): Advantage: Scalable"}
    >>> item_scores(item)
    {'valid': 1.0, 'answerable': 1.0, 'key_correct': 1.0}
    >>> item_scores({**item, "choices": ["Supervised", "supervised"], "answer": 0})["valid"]
    0.0
    """
    choices = [str(c) for c in item.get("choices") or []]
    key = _key(item)
    source = str(item.get("source_text") or "")
    valid = (bool(str(item.get("question") or "").strip()) and len(choices) >= 2 and key is not None
             and len({c.strip().lower() for c in choices}) == len(choices) and bool(source.strip()))
    if key is None:
        return {"valid": float(valid), "answerable": 0.0, "key_correct": 0.0}
    key_support = _support(key, source)
    others = [_support(c, source) for c in choices if c != key]
    return {"valid": float(valid), "answerable": float(key_support >= SUPPORT_OVERLAP),
            "key_correct": float(bool(valid) and all(key_support > o for o in others))}


def quiz_summary(items: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """The quiz metrics of a sample (None without items)."""
    scores = [item_scores(i) for i in items]

    def mean(name: str) -> float | None:
        return sum(s[name] for s in scores) / len(scores) if scores else None

    return {"quiz_validity": mean("valid"), "quiz_answerable": mean("answerable"),
            "quiz_key_correct": mean("key_correct")}


def sample_items(tutor: Any, n: int = 10) -> list[dict[str, Any]] | None:
    """HOOK: ``n`` generated quiz items as plain dicts, or None while ``tutor.quiz`` does not exist.

    When the quiz issue lands, adapt its generator's output to the plain item shape here.
    """
    try:
        import tutor.quiz  # noqa: F401
    except ImportError:
        return None
    return None
