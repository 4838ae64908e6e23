"""Quiz generation through the Ollama adapter, against the local server that speaks Ollama's API."""

from __future__ import annotations

import json

import pytest

from tests.ollama_server import FakeOllama
from tests.test_quiz import DATA_PREP, GOOD_MCQ, validator
from tutor.grading import JUDGE_SCHEMA, grade
from tutor.llm import LLMError
from tutor.llm.ollama import OllamaModel
from tutor.quiz import SCHEMAS, GenerationStats, generate

pytestmark = pytest.mark.integration


def test_the_item_schema_goes_to_ollama_as_format_and_the_item_comes_back_valid() -> None:
    with FakeOllama() as server:
        server.replies.append(json.dumps(GOOD_MCQ))
        model = OllamaModel(server.url, "qwen2.5-coder:1.5b", timeout=10)
        stats = GenerationStats()
        item = generate(DATA_PREP, "mcq", model, validator().problems, stats)
        body = server.requests[-1]["body"]
    assert item is not None and item.generator == "ollama:qwen2.5-coder:1.5b" and stats.first_try == 1
    assert body["format"] == SCHEMAS["mcq"] and body["options"]["temperature"] == 0.0


def test_the_judge_schema_goes_to_ollama_as_format() -> None:
    from tests.test_grading import BUSINESS_SHORT

    with FakeOllama() as server:
        server.replies.append('{"covered": true}')
        g = grade(BUSINESS_SHORT, "Clearly state the problem in its domain.",
                  judge=OllamaModel(server.url, "qwen2.5-coder:1.5b", timeout=10))
        assert server.requests[-1]["body"]["format"] == JUDGE_SCHEMA
    assert g.points[0].how == "judge"


def test_a_stalled_server_is_a_timeout_error_and_no_item() -> None:
    with FakeOllama() as server:
        server.stall_seconds = 2.0
        server.replies.append(json.dumps(GOOD_MCQ))
        model = OllamaModel(server.url, "qwen2.5-coder:1.5b", timeout=0.5)
        with pytest.raises(LLMError, match="did not answer within"):
            generate(DATA_PREP, "mcq", model, validator().problems)
