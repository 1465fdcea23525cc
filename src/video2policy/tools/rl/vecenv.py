"""The batched MuJoCo task environment as an rl-games vectorized environment, run in-process.

This is the IsaacGym pattern: a vecenv type is registered with a function that returns our wrapper, rl-games
creates it by name with `num_actors = num_envs`, and steps it with torch tensors. The wrapper adds the success
bonus of the paper's training reward (R̂ + λ·success) and hands finished episodes to the training log.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from gymnasium import spaces
from rl_games.common import env_configurations, vecenv
from rl_games.common.ivecenv import IVecEnv

from video2policy.failures import FailureReason, TaskCodeError
from video2policy.tools.sim.env import TaskEnv

_names = itertools.count()


class TrainingTimeout(RuntimeError):
    """The job's wall-clock budget ran out."""


class TaskVecEnv(IVecEnv):
    """rl-games' view of a `TaskEnv`: training reward = task reward + success_weight * success.

    Every finished world is a time-out (the training env never terminates on success), so rl-games bootstraps
    its value. Worlds start at random points of their first episode so that episodes end spread over time and
    every PPO epoch sees finished episodes.
    """

    def __init__(self, env: TaskEnv, success_weight: float, *, deadline: float | None = None, seed: int = 0):
        self.env = env
        self.success_weight = success_weight
        self.deadline = deadline
        self.rng = np.random.default_rng(seed)
        self.episodes: list[dict] = []  # finished-episode batches since the log last took them
        self.env_steps = 0
        self.env_seconds = 0.0  # wall time inside the environment: the rest of training is the learner's
        self.observation_space = spaces.Box(-np.inf, np.inf, (env.observation_width,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (env.action_dim,), dtype=np.float32)

    def reset(self) -> torch.Tensor:
        obs = self.env.reset()
        self.env.progress[:] = self.rng.integers(0, self.env.horizon, self.env.num_envs)
        return _checked_obs(obs)

    def step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TrainingTimeout("the training ran past its time budget")
        start = time.perf_counter()
        obs, reward, done, info = self.env.step(actions)
        self.env_seconds += time.perf_counter() - start
        self.env_steps += self.env.num_envs
        train_reward = reward + self.success_weight * info["success"].float()
        if "episodes" in info:
            self.episodes.append(info["episodes"])
        return _checked_obs(obs), train_reward, done.to(torch.uint8), {"time_outs": done}

    def take_episodes(self) -> list[dict]:
        taken, self.episodes = self.episodes, []
        return taken

    def get_number_of_agents(self) -> int:
        return 1

    def get_env_info(self) -> dict:
        return {"action_space": self.action_space, "observation_space": self.observation_space}


def _checked_obs(obs: torch.Tensor) -> torch.Tensor:
    if not torch.isfinite(obs).all():
        bad = (~torch.isfinite(obs)).any(dim=0).nonzero().flatten().tolist()
        raise TaskCodeError(
            FailureReason.NON_FINITE, f"the observation has NaN or inf values (observation columns {bad})"
        )
    return obs


@contextmanager
def registered(vec_env: TaskVecEnv) -> Iterator[str]:
    """Register `vec_env` with rl-games under a fresh name for the duration of one training."""
    name = f"video2policy_{next(_names)}"
    vecenv.register(name, lambda config_name, num_actors, **kwargs: vec_env)
    env_configurations.register(name, {"vecenv_type": name, "env_creator": lambda **kwargs: vec_env})
    try:
        yield name
    finally:
        vecenv.vecenv_config.pop(name, None)
        env_configurations.configurations.pop(name, None)
