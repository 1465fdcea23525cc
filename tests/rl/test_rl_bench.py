"""The RL benchmark's throughput figure: both raw-env baselines are measured, and the replay repeats the physics."""

from __future__ import annotations

import math

import pytest

from video2policy.tools.rl.bench import throughput


@pytest.mark.slow
def test_throughput_reports_random_and_replayed_baselines(tmp_path):
    rate = throughput("push_block_left", num_envs=16, env_steps=4096, work_dir=tmp_path)
    for key in ("raw_env_steps_per_s", "replayed_env_steps_per_s", "train_env_steps_per_s"):
        assert rate[key] > 0 and math.isfinite(rate[key])
    assert rate["ratio"] == pytest.approx(rate["train_env_steps_per_s"] / rate["raw_env_steps_per_s"], rel=1e-2)
    assert 0 < rate["env_share"] < 1
    assert rate["ratio_vs_replay"] == pytest.approx(
        rate["train_env_steps_per_s"] / rate["replayed_env_steps_per_s"], rel=1e-2
    )
