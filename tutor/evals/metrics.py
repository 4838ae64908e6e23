"""The evaluators: small pure functions from one case's outcome to scores, and the run's summary.

Per case, the runner stores plain scores (``hit@1``, ``rr``, ``kp_lexical``, ``refused``, ...); ``summarise``
turns a list of them into the metrics of ``METRICS``, which thresholds refer to by name.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tutor.errors import TutorError
from tutor.text import MARKER, split_sentences, terms

if TYPE_CHECKING:
    from tutor.embedding import Vectors

Embed = Callable[[Sequence[str]], "Vectors"]  # texts to a matrix, a unit-length row each
KS = (1, 3, 5)
MRR_DEPTH = 10
SEMANTIC_MATCH = 0.60  # cosine of a key-point phrasing and an answer sentence that counts as saying it
SUPPORT_COSINE = 0.70  # cosine of an answer sentence and a line of the chunk it cites that counts as support
SUPPORT_OVERLAP = 0.5  # share of a sentence's content words found in the chunks it cites that counts as support


@dataclass(frozen=True)
class Metric:
    name: str
    group: str  # retrieval | answers | latency | quiz
    higher_is_better: bool
    description: str
    unit: str = "rate"  # rate (0..1) | ms


METRICS = {m.name: m for m in [
    *(Metric(f"hit@{k}", "retrieval", True, f"an expected section is in the top {k} passages") for k in KS),
    Metric("mrr", "retrieval", True, f"mean reciprocal rank of the first expected section (top {MRR_DEPTH})"),
    Metric("gate_refusal", "retrieval", True, "unanswerable questions stopped by the relevance gate (no LLM)"),
    Metric("gate_false_refusal", "retrieval", False, "answerable questions wrongly stopped by the relevance gate"),
    Metric("key_points_lexical", "answers", True, "key points said in the answer, matched by words"),
    Metric("key_points_semantic", "answers", True, "key points said in the answer, matched by meaning (MiniLM)"),
    Metric("faithfulness", "answers", True, "answer sentences supported by the chunks they cite"),
    Metric("citation_validity", "answers", True, "answers whose every [n] names a retrieved passage"),
    Metric("refusal_accuracy", "answers", True, "unanswerable questions refused"),
    Metric("false_refusal_rate", "answers", False, "answerable questions refused"),
    Metric("retrieval_ms_p50", "latency", False, "median retrieval time per question", "ms"),
    Metric("first_token_ms_p50", "latency", False, "median time to the first token of an answer", "ms"),
    Metric("total_ms_p50", "latency", False, "median time per written answer", "ms"),
    Metric("total_ms_p90", "latency", False, "90th percentile time per written answer", "ms"),
    Metric("quiz_validity", "quiz", True, "generated quiz items that are well-formed"),
    Metric("quiz_answerable", "quiz", True, "quiz items answerable from the chunk they cite"),
    Metric("quiz_key_correct", "quiz", True, "quiz items whose answer key is right"),
]}
GROUPS = ("retrieval", "answers", "latency", "quiz")


# --- thresholds -----------------------------------------------------------------------------------

def parse_thresholds(raw: Mapping[str, Any]) -> dict[str, float]:
    """Metric name -> threshold, checked: an unknown name or a non-number is a one-line error."""
    out: dict[str, float] = {}
    for name, value in raw.items():
        if name not in METRICS:
            raise TutorError(f"unknown metric {name!r}", fix=f"known metrics: {', '.join(METRICS)}", exit_code=2)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise TutorError(f"the threshold of {name} must be a number, not {value!r}", exit_code=2)
        if METRICS[name].unit == "rate" and not 0 <= value <= 1:
            raise TutorError(f"{name} is a rate: its threshold must be between 0 and 1, not {value}", exit_code=2)
        out[name] = float(value)
    return out


def parse_overrides(items: Iterable[str]) -> dict[str, float]:
    """``NAME=VALUE`` strings (flags, or one comma-separated environment variable) to thresholds.

    >>> parse_overrides(["hit@5=0.8", " mrr = 0.5 "])
    {'hit@5': 0.8, 'mrr': 0.5}
    """
    raw: dict[str, Any] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq:
            raise TutorError(f"threshold {item!r} is not NAME=VALUE", fix="e.g. --threshold hit@5=0.9", exit_code=2)
        try:
            raw[name.strip()] = float(value)
        except ValueError:
            raise TutorError(f"the threshold of {name.strip()} must be a number, not {value.strip()!r}",
                             exit_code=2) from None
    return parse_thresholds(raw)


def passes(name: str, value: float, threshold: float) -> bool:
    return value >= threshold if METRICS[name].higher_is_better else value <= threshold


def check_thresholds(summary: Mapping[str, float | None], thresholds: Mapping[str, float]) -> list[dict[str, Any]]:
    """One row per threshold: its metric's value and whether it passes (None: the metric was not run)."""
    rows = []
    for name, threshold in thresholds.items():
        value = summary.get(name)
        ok = None if value is None else passes(name, value, threshold)
        rows.append({"metric": name, "value": value, "threshold": threshold, "ok": ok,
                     "direction": ">=" if METRICS[name].higher_is_better else "<="})
    return rows


