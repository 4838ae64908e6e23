"""Load test of the study web app: N learner sessions drive `tutor ui`'s API at once, loopback only.

    .venv/bin/python bench/load.py                          # 20 sessions for 60 s on the embedded model
    .venv/bin/python bench/load.py --backend extractive     # no language model
    .venv/bin/python bench/load.py --sessions 5 --duration 20 --model path/to/model.gguf

It starts `tutor ui` in a subprocess on a free 127.0.0.1 port with its own data directory, index and
a copy of corpus/ in a temporary folder (the user's data is never touched), warms it up (one request
per endpoint: the model loads and its prompt cache is written), then runs the sessions. Each session
is its own `gradio_client.Client` repeating a learner's loop: search, a question (from
evals/cases.yaml; follow-ups carry their history), a quiz item (sometimes a hint) and its grade, the
progress page. No new request starts after the deadline; the ones in flight are waited for, up to
--drain seconds. Every request has a timeout.

Errors are counted by kind: ``queue_full`` (the server turned the request away: "try again"),
``app_error`` (a handled error message), ``internal`` (a handler crashed: "internal error ..."),
``bad_payload`` (a reply of the wrong shape), ``notice`` (the model failed and the extractive answer
stood in), ``timeout``, and any other exception by its type. The server's RSS (the process and its
children, from /proc) is sampled every second. Prints a table and writes bench/load.json. Nothing is
asserted: this is a measurement (tests/test_load.py runs a short version on the extractive backend).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
CASES = REPO / "evals" / "cases.yaml"
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"  # tutor.llm.modelfile.EMBEDDED.filename
ENDPOINTS = ["/status", "/search", "/chat", "/quiz_next", "/quiz_hint", "/quiz_grade", "/progress"]
SEARCHES = ["DS vs MLE?", "crispdm steps", "ethical risks of ML", "collaborative filtering", "monitoring",
            "business understanding", "hybrid recommender", "feature engineering", "data leakage", "A/B test"]


# --- the server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_model() -> Path | None:
    """A GGUF file for the llamacpp backend that is already on disk, so nothing is reassembled."""
    candidates = [os.environ.get("TUTOR_MODEL")]
    if os.environ.get("TUTOR_TEST_MODEL_DIR"):
        candidates.append(str(Path(os.environ["TUTOR_TEST_MODEL_DIR"]) / MODEL_FILE))
    candidates.append(str(REPO / ".cache" / "models" / MODEL_FILE))  # where the tests keep it
    try:
        from tutor.config import default_data_dir

        candidates.append(str(default_data_dir() / "models" / MODEL_FILE))  # read only, never written
    except ImportError:
        pass
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tracebacks(self) -> int:
        return self.log.read_text(errors="replace").count("Traceback (most recent call last)")

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@contextmanager
def serve(workdir: Path, backend: str, model: Path | None = None, startup: float = 300.0) -> Iterator[Server]:
    """`tutor ui` on a free loopback port, with data, index and corpus under ``workdir``; stopped after."""
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    corpus = workdir / "corpus"
    if not corpus.exists():
        shutil.copytree(CORPUS, corpus)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTOR_") and k != "OLLAMA_HOST"}
    env |= {"TUTOR_DATA_DIR": str(workdir / "data"), "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1",
            "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False",
            "OLLAMA_HOST": "http://127.0.0.1:9"}  # nothing listens there: never a real Ollama by accident
    if model is not None:
        env["TUTOR_MODEL"] = str(model)
    port = free_port()
    cmd = [sys.executable, "-m", "tutor.cli", "ui", "--host", "127.0.0.1", "--port", str(port), "--backend", backend,
           "--corpus", str(corpus), "--index", str(workdir / "index"), "-q"]
    log = workdir / "server.log"
    with open(log, "wb") as out:  # the server keeps its own copy of the file
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}/", log)
    try:
        deadline = time.monotonic() + startup
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"tutor ui exited ({proc.returncode}):\n{server.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"tutor ui did not answer within {startup:.0f} s:\n{server.tail()}")
            try:
                with urllib.request.urlopen(server.url + "gradio_api/info", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


# --- memory ----------------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from the parent ids in /proc/*/stat."""
    parents: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        parents[int(fields[1])].append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += parents.get(p, [])
    return tree


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its children, in KiB (0 once it is gone)."""
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            pass
    return total


class Sampler:
    """The server's RSS every ``interval`` seconds on a thread of its own, each sample tagged with a phase."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.pid, self.interval = pid, interval
        self.phase = "startup"
        self.samples: list[tuple[float, str, int]] = []
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> int:
        kib = rss_kib(self.pid)
        if kib:
            self.samples.append((round(time.monotonic() - self._started, 1), self.phase, kib))
        return kib

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sample()

    def summary(self) -> dict[str, Any]:
        loaded = [s for s in self.samples if s[1] != "startup"]
        after = [s for s in loaded if s[1] != "warmup"] or loaded
        if not after:
            return {"start_mib": None, "peak_mib": None, "end_mib": None, "samples": len(self.samples)}
        mib = lambda kib: round(kib / 1024, 1)  # noqa: E731
        return {"start_mib": mib(after[0][2]), "peak_mib": mib(max(s[2] for s in after)),
                "end_mib": mib(after[-1][2]), "samples": len(self.samples)}


