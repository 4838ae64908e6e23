"""The run as a terminal table, a JSON file and a self-contained HTML page (inline SVG chart, no dependencies)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from tutor.evals.metrics import METRICS, summarise
from tutor.evals.runner import EvalRun

COLORS = {"ours": "#2b6cb0", "baseline": "#a0aec0"}
CHARTED = ("mrr", "hit@1", "key_points_semantic", "key_points_lexical")


def section_group(row: Mapping[str, Any]) -> str | None:
    """The top-level heading a case is about (its first expected section); None for unanswerable cases."""
    return row["sections"][0].split(" > ")[0] if row["sections"] else None


def breakdown(rows: Sequence[Mapping[str, Any]], key: Callable[[Mapping[str, Any]], str | None]) -> dict[str, Any]:
    """The summary metrics of each group of rows (rows whose key is None are left out)."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        name = key(row)
        if name is not None:
            groups.setdefault(name, []).append(row)
    return {name: {"cases": len(g), **{k: v for k, v in summarise(g).items() if v is not None}}
            for name, g in groups.items()}


def to_dict(run: EvalRun) -> dict[str, Any]:
    return {
        "dataset": run.dataset, "mode": run.mode, "backend": run.backend, "started": run.started,
        "seconds": run.seconds, "settings": run.settings, "ok": run.ok, "thresholds": run.thresholds,
        "metrics": {name: {"description": m.description, "higher_is_better": m.higher_is_better, "unit": m.unit}
                    for name, m in METRICS.items()},
        "pipelines": {
            name: {"description": run.descriptions.get(name, ""), "summary": run.summaries[name],
                   "by_kind": breakdown(rows, lambda r: r["kind"]), "by_section": breakdown(rows, section_group),
                   "failing": [r["id"] for r in rows if r["failures"]], "cases": rows}
            for name, rows in run.results.items()
        },
        "quiz": run.quiz,
    }


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if METRICS[name].unit == "ms" else f"{value:.2f}"


def table_rows(run: EvalRun) -> list[tuple[str, str, str, str, str]]:
    """(metric, ours, baseline, threshold, verdict) for every metric measured in the run."""
    limits = {t["metric"]: t for t in run.thresholds}
    out = []
    for name in METRICS:
        values = [run.summaries.get(p, {}).get(name) for p in ("ours", "baseline")]
        if all(v is None for v in values):
            continue
        t = limits.get(name)
        limit = f"{t['direction']} {_fmt(name, t['threshold'])}" if t else ""
        verdict = "" if not t or t["ok"] is None else ("ok" if t["ok"] else "FAIL")
        out.append((name, _fmt(name, values[0]), _fmt(name, values[1]) if "baseline" in run.results else "",
                    limit, verdict))
    return out


def terminal_table(run: EvalRun) -> str:
    rows = [("metric", "ours", "baseline" if "baseline" in run.results else "", "threshold", ""), *table_rows(run)]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths if w).rstrip())
    return "\n".join(lines)


def headline(run: EvalRun) -> str:
    rows = run.results["ours"]
    answerable = sum(r["answerable"] for r in rows)
    how = {"retrieval": "retrieval only (no LLM)", "quiz": f"quiz items by {run.backend}"}.get(
        run.mode, f"answers by {run.backend}")
    split = run.settings.get("split", "all")
    part = f" ({split} split)" if split != "all" else ""
    return (f"Eval of {run.dataset}{part}: {len(rows)} cases ({answerable} answerable, {len(rows) - answerable} "
            f"unanswerable) · {how} · {run.seconds:.0f}s")


def trust_summary(run: EvalRun) -> list[str]:
    """What the numbers of our pipeline mean for a learner, in plain words."""
    s = run.summaries["ours"]

    def pct(name: str) -> str:
        return f"{100 * (s.get(name) or 0):.0f}%"

    lines = []
    if s.get("hit@5") is not None:
        lines.append(f"- The passage that answers a question is among the {run.settings['top_k']} shown to the model "
                     f"for {pct('hit@5')} of questions (ranked first for {pct('hit@1')}).")
    if s.get("key_points_semantic") is not None:
        lines.append(f"- Answers say {pct('key_points_lexical')} of the key points in the notes' words "
                     f"({pct('key_points_semantic')} by meaning); {pct('faithfulness')} of their sentences are backed "
                     f"by the passage they cite, and {pct('citation_validity')} of answers cite only real passages.")
    if s.get("refusal_accuracy") is not None:
        lines.append(f"- It refuses {pct('refusal_accuracy')} of questions the notes don't answer, and wrongly "
                     f"refuses {pct('false_refusal_rate')} of those they do answer.")
    elif s.get("gate_refusal") is not None:
        lines.append(f"- Before any LLM, the relevance gate stops {pct('gate_refusal')} of questions the notes "
                     f"don't answer (the model must refuse the rest) and {pct('gate_false_refusal')} of those "
                     "they do answer.")
    return lines


