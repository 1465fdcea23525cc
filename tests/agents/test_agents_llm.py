"""The OpenAI-compatible provider against a scripted server on 127.0.0.1: answers, retries, timeouts, validation
repair turns, the response cache, costs, images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scripted_llm import Reply, ScriptedLLM

from video2policy.agents.llm import LLMClient, LLMError, LLMRequest, OpenAIProvider
from video2policy.agents.schemas import PickAnswer, TaskBrief, TaskCodeAnswer
from video2policy.trace.ledger import Trace, read_trace

BRIEF = {
    "behavior": "push_left",
    "roles": {"target": "block"},
    "task_description": "push the block left",
    "success_description": "block 15 cm left",
}
VALIDATION = {"behaviors": {"push_left": ["target"], "lift_up": ["target"]}, "objects": ["block"]}


def _client(server: ScriptedLLM, tmp_path: Path, timeout_s: float = 5.0, retries: int = 2) -> LLMClient:
    trace = Trace(tmp_path / "trace.jsonl")
    provider = OpenAIProvider(
        server.base_url,
        "gpt-4o-mini",
        "test-key",
        timeout_s=timeout_s,
        max_retries=retries,
        prices={"gpt-4o-mini": (0.15, 0.6)},
        on_retry=lambda data: trace.record("llm_retry", **data),
    )
    return LLMClient(provider, tmp_path / "cache", trace)


def _request(
    agent: str = "analyst",
    output: str = "TaskBrief",
    fmt: str = "json",
    sample: int = 0,
    images: list[str] | None = None,
) -> LLMRequest:
    return LLMRequest(
        agent=agent,
        output=output,
        output_format=fmt,
        sample=sample,
        images=images or [],
        messages=[
            {"role": "system", "content": "You are the scene analyst."},
            {"role": "user", "content": "Caption: pushing [block] from right to left"},
        ],
    )


def test_structured_answer_cost_and_cache(tmp_path: Path) -> None:
    with ScriptedLLM(
        lambda req, n: Reply("```json\n" + json.dumps(BRIEF) + "\n```", prompt_tokens=1000, completion_tokens=200)
    ) as server:
        client = _client(server, tmp_path)
        brief, response = client.ask(_request(), TaskBrief, VALIDATION)
        assert brief.behavior == "push_left" and brief.roles == {"target": "block"}
        assert response.provider.startswith("openai:gpt-4o-mini@127.0.0.1")
        assert response.cost_usd == pytest.approx((1000 * 0.15 + 200 * 0.6) / 1e6)
        sent = server.requests[0]
        assert sent["response_format"]["type"] == "json_schema"
        assert sent["response_format"]["json_schema"]["name"] == "TaskBrief"
        # the same request again comes from the cache: the server sees nothing new
        again, cached = client.ask(_request(), TaskBrief, VALIDATION)
        assert again == brief and cached.cached and len(server.requests) == 1
        # another sample of the same prompt is another request
        client.ask(_request(sample=1), TaskBrief, VALIDATION)
        assert len(server.requests) == 2
    calls = [x for x in read_trace(tmp_path / "trace.jsonl") if x["kind"] == "llm_call"]
    assert [c["cached"] for c in calls] == [False, True, False]
    assert calls[1]["cost_usd"] == 0.0 and calls[0]["input_tokens"] == 1000


def test_server_error_and_timeout_are_retried(tmp_path: Path) -> None:
    script = [Reply(status=500), Reply(json.dumps(BRIEF), delay_s=3.0), Reply(json.dumps(BRIEF))]
    with ScriptedLLM(lambda req, n: script[n]) as server:
        client = _client(server, tmp_path, timeout_s=1.0, retries=3)
        brief, response = client.ask(_request(), TaskBrief, VALIDATION)
        assert brief.behavior == "push_left"
        assert response.attempts == 3 and len(server.requests) == 3
    retries = [x for x in read_trace(tmp_path / "trace.jsonl") if x["kind"] == "llm_retry"]
    assert "InternalServerError" in retries[0]["error"] and "Timeout" in retries[1]["error"]


def test_retries_exhausted_and_client_errors_fail_clearly(tmp_path: Path) -> None:
    with (
        ScriptedLLM(lambda req, n: Reply(status=500)) as server,
        pytest.raises(LLMError, match="failed after 2 attempts"),
    ):
        _client(server, tmp_path, retries=1).ask(_request(), TaskBrief, VALIDATION)
    with ScriptedLLM(lambda req, n: Reply(status=400)) as server:
        with pytest.raises(LLMError, match=r"rejected \(400\)"):
            _client(server, tmp_path / "b").ask(_request(), TaskBrief, VALIDATION)
        assert len(server.requests) == 1  # a 4xx is not retried


def test_invalid_answers_go_back_with_the_validation_message(tmp_path: Path) -> None:
    wrong_behavior = dict(BRIEF, behavior="juggle")
    hallucinated_object = dict(BRIEF, roles={"target": "cup"})
    script = [
        Reply("I think it is pushing. {not json"),
        Reply(json.dumps(wrong_behavior)),
        Reply(json.dumps(hallucinated_object)),
        Reply(json.dumps(BRIEF)),
    ]
    with ScriptedLLM(lambda req, n: script[n]) as server:
        client = _client(server, tmp_path)
        client.max_repairs = 3
        brief, _ = client.ask(_request(), TaskBrief, VALIDATION)
        assert brief.roles == {"target": "block"}
        assert "not a JSON object" in server.requests[1]["messages"][-1]["content"]
        assert "'juggle' is not one of" in server.requests[2]["messages"][-1]["content"]
        assert "not in the scene" in server.requests[3]["messages"][-1]["content"]
    with (
        ScriptedLLM(lambda req, n: Reply(json.dumps(wrong_behavior))) as server,
        pytest.raises(LLMError, match="did not validate after 3 turns"),
    ):
        _client(server, tmp_path / "b").ask(_request(), TaskBrief, VALIDATION)


def test_code_answers_and_picks(tmp_path: Path) -> None:
    code = "import torch\n\nclass T:\n    pass\n"
    script = [
        Reply("Here is the code:\n```python\n" + code + "```"),
        Reply("no code block at all"),
        Reply("```python\nclass A: pass\nclass B: pass\n```"),
        Reply("```python\n" + code + "```"),
        Reply(json.dumps({"choice": 5, "reason": "x"})),
        Reply(json.dumps({"choice": 2, "reason": "best"})),
    ]
    with ScriptedLLM(lambda req, n: script[n]) as server:
        client = _client(server, tmp_path)
        answer, _ = client.ask(_request("coder", "TaskCodeAnswer", "code"), TaskCodeAnswer)
        assert answer.code == code and "Here is the code" in answer.reasoning
        assert "response_format" not in server.requests[0]
        answer, _ = client.ask(_request("coder", "TaskCodeAnswer", "code", sample=1), TaskCodeAnswer)
        assert "no ```python code block" in server.requests[2]["messages"][-1]["content"]
        assert "exactly one Task subclass" in server.requests[3]["messages"][-1]["content"]
        pick, _ = client.ask(_request("critic", "PickAnswer"), PickAnswer, {"runnable": [0, 2]})
        assert pick.choice == 2
        assert "not one of the runnable candidates [0, 2]" in server.requests[5]["messages"][-1]["content"]


def test_key_frames_are_sent_as_images(tmp_path: Path) -> None:
    frame = tmp_path / "frame.jpg"
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(frame)
    with ScriptedLLM(lambda req, n: Reply(json.dumps(BRIEF))) as server:
        _client(server, tmp_path).ask(_request(images=[str(frame)]), TaskBrief, VALIDATION)
        content = server.requests[0]["messages"][-1]["content"]
        assert content[0]["type"] == "text"
        assert content[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
