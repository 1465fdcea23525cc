"""Every PPO hyperparameter in one place (CleanRL style), and the rl-games configuration built from them.

The defaults are tuned for small CPU budgets on the batched MuJoCo tasks (the examples learn in 50k-150k env
steps). Settings (`train_hyperparameters`), job files and `--hp key=value` flags override single fields by name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PPOConfig:
    # rollout
    horizon_length: int = 16  # env steps per environment between updates (batch = horizon_length * num_envs)
    gamma: float = 0.99
    tau: float = 0.95  # GAE lambda
    # optimisation
    learning_rate: float = 1e-3
    lr_schedule: str = "adaptive"  # adaptive (KL-driven), linear, or constant
    kl_threshold: float = 0.016
    mini_epochs: int = 8
    minibatch_size: int = 1024  # samples per gradient step; must divide horizon_length * num_envs
    e_clip: float = 0.2
    clip_value: bool = True
    critic_coef: float = 2.0
    entropy_coef: float = 0.0
    bounds_loss_coef: float = 0.0001
    grad_norm: float = 1.0
    truncate_grads: bool = True
    # normalisation
    normalize_input: bool = True
    normalize_value: bool = True
    normalize_advantage: bool = True
    reward_scale: float = 0.01  # rl-games reward_shaper scale_value; the success bonus makes rewards large
    # network
    units: list[int] = field(default_factory=lambda: [128, 64])
    activation: str = "elu"
    init_sigma: float = 0.0  # initial log-std of the Gaussian policy
    # runtime
    torch_threads: int = 1  # the MuJoCo rollout uses the other cores
    tensorboard: bool = False  # rl-games' SummaryWriter; off saves time and disk in the many reward trainings

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any] | None = None) -> PPOConfig:
        """Defaults with `overrides` applied; unknown names and wrong types are a ValueError naming the field."""
        config = cls()
        names = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in (overrides or {}).items():
            if key not in names:
                raise ValueError(f"unknown PPO hyperparameter {key!r}; known: {', '.join(sorted(names))}")
            setattr(config, key, _coerce(key, getattr(config, key), value))
        return config

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(key: str, default: Any, value: Any) -> Any:
    """Flags arrive as strings: turn them into the default's type (lists as comma-separated integers)."""
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                    raise ValueError(value)
                return value.lower() in {"true", "1", "yes"}
            return bool(value)
        if isinstance(default, list):
            if isinstance(value, str):
                return [int(v) for v in value.strip("[]").split(",") if v.strip()]
            return [int(v) for v in value]
        return type(default)(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"PPO hyperparameter {key!r}: cannot read {value!r} as {type(default).__name__}") from exc


def rl_games_params(
    config: PPOConfig,
    *,
    env_name: str,
    num_envs: int,
    max_frames: int,
    seed: int,
    train_dir: str,
) -> dict[str, Any]:
    """The `params` dict rl-games' Runner reads (the same layout as IsaacGymEnvs' yaml files)."""
    batch = config.horizon_length * num_envs
    minibatch = min(config.minibatch_size, batch)
    if batch % minibatch:
        raise ValueError(
            f"minibatch_size {config.minibatch_size} must divide horizon_length * num_envs = {batch}; "
            "change minibatch_size, horizon_length or the number of environments"
        )
    return {
        "seed": seed,
        "torch_threads": config.torch_threads,
        "algo": {"name": "a2c_continuous"},
        "model": {"name": "continuous_a2c_logstd"},
        "network": {
            "name": "actor_critic",
            "separate": False,
            "space": {
                "continuous": {
                    "mu_activation": "None",
                    "sigma_activation": "None",
                    "mu_init": {"name": "default"},
                    "sigma_init": {"name": "const_initializer", "val": config.init_sigma},
                    "fixed_sigma": True,
                }
            },
            "mlp": {
                "units": list(config.units),
                "activation": config.activation,
                "d2rl": False,
                "initializer": {"name": "default"},
                "regularizer": {"name": "None"},
            },
        },
        "config": {
            "name": "policy",
            "full_experiment_name": "rl_games",
            "env_name": env_name,
            "env_info": None,
            "device": "cpu",
            "device_name": "cpu",
            "ppo": True,
            "multi_gpu": False,
            "mixed_precision": False,
            "torch_compile": False,
            "normalize_input": config.normalize_input,
            "normalize_value": config.normalize_value,
            "normalize_advantage": config.normalize_advantage,
            "value_bootstrap": True,
            "num_actors": num_envs,
            "reward_shaper": {"scale_value": config.reward_scale},
            "gamma": config.gamma,
            "tau": config.tau,
            "learning_rate": config.learning_rate,
            "lr_schedule": None if config.lr_schedule == "constant" else config.lr_schedule,
            "kl_threshold": config.kl_threshold,
            "score_to_win": 1e12,
            "max_frames": max_frames,
            "max_epochs": -1,
            "save_best_after": 10**9,  # we write policy.pt ourselves
            "save_frequency": 0,
            "print_stats": True,
            "grad_norm": config.grad_norm,
            "entropy_coef": config.entropy_coef,
            "truncate_grads": config.truncate_grads,
            "e_clip": config.e_clip,
            "horizon_length": config.horizon_length,
            "minibatch_size": minibatch,
            "mini_epochs": config.mini_epochs,
            "critic_coef": config.critic_coef,
            "clip_value": config.clip_value,
            "seq_length": 4,
            "bounds_loss_coef": config.bounds_loss_coef,
            "train_dir": train_dir,
            "player": {"deterministic": True, "print_stats": False},
        },
    }
