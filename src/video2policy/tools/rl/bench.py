"""RL benchmarks: env steps and wall time to 0.9 evaluation success, and training throughput against raw env
throughput measured in the same run.

Steps to success: train with a budget, evaluate the deterministic policy (10 episodes × 3 seeds, the examples'
hand-written success checks) every `eval_every` env steps, and stop at the first evaluation ≥ the target. Wall
time counts training only (evaluations excluded). Throughput: the same environment (task, worlds, threads) stepped
with random actions and nothing else, interleaved with the training's epochs, against PPO training's env steps
per second.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from video2policy.paths import BLOCK_SCENE, example_task
from video2policy.tools.rl import ground_truth
from video2policy.tools.rl.evaluate import evaluate
from video2policy.tools.rl.hyperparams import PPOConfig
from video2policy.tools.rl.train import TrainJob, train

# task: (env-step budget, evaluation interval, target steps). Reach is evaluated after every PPO epoch (64 worlds ×
# 16 steps): its target is as small as 10 intervals of 5,000, too coarse to tell 45k from 50k.
TARGETS = {
    "reach_block": (100_000, 1_024, 50_000),
    "push_block_left": (250_000, 10_000, 150_000),
}


def steps_to_success(
    task: str,
    seed: int,
    work_dir: Path,
    *,
    target: float = 0.9,
    num_envs: int = 64,
    budget: int | None = None,
    eval_every: int | None = None,
    hyperparameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One training run that stops at the first evaluation with success ≥ `target`."""
    default_budget, default_every, _ = TARGETS[task]
    scene, code = BLOCK_SCENE, example_task(task)
    check = ground_truth.EXAMPLES[task]
    every = eval_every or default_every
    evals: list[dict] = []
    next_eval = [every]

    def on_epoch(record: dict, policy: Any) -> bool:
        if record["env_steps"] < next_eval[0]:
            return False
        next_eval[0] += every
        result = evaluate(scene, code, policy, check, episodes=10, seeds=(0, 1, 2))
        evals.append(
            {"env_steps": record["env_steps"], "train_wall_s": record["wall_s"], "success_rate": result.success_rate}
        )
        return result.success_rate >= target

    job = TrainJob(
        scene_path=scene,
        task_code_path=code,
        out_dir=work_dir / f"{task}-s{seed}",
        env_steps=budget or default_budget,
        num_envs=num_envs,
        seed=seed,
        hyperparameters=hyperparameters or {},
    )
    result = train(job, on_epoch=on_epoch)
    reached = next((e for e in evals if e["success_rate"] >= target), None)
    return {
        "task": task,
        "seed": seed,
        "status": result.status,
        "reached": reached is not None,
        "env_steps": reached["env_steps"] if reached else None,
        "train_wall_s": reached["train_wall_s"] if reached else None,
        "last_eval": evals[-1]["success_rate"] if evals else None,
        "train_env_steps_per_s": result.metrics["env_steps_per_s"],
        "evals": evals,
    }


def _raw_env(task: str, num_envs: int, seed: int) -> Any:
    """The batched environment as the trainer builds it (one torch thread, MuJoCo on every core)."""
    import torch

    from video2policy.scene import SceneSpec
    from video2policy.tools.sim.env import TaskEnv
    from video2policy.tools.sim.task import load_task_class

    torch.set_num_threads(1)  # as in training (PPOConfig.torch_threads)
    task_cls = load_task_class(example_task(task))
    scene = SceneSpec.load(BLOCK_SCENE)
    return TaskEnv(scene, task_cls(), num_envs=num_envs, seed=seed, scene_dir=BLOCK_SCENE.parent)


def replayed_env_steps_per_second(
    task: str, policy_path: Path, num_envs: int = 64, control_steps: int = 300, seed: int = 0
) -> float:
    """The batched environment alone, replaying the actions a trained policy took in it (recorded first).

    Random actions keep the gripper in the air; a trained policy touches and pushes things, and contacts cost
    MuJoCo more. Replaying the recorded actions open loop from the same reset repeats exactly that physics
    without the network, so training ÷ this rate is the learner's own share of the time.
    """
    from video2policy.tools.rl.policy import load_policy

    policy = load_policy(policy_path)
    env = _raw_env(task, num_envs, seed)
    obs, actions = env.reset(), []
    for _ in range(control_steps):
        actions.append(policy(obs))
        obs = env.step(actions[-1])[0]
    recorded = env.physics_state()
    env = _raw_env(task, num_envs, seed)
    env.reset()
    start = time.perf_counter()
    for action in actions:
        env.step(action)
    elapsed = time.perf_counter() - start
    if not np.allclose(env.physics_state(), recorded):
        raise RuntimeError("replaying the recorded actions did not repeat the recorded physics")
    return num_envs * control_steps / elapsed


