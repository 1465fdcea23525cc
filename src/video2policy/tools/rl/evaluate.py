"""Evaluate a policy with a success check passed in separately: the behavior's ground truth, never the task
code's own `compute_success` (the agents wrote that one, so it may be wrong or too lenient).

E episodes for each of S seeds (defaults 10 × 3, as in the paper): for every seed the E episodes run as one
batch of worlds seeded with that seed, with the deterministic policy, for the task's horizon. An episode counts
as a success when the check holds at any step (and `success_at_end` reports the last step). The result is the
mean ± std over seeds, and optionally an mp4 of one rollout.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, Field

from video2policy.scene import SceneSpec
from video2policy.tools.rl.policy import Policy, load_policy
from video2policy.tools.sim.env import TaskEnv
from video2policy.tools.sim.task import load_task_class

SuccessFn = Callable[[dict[str, torch.Tensor]], torch.Tensor]


class EvalResult(BaseModel):
    success_rate: float = Field(description="mean over seeds of the fraction of successful episodes")
    success_std: float = Field(description="standard deviation over seeds")
    success_at_end: float = Field(description="like success_rate, with the check at the last step only")
    per_seed: list[dict[str, Any]]
    episodes: int
    seeds: list[int]
    mean_return: float = Field(description="task reward R̂ summed over an episode, mean over all episodes")
    horizon: int
    video: str | None = None

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.model_dump(), indent=2) + "\n")
        return path


def evaluate(
    scene_path: str | Path,
    task_code_path: str | Path,
    policy_path: str | Path | Policy,
    success_fn: SuccessFn,
    episodes: int = 10,
    seeds: Sequence[int] = (0, 1, 2),
    video_path: str | Path | None = None,
    horizon: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvalResult:
    """Deterministic policy over `episodes` × `seeds`; `success_fn(states) -> BoolTensor (N,)` decides success."""
    scene = SceneSpec.load(scene_path)
    task_cls = load_task_class(task_code_path)
    policy = policy_path if isinstance(policy_path, Policy) else load_policy(policy_path)
    per_seed = []
    for i, seed in enumerate(seeds):
        env = make_env(scene, task_cls, scene_path, episodes, seed, horizon)
        per_seed.append(_run_episodes(env, policy, success_fn, seed))
        if progress:
            progress(i + 1, len(seeds))
    rates = np.array([s["success_rate"] for s in per_seed])
    result = EvalResult(
        success_rate=round(float(rates.mean()), 4),
        success_std=round(float(rates.std()), 4),
        success_at_end=round(float(np.mean([s["success_at_end"] for s in per_seed])), 4),
        per_seed=per_seed,
        episodes=episodes,
        seeds=list(seeds),
        mean_return=round(float(np.mean([s["mean_return"] for s in per_seed])), 4),
        horizon=per_seed[0]["horizon"] if per_seed else 0,
    )
    if video_path is not None:
        result.video = record_video(scene, task_cls, scene_path, policy, video_path, seeds[0] if seeds else 0, horizon)
    return result


def make_env(
    scene: SceneSpec, task_cls: type, scene_path: str | Path, num_envs: int, seed: int, horizon: int | None
) -> TaskEnv:
    """An evaluation env whose horizon is one step longer than the episode we run, so no world auto-resets and
    the state after the last action is still there to check."""
    probe_horizon = horizon or int(task_cls.scene_info.get("horizon", 0)) or None
    env = TaskEnv(
        scene,
        task_cls(),
        num_envs=num_envs,
        seed=seed,
        scene_dir=Path(scene_path).parent,
        nthread=1,
        horizon=(probe_horizon + 1) if probe_horizon else None,
    )
    if probe_horizon is None:  # the env's default horizon
        env.horizon += 1
    return env


@torch.no_grad()
def _run_episodes(env: TaskEnv, policy: Policy, success_fn: SuccessFn, seed: int) -> dict[str, Any]:
    steps = env.horizon - 1
    obs = env.obs
    ever = torch.zeros(env.num_envs, dtype=torch.bool)
    ret = torch.zeros(env.num_envs)
    success = ever
    for _ in range(steps):
        obs, reward, _, _ = env.step(policy(obs))
        ret += reward
        success = _check(success_fn(env.states), env.num_envs)
        ever |= success
    return {
        "seed": seed,
        "success_rate": round(float(ever.float().mean()), 4),
        "success_at_end": round(float(success.float().mean()), 4),
        "successes": ever.tolist(),
        "mean_return": round(float(ret.mean()), 4),
        "horizon": steps,
    }


def _check(success: Any, n: int) -> torch.Tensor:
    if not isinstance(success, torch.Tensor) or success.shape != (n,):
        shape = tuple(success.shape) if isinstance(success, torch.Tensor) else type(success).__name__
        raise ValueError(f"the success check must return a bool tensor of shape ({n},), got {shape}")
    return success.bool()


def record_video(
    scene: SceneSpec,
    task_cls: type,
    scene_path: str | Path,
    policy: Policy,
    path: str | Path,
    seed: int = 0,
    horizon: int | None = None,
) -> str:
    """One deterministic rollout of world 0 (seed `seed`) as an mp4."""
    from video2policy.tools.sim.render import record_rollout

    env = make_env(scene, task_cls, scene_path, 1, seed, horizon)
    info = record_rollout(env, policy, path, steps=env.horizon - 1)
    return info["path"]
