"""Broken reward code ends training early as a typed failure, in-process and through the worker; never a crash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from video2policy.failures import FailureReason
from video2policy.tools.rl.hyperparams import PPOConfig, rl_games_params
from video2policy.tools.rl.train import TrainJob, train, write_job

ROOT = Path(__file__).resolve().parents[2]
SCENE = ROOT / "examples" / "scenes" / "block.json"
REACH = (ROOT / "examples" / "tasks" / "reach_block.py").read_text()
REWARD_LINE = "        reward = reach_reward + approach_penalty + open_reward + action_penalty\n"

BROKEN = {
    # NaN once the gripper has come down a little: after some steps, not at the first one
    "non_finite": "        reward = reward / (states['eef_pos'][:, 2] > 0.2).float() * 0.0\n",
    "shape_mismatch": "        reward = reward.unsqueeze(1)\n",
    "runtime_error": "        reward = reward + states['no_such_key']\n",
    "timeout": "        import time; time.sleep(0.5)\n",
}


def broken_task(tmp_path: Path, kind: str) -> Path:
    assert REWARD_LINE in REACH, "the reach example changed; update BROKEN"
    path = tmp_path / f"reach_{kind}.py"
    path.write_text(REACH.replace(REWARD_LINE, REWARD_LINE + BROKEN[kind]))
    return path


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_reward_is_a_typed_failure(tmp_path, kind):
    task = broken_task(tmp_path, kind)
    job = TrainJob(
        scene_path=SCENE,
        task_code_path=task,
        out_dir=tmp_path / "out",
        env_steps=20_000,
        num_envs=16,
        timeout_s=3.0 if kind == "timeout" else None,
    )
    result = train(job)
    assert result.status == "failed"
    assert result.reason == FailureReason(kind)
    assert result.metrics["env_steps"] < job.env_steps  # stopped early
    saved = json.loads((tmp_path / "out" / "train.json").read_text())
    assert saved["status"] == "failed" and saved["reason"] == kind
    if kind == "runtime_error":
        assert result.in_task_code
        assert "no_such_key" in result.message and "compute_reward" in result.message
        assert task.name in result.traceback  # the last frames point into the task code
    if kind == "timeout":
        assert result.metrics["wall_s"] < 30
    else:
        assert not (tmp_path / "out" / "policy.pt").exists()


def test_task_code_that_does_not_import_is_typed(tmp_path):
    task = tmp_path / "bad.py"
    task.write_text("import torch\nclass X(:\n")
    result = train(TrainJob(scene_path=SCENE, task_code_path=task, out_dir=tmp_path / "out", env_steps=1000))
    assert result.status == "failed" and result.reason == FailureReason.SYNTAX_ERROR


def test_worker_exits_zero_with_typed_failure_and_trains_a_small_job(tmp_path):
    bad = write_job(
        TrainJob(
            scene_path=SCENE,
            task_code_path=broken_task(tmp_path, "runtime_error"),
            out_dir=tmp_path / "bad",
            env_steps=5000,
            num_envs=8,
        ),
        tmp_path / "bad.json",
    )
    run = subprocess.run(
        [sys.executable, "-m", "video2policy.tools.rl.worker", str(bad)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "bad" / "train.json").read_text())["reason"] == "runtime_error"
    assert json.loads(run.stdout.strip().splitlines()[-1])["status"] == "failed"

    good = write_job(
        TrainJob(
            scene_path=SCENE,
            task_code_path=ROOT / "examples" / "tasks" / "reach_block.py",
            out_dir=tmp_path / "good",
            env_steps=2048,
            num_envs=16,
            seed=1,
        ),
        tmp_path / "good.json",
    )
    run = subprocess.run(
        [sys.executable, "-m", "video2policy.tools.rl.worker", str(good)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    for name in ("train.json", "log.jsonl", "policy.pt"):
        assert (tmp_path / "good" / name).is_file(), name
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert [e["event"] for e in events].count("epoch") >= 2 and events[-1]["status"] == "ok"

    unreadable = tmp_path / "nojob.json"
    unreadable.write_text("{}")
    run = subprocess.run(
        [sys.executable, "-m", "video2policy.tools.rl.worker", str(unreadable)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "scene_path" in run.stderr


def test_hyperparameter_overrides_are_checked_by_name():
    config = PPOConfig.from_overrides({"learning_rate": "3e-4", "units": "64,32", "normalize_value": "false"})
    assert config.learning_rate == 3e-4 and config.units == [64, 32] and config.normalize_value is False
    with pytest.raises(ValueError, match="lerning_rate"):
        PPOConfig.from_overrides({"lerning_rate": 1e-3})
    with pytest.raises(ValueError, match="mini_epochs"):
        PPOConfig.from_overrides({"mini_epochs": "many"})
    with pytest.raises(ValueError, match="must divide"):
        rl_games_params(PPOConfig(minibatch_size=300), env_name="x", num_envs=64, max_frames=1, seed=0, train_dir="")
