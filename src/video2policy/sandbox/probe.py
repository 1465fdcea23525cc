"""The in-sandbox half of a tier check: `python -I -m video2policy.sandbox.probe JOB.json`.

Runs the import, instantiate and smoke tiers on one task-code file and writes result.json into the job folder
before each tier and after it, so a tier that is killed (timeout, memory) is still known to the caller.
Nothing here loads a file with pickle: the candidate is imported from source, the scene is JSON.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

MODULE_NAME = "v2p_candidate"
STARTED_MARKER = "started"


class TierFailure(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def _where(exc: BaseException, code_path: str) -> str:
    """'line 12 in compute_reward' for the innermost frame of the candidate file, or ''."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == code_path]
    if not frames:
        return ""
    frame = frames[-1]
    text = f" ({frame.line.strip()})" if frame.line else ""
    return f"line {frame.lineno} in {frame.name}{text}: "


def classify(exc: BaseException, tier: str, code_path: str) -> tuple[str, str]:
    """A typed reason and a message for an exception raised by the candidate."""
    from video2policy.failures import FailureReason, TaskCodeError

    where = _where(exc, code_path)
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TierFailure):
        return exc.reason, exc.message
    if isinstance(exc, TaskCodeError):
        return exc.reason.value, where + exc.message
    if isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and ("can't allocate memory" in str(exc) or "out of memory" in str(exc))
    ):
        return FailureReason.MEMORY_LIMIT.value, where + f"ran out of memory: {text}"[:600]
    if isinstance(exc, SyntaxError):
        return FailureReason.SYNTAX_ERROR.value, f"line {exc.lineno}: {exc.msg}"
    if tier == "import" and isinstance(exc, ImportError):
        return FailureReason.IMPORT_ERROR.value, where + text
    if isinstance(exc, SystemExit | KeyboardInterrupt):
        return FailureReason.RUNTIME_ERROR.value, where + f"the task code tried to end the process ({text})"
    return FailureReason.RUNTIME_ERROR.value, (where + text)[:1200]


def tier_import(code_path: str) -> type:
    from video2policy.tools.sim import Task

    spec = importlib.util.spec_from_file_location(MODULE_NAME, code_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    found = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Task) and obj is not Task and obj.__module__ == MODULE_NAME
    ]
    leaves = [c for c in found if not any(o is not c and issubclass(o, c) for o in found)]
    if len(leaves) != 1:
        names = [c.__name__ for c in leaves]
        raise TierFailure("missing_part", f"expected exactly one Task subclass, found {names or 'none'}")
    return leaves[0]


def tier_instantiate(cls: type, scene: Any) -> Any:
    task = cls()
    info = task.scene_info
    if not isinstance(info, dict):
        raise TierFailure("bad_signature", f"scene_info must be a dict, got {type(info).__name__}")
    objects = info.get("objects", [])
    if not isinstance(objects, list | tuple) or not all(isinstance(o, str) for o in objects):
        raise TierFailure("bad_signature", "scene_info['objects'] must be a list of object names (strings)")
    names = [o.name for o in scene.objects]
    unknown = [o for o in objects if o not in names]
    if unknown:
        raise TierFailure("runtime_error", f"scene_info['objects'] names {unknown}; the scene has {names}")
    horizon = info.get("horizon")
    if horizon is not None and (isinstance(horizon, bool) or not isinstance(horizon, int) or horizon <= 0):
        raise TierFailure("bad_signature", f"scene_info['horizon'] must be a positive int, got {horizon!r}")
    return task