def write_report(run: EvalRun, folder: Path) -> tuple[Path, Path]:
    """Write ``eval-<time>.json`` and ``.html`` into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"eval-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{run.mode}"
    data = to_dict(run)
    json_path, html_path = stem.with_suffix(".json"), stem.with_suffix(".html")
    json_path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    html_path.write_text(html_page(run, data), encoding="utf-8")
    return json_path, html_path


def bar_chart(title: str, groups: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> str:
    """Horizontal grouped bars of 0..1 scores as inline SVG, one group per label."""
    label_w, bar_w, bar_h, gap = 330, 360, 13, 12
    group_h = bar_h * len(series) + gap
    height = 40 + group_h * len(groups)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 60}" height="{height}" '
             f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="12">',
             f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>']
    for i, name in enumerate(series):
        x = label_w + i * 110
        parts.append(f'<rect x="{x}" y="22" width="10" height="10" fill="{COLORS.get(name, "#888")}"/>'
                     f'<text x="{x + 14}" y="31">{escape(name)}</text>')
    for g, label in enumerate(groups):
        y0 = 40 + g * group_h
        parts.append(f'<text x="{label_w - 8}" y="{y0 + bar_h * len(series) / 2 + 4}" text-anchor="end">'
                     f'{escape(label[:48])}</text>')
        for i, (name, values) in enumerate(series.items()):
            value = values[g]
            y = y0 + i * bar_h
            width = 0 if value is None else max(1, round(bar_w * value))
            parts.append(f'<rect x="{label_w}" y="{y}" width="{width}" height="{bar_h - 2}" '
                         f'fill="{COLORS.get(name, "#888")}"><title>{escape(name)}: {value}</title></rect>')
            text = "-" if value is None else f"{value:.2f}"
            parts.append(f'<text x="{label_w + width + 4}" y="{y + bar_h - 3}" font-size="10">{text}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _case_html(row: Mapping[str, Any]) -> str:
    items = "".join(f"<li>{escape(f)}</li>" for f in row["failures"])
    answer = row.get("answer")
    body = [f'<h4>{escape(row["id"])} <small>({escape(row["kind"])})</small></h4>',
            f'<p class="q">{escape(row["question"])}</p>', f"<ul>{items}</ul>"]
    if row.get("query") and row["query"] != row["question"]:
        body.append(f'<p><b>Searched for:</b> {escape(row["query"])}</p>')
    if row["sections"]:
        body.append(f'<p><b>Expected:</b> {escape(" | ".join(row["sections"]))}</p>')
    got = [" / ".join(h["sections"]) or "(no section)" for h in row.get("retrieved", [])]
    if got:
        body.append("<p><b>Retrieved:</b></p><ol>" + "".join(f"<li>{escape(s)}</li>" for s in got) + "</ol>")
    if answer is not None:
        body.append(f'<p><b>Answer{" (refused)" if answer["refused"] else ""}:</b></p>'
                    f'<pre>{escape(answer["answer"])}</pre>')
        for c in answer["citations"]:
            body.append(f'<p class="c">[{c["n"]}] {escape(c["section"])} (lines {c["lines"][0]}-{c["lines"][1]})</p>')
    return '<div class="case">' + "".join(body) + "</div>"


def html_page(run: EvalRun, data: Mapping[str, Any]) -> str:
    pipes = list(run.results)
    head = "".join(f"<th>{escape(h)}</th>" for h in ("metric", *pipes, "threshold", "", "what it measures"))
    rows = []
    for name, ours, base, limit, verdict in table_rows(run):
        cells = [name, ours, *([base] if "baseline" in pipes else []), limit, verdict, METRICS[name].description]
        cls = {"ok": "ok", "FAIL": "fail"}.get(verdict, "")
        rows.append(f'<tr class="{cls}">' + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    charts = []
    sections = list(data["pipelines"]["ours"]["by_section"])
    for metric in CHARTED:
        series = {p: [data["pipelines"][p]["by_section"].get(s, {}).get(metric) for s in sections] for p in pipes}
        if any(v is not None for vs in series.values() for v in vs):
            charts.append(bar_chart(f"{metric} by section of the notes", sections, series))
    kinds = []
    for p in pipes:
        for kind, values in data["pipelines"][p]["by_kind"].items():
            shown = ", ".join(f"{k} {_fmt(k, v)}" for k, v in values.items() if k in METRICS)
            kinds.append(f"<tr><td>{escape(p)}</td><td>{escape(kind)}</td><td>{values['cases']}</td>"
                         f"<td>{escape(shown)}</td></tr>")
    failing = []
    for p in pipes:
        bad = [r for r in run.results[p] if r["failures"]]
        failing.append(f"<h3>{escape(p)}: {len(bad)} failing case(s)</h3>" + "".join(_case_html(r) for r in bad))
    about = "".join(f"<li><b>{escape(p)}</b>: {escape(run.descriptions.get(p, ''))}</li>" for p in pipes)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tutor eval {escape(run.started)}</title>
<style>
body {{ font-family: sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }} td, th {{ border: 1px solid #ddd; padding: 3px 8px; }}
tr.ok td:nth-last-child(2) {{ color: #276749; }} tr.fail td {{ background: #fed7d7; }}
pre {{ white-space: pre-wrap; background: #f7fafc; padding: .5em; }} .case {{ border-top: 1px solid #ccc; }}
.q {{ font-style: italic; }} .c {{ color: #555; margin: 0; font-size: 90%; }}
</style></head><body>
<h1>tutor eval: {"passed" if run.ok else "FAILED"}</h1>
<p>{escape(headline(run))}<br>Started {escape(run.started)} · settings {escape(json.dumps(run.settings))}</p>
<ul>{about}</ul>
<h2>How far to trust the tutor</h2><p>{"<br>".join(escape(x[2:]) for x in trust_summary(run))}</p>
<h2>Metrics</h2><table><tr>{head}</tr>{"".join(rows)}</table>
<h2>Per-section scores</h2>{"".join(charts) or "<p>(no per-section scores)</p>"}
<h2>By kind of question</h2><table><tr><th>pipeline</th><th>kind</th><th>cases</th><th>scores</th></tr>
{"".join(kinds)}</table>
<h2>Failing cases</h2>{"".join(failing)}
</body></html>
"""
