"""`v2p bench behaviors`: does each family's reference task code pass the sandbox and train to its ground truth?

For every family and seed: a synthetic scene of that family (seeded), the reference task code rendered for it,
the sandbox tiers, PPO training with the RL tool for the family's env-step budget, then evaluation of the
trained policy with the family's ground-truth success (10 episodes). The table reports mean ± std over seeds.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from video2policy.plugins.api import Behavior
from video2policy.plugins.synth import synth_scene

TARGET = 0.8
STOP_RATE, STOP_EPOCHS = 0.95, 5
# env steps per family: enough for the reference reward on the floating gripper, measured with this command
BUDGETS = {
    "push_left": 150_000,
    "push_right": 150_000,
    "tip_over": 150_000,
    "lift_up": 300_000,
    "push_with": 300_000,
    "push_next_to": 300_000,
    "slide_to": 600_000,
    "uncover": 300_000,
    "cover": 600_000,
    "drop_in_front_of": 600_000,
    "insert": 600_000,
    "throw_into": 600_000,
}
DEFAULT_BUDGET = 300_000


def prepare(behavior: Behavior, seed: int, work_dir: Path) -> tuple[Path, Path, dict[str, str]]:
    """Write a synthetic scene.json and the reference task.py for it; returns their paths and the roles."""
    work_dir.mkdir(parents=True, exist_ok=True)
    scene, roles, labels = synth_scene(behavior, seed, work_dir)
    scene_path = scene.save(work_dir / "scene.json")
    task_path = work_dir / "task.py"
    task_path.write_text(behavior.render_task_code(roles, labels=labels))
    return scene_path, task_path, roles


def sandbox_check(code: str, scene_path: Path, work_dir: Path) -> dict:
    """The sandbox tiers, where the sandbox offers `check_candidate`; otherwise a note saying it was skipped."""
    try:
        from video2policy.sandbox import check_candidate
    except ImportError:
        return {"ok": None, "message": "sandbox.check_candidate is not available"}
    result = check_candidate(code, scene_path, work_dir / "check")
    return {
        "ok": bool(result.ok),
        "first_failed_tier": getattr(result, "first_failed_tier", None),
        "message": getattr(result, "message", ""),
    }


def bench_family(
    behavior: Behavior,
    seed: int,
    work_dir: Path,
    env_steps: int | None = None,
    num_envs: int = 64,
    episodes: int = 10,
    progress: Callable[[dict], None] | None = None,
) -> dict:
    """One family, one seed: sandbox, train, evaluate with ground truth. Returns a row of plain data."""
    from video2policy.tools.rl.evaluate import evaluate
    from video2policy.tools.rl.train import TrainJob, train

    env_steps = env_steps or BUDGETS.get(behavior.name, DEFAULT_BUDGET)
    scene_path, task_path, roles = prepare(behavior, seed, work_dir)
    check = sandbox_check(task_path.read_text(), scene_path, work_dir)
    row = {"family": behavior.name, "seed": seed, "sandbox_ok": check["ok"], "sandbox": check}
    if check["ok"] is False:
        return {**row, "status": "sandbox_failed", "success": 0.0}
    start = time.perf_counter()
    job = TrainJob(
        scene_path=scene_path, task_code_path=task_path, out_dir=work_dir / "train", env_steps=env_steps,
        num_envs=num_envs, seed=seed, hyperparameters=dict(behavior.train_hyperparameters),
    )  # fmt: skip
    streak = [0]

    def stop_when_learned(record: dict, policy: object) -> bool:
        # stop once training episodes succeed at >= STOP_RATE for STOP_EPOCHS epochs in a row (saves CPU)
        rate = record.get("success_rate")
        streak[0] = streak[0] + 1 if rate is not None and rate >= STOP_RATE else 0
        return streak[0] >= STOP_EPOCHS

    result = train(job, progress=progress, on_epoch=stop_when_learned)
    wall = time.perf_counter() - start
    row.update(status=result.status, env_steps=result.metrics.get("env_steps", 0), wall_s=round(wall, 1))
    row["train_success"] = result.metrics.get("final_success_rate")
    if not result.ok or "policy" not in result.files:
        return {**row, "success": 0.0, "message": result.message}
    evaluation = evaluate(
        scene_path, task_path, result.files["policy"], lambda states: behavior.success(states, roles),
        episodes=episodes, seeds=(seed,),
    )  # fmt: skip
    return {**row, "success": evaluation.success_rate}


def summarize(rows: Sequence[dict]) -> list[dict]:
    """Per family: env steps, wall time, ground-truth success mean ± std over seeds, and whether it reached 0.8."""
    table = []
    for family in dict.fromkeys(r["family"] for r in rows):
        mine = [r for r in rows if r["family"] == family]
        rates = [float(r.get("success", 0.0)) for r in mine]
        mean = statistics.fmean(rates)
        table.append(
            {
                "family": family,
                "seeds": len(mine),
                "env_steps": max(int(r.get("env_steps", 0)) for r in mine),
                "wall_s": round(statistics.fmean(float(r.get("wall_s", 0.0)) for r in mine), 1),
                "success_mean": round(mean, 3),
                "success_std": round(statistics.pstdev(rates), 3) if len(rates) > 1 else 0.0,
                "sandbox_ok": all(r.get("sandbox_ok") is not False for r in mine),
                "reached_target": mean >= TARGET,
            }
        )
    return table


def markdown(table: Sequence[dict]) -> str:
    lines = [
        "| family | env steps | wall time per seed (2 cores) | GT success mean ± std | ≥ 0.8 |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for r in table:
        lines.append(
            f"| {r['family']} | {r['env_steps']:,} | {r['wall_s']:.0f} s | {r['success_mean']:.2f} ± "
            f"{r['success_std']:.2f} ({r['seeds']} seeds) | {'yes' if r['reached_target'] else 'no'} |"
        )
    return "\n".join(lines)
