"""Validation tiers for one task-code candidate: syntax → lint → import → instantiate → smoke.

The first two run here (they never execute the code); the other three run in one sandboxed probe process
(probe.py). The result names the first failing tier and a `FailureReason` from the taxonomy shared with training,
with a message precise enough for the coder agent to fix the code.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from video2policy.failures import FailureReason
from video2policy.sandbox.limits import CHECK_LIMITS, Limits
from video2policy.sandbox.lint import Finding, lint
from video2policy.sandbox.runner import run_isolated

TIERS = ("syntax", "lint", "import", "instantiate", "smoke")
PROBE_MODULE = "video2policy.sandbox.probe"
MAX_FINDINGS_IN_MESSAGE = 8


class TierResult(BaseModel):
    tier: str
    ok: bool
    reason: FailureReason | None = None
    message: str = ""
    seconds: float = 0.0


class CheckResult(BaseModel):
    """What the tiers found. `reason`/`message` repeat the first failing tier's; `smoke` holds smoke-run metrics."""

    ok: bool
    tiers: list[TierResult]
    first_failed_tier: str | None = None
    reason: FailureReason | None = None
    message: str = ""
    findings: list[Finding] = Field(default_factory=list)
    smoke: dict[str, Any] | None = None
    level: str | None = Field(None, description="isolation level of the probe run: bwrap or process")
    startup_s: float | None = Field(None, description="interpreter + torch + simulator imports in the probe")
    seconds: float = 0.0
    warnings: list[str] = Field(default_factory=list)

    def feedback(self) -> str:
        """One paragraph for the coder agent."""
        if self.ok:
            return "All sandbox tiers passed."
        return f"The {self.first_failed_tier} tier failed ({self.reason}): {self.message}"


def _syntax(code: str) -> TierResult:
    start = time.perf_counter()
    try:
        compile(code, "task.py", "exec", dont_inherit=True)  # parses and compiles, never runs
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        text = f" ({exc.text.strip()})" if exc.text and exc.text.strip() else ""
        return TierResult(
            tier="syntax",
            ok=False,
            reason=FailureReason.SYNTAX_ERROR,
            message=f"{where}: {exc.msg}{text}",
            seconds=time.perf_counter() - start,
        )
    except ValueError as exc:  # e.g. null bytes in the source
        return TierResult(tier="syntax", ok=False, reason=FailureReason.SYNTAX_ERROR, message=str(exc))
    return TierResult(tier="syntax", ok=True, seconds=time.perf_counter() - start)


def _lint(code: str) -> tuple[TierResult, list[Finding]]:
    start = time.perf_counter()
    findings = lint(code)
    seconds = time.perf_counter() - start
    if not findings:
        return TierResult(tier="lint", ok=True, seconds=seconds), []
    shown = "; ".join(str(f) for f in findings[:MAX_FINDINGS_IN_MESSAGE])
    more = len(findings) - MAX_FINDINGS_IN_MESSAGE
    if more > 0:
        shown += f"; and {more} more"
    message = f"{len(findings)} problem{'s' if len(findings) > 1 else ''}: {shown}"
    return TierResult(tier="lint", ok=False, reason=findings[0].reason, message=message, seconds=seconds), findings


def check_candidate(
    code: str,
    scene_path: str | Path,
    work_dir: str | Path,
    num_envs: int = 8,
    steps: int = 20,
    *,
    seed: int = 0,
    lint_enabled: bool = True,
    timeout_s: float = 30.0,
    startup_timeout_s: float = 120.0,
    limits: Limits | None = None,
    level: str | None = None,
) -> CheckResult:
    """Run every tier on `code` against the scene; stops at the first failing tier.

    `work_dir/sandbox/` becomes the probe's job folder (its only writable place). `timeout_s` bounds the three
    process tiers together, counted after the probe's start-up (torch and simulator imports). `lint_enabled=False`
    is for testing the runner's containment only.
    """
    from video2policy.scene import SceneSpec

    started = time.perf_counter()
    scene_path = Path(scene_path).resolve()
    SceneSpec.load(scene_path)  # the caller's mistake, not the candidate's: raises with the field that is wrong
    tiers = [_syntax(code)]
    findings: list[Finding] = []
    if tiers[0].ok:
        if lint_enabled:
            tier, findings = _lint(code)
        else:
            tier = TierResult(tier="lint", ok=True, message="skipped (lint disabled)")
        tiers.append(tier)
    if not tiers[-1].ok:
        return _finish(tiers, findings, started)

    job_dir = Path(work_dir).resolve() / "sandbox"
    shutil.rmtree(job_dir, ignore_errors=True)
    job_dir.mkdir(parents=True)
    code_path = job_dir / "task.py"
    code_path.write_text(code)
    result_path = job_dir / "result.json"
    job = {
        "code_path": str(code_path),
        "scene_path": str(scene_path),
        "num_envs": num_envs,
        "steps": steps,
        "seed": seed,
        "result_path": str(result_path),
        "started_marker": str(job_dir / "started"),
    }
    (job_dir / "job.json").write_text(json.dumps(job, indent=2))
    run = run_isolated(
        [sys.executable, "-I", "-m", PROBE_MODULE, str(job_dir / "job.json")],
        job_dir,
        limits or CHECK_LIMITS,
        timeout_s,
        read_only=[scene_path.parent],
        start_marker=job_dir / "started",
        startup_timeout_s=startup_timeout_s,
        level=level,
    )
    report = _read_report(result_path)
    tiers += report.get("tiers", [])
    running = report.get("running")
    if run.reason is not None and (running or not report.get("tiers")):
        # killed inside a tier (timeout, memory), or the probe never got going
        tier = running or "import"
        message = run.message
        if not report:
            message = f"the sandboxed probe did not start: {run.message}"
        tiers.append(TierResult(tier=tier, ok=False, reason=run.reason, message=message))
    elif not report.get("tiers") or (tiers[-1].ok and tiers[-1].tier != "smoke"):
        tiers.append(
            TierResult(
                tier=running or "import",
                ok=False,
                reason=FailureReason.RUNTIME_ERROR,
                message=f"the probe ended without a result (exit code {run.returncode}): {run.stderr_tail[-600:]}",
            )
        )
    result = _finish(tiers, findings, started)
    result.smoke = report.get("smoke") if result.ok else None
    result.level = run.level
    result.startup_s = report.get("startup_s")
    result.warnings = run.warnings
    return result


def _read_report(path: Path) -> dict[str, Any]:
    """The probe's result file; written by the sandboxed process, so read defensively."""
    try:
        if path.stat().st_size > 2_000_000:
            return {}
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("tiers", []), list):
        return {}
    valid = []
    for entry in data.get("tiers", []):
        try:
            valid.append(TierResult.model_validate(entry))
        except ValidationError:
            continue
    data["tiers"] = [t for t in valid if t.tier in TIERS[2:]]
    if data.get("running") not in (None, *TIERS):
        data["running"] = None
    if not isinstance(data.get("smoke"), dict | None):
        data["smoke"] = None
    return data


def _finish(tiers: list[TierResult], findings: list[Finding], started: float) -> CheckResult:
    failed = next((t for t in tiers if not t.ok), None)
    return CheckResult(
        ok=failed is None and tiers[-1].tier == "smoke",
        tiers=tiers,
        first_failed_tier=failed.tier if failed else None,
        reason=failed.reason if failed else None,
        message=failed.message if failed else "",
        findings=findings,
        seconds=round(time.perf_counter() - started, 3),
    )
