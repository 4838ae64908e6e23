"""Scale benchmark (issue 14): N times the home notes, a quarter of them as PDF slides, measured as a learner
with a semester of notes would meet them. Run through ``bench/run.py --scale N`` (1000 is about 31,000 chunks).

Measured in one run: full ingest (fresh process) against plain sentence-transformers + Chroma over the same
chunk texts; re-ingest after one changed Markdown file and after one changed PDF; warm search p50/p95; peak
RSS of the ingest and of ``tutor ask`` (extractive backend, so the figure is the index's, not the LLM's)
against 1x and against the size of the vectors; reading speed per format (PDF pages/s, files/s).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.run import ENV, PLAIN_INGEST, PY, search_times, synthetic_corpus, tutor_cmd

PDF_EVERY = 4  # every 4th variant is a PDF: one slide per section, as lecture decks are written
PROBE = ("import json, resource, subprocess, sys, time; t = time.perf_counter(); "
         "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
         "print(json.dumps([time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))")


# What `tutor ask` does (settings from the environment, the index refreshed, one answer), in this process, then
# its memory as the kernel counts it while the index is still open (smaps_rollup, kB): RSS and the file-backed
# part of it (the mapped vectors, libraries), PSS, USS (pages no other process shares). Not its peak: a child keeps
# the high-water mark of the process it was forked from (this one), so ``measured`` (a small parent) gives that.
# The vector pages this process maps are shared with any other process mapping the same file (this bench's own
# search above does): PSS then counts a share of them, USS none.
ASK_MEMORY = ("import json, sys; from tutor.config import load_settings; from tutor.pipeline import Tutor; "
              "t = Tutor(load_settings({}), progress=False); events = list(t.ask(sys.argv[1])); "
              "m = {k: int(v.split()[0]) for k, v in (l.split(':', 1) for l in open('/proc/self/smaps_rollup') "
              "if ':' in l and l.split(':', 1)[1].strip().endswith('kB'))}; "
              "s = {k: int(v.split()[0]) for k, v in (l.split(':', 1) for l in open('/proc/self/status')) "
              "if k in ('RssAnon', 'RssFile')}; "
              "print(json.dumps({'rss': m['Rss'], 'file': s['RssFile'], 'pss': m['Pss'], "
              "'uss': m['Private_Clean'] + m['Private_Dirty']}))")


def ask_memory(question: str, env: dict[str, str]) -> dict[str, float]:
    """Memory of a process that answered ``question`` as ``tutor ask`` does, its index still open (RSS, its
    file-backed part, PSS, USS), in MB."""
    out = subprocess.run([PY, "-c", ASK_MEMORY, question], env=env, check=True, capture_output=True, text=True).stdout
    return {k: v / 1024 for k, v in json.loads(out.strip().splitlines()[-1]).items()}


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of a command in a fresh process."""
    out = subprocess.run([PY, "-c", PROBE, *cmd], env=env, check=True, capture_output=True, text=True).stdout
    seconds, rss_kb = json.loads(out.strip().splitlines()[-1])
    return seconds, rss_kb / 1024