def throughput(
    task: str,
    num_envs: int = 64,
    env_steps: int = 40_000,
    work_dir: Path | None = None,
    hyperparameters: dict[str, Any] | None = None,
) -> dict:
    """Training env-steps/s (no evaluations) ÷ raw env-steps/s, with the baselines measured in the same run.

    `ratio` uses the raw env with random actions (what `v2p bench sim` measures), stepped after every PPO epoch
    for as many steps as the epoch took, so both sides are timed at the same moments and a slow spell of the
    machine weighs on both; `ratio_vs_replay` uses the raw env replaying the trained policy's actions after
    training. `env_share` is the share of training time spent inside the environment (the rest is PPO).
    """
    from video2policy.tools.sim.bench import env_steps_per_second

    raw_env = _raw_env(task, num_envs, seed=1)
    raw_env.reset()
    env_steps_per_second(raw_env, 5)  # warm-up: thread pool, allocations
    raw = {"steps": 0, "seconds": 0.0}
    config = PPOConfig.from_overrides(hyperparameters)

    def step_raw_env(record: dict, policy: Any) -> bool:  # its time is not training time
        rate = env_steps_per_second(raw_env, config.horizon_length, seed=raw["steps"] // num_envs)
        raw["steps"] += num_envs * config.horizon_length
        raw["seconds"] += num_envs * config.horizon_length / rate
        return False

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(work_dir or tmp) / f"throughput-{task}"
        job = TrainJob(
            scene_path=BLOCK_SCENE,
            task_code_path=example_task(task),
            out_dir=out,
            env_steps=env_steps,
            num_envs=num_envs,
            seed=0,
            hyperparameters=hyperparameters or {},
        )
        result = train(job, on_epoch=step_raw_env)
        if not result.ok:
            raise RuntimeError(f"throughput training failed: {result.reason}: {result.message}")
        replayed = replayed_env_steps_per_second(task, Path(result.files["policy"]), num_envs)
    raw_rate = raw["steps"] / raw["seconds"]
    trained = result.metrics["env_steps_per_s"]
    return {
        "task": task,
        "num_envs": num_envs,
        "raw_env_steps_per_s": round(raw_rate, 1),
        "replayed_env_steps_per_s": round(replayed, 1),
        "train_env_steps_per_s": trained,
        "env_share": result.metrics["env_share"],
        "ratio": round(trained / raw_rate, 3),
        "ratio_vs_replay": round(trained / replayed, 3),
    }


def bench_rl(
    tasks: tuple[str, ...] = ("reach_block", "push_block_left"),
    seeds: tuple[int, ...] = (0, 1, 2),
    work_dir: Path | None = None,
    progress: Callable[[str, dict], None] | None = None,
    hyperparameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """All RL figures: per task and seed the steps/time to 0.9 success, their medians, and the throughput ratio."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(work_dir or tmp)
        runs = []
        for task in tasks:
            for seed in seeds:
                runs.append(steps_to_success(task, seed, base, hyperparameters=hyperparameters))
                if progress:
                    progress("run", runs[-1])
        rate = throughput("push_block_left", work_dir=base, hyperparameters=hyperparameters)
        if progress:
            progress("throughput", rate)
    summary = {}
    for task in tasks:
        mine = [r for r in runs if r["task"] == task]
        reached = [r for r in mine if r["reached"]]
        summary[task] = {
            "target_env_steps": TARGETS[task][2],
            "reached": f"{len(reached)}/{len(mine)}",
            "median_env_steps": float(np.median([r["env_steps"] for r in reached])) if reached else None,
            "max_env_steps": max(r["env_steps"] for r in reached) if reached else None,
            "median_train_wall_s": float(np.median([r["train_wall_s"] for r in reached])) if reached else None,
        }
    return {
        "runs": runs,
        "summary": summary,
        "throughput": rate,
        "hyperparameters": hyperparameters or {},
        "wall_s": round(time.perf_counter() - start, 1),
    }


def summary_table(report: dict[str, Any]) -> str:
    lines = [
        "| task | seed | env steps to 0.9 eval success | train wall s | train env-steps/s |",
        "|---|---|---|---|---|",
    ]
    for r in report["runs"]:
        steps = r["env_steps"] if r["reached"] else f"not reached (last eval {r['last_eval']})"
        wall = f"{r['train_wall_s']:.1f}" if r["reached"] else "-"
        lines.append(f"| {r['task']} | {r['seed']} | {steps} | {wall} | {r['train_env_steps_per_s']:.0f} |")
    t = report["throughput"]
    lines.append("")
    lines.append(
        f"throughput ({t['task']}, {t['num_envs']} worlds): training {t['train_env_steps_per_s']:.0f} "
        f"env-steps/s vs raw env {t['raw_env_steps_per_s']:.0f} env-steps/s with random actions, ratio "
        f"{t['ratio']:.2f}; vs {t['replayed_env_steps_per_s']:.0f} env-steps/s replaying the trained policy's "
        f"actions, ratio {t['ratio_vs_replay']:.2f}; the environment took {t['env_share']:.0%} of training time"
    )
    return "\n".join(lines)
