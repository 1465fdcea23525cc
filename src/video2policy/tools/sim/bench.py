"""Throughput of the batched environment against a raw `mj_step` loop over the same compiled model.

Both sides step N worlds for the same number of control steps (each `substeps` physics steps); the raw loop
does nothing else, the environment also applies actions, reads the state dictionary and runs the task's
observation, reward and success code. ratio = batched env-steps/s ÷ raw env-steps/s, measured in one run.
"""

from __future__ import annotations

import time
from pathlib import Path

import mujoco
import torch

from video2policy.paths import BLOCK_SCENE, example_task
from video2policy.scene import SceneSpec
from video2policy.tools.sim.env import TaskEnv
from video2policy.tools.sim.task import load_task_class


def raw_steps_per_second(env: TaskEnv, control_steps: int) -> float:
    model = env.model
    datas = [mujoco.MjData(model) for _ in range(env.num_envs)]
    for i, data in enumerate(datas):
        mujoco.mj_setState(model, data, env.physics_state()[i], mujoco.mjtState.mjSTATE_FULLPHYSICS.value)
        data.ctrl[:] = env.ctrl[i]
    start = time.perf_counter()
    for _ in range(control_steps):
        for data in datas:
            for _ in range(env.substeps):
                mujoco.mj_step(model, data)
    return env.num_envs * control_steps / (time.perf_counter() - start)


def env_steps_per_second(env: TaskEnv, control_steps: int, seed: int = 0) -> float:
    gen = torch.Generator().manual_seed(seed)
    actions = [torch.rand(env.num_envs, 7, generator=gen) * 2 - 1 for _ in range(8)]
    start = time.perf_counter()
    for t in range(control_steps):
        env.step(actions[t % 8])
    return env.num_envs * control_steps / (time.perf_counter() - start)


def bench_sim(
    sizes: tuple[int, ...] = (1, 16, 64, 256),
    env_steps: int = 12_000,
    scene_path: Path | None = None,
    task_path: Path | None = None,
    progress=None,
) -> list[dict]:
    """One row per N: raw and batched env-steps/s and their ratio. `env_steps` per side and N sets the run time."""
    scene_path = scene_path or BLOCK_SCENE
    task_path = task_path or example_task("push_block_left")
    scene = SceneSpec.load(scene_path)
    task_cls = load_task_class(task_path)
    rows = []
    for i, n in enumerate(sizes):
        env = TaskEnv(scene, task_cls(), num_envs=n, seed=0, scene_dir=scene_path.parent)
        control_steps = max(20, env_steps // n)
        env_steps_per_second(env, 5)  # warm-up: thread pool, allocations
        raw = raw_steps_per_second(env, control_steps)
        batched = env_steps_per_second(env, control_steps)
        rows.append(
            {
                "num_envs": n,
                "control_steps": control_steps,
                "substeps": env.substeps,
                "raw_env_steps_per_s": round(raw, 1),
                "batched_env_steps_per_s": round(batched, 1),
                "ratio": round(batched / raw, 3),
                "threads": len(env._datas),
            }
        )
        if progress:
            progress(i + 1, rows[-1])
    return rows


def summary_table(rows: list[dict]) -> str:
    lines = ["| N | raw mj_step loop (env-steps/s) | batched env (env-steps/s) | ratio |", "|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['num_envs']} | {r['raw_env_steps_per_s']:.0f} | {r['batched_env_steps_per_s']:.0f} | "
            f"{r['ratio']:.2f} |"
        )
    return "\n".join(lines)


__all__ = ["bench_sim", "summary_table"]
