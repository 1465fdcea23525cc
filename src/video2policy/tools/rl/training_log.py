"""The per-epoch training log (JSONL) and the feedback text the reward reflector reads.

One line per PPO epoch: env steps, wall time, success rate, episode return, and for every reward component its
per-step mean over the successful and over the failed episodes that ended in that epoch. `summarize_log` turns
the log into Eureka-style feedback: each series sub-sampled to about ten points with its max, mean and min.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rl_games.common.algo_observer import AlgoObserver

from video2policy.tools.rl.vecenv import TaskVecEnv

SUMMARY_POINTS = 10


class _NullWriter:
    """Stands in for rl-games' tensorboard SummaryWriter when summaries are off."""

    def add_scalar(self, *args: Any, **kwargs: Any) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class TrainingLog(AlgoObserver):
    """An rl-games observer: after every epoch, writes one JSONL record and reports it to `on_epoch`.

    `on_epoch(record, algo)` may return True to stop training after this epoch (used by benchmarks that stop at a
    target evaluation success).
    """

    def __init__(
        self,
        path: Path,
        vec_env: TaskVecEnv,
        *,
        tensorboard: bool = False,
        on_epoch: Callable[[dict, Any], bool | None] | None = None,
    ):
        super().__init__()
        self.path = Path(path)
        self.path.write_text("")
        self.vec_env = vec_env
        self.tensorboard = tensorboard
        self.on_epoch = on_epoch
        self.algo: Any = None
        self.records: list[dict] = []
        self.start = time.perf_counter()
        self.excluded_s = 0.0  # time spent in on_epoch (e.g. evaluations), not counted as training time

    def after_init(self, algo: Any) -> None:
        self.algo = algo
        if not self.tensorboard:
            algo.writer = _NullWriter()
        self.start = time.perf_counter()

    def after_print_stats(self, frame: int, epoch_num: int, total_time: float) -> None:
        record = {
            "epoch": int(epoch_num),
            "env_steps": int(self.algo.frame),
            "wall_s": round(time.perf_counter() - self.start - self.excluded_s, 3),
            "env_wall_s": round(self.vec_env.env_seconds, 3),
            "lr": float(self.algo.last_lr),
            **episode_statistics(self.vec_env.take_episodes()),
        }
        self.records.append(record)
        if self.on_epoch is not None:
            hook_start = time.perf_counter()
            stop = self.on_epoch(record, self.algo)
            self.excluded_s += time.perf_counter() - hook_start
            if stop:
                self.algo.max_frames = self.algo.frame  # rl-games ends the run after this epoch
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")


def episode_statistics(batches: list[dict]) -> dict[str, Any]:
    """Success rate, return and per-component means (successful / failed) over finished-episode batches."""
    if not batches:
        return {
            "episodes": 0,
            "success_rate": None,
            "success_rate_final": None,
            "episode_return": None,
            "episode_length": None,
            "components": {},
        }
    success = np.concatenate([b["success"] for b in batches]).astype(bool)
    components: dict[str, dict[str, float | None]] = {}
    for key in batches[0]["components"]:
        values = np.concatenate([b["components"][key] for b in batches])
        components[key] = {
            "success": _mean(values[success]),
            "failure": _mean(values[~success]),
            "all": _mean(values),
        }
    return {
        "episodes": len(success),
        "success_rate": round(float(success.mean()), 4),
        "success_rate_final": round(float(np.concatenate([b["success_final"] for b in batches]).mean()), 4),
        "episode_return": _mean(np.concatenate([b["return"] for b in batches])),
        "episode_length": _mean(np.concatenate([b["length"] for b in batches])),
        "components": components,
    }


def _mean(values: np.ndarray) -> float | None:
    return round(float(values.mean()), 5) if len(values) else None


def read_log(log_path: str | Path) -> list[dict]:
    path = Path(log_path)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def final_success_rate(records: list[dict], last: int = 3) -> float | None:
    """Mean training success rate of the last `last` epochs that finished episodes."""
    rates = [r["success_rate"] for r in records if r.get("success_rate") is not None]
    return round(float(np.mean(rates[-last:])), 4) if rates else None


def summarize_log(log_path: str | Path, points: int = SUMMARY_POINTS) -> str:
    """Eureka-style feedback text for the reward reflector from a training log (log.jsonl)."""
    records = read_log(log_path)
    if not records:
        return "The training stopped before its first epoch ended: there are no training statistics."
    last = records[-1]
    rates = [r["success_rate"] for r in records if r.get("success_rate") is not None]
    episodes = sum(r.get("episodes", 0) for r in records)
    lines = [
        f"Training ran {last['env_steps']} environment steps in {last['wall_s']:.1f} s "
        f"({len(records)} PPO epochs, {episodes} finished episodes).",
        f"Success rate of the training policy (the task's compute_success at any step of an episode): "
        f"final {_fmt(final_success_rate(records))}, best {_fmt(max(rates) if rates else None)}.",
        f"Each series below is sampled at {min(points, len(records))} epochs from first to last, "
        "followed by its max, mean and min over all epochs.",
        _series("success_rate", [r.get("success_rate") for r in records], points),
        _series("episode_return", [r.get("episode_return") for r in records], points),
    ]
    names = sorted({name for r in records for name in r.get("components", {})})
    if names:
        lines.append("Reward components (per-step mean within an episode), over successful and over failed episodes:")
    for name in names:
        for group, label in (("success", "successful episodes"), ("failure", "failed episodes")):
            values = [r.get("components", {}).get(name, {}).get(group) for r in records]
            lines.append(_series(f"{name} ({label})", values, points))
    return "\n".join(lines)


def _series(name: str, values: list[float | None], points: int) -> str:
    present = [v for v in values if v is not None and math.isfinite(v)]
    if not present:
        return f"{name}: no data (no such episode ended during training)"
    index = np.unique(np.linspace(0, len(values) - 1, min(points, len(values))).round().astype(int))
    sampled = ", ".join(_fmt(values[i]) for i in index)
    return (
        f"{name}: [{sampled}], Max: {_fmt(max(present))}, Mean: {_fmt(float(np.mean(present)))}, "
        f"Min: {_fmt(min(present))}"
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
