"""PPO training with rl-games on the batched MuJoCo tasks, evaluation, training-log summaries, and the worker
the sandbox runs (`python -m video2policy.tools.rl.worker JOB.json`).

Heavy modules (rl-games, MuJoCo) load on first use of a name, so importing this package stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "TrainJob": "train",
    "TrainResult": "train",
    "train": "train",
    "write_job": "train",
    "read_result": "train",
    "EvalResult": "evaluate",
    "evaluate": "evaluate",
    "Policy": "policy",
    "load_policy": "policy",
    "PPOConfig": "hyperparams",
    "summarize_log": "training_log",
    "read_log": "training_log",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
