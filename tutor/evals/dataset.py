"""Eval cases as data: load a YAML or JSONL file and check it, naming the case at fault.

A YAML file is a mapping with ``cases`` (a list) and optionally ``thresholds`` (metric -> value) and
``corpus`` (the notes folder the cases are about, relative to the file), or just the list of cases. A
JSONL file has one case object per line. Cases are checked by a pydantic model (``CaseModel``; its
JSON schema is ``dataset_schema()``, printed by ``tutor eval --schema``). Every error is a
``TutorError`` with one line that names the file, the case and what to fix. Each case is in the
``dev`` or the ``test`` split, fixed by its id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from tutor.errors import TutorError
from tutor.evals.metrics import matches_section as matches_section  # re-exported: they lived here
from tutor.evals.metrics import matches_source as matches_source
from tutor.evals.metrics import parse_thresholds

SPLITS = ("dev", "test")
FIELDS = {"id", "question", "kind", "sections", "key_points", "history", "tags", "why", "source", "split"}
DEV_SHARE = 6  # in tenths: the split rule below sends about 60% of the cases to dev


def split_of(case_id: str) -> str:
    """The split a case belongs to, fixed by its id alone: dev when sha256(id) mod 10 < 6, else test.

    Decided before any tuning, so tuning on ``dev`` cannot pick which cases it is judged on.

    >>> split_of("gru-vs-lstm"), split_of("leaky-relu-formula")
    ('dev', 'test')
    """
    return "dev" if int(hashlib.sha256(case_id.encode("utf-8")).hexdigest(), 16) % 10 < DEV_SHARE else "test"


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    kind: str
    sections: tuple[str, ...] = ()  # heading paths that answer it; a path matches the sections under it
    key_points: tuple[tuple[str, ...], ...] = ()  # each key point: its acceptable phrasings
    history: tuple[tuple[str, str], ...] = ()  # (question, answer) turns before this one, oldest first
    tags: tuple[str, ...] = ()
    why: str = ""
    source: tuple[str, ...] = ()  # the file(s) that answer it: a section counts only in them (none: any file)
    split: str = ""  # dev | test; "" = by the rule of split_of

    @property
    def in_split(self) -> str:
        """The split this case is in: as recorded, else by the id rule."""
        return self.split or split_of(self.id)

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "kind": self.kind, "sections": list(self.sections),
                "key_points": [list(k) for k in self.key_points],
                "history": [{"question": q, "answer": a} for q, a in self.history],
                "tags": list(self.tags), "why": self.why, "source": list(self.source), "split": self.in_split}


@dataclass(frozen=True)
class Dataset:
    path: Path
    cases: tuple[Case, ...]
    thresholds: dict[str, float] = field(default_factory=dict)
    corpus: Path | None = None  # the notes the cases are about; None: the user's corpus

    def select(self, tags: Sequence[str] = (), ids: Sequence[str] = (), limit: int | None = None,
               split: str | None = None) -> Dataset:
        """The cases with any of ``tags``, any of ``ids`` and in ``split`` (each filter only when given),
        at most ``limit``."""
        if split is not None and split not in SPLITS:
            raise TutorError(f"unknown split {split!r}", fix=f"choose one of: {', '.join(SPLITS)}", exit_code=2)
        unknown = sorted(set(ids) - {c.id for c in self.cases})
        if unknown:
            raise TutorError(f"{self.path}: no case named {', '.join(unknown)}", fix="see the ids in the dataset",
                             exit_code=2)
        cases = [c for c in self.cases if (not tags or set(tags) & set(c.tags)) and (not ids or c.id in ids)
                 and (split is None or c.in_split == split)]
        if not cases:
            if split is not None:
                raise TutorError(f"{self.path}: no case of the selection is in the {split} split",
                                 fix="drop --split, or choose other cases", exit_code=2)
            raise TutorError(f"{self.path}: no case has the tag(s) {', '.join(tags)}",
                             fix="tag cases with tags: [NAME] in the dataset", exit_code=2)
        return Dataset(self.path, tuple(cases[:limit] if limit else cases), self.thresholds, self.corpus)


def _bad(path: Path, where: str, message: str, fix: str = "") -> TutorError:
    return TutorError(f"{path}: {where}: {message}", fix=fix or "see the format at the top of evals/cases.yaml",
                      exit_code=2)


def _strings(value: Any, name: str) -> list[str]:
    """A string or a list of non-empty strings, as a list (numbers are taken as text)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int | float) or not str(item).strip():
            raise ValueError(f"{name} must be text or a list of texts, not {item!r}")
        out.append(" ".join(str(item).split()))
    return out


