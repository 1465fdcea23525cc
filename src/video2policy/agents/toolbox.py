"""The tools the agents call, behind thin adapters: behavior plugins, sandbox checks, isolated workers.

Agents depend on these interfaces (see the helper brief / DESIGN.md) and nothing else of the tool packages, so a
tool can change inside without touching the graph.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from video2policy.failures import FailureReason


class ToolMissing(RuntimeError):
    """A tool package the run needs is not importable."""


def behaviors() -> Any:
    """The behavior registry (plugins.load_behaviors)."""
    try:
        from video2policy.plugins.registry import load_behaviors
    except ImportError as exc:
        raise ToolMissing(f"behavior plugins are not available (video2policy.plugins): {exc}") from None
    return load_behaviors()


def behavior_roles(behavior: Any) -> list[str]:
    roles = behavior.roles
    return list(roles.keys()) if isinstance(roles, dict) else [r if isinstance(r, str) else r.name for r in roles]


def check_candidate(code: str, scene_path: Path, work_dir: Path, num_envs: int = 8, steps: int = 20) -> dict[str, Any]:
    """The sandbox tiers (lint, import, smoke run) as a plain dict: ok, tiers, reason, message, smoke metrics."""
    try:
        from video2policy.sandbox import check_candidate as check
    except ImportError as exc:
        raise ToolMissing(f"the sandbox is not available (video2policy.sandbox.check_candidate): {exc}") from None
    result = check(code, scene_path, work_dir, num_envs=num_envs, steps=steps)
    data = result.model_dump(mode="json") if hasattr(result, "model_dump") else dict(vars(result))
    return json.loads(json.dumps(data, default=str))


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: a killed run leaves no orphan trainer writing its files


def run_worker(argv: list[str], job_dir: Path, timeout_s: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a worker process (training, evaluation) isolated by the sandbox runner when it exists.

    Returns returncode, timed_out, memory (killed for memory), stderr tail and the isolation level.
    """
    job_dir.mkdir(parents=True, exist_ok=True)
    try:
        from video2policy.sandbox.runner import run_isolated
    except ImportError:
        run_isolated = None
    if run_isolated is not None:
        result = run_isolated(argv, job_dir, None, timeout_s, env=env or None)
        return {
            "returncode": result.returncode,
            "timed_out": result.timed_out,
            "memory": result.killed_by_memory,
            "stderr": (result.message + "\n" + result.stderr_tail)[-2000:],
            "level": result.level,
        }
    full_env = {**os.environ, **(env or {})}
    with (job_dir / "worker.log").open("w") as log:
        proc = subprocess.Popen(
            argv,
            cwd=job_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        try:
            code = proc.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            proc.kill()
            code, timed_out = proc.wait(), True
    tail = (job_dir / "worker.log").read_text(errors="replace")[-2000:]
    return {
        "returncode": code,
        "timed_out": timed_out,
        "memory": code == -signal.SIGKILL and not timed_out,
        "stderr": tail,
        "level": "process",
    }


def worker_failure(run: dict[str, Any]) -> tuple[FailureReason, str]:
    """Why a worker that wrote no result died."""
    if run["timed_out"]:
        return FailureReason.TIMEOUT, "the worker ran past its time limit"
    if run["memory"]:
        return FailureReason.MEMORY_LIMIT, "the worker was killed (memory limit)"
    return FailureReason.RUNTIME_ERROR, f"the worker exited with code {run['returncode']}: {run['stderr'][-800:]}"