# --- retrieval ------------------------------------------------------------------------------------

def matches_source(expected: Sequence[str], source: str) -> bool:
    """Whether a chunk from file ``source`` can answer a case whose answering files are ``expected`` (none: any).

    >>> matches_source(["a.md"], "a.md"), matches_source(["a.md"], "b.md"), matches_source([], "b.md")
    (True, False, True)
    """
    return not expected or source in expected


def matches_section(expected: str, section: str) -> bool:
    """Whether a chunk's heading path is the expected one or lies under it.

    >>> matches_section("Risk Management", "Risk Management > Ethical Risks")
    True
    >>> matches_section("Risk", "Risk Management > Ethical Risks")
    False
    """
    return section == expected or section.startswith(expected + " > ")


def first_rank(expected: Sequence[str], ranked: Sequence[Sequence[str]]) -> int | None:
    """1-based rank of the first passage whose sections include an expected one (or lie under it).

    >>> first_rank(["B"], [["A"], ["B > x"], ["B"]])
    2
    >>> first_rank(["C"], [["A"], ["B"]]) is None
    True
    """
    for rank, sections in enumerate(ranked, 1):
        if any(matches_section(e, s) for e in expected for s in sections):
            return rank
    return None


def retrieval_scores(rank: int | None) -> dict[str, float]:
    """hit@k for each k, and the reciprocal rank (0 when not found within the MRR depth).

    >>> retrieval_scores(2)
    {'hit@1': 0.0, 'hit@3': 1.0, 'hit@5': 1.0, 'rr': 0.5}
    """
    scores = {f"hit@{k}": float(rank is not None and rank <= k) for k in KS}
    scores["rr"] = 1.0 / rank if rank is not None and rank <= MRR_DEPTH else 0.0
    return scores


# --- key points -----------------------------------------------------------------------------------

def lexical_matches(key_points: Sequence[Sequence[str]], answer: str) -> list[bool]:
    """Per key point: whether every content word of one of its phrasings occurs in the answer."""
    said = terms(answer)
    return [any(terms(p) and terms(p) <= said for p in phrasings) for phrasings in key_points]


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(x * y for x, y in zip(a, b)))


def clean_sentences(answer: str) -> list[str]:
    """The answer's sentences without their [n] markers."""
    out = []
    for sentence in split_sentences(answer):
        text = " ".join(MARKER.sub(" ", sentence).replace("**", "").split())
        if text.strip(" -*:.") and terms(text):
            out.append(text)
    return out


