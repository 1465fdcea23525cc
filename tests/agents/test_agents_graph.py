"""End-to-end runs of the graph: offline, through the scripted OpenAI-compatible server (broken code, hallucinated
state keys, wrong observation sizes, a 500 and a timeout), killed with SIGKILL and resumed, resumed twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from scripted_llm import Reply, ScriptedLLM, agent_of, code_reply, last_user_text

from video2policy.agents.run import create_run, execute
from video2policy.cli.output import Output
from video2policy.settings import load_settings
from video2policy.trace.ledger import read_trace
from video2policy.trace.stats import run_stats

ROOT = Path(__file__).resolve().parents[2]
SMALL = {
    "code_samples": 2,
    "reward_samples": 2,
    "iterations": 2,
    "train_env_steps": 2048,
    "train_num_envs": 16,
    "eval_episodes": 2,
    "eval_seeds": (0,),
    "repair_attempts": 1,
    "train_timeout_s": 300.0,
}


def _fresh_calls(lines: list[dict]) -> Counter:
    return Counter(x["request_hash"] for x in lines if x["kind"] == "llm_call" and not x["cached"])


# --- the scripted language model ------------------------------------------------------------------------------

PUSH = (ROOT / "examples" / "tasks" / "push_block_left.py").read_text()
BROKEN = PUSH.replace("def compute_success(self, states):", "def compute_success(self, states)")
HALLUCINATED = PUSH.replace('states["block_pos"][:, 2] > 0.0', 'states["block_height_above_table"] > 0.0')
WRONG_WIDTH = PUSH.replace("return 3 + 3 + 3 + 3", "return 3 + 3 + 3")
REWEIGHTED = PUSH.replace("5.0 * torch.clamp", "8.0 * torch.clamp")
BRIEF = {
    "behavior": "push_left",
    "roles": {"target": "block"},
    "reasoning": "the block moved 0.3 m to -x",
    "task_description": "Push the block 15 cm or more to the left.",
    "success_description": "block displaced by less than -0.15 m along x",
}


def script(request: dict, n: int) -> Reply:
    agent, text, sample = agent_of(request), last_user_text(request), request.get("seed", 0)
    if n == 0:
        return Reply(status=500)  # the very first call fails once and is retried
    if agent == "analyst":
        return Reply(json.dumps(BRIEF), prompt_tokens=2500, completion_tokens=120)
    if agent == "coder":
        repair = "Your previous attempt failed" in text
        if sample == 0:
            return Reply(code_reply(PUSH if repair else BROKEN), delay_s=0.0)
        if sample == 1:
            return Reply(code_reply(WRONG_WIDTH if repair else HALLUCINATED))
        return Reply(code_reply(PUSH))
    if agent == "critic":
        if "did not validate" in text:
            return Reply(json.dumps({"choice": 2, "reason": "k=2 keeps the reference success check"}))
        return Reply(json.dumps({"choice": 1, "reason": "hallucinated pick of a non-runnable candidate"}))
    if agent == "reflector":
        if "Training feedback" in text and not hasattr(script, "slow_done"):
            script.slow_done = True
            return Reply(code_reply(REWEIGHTED), delay_s=4.0)  # past the client's timeout: retried
        return Reply(code_reply(REWEIGHTED))
    return Reply(status=400)


@pytest.mark.slow
def test_scripted_llm_run_repairs_picks_reflects_and_resumes_without_calls(tmp_path: Path) -> None:
    with ScriptedLLM(script, model="gpt-4o-mini") as server:
        settings = load_settings(
            llm_provider="openai",
            llm_base_url=server.base_url,
            llm_model="gpt-4o-mini",
            llm_api_key="test",
            llm_timeout_s=2.0,
            llm_max_retries=2,
            runs_dir=str(tmp_path),
            **SMALL | {"code_samples": 3},
        )
        run_dir = create_run(settings, ROOT / "examples" / "scenes" / "block.json", run_dir=tmp_path / "run")
        summary = execute(run_dir, Output(False))
        assert summary["status"] == "done", summary
        assert summary["provider"] == f"openai:gpt-4o-mini@127.0.0.1:{server.httpd.server_address[1]}"
        assert summary["picked"] == 2
        sent = len(server.requests)

        lines = read_trace(run_dir / "trace.jsonl")
        candidates = {(x["k"], x["attempt"]): x for x in lines if x["kind"] == "candidate"}
        assert candidates[(0, 0)]["reason"] == "syntax_error" and candidates[(0, 1)]["ok"]
        assert not candidates[(1, 0)]["ok"] and "block_height_above_table" in candidates[(1, 0)]["message"]
        assert candidates[(1, 1)]["reason"] == "shape_mismatch" and not candidates[(1, 1)]["ok"]
        assert candidates[(2, 0)]["ok"]
        stats = run_stats(run_dir)
        h = stats["hallucination"]["candidates"]
        assert h["non_runnable_first_attempt"] == pytest.approx(2 / 3, abs=1e-3)
        assert h["non_runnable_after_repair"] == pytest.approx(1 / 3, abs=1e-3) and h["picked_non_runnable"] == 0.0
        assert stats["llm"]["retries"] >= 2 and stats["llm"]["invalid_answers"] == 1
        assert stats["llm"]["cost_usd"] > 0 and stats["llm"]["by_agent"]["analyst"]["input_tokens"] == 2500
        assert [it["iteration"] for it in stats["iterations"]] == [0, 1]
        reflections = [x for x in lines if x["kind"] == "reflection"]
        assert "success_rate" in reflections[0]["feedback"]  # the RL summary went to the reflector
        assert (run_dir / "report.html").is_file() and (run_dir / "final" / "eval.json").is_file()

        again = execute(run_dir, Output(False))  # a finished run: nothing is asked or trained again
        assert again["status"] == "done" and len(server.requests) == sent
        assert max(_fresh_calls(read_trace(run_dir / "trace.jsonl")).values()) == 1


def _v2p(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "V2P_LLM_PROVIDER": "offline", "COLUMNS": "400"}
    return subprocess.Popen(
        [sys.executable, "-m", "video2policy.cli.main", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )


def _flags() -> list[str]:
    return ["-K", "2", "-M", "2", "-N", "2", "--env-steps", "2048"]


@pytest.mark.slow
def test_offline_run_killed_mid_training_resumes_without_repeating(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env_settings = {"V2P_TRAIN_NUM_ENVS": "16", "V2P_EVAL_EPISODES": "2", "V2P_EVAL_SEEDS": "[0]"}
    os.environ.update(env_settings)
    try:
        proc = _v2p(
            "run",
            "--scene",
            str(ROOT / "examples" / "scenes" / "block.json"),
            "--run-dir",
            str(run_dir),
            "--json",
            *_flags(),
        )
        deadline = time.monotonic() + 240
        # kill when the first training of iteration 1 has started: iteration 0 is finished, iteration 1 is not
        while not list(run_dir.glob("iterations/1/*/job.json")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never reached iteration 1"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        finished = {p: p.stat().st_mtime_ns for p in run_dir.glob("iterations/*/*/train.json")}
        assert len(finished) >= 2
        before = read_trace(run_dir / "trace.jsonl")
        assert not any(x["kind"] == "run_end" for x in before)

        resumed = _v2p("resume", str(run_dir), "--json")
        stdout, stderr = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, stderr
        result = json.loads(stdout.strip().splitlines()[-1])
        assert result["event"] == "result" and result["status"] == "done" and result["provider"] == "offline"
        lines = read_trace(run_dir / "trace.jsonl")
        assert max(_fresh_calls(lines).values()) == 1  # no model call was made twice
        assert all(p.stat().st_mtime_ns == t for p, t in finished.items())  # no finished training ran again
        fresh = Counter((x["iteration"], x["m"]) for x in lines if x["kind"] == "training" and not x["reused"])
        assert max(fresh.values()) == 1
        assert any(x["kind"] == "resume" for x in lines)

        second = _v2p("resume", str(run_dir), "--json")
        stdout, stderr = second.communicate(timeout=120)
        assert second.returncode == 0, stderr
        assert read_trace(run_dir / "trace.jsonl") == lines  # the second resume repeated nothing
        assert json.loads(stdout.strip().splitlines()[-1])["status"] == "done"
        stats = subprocess.run(
            [sys.executable, "-m", "video2policy.cli.main", "trace", "stats", str(run_dir), "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        data = json.loads(stats.stdout.strip().splitlines()[-1])
        assert data["llm"]["providers"] == ["offline"] and len(data["iterations"]) == 2
    finally:
        for key in env_settings:
            os.environ.pop(key, None)


def test_bad_inputs_fail_with_clear_messages(tmp_path: Path) -> None:
    cases = [
        (["run"], "give either a VIDEO"),
        (["run", str(tmp_path / "nope.mp4"), "--caption", "x"], "no such video file"),
        (["run", "--scene", str(tmp_path / "missing.json")], "no such scene file"),
        (
            [
                "run",
                "--scene",
                str(ROOT / "examples/scenes/block.json"),
                "--ablation",
                "no_brains",
                "--run-dir",
                str(tmp_path / "r"),
            ],
            "unknown ablation",
        ),
        (["resume", str(tmp_path)], "not a run folder"),
        (["trace", "stats", str(tmp_path)], "no trace.jsonl"),
    ]
    for args, message in cases:
        proc = _v2p(*args)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 2, (args, stderr)
        assert message in stderr and "Traceback" not in stderr, (args, stderr)


@pytest.mark.slow
def test_review_stop_reject_approve_and_human_feedback(tmp_path: Path) -> None:
    settings = load_settings(
        llm_provider="offline",
        review=True,
        runs_dir=str(tmp_path),
        **SMALL | {"reward_samples": 1, "train_env_steps": 1024},
    )
    run_dir = create_run(settings, ROOT / "examples" / "scenes" / "block.json", run_dir=tmp_path / "run")
    (run_dir / "feedback.jsonl").write_text(json.dumps({"t": 0, "text": "it pushes too slowly"}) + "\n")
    first = execute(run_dir, Output(False))
    assert first["status"] == "awaiting_review" and "class " in first["review"]["code"]
    rejected = first["review"]["k"]
    second = execute(run_dir, Output(False), review_decision={"action": "reject"})
    assert second["status"] == "awaiting_review" and second["review"]["k"] != rejected
    done = execute(run_dir, Output(False), review_decision={"action": "approve"})
    assert done["status"] == "done" and done["picked"] == second["review"]["k"]
    lines = read_trace(run_dir / "trace.jsonl")
    assert [x["action"] for x in lines if x["kind"] == "review"] == ["reject", "approve"]
    reflection = next(x for x in lines if x["kind"] == "reflection")
    assert reflection["human_feedback"] == ["it pushes too slowly"]
    variant = next(x for x in lines if x["kind"] == "variant" and x["iteration"] == 1)
    assert "too slowly" in Path(variant["path"]).read_text()  # the offline reflector's rule cites it