def tier_smoke(task: Any, scene: Any, scene_dir: Path, num_envs: int, steps: int, seed: int) -> dict[str, Any]:
    """Reset and `steps` random-action steps; checks shapes, dtypes and finiteness of everything the task returns."""
    import torch

    from video2policy.tools.sim import ACTION_DIM, TaskEnv

    start = time.perf_counter()
    env = TaskEnv(scene, task, num_envs=num_envs, seed=seed, scene_dir=scene_dir, nthread=1)
    width = task.get_observation_space()
    if isinstance(width, bool) or not isinstance(width, int):
        raise TierFailure("shape_mismatch", f"get_observation_space() must return an int, got {width!r}")
    obs = env.reset()
    _check_obs(env, obs, num_envs, width, "after reset")
    generator = torch.Generator().manual_seed(seed)
    rewards, successes, components, episodes = [], [], {}, 0
    for step in range(steps):
        actions = torch.rand(num_envs, ACTION_DIM, generator=generator) * 2 - 1
        if step == steps // 2:  # a partial reset, as when some worlds finish before others
            task.reset_objects_states(torch.arange(0, num_envs, 2))
        obs, reward, _done, info = env.step(actions)
        _check_obs(env, obs, num_envs, width, f"at step {step + 1}")
        if not reward.is_floating_point():
            raise TierFailure("shape_mismatch", f"compute_reward's reward must be a float tensor, got {reward.dtype}")
        success = info["success"]
        if success.dtype != torch.bool or tuple(success.shape) != (num_envs,):
            raise TierFailure("shape_mismatch", f"compute_success must return bool ({num_envs},), got {success.dtype}")
        for key, value in info["reward_components"].items():
            if not isinstance(key, str):
                raise TierFailure("shape_mismatch", f"reward component names must be strings, got {key!r}")
            components.setdefault(key, []).append(float(value.mean()))
        rewards.append(reward)
        successes.append(success)
        episodes += len(info.get("episodes", {}).get("env_ids", []))
    seconds = time.perf_counter() - start
    all_rewards = torch.stack(rewards)
    return {
        "num_envs": num_envs,
        "steps": steps,
        "seconds": round(seconds, 3),
        "env_steps_per_s": round(num_envs * steps / seconds, 1),
        "observation_width": width,
        "observation_keys": list(env.obs_keys),
        "reward_mean": float(all_rewards.mean()),
        "reward_std": float(all_rewards.std()),
        "reward_min": float(all_rewards.min()),
        "reward_max": float(all_rewards.max()),
        "success_rate": float(torch.stack(successes).float().mean()),
        "components": {k: sum(v) / len(v) for k, v in components.items()},
        "episodes_finished": episodes,
    }


def _check_obs(env: Any, obs: Any, num_envs: int, width: int, when: str) -> None:
    import torch

    if not isinstance(obs, torch.Tensor) or tuple(obs.shape) != (num_envs, width):
        shape = tuple(obs.shape) if isinstance(obs, torch.Tensor) else type(obs).__name__
        raise TierFailure("shape_mismatch", f"observation {when} has shape {shape}, expected ({num_envs}, {width})")
    if obs.dtype != torch.float32:
        raise TierFailure("shape_mismatch", f"observation {when} has dtype {obs.dtype}, expected torch.float32")
    if not torch.isfinite(obs).all():
        bad = [k for k in env.obs_keys if not torch.isfinite(env.states[k].float()).all()]
        raise TierFailure("non_finite", f"observation {when} has NaN or inf values in keys {bad}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job_path = Path(argv[0])
    job = json.loads(job_path.read_text())
    result_path = Path(job["result_path"])
    code_path = str(Path(job["code_path"]))
    t0 = time.perf_counter()
    import torch

    from video2policy.scene import SceneSpec
    from video2policy.tools.sim import TaskEnv  # noqa: F401 - start-up cost, not the candidate's

    torch.set_num_threads(1)
    scene_path = Path(job["scene_path"])
    scene = SceneSpec.load(scene_path)
    report: dict[str, Any] = {"startup_s": round(time.perf_counter() - t0, 3), "tiers": [], "running": None}
    Path(job.get("started_marker", STARTED_MARKER)).touch()

    steps: list[tuple[str, Any]] = [
        ("import", lambda _: tier_import(code_path)),
        ("instantiate", lambda cls: tier_instantiate(cls, scene)),
        (
            "smoke",
            lambda task: tier_smoke(
                task, scene, scene_path.parent, int(job["num_envs"]), int(job["steps"]), int(job.get("seed", 0))
            ),
        ),
    ]
    value: Any = None
    for tier, run in steps:
        report["running"] = tier
        _write(result_path, report)
        start = time.perf_counter()
        try:
            value = run(value)
        except BaseException as exc:  # the candidate may raise anything, SystemExit included
            reason, message = classify(exc, tier, code_path)
            report["tiers"].append(_entry(tier, False, start, reason, message))
            report["running"] = None
            _write(result_path, report)
            return 0
        report["tiers"].append(_entry(tier, True, start))
    report["running"] = None
    report["smoke"] = value
    _write(result_path, report)
    return 0


def _entry(tier: str, ok: bool, start: float, reason: str | None = None, message: str = "") -> dict[str, Any]:
    seconds = time.perf_counter() - start
    return {"tier": tier, "ok": ok, "reason": reason, "message": message, "seconds": round(seconds, 4)}


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # skip atexit hooks the candidate may have registered
