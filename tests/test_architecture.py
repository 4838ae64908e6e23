"""ARCHITECTURE.md stays true: every module is described, and no import runs down its layer table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")


def modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of tutor/ and ui/."""
    files = [*(REPO / "tutor").rglob("*.py"), *(REPO / "ui").glob("*.py")]
    return {".".join(f.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): f for f in files}


def layers() -> dict[str, int]:
    """Dotted module name -> its layer number, from the doc's layer table (``llm/`` means the package)."""
    found: dict[str, int] = {}
    for number, cell in re.findall(r"^\| (\d)\. [^|]+\| ([^|]+) \|", DOC, re.MULTILINE):
        for name in re.findall(r"`([a-z_/]+)`", cell):
            prefix = "" if name.startswith("ui") else "tutor."
            dotted = prefix + name.rstrip("/").replace("/", ".")
            for module in modules():
                if module == dotted or module.startswith(dotted + "."):
                    found[module] = int(number)
    return found


def imports(path: Path) -> set[str]:
    """The tutor and ui modules a file imports, anywhere in it (lazy imports too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("tutor", "ui"):
            out.update(f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules() else node.module
                       for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] in ("tutor", "ui"))
    return out


def test_every_module_has_a_layer_and_a_line() -> None:
    described = set(re.findall(r"^\| `([a-z_/]+\.py)` \|", DOC, re.MULTILINE))
    placed = layers()
    for name, path in modules().items():
        if name in ("tutor", "ui"):
            continue
        assert name in placed, f"{name} is in no layer of ARCHITECTURE.md"
        short = str(path.relative_to(REPO / ("ui" if name.startswith("ui") else "tutor")))
        assert short in described, f"{short} has no line in ARCHITECTURE.md"


def test_no_import_runs_down_the_layers() -> None:
    placed = layers()
    wrong = [f"{name} (layer {placed[name]}) imports {dep} (layer {placed[dep]})"
             for name, path in modules().items() if name in placed
             for dep in imports(path) if dep in placed and placed[dep] > placed[name]]
    assert wrong == []
