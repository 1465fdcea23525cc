"""Trained policies: the deterministic actor, saving it to policy.pt and loading it back.

policy.pt holds the rl-games model's weights (its state dict includes the observation normalizer), the
normalizer's statistics again in plain form for tools that do not use rl-games (data collection), and the
hyperparameters that rebuild the network. It contains only tensors and plain values, so it is read with
`torch.load(weights_only=True)`: a policy file written inside the sandbox cannot run code when loaded.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from rl_games.algos_torch.players import PpoPlayerContinuous

from video2policy.tools.rl.hyperparams import PPOConfig, rl_games_params

FORMAT = "video2policy-policy/1"


class Policy:
    """Maps observations (N, D) to actions (N, 7) in [-1, 1]: the mean of the Gaussian policy, clipped.

    Wraps an rl-games actor-critic model; acting never samples, so it leaves the global random state alone.
    """

    def __init__(self, model: torch.nn.Module, config: PPOConfig, obs_dim: int, action_dim: int, **metadata: Any):
        self.model = model
        self.config = config
        self.obs_dim = obs_dim
        self.action_dim = action_dim
        self.metadata = metadata

    @torch.no_grad()
    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        obs = torch.as_tensor(obs, dtype=torch.float32)
        if obs.ndim != 2 or obs.shape[1] != self.obs_dim:
            raise ValueError(f"the policy expects observations of shape (N, {self.obs_dim}), got {tuple(obs.shape)}")
        was_training = self.model.training
        self.model.eval()  # the input normalizer must not update its statistics while acting
        try:
            mu = self.model.a2c_network({"obs": self.model.norm_obs(obs)})[0]
        finally:
            self.model.train(was_training)
        return mu.clamp(-1.0, 1.0)

    def obs_normalizer(self) -> dict[str, list[float]] | None:
        rms = getattr(self.model, "running_mean_std", None)
        if rms is None:
            return None
        return {
            "mean": rms.running_mean.tolist(),
            "var": rms.running_var.tolist(),
            "count": float(rms.count),
            "epsilon": 1e-5,
            "clip": 5.0,
        }

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "format": FORMAT,
            "model": {k: v.detach().clone() for k, v in self.model.state_dict().items()},
            "obs_normalizer": self.obs_normalizer(),
            "hyperparameters": self.config.to_dict(),
            "obs_dim": self.obs_dim,
            "action_dim": self.action_dim,
            "metadata": self.metadata,
        }
        tmp = path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(path)
        return path


def build_model(config: PPOConfig, obs_dim: int, action_dim: int) -> torch.nn.Module:
    """The rl-games actor-critic for these sizes, built by rl-games' own player (as `rl_games play` does)."""
    params = rl_games_params(config, env_name="video2policy", num_envs=1, max_frames=-1, seed=0, train_dir="")
    params["config"]["env_info"] = {
        "observation_space": spaces.Box(-np.inf, np.inf, (obs_dim,), dtype=np.float32),
        "action_space": spaces.Box(-1.0, 1.0, (action_dim,), dtype=np.float32),
    }
    params["config"]["vec_env"] = None
    with contextlib.redirect_stdout(io.StringIO()):  # rl-games prints while building
        player = PpoPlayerContinuous(params)
    return player.model


def load_policy(path: str | Path) -> Policy:
    """Load a policy.pt written by `Policy.save`; a clear ValueError if the file is not one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"policy file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable policy file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a video2policy policy file (format {FORMAT!r} expected)")
    config = PPOConfig.from_overrides(state["hyperparameters"])
    model = build_model(config, state["obs_dim"], state["action_dim"])
    model.load_state_dict(state["model"])
    model.eval()
    return Policy(model, config, state["obs_dim"], state["action_dim"], **state.get("metadata", {}))