# --- requests --------------------------------------------------------------------------------------


@dataclass
class Call:
    session: int
    endpoint: str
    started: float  # seconds since the load started
    latency: float | None = None  # None: still running when the run was cut off
    error: str | None = None  # the error kind; None for success
    detail: str = ""
    empty: bool = False  # /quiz_next had no item to serve

    @property
    def ok(self) -> bool:
        return self.latency is not None and self.error is None


def classify(exc: BaseException) -> tuple[str, str]:
    """(kind, message) of a failed request: queue-full rejections apart from crashes and timeouts."""
    from concurrent.futures import TimeoutError as FutureTimeout

    from gradio_client.exceptions import AppError
    from gradio_client.utils import QueueError

    text = str(exc)[:300]
    if isinstance(exc, QueueError):
        return "queue_full", text
    if isinstance(exc, AppError):
        return ("internal" if text.startswith("internal error") else "app_error"), text
    if isinstance(exc, FutureTimeout | TimeoutError):
        return "timeout", text or "no reply within the request timeout"
    return type(exc).__name__, text


def check_payload(endpoint: str, value: Any) -> str | None:
    """What is wrong with a reply, or None when it has the shape the endpoint promises."""
    shapes: dict[str, Callable[[Any], bool]] = {
        "/status": lambda v: isinstance(v, dict) and isinstance(v.get("backend"), str) and not v.get("problem"),
        "/search": lambda v: isinstance(v, dict) and isinstance(v.get("hits"), list) and bool(v["hits"]),
        "/chat": lambda v: isinstance(v, dict) and isinstance(v.get("answer"), str) and "refused" in v,
        "/quiz_next": lambda v: v == {} or (isinstance(v, dict) and bool(v.get("id")) and bool(v.get("question"))),
        "/quiz_hint": lambda v: isinstance(v, str) and bool(v.strip()),
        "/quiz_grade": lambda v: isinstance(v, dict) and isinstance(v.get("score"), int | float) and "correct" in v,
        "/progress": lambda v: isinstance(v, dict) and isinstance(v.get("attempts"), int),
    }
    try:
        return None if shapes[endpoint](value) else f"unexpected reply: {json.dumps(value, default=str)[:200]}"
    except Exception as exc:  # noqa: BLE001 - a reply that breaks the check is a bad reply
        return f"unexpected reply ({exc}): {str(value)[:200]}"


class Run:
    """The calls of one load run, recorded from every session's thread."""

    def __init__(self, request_timeout: float) -> None:
        self.timeout = request_timeout
        self.t0 = time.monotonic()
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self.frozen = False  # set when the run is cut off: late replies are not counted

    def now(self) -> float:
        return time.monotonic() - self.t0

    def call(self, client: Any, session: int, endpoint: str, *args: Any) -> Any:
        """One request through ``client``, timed and checked; returns the reply (None on failure)."""
        record = Call(session, endpoint, self.now())
        with self._lock:
            if self.frozen:
                return None
            self.calls.append(record)
        value = None
        try:
            job = client.submit(*args, api_name=endpoint)
            try:
                value = job.result(timeout=self.timeout)
            except BaseException:
                job.cancel()
                raise
            problem = check_payload(endpoint, value)
            if problem:
                record.error, record.detail = "bad_payload", problem
            elif endpoint == "/chat" and value.get("notice"):
                record.error, record.detail = "notice", value["notice"][:300]
            record.empty = value == {}
        except Exception as exc:  # noqa: BLE001 - every failure is counted, by kind
            record.error, record.detail = classify(exc)
            value = None
        with self._lock:
            if not self.frozen:
                record.latency = self.now() - record.started
        return value if record.error is None else None


