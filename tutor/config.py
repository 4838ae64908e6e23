"""Settings: an explicit flag, then ``TUTOR_*`` environment variables, then ``tutor.toml``, then defaults.

Pure functions only: nothing here touches the network or loads a model.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from tutor.errors import TutorError

BACKENDS = ("auto", "llamacpp", "ollama", "extractive")
DEFAULT_OLLAMA_HOST = "http://127.0.0.1:11434"


@dataclass(frozen=True)
class Settings:
    corpus: Path = Path("corpus")
    index: Path = Path("index")
    data_dir: Path = Path()  # filled in by load_settings: the user's data directory
    backend: str = "auto"
    embedder: str = "fast"  # or "sentence-transformers": the same vectors, a slower start
    model: Path | None = None  # a GGUF file; None means the embedded Qwen2.5-Coder-1.5B
    ollama_host: str = DEFAULT_OLLAMA_HOST
    ollama_model: str = "qwen2.5-coder:1.5b"
    top_k: int = 5
    min_relevance: float = 0.30  # best cosine similarity below this: the notes don't cover it
    max_tokens: int = 320
    temperature: float = 0.0  # greedy: the same question gets the same answer
    timeout: float = 120.0  # seconds without progress from an LLM server before giving up
    n_ctx: int = 4096
    threads: int = 0  # 0: as many as the machine has cores
    max_question_chars: int = 2000  # fits n_ctx with the ~450-token prompt, ~1,000 of notes, 320 of answer
    progress_db: Path | None = None  # quiz attempts and schedules; None means <data_dir>/progress.sqlite3
    chroma_url: str = ""  # a Chroma server (http://HOST:PORT) holding a team's index; "" means the local index
    chroma_collection: str = "tutor"  # the name of the index on that server

    @property
    def model_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def progress_path(self) -> Path:
        return self.progress_db or self.data_dir / "progress.sqlite3"


# name in Settings -> environment variable
ENV = {
    "corpus": "TUTOR_CORPUS",
    "index": "TUTOR_INDEX",
    "data_dir": "TUTOR_DATA_DIR",
    "backend": "TUTOR_BACKEND",
    "embedder": "TUTOR_EMBEDDER",
    "model": "TUTOR_MODEL",
    "ollama_host": "OLLAMA_HOST",
    "ollama_model": "TUTOR_OLLAMA_MODEL",
    "top_k": "TUTOR_TOP_K",
    "min_relevance": "TUTOR_MIN_RELEVANCE",
    "max_tokens": "TUTOR_MAX_TOKENS",
    "temperature": "TUTOR_TEMPERATURE",
    "timeout": "TUTOR_TIMEOUT",
    "n_ctx": "TUTOR_N_CTX",
    "threads": "TUTOR_THREADS",
    "max_question_chars": "TUTOR_MAX_QUESTION_CHARS",
    "progress_db": "TUTOR_PROGRESS_DB",
    "chroma_url": "TUTOR_CHROMA_URL",
    "chroma_collection": "TUTOR_CHROMA_COLLECTION",
}
PATHS = {"corpus", "index", "data_dir", "model", "progress_db"}


def parse_host(host: str) -> str:
    """Normalise an Ollama host the way the ollama client does.

    >>> parse_host("")
    'http://127.0.0.1:11434'
    >>> parse_host("gpu-box")
    'http://gpu-box:11434'
    >>> parse_host("0.0.0.0:8080")
    'http://127.0.0.1:8080'
    >>> parse_host("https://ollama.example.org/")
    'https://ollama.example.org:443'
    """
    host = host.strip().rstrip("/")
    if not host:
        return DEFAULT_OLLAMA_HOST
    scheme, _, rest = host.rpartition("://")
    scheme = scheme or "http"
    hostname, _, port = rest.partition(":")
    if hostname in ("", "0.0.0.0"):
        hostname = "127.0.0.1"
    if not port:
        port = "443" if scheme == "https" else "11434"
    return f"{scheme}://{hostname}:{port}"


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("tutor", appauthor=False))


def installed_version() -> str:
    """The installed package's version ("unknown" when run from a source tree that is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tutor")
    except PackageNotFoundError:
        return "unknown"


def _coerce(name: str, value: Any, base: Path) -> Any:
    """One raw setting (from env or toml) to its typed value, or a TutorError naming it."""
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if name in PATHS:
            path = Path(os.path.expanduser(str(value)))
            return path if path.is_absolute() else base / path
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
    except ValueError:
        raise TutorError(f"setting {name!r} has the value {value!r}, which is not a number",
                         fix=f"set {ENV[name]} or {name} in tutor.toml to a number") from None
    return str(value)


def load_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve settings; flags that are None count as not given."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    values: dict[str, Any] = {}

    config_path = Path(env["TUTOR_CONFIG"]) if env.get("TUTOR_CONFIG") else cwd / "tutor.toml"
    if config_path.is_file():
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise TutorError(f"{config_path} is not valid TOML: {exc}", fix="fix or remove the file") from None
        section = data.get("tutor", data)
        unknown = sorted(set(section) - set(ENV))
        if unknown:
            raise TutorError(f"{config_path}: unknown setting(s) {', '.join(unknown)}",
                             fix=f"known settings: {', '.join(ENV)}")
        for name, raw in section.items():
            values[name] = _coerce(name, raw, config_path.parent)
    elif env.get("TUTOR_CONFIG"):
        raise TutorError(f"TUTOR_CONFIG names {config_path}, which does not exist", fix="unset it or create the file")

    for name, var in ENV.items():
        if env.get(var, "").strip():
            values[name] = _coerce(name, env[var], cwd)

    for name, raw in (flags or {}).items():
        if raw is not None:
            values[name] = _coerce(name, raw, cwd) if isinstance(raw, str) else raw

    settings = replace(Settings(corpus=cwd / "corpus", index=cwd / "index"), **values)
    if "data_dir" not in values:
        settings = replace(settings, data_dir=default_data_dir())
    if "ollama_host" in values:
        settings = replace(settings, ollama_host=parse_host(settings.ollama_host))
    for name in ("top_k", "max_tokens", "n_ctx", "max_question_chars"):
        if getattr(settings, name) < 1:
            raise TutorError(f"setting {name!r} must be at least 1, not {getattr(settings, name)}",
                             fix=f"set {ENV[name]} to a positive number")
    return settings  # the backend name is checked against the registry when a model is opened