Kind = Literal["takeaway", "bottom-line", "section", "paraphrase", "abbreviation", "follow-up", "unanswerable",
               "list", "comparison", "nested", "code", "parent"]
KINDS: tuple[str, ...] = get_args(Kind)
Texts = Annotated[str | list[str], Field(description="a text, or a list of texts")]


class Turn(BaseModel):
    """One earlier turn of a follow-up case."""

    model_config = ConfigDict(extra="forbid")
    question: str
    answer: str


class CaseModel(BaseModel):
    """One eval case as written in a dataset file; ``to_case`` gives the ``Case`` record."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str | int | None = Field(None, description="a stable name; default case-N (its position)")
    question: str = Field(None, validate_default=True, description="what the learner asks")
    kind: Kind = Field(None, validate_default=True)
    sections: Texts | None = Field(None, description="heading paths that answer it (and the sections under them)")
    key_points: list[Texts] | None = Field(None, description="what a good answer says; each: its phrasings")
    history: list[Turn] | None = Field(None, description="earlier turns, oldest first (follow-up cases)")
    tags: Texts | None = None
    why: str = ""
    source: Texts | None = Field(None, description="the file(s) that answer it: a section counts only in them")
    split: Literal["dev", "test"] | None = Field(None, description="default: by the rule on the id")

    @field_validator("question", mode="before")
    @classmethod
    def _question(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("question is missing or empty")
        return " ".join(value.split())

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        if value not in KINDS:
            raise ValueError(f"kind {value!r} is not one of {', '.join(KINDS)}")
        return value

    @field_validator("sections", "tags", "source", mode="before")
    @classmethod
    def _texts(cls, value: Any, info: ValidationInfo) -> Any:
        return None if value is None else _strings(value, info.field_name or "")

    @field_validator("key_points", mode="before")
    @classmethod
    def _key_points(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list):
            raise ValueError("key_points must be a list")
        return [_strings(k, "each key point") for k in value]

    @field_validator("history", mode="before")
    @classmethod
    def _history(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list):
            raise ValueError("history must be a list of {question, answer} turns")
        for turn in value:
            if not (isinstance(turn, dict) and isinstance(turn.get("question"), str)
                    and isinstance(turn.get("answer"), str)):
                raise ValueError(f"each history turn needs question and answer texts, not {turn!r}")
        return value

    @field_validator("why", mode="before")
    @classmethod
    def _why(cls, value: Any) -> str:
        return str(value or "")

    @field_validator("split", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if value is not None and value not in SPLITS:
            raise ValueError(f"split {value!r} is not one of {', '.join(SPLITS)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CaseModel:
        if self.kind == "unanswerable":
            if self.sections or self.key_points:
                raise ValueError("an unanswerable case has no sections or key_points (the tutor must refuse it)")
            if self.source:
                raise ValueError("an unanswerable case has no source")
        else:
            if not self.sections:
                raise ValueError("sections is missing: name the heading path(s) that answer the question")
            if not self.key_points:
                raise ValueError("key_points is missing: list what a good answer says")
        if self.kind == "follow-up" and not self.history:
            raise ValueError("a follow-up case needs history: [{question, answer}, ...]")
        return self

    def to_case(self, n: int) -> Case:
        """The ``Case`` record; ``n`` is its 1-based position (its id when it has none)."""
        return Case(str(self.id).strip() if self.id is not None else f"case-{n}", self.question, self.kind,
                    _tuple(self.sections), tuple(_tuple(k) for k in self.key_points or ()),
                    tuple((t.question, t.answer) for t in self.history or ()), _tuple(self.tags), self.why,
                    _tuple(self.source), self.split or "")


def _tuple(texts: str | list[str] | None) -> tuple[str, ...]:
    return () if texts is None else (texts,) if isinstance(texts, str) else tuple(texts)


class DatasetModel(BaseModel):
    """A dataset file (YAML): its cases, and optionally thresholds and its own notes folder."""

    model_config = ConfigDict(extra="forbid")
    cases: list[CaseModel]
    thresholds: dict[str, float] = Field(default_factory=dict, description="metric name -> threshold")
    corpus: str | None = Field(None, description="the notes the cases are about, relative to the file")


def dataset_schema() -> dict[str, Any]:
    """The JSON schema of a dataset file (``tutor eval --schema``); a JSONL file has one case per line."""
    return DatasetModel.model_json_schema()


def parse_case(raw: Any, n: int, path: Path) -> Case:
    """One case from its raw mapping; ``n`` is its 1-based position, for messages."""
    where = f"case #{n}"
    if not isinstance(raw, dict):
        raise _bad(path, where, f"a case must be a mapping with question, kind, ..., not {type(raw).__name__}")
    if raw.get("id") is not None:
        where = f"case {raw['id']!r} (#{n})"
    try:
        return CaseModel.model_validate(raw).to_case(n)
    except ValidationError as exc:
        errors = exc.errors()
        unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
        if unknown:
            raise _bad(path, where, f"unknown field(s) {', '.join(unknown)}",
                       fix=f"known fields: {', '.join(sorted(FIELDS))}") from None
        first = errors[0]
        error = (first.get("ctx") or {}).get("error")
        message = str(error) if first["type"] == "value_error" and error is not None else \
            f"{'.'.join(map(str, first['loc'])) or 'the case'}: {first['msg']}"
        raise _bad(path, where, message) from None


def _read(path: Path) -> tuple[list[Any], dict[str, Any], Any]:
    """(raw cases, raw thresholds, raw corpus) from a YAML or JSONL file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TutorError(f"no dataset at {path}", fix="pass --dataset FILE (YAML or JSONL)", exit_code=2) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TutorError(f"cannot read the dataset {path}: {exc}", fix="give a UTF-8 YAML or JSONL file",
                         exit_code=2) from None
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        cases = []
        for line_no, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    cases.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise _bad(path, f"line {line_no}", f"not valid JSON ({exc.msg})",
                               fix="one JSON object per line") from None
        return cases, {}, None
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise _bad(path, where, f"not valid YAML ({problem})", fix="check the indentation and quoting there") from None
    if isinstance(data, list):
        return data, {}, None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise _bad(path, "top level", "expected a list of cases, or a mapping with cases: [...]")
    unknown = sorted(set(map(str, data)) - {"cases", "thresholds", "corpus"})
    if unknown:
        raise _bad(path, "top level", f"unknown key(s) {', '.join(unknown)}",
                   fix="known keys: cases, thresholds, corpus")
    thresholds = data.get("thresholds") or {}
    if not isinstance(thresholds, dict):
        raise _bad(path, "thresholds", "must be a mapping of metric name to value")
    return data["cases"], thresholds, data.get("corpus")


def _corpus(raw: Any, path: Path) -> Path | None:
    """The dataset's own notes folder, relative to the dataset file; None when it has none."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise _bad(path, "corpus", f"must be a folder of notes, relative to the dataset file, not {raw!r}")
    folder = (path.parent / raw.strip()).resolve()
    if not folder.is_dir():
        raise _bad(path, "corpus", f"no notes folder at {folder}", fix="give a folder relative to the dataset file")
    return folder


def load_dataset(path: Path) -> Dataset:
    """The dataset in ``path``, every case checked (``CaseModel``); a problem is one line naming the case."""
    raw_cases, raw_thresholds, raw_corpus = _read(path)
    if not raw_cases:
        raise _bad(path, "cases", "the dataset has no cases")
    cases = [parse_case(raw, n, path) for n, raw in enumerate(raw_cases, 1)]
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise _bad(path, f"case {case.id!r}", "the id is used by another case too", fix="give each case its own id")
        seen.add(case.id)
    try:
        thresholds = parse_thresholds(raw_thresholds)
    except TutorError as exc:
        raise _bad(path, "thresholds", exc.message, fix=exc.fix) from None
    return Dataset(path, tuple(cases), thresholds, _corpus(raw_corpus, path))