# --- the learners ----------------------------------------------------------------------------------


def load_questions() -> list[tuple[str, list[list[str]]]]:
    """(question, history) pairs from the eval cases: what learners ask, follow-ups with their history."""
    import yaml

    cases = yaml.safe_load(CASES.read_text())["cases"]
    return [(c["question"], [[h["question"], h["answer"]] for h in c.get("history") or []]) for c in cases]


def learner(run: Run, client: Any, session: int, deadline: float, questions: list, think: float,
            rng: random.Random) -> None:
    """A learner's loop until the deadline: search, ask, a quiz item (sometimes a hint) and its grade, progress.
    Sessions start at different steps of the loop, so they do not all ask at once."""
    seen: list[str] = []
    last: tuple[str, str] | None = None  # this session's last question and answer: sometimes followed up

    def search() -> None:
        run.call(client, session, "/search", rng.choice(SEARCHES), 5)

    def ask() -> None:
        nonlocal last
        question, history = rng.choice(questions)
        if not history and last is not None and rng.random() < 0.3:
            history = [list(last)]
        reply = run.call(client, session, "/chat", question, history)
        if reply and not reply["refused"]:
            last = (question, reply["answer"])

    def quiz() -> None:
        item = run.call(client, session, "/quiz_next", "", "", False, seen)
        if not item:
            return
        seen.append(item["id"])
        hints = 0
        if rng.random() < 0.4 and time.monotonic() < deadline:
            hints = 1
            run.call(client, session, "/quiz_hint", item["id"], 1)
        if time.monotonic() < deadline:
            options = item.get("options") or []
            answer = rng.choice(options) if options else "I think it is about the data and the business goal."
            run.call(client, session, "/quiz_grade", item["id"], answer, hints)

    def progress() -> None:
        run.call(client, session, "/progress")

    steps = [search, ask, quiz, progress]
    n = session % len(steps)
    time.sleep(rng.uniform(0, think))  # learners arrive over the first second or so, not in lockstep
    while time.monotonic() < deadline:
        steps[n % len(steps)]()
        n += 1
        pause = think * rng.uniform(0.5, 1.5)
        if time.monotonic() + pause >= deadline:
            break
        time.sleep(pause)


def connect(url: str, sessions: int, timeout: float) -> list[Any]:
    """One client per session, made in parallel (each fetches the app's config and API info)."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    def make(_: int) -> Any:
        return Client(url, verbose=False, download_files=False, httpx_kwargs={"timeout": timeout})

    with ThreadPoolExecutor(max_workers=min(sessions, 8)) as pool:
        return list(pool.map(make, range(sessions)))


def warm_up(run: Run, url: str, questions: list) -> dict[str, Any]:
    """One request to each endpoint before the clock starts: the model loads, caches are written."""
    (client,) = connect(url, 1, run.timeout)
    try:
        status = run.call(client, -1, "/status")
        run.call(client, -1, "/search", "DS vs MLE?", 5)
        run.call(client, -1, "/chat", questions[0][0], [])
        item = run.call(client, -1, "/quiz_next", "", "", False, [])
        if item:
            run.call(client, -1, "/quiz_hint", item["id"], 1)
            run.call(client, -1, "/quiz_grade", item["id"], (item.get("options") or ["no idea"])[0], 1)
        run.call(client, -1, "/progress")
    finally:
        client.close()
    return status or {}


def drive(url: str, sessions: int, duration: float, request_timeout: float, drain: float, think: float,
          seed: int = 0) -> Run:
    """Run ``sessions`` learners for ``duration`` seconds, then wait for their requests up to ``drain`` seconds."""
    questions = load_questions()
    clients = connect(url, sessions, request_timeout)
    run = Run(request_timeout)
    deadline = time.monotonic() + duration
    threads = [threading.Thread(target=learner, name=f"learner-{i}", daemon=True,
                                args=(run, c, i, deadline, questions, think, random.Random(seed * 1000 + i)))
               for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    cutoff = deadline + drain
    for t in threads:
        t.join(timeout=max(0.0, cutoff - time.monotonic()))
    with run._lock:
        run.frozen = True  # requests still running now are reported as unfinished
    close_all(clients)
    return run


def close_all(clients: list[Any]) -> None:
    """Stop the clients' heartbeat threads, all at once (each close waits up to a second for its thread)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, len(clients))) as pool:
        list(pool.map(lambda c: c.close(), clients))


