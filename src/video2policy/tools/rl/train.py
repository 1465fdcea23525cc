"""Train one task code's policy with rl-games PPO, in-process, and write train.json, log.jsonl and policy.pt.

The flow, top to bottom: load the scene and the task code, build the batched environment, wrap it as an
rl-games vectorized environment (training reward R̂ + λ·success), let rl-games' Runner train for the job's env
steps while `TrainingLog` records every epoch, then save the policy. Anything the task code does wrong (raises,
returns NaN or a wrong shape, runs past the time budget) ends the run early as a typed failure in train.json;
it never propagates to the caller.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from video2policy.failures import FailureReason
from video2policy.scene import SceneSpec
from video2policy.tools.rl.failure import Failure, classify
from video2policy.tools.rl.hyperparams import PPOConfig, rl_games_params
from video2policy.tools.rl.policy import Policy
from video2policy.tools.rl.training_log import TrainingLog, final_success_rate
from video2policy.tools.rl.vecenv import TaskVecEnv, TrainingTimeout, registered
from video2policy.tools.sim.env import TaskEnv
from video2policy.tools.sim.task import load_task_class

TRAIN_JSON = "train.json"
LOG_JSONL = "log.jsonl"
POLICY_PT = "policy.pt"
RL_GAMES_DIR = "rl_games"  # rl-games' own experiment folder (its stdout log, final checkpoint, summaries)


class TrainJob(BaseModel):
    """One training: what the worker reads from JOB.json and the agents' training tool builds."""

    model_config = ConfigDict(extra="forbid")

    scene_path: Path
    task_code_path: Path
    out_dir: Path
    env_steps: int = Field(100_000, gt=0)
    num_envs: int = Field(64, gt=0)
    seed: int = 0
    success_weight: float = Field(100.0, ge=0, description="λ in the training reward R̂ + λ·success")
    hyperparameters: dict[str, Any] = Field(default_factory=dict, description="PPOConfig overrides by name")
    timeout_s: float | None = Field(None, gt=0)
    horizon: int | None = Field(None, gt=0, description="episode length; default: the task's scene_info")
    sim_threads: int | None = Field(None, gt=0, description="MuJoCo rollout threads; default: all cores")


class TrainResult(BaseModel):
    """What train.json holds."""

    status: Literal["ok", "failed"]
    reason: FailureReason | None = None
    message: str = ""
    traceback: str = ""
    in_task_code: bool | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)
    job: dict[str, Any] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


ProgressFn = Callable[[dict], None]
EpochHook = Callable[[dict, Policy], bool | None]


def train(job: TrainJob, progress: ProgressFn | None = None, on_epoch: EpochHook | None = None) -> TrainResult:
    """Train, write out_dir/{train.json, log.jsonl, policy.pt} and return the result; never raises for task code.

    `progress(record)` sees every epoch's log record. `on_epoch(record, policy)` may evaluate the current policy
    and return True to stop early (benchmarks); its time is not counted as training time.
    """
    out = Path(job.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / TRAIN_JSON).unlink(missing_ok=True)
    (out / POLICY_PT).unlink(missing_ok=True)
    config = PPOConfig.from_overrides(job.hyperparameters)
    start = time.perf_counter()
    deadline = time.monotonic() + job.timeout_s if job.timeout_s else None
    state: dict[str, Any] = {}
    failure: Failure | None = None
    try:
        with _alarm(job.timeout_s):
            _run(job, config, deadline, state, progress, on_epoch)
    except Exception as exc:  # typed below; the caller never sees the exception
        failure = classify(exc, job.task_code_path)
    wall = time.perf_counter() - start

    log: TrainingLog | None = state.get("log")
    records = log.records if log else []
    rates = [r["success_rate"] for r in records if r.get("success_rate") is not None]
    metrics = {
        "env_steps": records[-1]["env_steps"] if records else 0,
        "epochs": len(records),
        "wall_s": round(wall, 2),
        "train_wall_s": records[-1]["wall_s"] if records else 0.0,
        "final_success_rate": final_success_rate(records),
        "best_success_rate": max(rates) if rates else None,
        "env_steps_per_s": round(records[-1]["env_steps"] / max(records[-1]["wall_s"], 1e-9), 1) if records else 0.0,
        # the share of training time spent stepping the environment; the rest is PPO (inference and updates)
        "env_share": round(records[-1]["env_wall_s"] / max(records[-1]["wall_s"], 1e-9), 3) if records else None,
    }
    files = {"log": str(out / LOG_JSONL), "train": str(out / TRAIN_JSON)}
    policy = state.get("policy")
    keep_policy = failure is None or failure.reason == FailureReason.TIMEOUT
    if policy is not None and keep_policy and records and _finite(policy.model):
        policy.metadata["env_steps"] = metrics["env_steps"]
        files["policy"] = str(policy.save(out / POLICY_PT))
    result = TrainResult(
        status="ok" if failure is None else "failed",
        reason=failure.reason if failure else None,
        message=failure.message if failure else "",
        traceback=failure.traceback if failure else "",
        in_task_code=failure.in_task_code if failure else None,
        metrics=metrics,
        files=files,
        job=json.loads(job.model_dump_json()),
    )
    (out / TRAIN_JSON).write_text(result.model_dump_json(indent=2) + "\n")
    return result


