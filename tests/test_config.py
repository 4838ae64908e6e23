from __future__ import annotations

from pathlib import Path

import pytest

from tutor.config import load_settings
from tutor.errors import TutorError


def test_flag_beats_env_beats_file_beats_default(tmp_path: Path) -> None:
    (tmp_path / "tutor.toml").write_text('top_k = 3\nbackend = "extractive"\ncorpus = "notes"\n')
    env = {"TUTOR_TOP_K": "7", "TUTOR_DATA_DIR": str(tmp_path / "d")}
    s = load_settings({}, env=env, cwd=tmp_path)
    assert s.top_k == 7  # env over file
    assert s.backend == "extractive"  # file over default
    assert s.corpus == tmp_path / "notes"  # file paths are relative to the file
    assert s.index == tmp_path / "index"  # default
    assert load_settings({"top_k": 9}, env=env, cwd=tmp_path).top_k == 9  # flag over env


def test_ollama_host_is_normalised(tmp_path: Path) -> None:
    s = load_settings({}, env={"OLLAMA_HOST": "gpu-box", "TUTOR_DATA_DIR": "/x"}, cwd=tmp_path)
    assert s.ollama_host == "http://gpu-box:11434"


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("top_k = 'many'", {}, "not a number"),
        ("colour = 'red'", {}, "unknown setting"),
        ("top_k = [", {}, "not valid TOML"),
        ("", {"TUTOR_TOP_K": "0"}, "at least 1"),
    ],
)
def test_bad_settings_name_the_problem_and_the_fix(tmp_path: Path, toml: str, env: dict, message: str) -> None:
    (tmp_path / "tutor.toml").write_text(toml)
    with pytest.raises(TutorError) as info:
        load_settings({}, env=env | {"TUTOR_DATA_DIR": "/x"}, cwd=tmp_path)
    assert message in info.value.message
    assert info.value.fix
