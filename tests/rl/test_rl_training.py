"""Training really learns, checkpoints reload to the same evaluation, and the log summary reads like Eureka's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from video2policy.tools.rl import ground_truth
from video2policy.tools.rl.evaluate import evaluate
from video2policy.tools.rl.hyperparams import PPOConfig
from video2policy.tools.rl.policy import Policy, build_model, load_policy
from video2policy.tools.rl.train import TrainJob, train
from video2policy.tools.rl.training_log import read_log, summarize_log

ROOT = Path(__file__).resolve().parents[2]
SCENE = ROOT / "examples" / "scenes" / "block.json"
REACH = ROOT / "examples" / "tasks" / "reach_block.py"
REACH_STEPS = 80_000


@pytest.fixture(scope="module")
def reach_run(tmp_path_factory):
    """One CI-sized reach training; the live policy is evaluated at the last epoch, before policy.pt is written."""
    out = tmp_path_factory.mktemp("reach")
    job = TrainJob(scene_path=SCENE, task_code_path=REACH, out_dir=out, env_steps=REACH_STEPS, num_envs=64, seed=0)
    live = {}

    def on_epoch(record, policy):
        if record["env_steps"] >= job.env_steps:
            live["eval"] = evaluate(SCENE, REACH, policy, ground_truth.EXAMPLES["reach_block"])

    result = train(job, on_epoch=on_epoch)
    return job, result, live


@pytest.mark.slow
def test_reach_example_learns_in_a_short_budget(reach_run):
    _, result, _ = reach_run
    assert result.status == "ok", result.message
    assert result.metrics["env_steps"] >= REACH_STEPS
    trained = evaluate(SCENE, REACH, result.files["policy"], ground_truth.EXAMPLES["reach_block"])
    untrained = Policy(build_model(PPOConfig(), 10, 7), PPOConfig(), 10, 7)
    baseline = evaluate(SCENE, REACH, untrained, ground_truth.EXAMPLES["reach_block"])
    assert trained.success_rate >= 0.8, trained.per_seed
    assert trained.success_rate >= baseline.success_rate + 0.5
    assert len(trained.per_seed) == 3 and all(len(s["successes"]) == 10 for s in trained.per_seed)


@pytest.mark.slow
def test_checkpoint_reloads_and_evaluates_to_the_same_success(reach_run):
    _, result, live = reach_run
    reloaded = evaluate(SCENE, REACH, load_policy(result.files["policy"]), ground_truth.EXAMPLES["reach_block"])
    assert reloaded.per_seed == live["eval"].per_seed  # every episode's outcome and the returns, exactly
    policy = load_policy(result.files["policy"])
    assert policy.obs_dim == 10 and policy.metadata["task_code_path"] == str(REACH)
    normalizer = policy.obs_normalizer()
    assert normalizer is not None and len(normalizer["mean"]) == 10 and normalizer["count"] > REACH_STEPS / 2


@pytest.mark.slow
def test_log_records_every_epoch_and_summarizes_eureka_style(reach_run):
    job, result, _ = reach_run
    records = read_log(Path(job.out_dir) / "log.jsonl")
    assert len(records) == result.metrics["epochs"] > 10
    assert [r["env_steps"] for r in records] == sorted(r["env_steps"] for r in records)
    last = records[-1]
    # the environment's own time is part of the training time, and most of it on this small network
    assert all(0 < r["env_wall_s"] < r["wall_s"] for r in records)
    assert 0.3 < result.metrics["env_share"] < 1
    assert set(last["components"]) == {"reach_reward", "approach_penalty", "open_reward", "action_penalty"}
    assert {"success", "failure", "all"} == set(last["components"]["reach_reward"])
    text = summarize_log(Path(job.out_dir) / "log.jsonl")
    lines = {line.split(":")[0]: line for line in text.splitlines()}
    assert "success_rate" in lines and "Max:" in lines["success_rate"] and "Min:" in lines["success_rate"]
    assert "reach_reward (successful episodes)" in lines and "reach_reward (failed episodes)" in lines
    points = lines["success_rate"].split("[")[1].split("]")[0].split(", ")
    assert 5 <= len(points) <= 10
    train_json = json.loads((Path(job.out_dir) / "train.json").read_text())
    assert train_json["status"] == "ok" and train_json["metrics"]["final_success_rate"] > 0.5