def _run(
    job: TrainJob,
    config: PPOConfig,
    deadline: float | None,
    state: dict[str, Any],
    progress: ProgressFn | None,
    on_epoch: EpochHook | None,
) -> None:
    from rl_games.torch_runner import Runner  # heavy import, only when training

    out = Path(job.out_dir)
    scene = SceneSpec.load(job.scene_path)
    task = load_task_class(job.task_code_path)()
    env = TaskEnv(
        scene,
        task,
        num_envs=job.num_envs,
        seed=job.seed,
        scene_dir=Path(job.scene_path).parent,
        horizon=job.horizon,
        nthread=job.sim_threads,
    )
    vec_env = TaskVecEnv(env, job.success_weight, deadline=deadline, seed=job.seed)
    metadata = {
        "scene_path": str(Path(job.scene_path).resolve()),
        "task_code_path": str(Path(job.task_code_path).resolve()),
        "seed": job.seed,
        "success_weight": job.success_weight,
        "horizon": env.horizon,
    }

    def policy_of(algo: Any) -> Policy:
        if "policy" not in state:
            state["policy"] = Policy(algo.model, config, env.observation_width, env.action_dim, **metadata)
        return state["policy"]

    caller_stdout = sys.stdout  # rl-games' prints go to a file; the caller's progress output must not

    def epoch_done(record: dict, algo: Any) -> bool:
        policy = policy_of(algo)
        with contextlib.redirect_stdout(caller_stdout):
            if progress is not None:
                progress(record)
            return bool(on_epoch(record, policy)) if on_epoch is not None else False

    log = TrainingLog(out / LOG_JSONL, vec_env, tensorboard=config.tensorboard, on_epoch=epoch_done)
    state["log"] = log
    _seed_everything(job.seed)
    with registered(vec_env) as env_name:
        params = rl_games_params(
            config,
            env_name=env_name,
            num_envs=job.num_envs,
            max_frames=job.env_steps,
            seed=job.seed,
            train_dir=str(out),
        )
        params["config"]["full_experiment_name"] = RL_GAMES_DIR
        (out / RL_GAMES_DIR).mkdir(exist_ok=True)
        with (out / RL_GAMES_DIR / "stdout.log").open("w") as stdout, contextlib.redirect_stdout(stdout):
            runner = Runner(algo_observer=log)
            runner.load({"params": params})
            _seed_everything(job.seed)  # Runner.load skips seeding for seed 0
            try:
                runner.run({"train": True, "play": False})
            finally:
                if log.algo is not None:
                    policy_of(log.algo)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _finite(model: torch.nn.Module) -> bool:
    return all(torch.isfinite(p).all() for p in model.state_dict().values() if p.is_floating_point())


@contextlib.contextmanager
def _alarm(timeout_s: float | None, grace_s: float = 30.0) -> Iterator[None]:
    """A backstop for task code stuck in a Python loop: SIGALRM raises TrainingTimeout (main thread only).

    The regular check happens every env step; the sandbox kills processes stuck in C code.
    """
    usable = timeout_s and threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise TrainingTimeout(f"the training ran past its time budget ({timeout_s:.0f} s) inside task code")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(timeout_s) + grace_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def write_job(job: TrainJob, path: str | Path) -> Path:
    """Write a job file for the worker (`python -m video2policy.tools.rl.worker JOB.json`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(job.model_dump_json(indent=2) + "\n")
    return path


def read_result(out_dir: str | Path) -> TrainResult:
    return TrainResult.model_validate_json((Path(out_dir) / TRAIN_JSON).read_text())


__all__ = ["TrainJob", "TrainResult", "read_result", "train", "write_job"]