# --- the report ------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summarize(run: Run, duration: float) -> dict[str, Any]:
    calls = list(run.calls)
    finished = [c for c in calls if c.latency is not None]
    ok = [c for c in finished if c.error is None]
    last = max((c.started + c.latency for c in finished), default=0.0)  # type: ignore[operator]
    per: dict[str, Any] = {}
    for name in ENDPOINTS:
        mine = [c for c in calls if c.endpoint == name]
        if not mine:
            continue
        lat = [c.latency for c in mine if c.ok]
        r = lambda x: None if x is None else round(x, 3)  # noqa: E731
        per[name] = {"requests": len(mine), "ok": len(lat), "errors": sum(c.error is not None for c in mine),
                     "unfinished": sum(c.latency is None for c in mine), "empty": sum(c.empty for c in mine),
                     "p50_s": r(percentile(lat, 50)), "p95_s": r(percentile(lat, 95)),
                     "max_s": r(max(lat, default=None))}
    errors = Counter(c.error for c in finished if c.error)
    samples: dict[str, list[str]] = defaultdict(list)
    for c in finished:
        if c.error and len(samples[c.error]) < 3:
            samples[c.error].append(f"{c.endpoint}: {c.detail}")
    answers = sum(c.ok for c in ok if c.endpoint == "/chat")
    in_window = [c for c in ok if c.started + c.latency <= duration]  # type: ignore[operator]
    all_lat = [c.latency for c in ok]
    return {
        "requests": len(calls), "completed": len(finished), "ok": len(ok),
        "unfinished": len(calls) - len(finished), "errors": sum(errors.values()),
        "sessions_answered": len({c.session for c in ok}),
        "errors_by_kind": dict(errors), "error_samples": dict(samples), "endpoints": per,
        "p50_s": round(percentile(all_lat, 50) or 0, 3), "p95_s": round(percentile(all_lat, 95) or 0, 3),
        "wall_s": round(last, 1),
        "throughput_rps": round(len(ok) / last, 2) if last else 0.0,
        "answers": answers, "answers_per_min": round(answers / last * 60, 2) if last else 0.0,
        "window": {"seconds": duration, "ok": len(in_window),
                   "throughput_rps": round(len(in_window) / duration, 2),
                   "answers_per_min": round(sum(c.endpoint == "/chat" for c in in_window) / duration * 60, 2)},
    }


def table(report: dict[str, Any]) -> str:
    s = report["summary"]
    f = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    lines = [f"{'endpoint':<12}{'requests':>9}{'ok':>6}{'errors':>7}{'empty':>6}{'p50 s':>9}{'p95 s':>9}{'max s':>9}"]
    for name, e in s["endpoints"].items():
        lines.append(f"{name:<12}{e['requests']:>9}{e['ok']:>6}{e['errors']:>7}{e['empty']:>6}"
                     f"{f(e['p50_s']):>9}{f(e['p95_s']):>9}{f(e['max_s']):>9}")
    lines.append(f"{'all':<12}{s['requests']:>9}{s['ok']:>6}{s['errors']:>7}{'':>6}{f(s['p50_s']):>9}"
                 f"{f(s['p95_s']):>9}")
    c, m = report["config"], report["rss"]
    lines += [
        "",
        f"sessions {c['sessions']}, issuing for {c['duration_s']:.0f} s, last reply at {s['wall_s']} s; "
        f"unfinished {s['unfinished']}; errors {s['errors']} {s['errors_by_kind'] or ''}",
        f"throughput {s['throughput_rps']} req/s, {s['answers_per_min']} answers/min over {s['wall_s']} s "
        f"({s['window']['throughput_rps']} req/s, {s['window']['answers_per_min']} answers/min "
        f"completed within the {c['duration_s']:.0f} s window)",
        f"server RSS (with children): start {m['start_mib']} MiB after warm-up, peak {m['peak_mib']} MiB, "
        f"end {m['end_mib']} MiB; tracebacks in the server log: {report['server']['tracebacks']}",
    ]
    for kind, texts in s["error_samples"].items():
        lines += [f"  {kind}: {t}" for t in texts]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "loadavg_before": [round(x, 2) for x in os.getloadavg()]}