def clauses(sentences: Sequence[str]) -> list[str]:
    """The sentences, and the clauses of those that join several points ("A; B", "A, and B", "A - B").

    >>> clauses(["Data scientists analyse data; MLEs build systems."])
    ['Data scientists analyse data; MLEs build systems.', 'Data scientists analyse data', 'MLEs build systems.']
    """
    out = []
    for sentence in sentences:
        out.append(sentence)
        parts = [p.strip() for p in re.split(r"[;:,]\s+|\s+[-–—]\s+", sentence)]
        out.extend(p for p in parts if len(parts) > 1 and terms(p))
    return list(dict.fromkeys(out))


def semantic_matches(key_points: Sequence[Sequence[str]], answer: str, embed: Embed,
                     threshold: float = SEMANTIC_MATCH) -> list[bool]:
    """Per key point: whether one of its phrasings is close in meaning to a sentence (or clause) of the answer."""
    sentences = clauses(clean_sentences(answer))
    if not sentences or not key_points:
        return [False] * len(key_points)
    phrasings = [p for k in key_points for p in k]
    vectors = embed([*phrasings, *sentences])
    sentence_vectors = vectors[len(phrasings):]
    out, i = [], 0
    for k in key_points:
        best = max(_dot(vectors[j], s) for j in range(i, i + len(k)) for s in sentence_vectors)
        out.append(best >= threshold)
        i += len(k)
    return out


def recall(matches: Sequence[bool]) -> float:
    return sum(matches) / len(matches) if matches else 0.0


# --- faithfulness and citations -------------------------------------------------------------------

@dataclass(frozen=True)
class Support:
    sentence: str
    markers: tuple[int, ...]
    overlap: float  # share of its content words found in the chunks it cites
    cosine: float  # best similarity to a line of the chunks it cites (0 without embedding)
    supported: bool


def claims(answer: str) -> list[tuple[str, tuple[int, ...]]]:
    """(sentence without markers, the markers it cites) for each sentence that makes a claim.

    A sentence without a marker takes the markers of the one before it in the same paragraph (a list
    under a cited lead-in); a lead-in ending in ":" or a fragment of under three content words is no claim.

    >>> claims("Two roles differ [1]:\\n- DS do analysis and experiments\\n\\nMLEs deploy production systems [2].")
    [('DS do analysis and experiments', (1,)), ('MLEs deploy production systems.', (2,))]
    """
    out = []
    for paragraph in re.split(r"\n\s*\n", answer):
        inherited: tuple[int, ...] = ()
        for sentence in split_sentences(paragraph):
            own = tuple(int(n) for m in MARKER.finditer(sentence) for n in re.findall(r"\d+", m.group(1)))
            markers = own or inherited
            inherited = markers
            text = " ".join(MARKER.sub(" ", sentence).replace("**", "").split()).strip(" -*")
            text = re.sub(r"\s+([.,;:!?])", r"\1", text)
            if len(terms(text)) >= 3 and not text.endswith(":"):
                out.append((text, markers))
    return out


def support(answer: str, cited: Mapping[int, str], embed: Embed | None = None,
            cosine: float = SUPPORT_COSINE, overlap: float = SUPPORT_OVERLAP) -> list[Support]:
    """How well each claim of ``answer`` is backed by the texts of the chunks it cites (``cited``: n -> text).

    Supported: at least ``overlap`` of its content words occur in those chunks, or (with ``embed``) it is
    within ``cosine`` of one of their lines. A claim citing nothing is unsupported.
    """
    found = claims(answer)
    lines = {n: [ln for ln in (" ".join(x.replace("**", "").split()).strip(" -*#|") for x in t.splitlines())
                 if len(terms(ln)) >= 1] or [t] for n, t in cited.items()}
    cos_by_claim = [0.0] * len(found)
    if embed is not None and found:
        pool = sorted({ln for _, ms in found for n in ms for ln in lines.get(n, [])})
        if pool:
            vectors = embed([s for s, _ in found] + pool)
            by_line = dict(zip(pool, vectors[len(found):]))
            for i, (_, ms) in enumerate(found):
                cands = [by_line[ln] for n in ms for ln in lines.get(n, [])]
                cos_by_claim[i] = max((_dot(vectors[i], c) for c in cands), default=0.0)
    out = []
    for (sentence, markers), cos in zip(found, cos_by_claim):
        words = terms(sentence)
        backing = set().union(*(terms(cited[n]) for n in markers if n in cited))
        share = len(words & backing) / len(words) if words else 0.0
        ok = bool(markers) and (share >= overlap or cos >= cosine)
        out.append(Support(sentence, markers, round(share, 3), round(cos, 3), ok))
    return out