def slides(markdown: str, path: Path) -> None:
    """The note as a PDF deck: a page per heading section, its lines without Markdown marks."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=landscape(A4), invariant=True)
    sections = re.split(r"\n(?=#{1,6} )", markdown)
    for section in sections:
        y = 560
        for line in section.splitlines():
            text = line.replace("**", "").lstrip("# ").rstrip()
            while text and y > 30:
                pdf.drawString(40, y, text[:110])
                text, y = text[110:], y - 15
        pdf.showPage()
    pdf.save()


def scale_corpus(folder: Path, factor: int) -> dict[str, int]:
    """The home notes and ``factor - 1`` variants; every ``PDF_EVERY``-th variant as PDF slides."""
    synthetic_corpus(folder, factor)
    pdfs = 0
    for md in sorted(folder.glob("variant-*.md")):
        if int(md.stem.split("-")[1]) % PDF_EVERY == 0:
            slides(md.read_text(), md.with_suffix(".pdf"))
            md.unlink()
            pdfs += 1
    return {"markdown_files": factor - pdfs, "pdf_files": pdfs}


def reading_speed(folder: Path) -> dict[str, float]:
    """Reading (parsing, no chunking or embedding) per format, in this process."""
    from tutor.notes import note_files, read_note

    out: dict[str, float] = {}
    for suffix in (".md", ".pdf"):
        files = [p for p in note_files(folder) if p.suffix == suffix]
        read_note(files[0])  # imports (pypdf) are not reading speed
        started = time.perf_counter()
        pages = sum(doc.pages for doc in (read_note(p).document for p in files) if doc is not None)
        seconds = time.perf_counter() - started
        out[f"{suffix[1:]}_files_per_s"] = len(files) / seconds
        if suffix == ".pdf":
            out["pdf_pages"], out["pdf_pages_per_s"] = pages, pages / seconds
    return out


def bench_scale(work: Path, factor: int) -> dict[str, object]:
    root = work / f"scale{factor}"
    result: dict[str, object] = {"factor": factor, **scale_corpus(root / "corpus", factor)}
    env = {**ENV, "TUTOR_CORPUS": str(root / "corpus"), "TUTOR_INDEX": str(root / "index"),
           "TUTOR_DATA_DIR": str(work / "data"), "TUTOR_BACKEND": "extractive"}
    result["reading"] = reading_speed(root / "corpus")

    ours_s, ours_rss = measured(tutor_cmd("ingest", "-q", "--rebuild"), env)
    from tutor.catalog import load_catalog

    catalog = load_catalog(root / "index")
    assert catalog is not None
    texts = [c.embed_text() for c in catalog.chunks.values()]
    (root / "texts.json").write_text(json.dumps(texts))
    plain_s, plain_rss = measured([PY, "-c", PLAIN_INGEST, str(root / "texts.json"), str(root / "plain")], ENV)
    chunks = len(texts)
    result["ingest"] = {"chunks": chunks, "ours_s": ours_s, "plain_s": plain_s, "speedup": plain_s / ours_s,
                        "ours_chunks_per_s": chunks / ours_s, "plain_chunks_per_s": chunks / plain_s,
                        "ours_peak_rss_mb": ours_rss, "plain_peak_rss_mb": plain_rss,
                        "pdf_chunks": sum(1 for c in catalog.chunks.values() if c.page is not None)}

    md = root / "corpus" / "variant-001.md"
    md.write_text(md.read_text() + "\n## Added later\nOne more line about feature drift.\n")
    md_s, _ = measured(tutor_cmd("ingest", "-q"), env)
    pdf = next(iter(sorted((root / "corpus").glob("*.pdf"))), None)
    pdf_s = None
    if pdf is not None:
        slides(md.read_text(), pdf)  # the deck replaced by another one
        pdf_s, _ = measured(tutor_cmd("ingest", "-q"), env)
    result["one_changed_file"] = {"markdown_s": md_s, "pdf_s": pdf_s}

    from tutor.config import load_settings
    from tutor.pipeline import Tutor

    tutor = Tutor(load_settings({"corpus": str(root / "corpus"), "index": str(root / "index"),
                                 "data_dir": str(work / "data")}, env={}), progress=False)
    result["search"] = search_times(tutor.retriever)

    ask = tutor_cmd("ask", "--json", "--backend", "extractive", "DS vs MLE?")
    one = work / "scale-1x"
    synthetic_corpus(one / "corpus", 1)
    env_one = {**env, "TUTOR_CORPUS": str(one / "corpus"), "TUTOR_INDEX": str(one / "index")}
    subprocess.run(tutor_cmd("ingest", "-q"), env=env_one, check=True, capture_output=True)
    result["memory"] = {"ask_peak_rss_mb": measured(ask, env)[1], "ask_peak_rss_1x_mb": measured(ask, env_one)[1],
                        "vectors_mb": chunks * 384 * 4 / 2**20,
                        "ask_held": ask_memory(ask[-1], env), "ask_held_1x": ask_memory(ask[-1], env_one)}
    return result


def print_scale(r: dict) -> None:  # type: ignore[type-arg]
    i, one, s, m, rd = r["ingest"], r["one_changed_file"], r["search"], r["memory"], r["reading"]
    growth = m["ask_peak_rss_mb"] - m["ask_peak_rss_1x_mb"]
    rows = [
        (f"corpus at {r['factor']}x", f"{i['chunks']:,} chunks: {r['markdown_files']} Markdown files, "
                                      f"{r['pdf_files']} PDF decks ({rd['pdf_pages']:,} pages)"),
        ("reading, no embedding", f"PDF {rd['pdf_pages_per_s']:.0f} pages/s ({rd['pdf_files_per_s']:.1f} files/s); "
                                  f"Markdown {rd['md_files_per_s']:.0f} files/s"),
        ("full ingest, fresh process", f"{i['ours_s']:.0f} s vs {i['plain_s']:.0f} s plain = {i['speedup']:.2f}x "
                                       f"({i['ours_chunks_per_s']:.0f} vs {i['plain_chunks_per_s']:.0f} chunks/s)"),
        ("peak RSS of that ingest", f"{i['ours_peak_rss_mb']:.0f} MB (plain {i['plain_peak_rss_mb']:.0f} MB)"),
        ("re-ingest, one changed file", f"Markdown {one['markdown_s']:.1f} s"
                                        + (f", PDF {one['pdf_s']:.1f} s" if one["pdf_s"] is not None else "")),
        ("warm search", f"p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms (CPU time p50 {s['cpu_p50_ms']:.1f} ms, "
                        f"p95 {s['cpu_p95_ms']:.1f} ms; load {s['load_1min']:.1f})"),
        ("peak RSS of tutor ask (extractive)", f"{m['ask_peak_rss_mb']:.0f} MB vs {m['ask_peak_rss_1x_mb']:.0f} MB "
                                                f"at 1x: +{growth:.0f} MB for {m['vectors_mb']:.0f} MB of vectors "
                                                f"= {growth / m['vectors_mb']:.2f}x"),
    ]
    if "ask_held" in m:
        held, one = m["ask_held"], m["ask_held_1x"]
        parts = [f"{name} +{held[key] - one[key]:.0f} MB" for name, key in
                 (("RSS", "rss"), ("file-backed RSS", "file"), ("PSS", "pss"), ("USS", "uss"))]
        rows.append(("held after answering, growth over 1x",
                     ", ".join(parts) + f" = {(held['rss'] - one['rss']) / m['vectors_mb']:.2f}x the vectors (RSS)"))
    width = max(len(a) for a, _ in rows)
    for a, b in rows:
        print(f"{a:<{width}}  {b}")


def main(factor: int, out: Path) -> None:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tutor-scale-") as tmp:
        result = bench_scale(Path(tmp), factor)
    out.write_text(json.dumps(result, indent=2))
    print_scale(result)
    print(f"\nwrote {out}", file=sys.stderr)