@dataclass
class Options:
    backend: str = "llamacpp"
    sessions: int = 20
    duration: float = 60.0
    request_timeout: float = 900.0
    drain: float = 900.0
    think: float = 1.0
    seed: int = 0
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def run_load(options: Options, workdir: Path, log: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Start the server, warm it up, drive it, stop it; the report as a dict."""
    model = Path(options.model) if options.model else (find_model() if options.backend == "llamacpp" else None)
    if options.backend == "llamacpp" and model is None:
        log("no model file found on disk: the server assembles the embedded model in its temporary data dir")
    info = machine()
    log(f"starting tutor ui --backend {options.backend} ...")
    started = time.monotonic()
    with serve(workdir, options.backend, model) as server:
        startup = time.monotonic() - started
        sampler = Sampler(server.pid)
        sampler.phase = "warmup"
        log(f"serving at {server.url} (started in {startup:.1f} s); warming up ...")
        warm = Run(options.request_timeout)
        status = warm_up(warm, server.url, load_questions())
        warm_errors = [asdict(c) for c in warm.calls if not c.ok]
        if warm_errors:
            raise RuntimeError(f"warm-up failed: {warm_errors}\n{server.tail()}")
        if options.backend != "extractive" and not status.get("backend", "").startswith(options.backend):
            raise RuntimeError(f"the server answers with {status}, not {options.backend}")
        sampler.phase = "load"
        sampler.sample()
        log(f"{options.sessions} sessions for {options.duration:.0f} s (then up to {options.drain:.0f} s "
            "for the requests in flight) ...")
        run = drive(server.url, options.sessions, options.duration, options.request_timeout, options.drain,
                    options.think, options.seed)
        sampler.phase = "end"
        sampler.stop()
        alive = server.proc.poll() is None
        tracebacks = server.tracebacks()
        tail = server.tail(4000) if tracebacks or not alive else ""
    info["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "config": {"backend": options.backend, "model": str(model) if model else None, "sessions": options.sessions,
                   "duration_s": options.duration, "request_timeout_s": options.request_timeout,
                   "drain_s": options.drain, "think_s": options.think, "seed": options.seed,
                   "queue": queue_settings(), **options.extra},
        "machine": info,
        "server": {"startup_s": round(startup, 1), "backend": status.get("backend"), "alive_at_end": alive,
                   "tracebacks": tracebacks, "log_tail": tail},
        "warmup": {c.endpoint: round(c.latency or 0, 2) for c in warm.calls},
        "summary": summarize(run, options.duration),
        "rss": sampler.summary() | {"series": [[t, p, round(k / 1024, 1)] for t, p, k in sampler.samples]},
    }


def queue_settings() -> dict[str, Any]:
    try:
        sys.path.insert(0, str(REPO))
        from ui.app import QUEUE_SIZE

        return {"max_size": QUEUE_SIZE, "model_jobs_at_once": 1}
    except ImportError:
        return {}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default="llamacpp", choices=["llamacpp", "extractive", "ollama"],
                   help="what writes the answers (default: the embedded model)")
    p.add_argument("--sessions", type=int, default=20, help="concurrent learner sessions (default 20)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of issuing requests (default 60)")
    p.add_argument("--timeout", type=float, default=900.0, help="per-request timeout in seconds (default 900)")
    p.add_argument("--drain", type=float, default=900.0,
                   help="seconds to wait after the deadline for requests in flight (default 900)")
    p.add_argument("--think", type=float, default=1.0, help="mean pause between a session's requests (default 1 s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", help="GGUF file for llamacpp (default: TUTOR_MODEL, then .cache/models, then the "
                                   "user's data dir; read only)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "load.json", help="the JSON report")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (server log, data)")
    args = p.parse_args(argv)
    sys.path.insert(0, str(REPO))
    options = Options(args.backend, args.sessions, args.duration, args.timeout, args.drain, args.think, args.seed,
                      args.model)
    workdir = Path(tempfile.mkdtemp(prefix="tutor-load-"))
    try:
        report = run_load(options, workdir, log=lambda m: print(m, file=sys.stderr, flush=True))
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report["command"] = "bench/load.py " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\nwrote {args.out}")
    s = report["summary"]
    return 0 if s["errors"] == 0 and s["unfinished"] == 0 and report["server"]["alive_at_end"] else 1


if __name__ == "__main__":
    sys.exit(main())
