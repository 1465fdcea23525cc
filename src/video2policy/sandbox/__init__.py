"""Sandbox for generated code: static lint, an isolated process runner, and validation tiers for task code.

- `lint(code) -> list[Finding]`: allow-listed imports and names, no reflection, the six task parts present.
- `run_isolated(argv, job_dir, limits, timeout_s) -> RunResult`: one contained subprocess (bwrap when it works here).
- `run_worker(job_json_path, limits, timeout_s) -> RunResult`: the RL training worker through the runner.
- `check_candidate(code, scene_path, work_dir) -> CheckResult`: syntax → lint → import → instantiate → smoke.
"""

from video2policy.sandbox.isolation import isolation_level
from video2policy.sandbox.limits import CHECK_LIMITS, TRAIN_LIMITS, Limits
from video2policy.sandbox.lint import Finding, lint
from video2policy.sandbox.runner import RunResult, run_isolated, run_worker
from video2policy.sandbox.tiers import TIERS, CheckResult, TierResult, check_candidate

__all__ = [
    "CHECK_LIMITS",
    "TIERS",
    "TRAIN_LIMITS",
    "CheckResult",
    "Finding",
    "Limits",
    "RunResult",
    "TierResult",
    "check_candidate",
    "isolation_level",
    "lint",
    "run_isolated",
    "run_worker",
]
