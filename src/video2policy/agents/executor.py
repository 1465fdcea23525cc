"""Training executor: runs reward-variant trainings in parallel, each in its own (sandboxed) worker process.

A training whose out_dir already holds a train.json with a final status is never run again: that is what lets a
resumed run skip finished work. `LocalExecutor` is the default (a pool of local processes); another executor
(a cluster queue) only has to implement `run(jobs, on_done)`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Protocol

from video2policy.agents import toolbox

FINAL_STATUSES = ("ok", "failed")


PATH_FIELDS = ("scene_path", "task_code_path", "out_dir")  # TrainJob fields that name files or folders


class Executor(Protocol):
    def run(
        self,
        jobs: list[dict[str, Any]],
        on_done: Callable[[dict[str, Any]], None] | None = None,
    ) -> list[dict[str, Any]]: ...


def finished_result(out_dir: Path) -> dict[str, Any] | None:
    """The train.json of a finished training, or None."""
    path = Path(out_dir) / "train.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    return data if data.get("status") in FINAL_STATUSES else None


def train_job(
    scene_path: Path,
    task_code_path: Path,
    out_dir: Path,
    *,
    env_steps: int,
    num_envs: int,
    seed: int,
    success_weight: float,
    hyperparameters: dict[str, Any],
    timeout_s: float,
    sim_threads: int | None = None,
) -> dict[str, Any]:
    """A TrainJob (tools.rl) as plain JSON data, validated by the RL package when it is importable."""
    job = {
        "scene_path": str(scene_path),
        "task_code_path": str(task_code_path),
        "out_dir": str(out_dir),
        "env_steps": env_steps,
        "num_envs": num_envs,
        "seed": seed,
        "success_weight": success_weight,
        "hyperparameters": dict(hyperparameters),
        "timeout_s": timeout_s,
    }
    try:
        from video2policy.tools.rl.train import TrainJob
    except ImportError:
        return job
    fields = set(TrainJob.model_fields)
    if sim_threads and "sim_threads" in fields:
        job["sim_threads"] = sim_threads
    if "hyperparameters" not in fields:
        extra = next((f for f in fields if "hyper" in f or "override" in f), None)
        overrides = job.pop("hyperparameters")
        if extra:
            job[extra] = overrides
    return json.loads(TrainJob.model_validate(job).model_dump_json())


class LocalExecutor:
    """Up to `workers` trainings at once, each `python -m video2policy.tools.rl.worker JOB.json` in the sandbox."""

    def __init__(self, workers: int = 1, threads_per_worker: int | None = None):
        self.workers = max(1, workers)
        self.threads_per_worker = threads_per_worker

    def run(
        self,
        jobs: list[dict[str, Any]],
        on_done: Callable[[dict[str, Any]], None] | None = None,
    ) -> list[dict[str, Any]]:
        results: list[dict[str, Any] | None] = [None] * len(jobs)
        todo = []
        for i, job in enumerate(jobs):
            done = finished_result(Path(job["out_dir"]))
            if done is not None:
                results[i] = {**done, "reused": True}
                if on_done:
                    on_done(results[i])
            else:
                todo.append(i)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {pool.submit(self._train, jobs[i]): i for i in todo}
            for future in as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                if on_done:
                    on_done(results[i])
        return [r for r in results if r is not None]

    def _train(self, job: dict[str, Any]) -> dict[str, Any]:
        # the sandboxed worker runs in another working directory: hand it absolute paths
        job = {**job, **{key: str(Path(job[key]).resolve()) for key in PATH_FIELDS if job.get(key)}}
        out_dir = Path(job["out_dir"])
        out_dir.mkdir(parents=True, exist_ok=True)
        job_path = out_dir / "job.json"
        job_path.write_text(json.dumps(job, indent=2))
        env = {}
        if self.threads_per_worker:
            n = str(self.threads_per_worker)
            env = {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "V2P_SIM_THREADS": n}
        run = toolbox.run_worker(
            [sys.executable, "-m", "video2policy.tools.rl.worker", str(job_path)],
            out_dir,
            timeout_s=float(job.get("timeout_s", 3600)) + 60,
            env=env,
        )
        done = finished_result(out_dir)
        if done is not None:
            return done
        reason, message = toolbox.worker_failure(run)
        result = {
            "status": "failed",
            "reason": reason.value,
            "message": message,
            "metrics": {},
            "out_dir": str(out_dir),
        }
        (out_dir / "train.json").write_text(json.dumps(result, indent=2))
        return result