def faithfulness(supports: Sequence[Support]) -> float | None:
    """Share of claims supported; None when the answer makes no claim."""
    return sum(s.supported for s in supports) / len(supports) if supports else None


def citation_problems(answer: Mapping[str, Any], retrieved: Iterable[tuple[str, tuple[int, int]]]) -> list[str]:
    """What is wrong with an answer's markers (``answer``: the JSON contract; ``retrieved``: (source, lines)).

    >>> a = {"answer": "x [1]. y [3].", "removed_markers": [7], "citations": [{"n": 1, "source": "a", "lines": [1, 2]}]}
    >>> citation_problems(a, [("a", (1, 2))])
    ['the model wrote [7], which names no passage', '[3] has no citation']
    """
    problems = [f"the model wrote [{n}], which names no passage" for n in answer.get("removed_markers", ())]
    by_n = {c["n"]: c for c in answer.get("citations", ())}
    shown = {int(n) for m in MARKER.finditer(answer.get("answer", "")) for n in re.findall(r"\d+", m.group(1))}
    problems += [f"[{n}] has no citation" for n in sorted(shown - set(by_n))]
    allowed = {(s, tuple(lines)) for s, lines in retrieved}
    problems += [f"[{n}] cites {c['source']} lines {c['lines']}, which was not retrieved"
                 for n, c in sorted(by_n.items()) if (c["source"], tuple(c["lines"])) not in allowed]
    return problems


# --- the run's summary ----------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values.

    >>> percentile([5, 1, 3, 2, 4], 50), percentile([5, 1, 3, 2, 4], 90), percentile([], 50)
    (3, 5, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _mean(values: Iterable[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.fmean(got) if got else None


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, float | None]:
    """The metrics of a run from its per-case rows (``answerable`` plus the scores the runner stored).

    A metric that was not measured (no answers, no unanswerable cases) is None.
    """
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    out: dict[str, float | None] = {}
    for k in KS:
        out[f"hit@{k}"] = _mean(r.get(f"hit@{k}") for r in answerable)
    out["mrr"] = _mean(r.get("rr") for r in answerable)
    out["gate_refusal"] = _mean(r.get("gate_refused") for r in unanswerable)
    out["gate_false_refusal"] = _mean(r.get("gate_refused") for r in answerable)
    answered = [r for r in rows if r.get("refused") is not None]
    out["key_points_lexical"] = _mean(r.get("kp_lexical") for r in answered if r["answerable"])
    out["key_points_semantic"] = _mean(r.get("kp_semantic") for r in answered if r["answerable"])
    out["faithfulness"] = _mean(r.get("faithfulness") for r in answered if not r["refused"])
    out["citation_validity"] = _mean(r.get("citations_valid") for r in answered if not r["refused"])
    out["refusal_accuracy"] = _mean(float(r["refused"]) for r in answered if not r["answerable"])
    out["false_refusal_rate"] = _mean(float(r["refused"]) for r in answered if r["answerable"])
    out["retrieval_ms_p50"] = percentile([r["retrieval_ms"] for r in rows if r.get("retrieval_ms") is not None], 50)
    written = [r for r in answered if r.get("first_token_ms") is not None]
    out["first_token_ms_p50"] = percentile([r["first_token_ms"] for r in written], 50)
    out["total_ms_p50"] = percentile([r["total_ms"] for r in written], 50)
    out["total_ms_p90"] = percentile([r["total_ms"] for r in written], 90)
    return out
