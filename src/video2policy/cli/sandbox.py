"""`v2p sandbox ...`: check task code the way the agents' candidates are checked, lint it, show the isolation level."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer
from rich.markup import escape

from video2policy.cli.output import Output

app = typer.Typer(help="Static checks and sandboxed validation tiers for generated task code.", no_args_is_help=True)


def _read_code(out: Output, path: Path) -> str:
    from video2policy.cli.main import fail

    if not path.is_file():
        raise fail(out, f"{path}: no such task-code file")
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(out, f"{path}: cannot be read as text: {exc}") from None


@app.command("check")
def check_cmd(
    file: Path = typer.Argument(..., help="task-code file (a Task subclass with the six parts)"),
    scene: Path = typer.Option(..., "--scene", help="scene.json the task runs on"),
    num_envs: int = typer.Option(8, min=1, help="parallel worlds in the smoke run"),
    steps: int = typer.Option(20, min=1, help="random-action steps in the smoke run"),
    timeout: float = typer.Option(30.0, min=1, help="seconds for import + instantiate + smoke, after start-up"),
    work_dir: Path | None = typer.Option(None, help="keep the probe's job folder here (default: a temporary one)"),
    level: str = typer.Option("auto", help="isolation: auto, bwrap or process"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Run syntax → lint → import → instantiate → smoke on FILE; exit code 1 when a tier fails."""
    from video2policy.cli.main import fail
    from video2policy.sandbox import check_candidate

    out = Output(json_out)
    code = _read_code(out, file)
    if not scene.is_file():
        raise fail(out, f"--scene {scene}: no such scene file")
    with tempfile.TemporaryDirectory(prefix="v2p-sandbox-") as tmp:
        try:
            result = check_candidate(
                code, scene, work_dir or Path(tmp), num_envs=num_envs, steps=steps, timeout_s=timeout, level=level
            )
        except (ValueError, RuntimeError) as exc:  # SceneError names the file and field; or an unusable level
            raise fail(out, str(exc)) from None
    for warning in result.warnings:
        out.warn(warning)
    for tier in result.tiers:
        mark = "[green]ok[/]" if tier.ok else f"[red]FAILED[/] ({tier.reason})"
        out.info(f"{tier.tier:12s} {mark} {tier.seconds:6.2f} s  {'' if tier.ok else escape(tier.message)}")
        out.event("tier", **tier.model_dump(mode="json"))
    for finding in result.findings:
        out.info(escape(f"  {file}:{finding.line}: [{finding.rule}] {finding.message}\n      fix: {finding.fix}"))
    if result.smoke:
        s = result.smoke
        out.info(
            f"smoke: {s['num_envs']} worlds x {s['steps']} steps, observation width {s['observation_width']}, "
            f"reward {s['reward_mean']:.3f} ± {s['reward_std']:.3f}, success rate {s['success_rate']:.2f}"
        )
    startup = f"{result.startup_s:.2f} s" if result.startup_s is not None else "-"
    out.info(f"isolation: {result.level or 'not started'}; start-up {startup}; total {result.seconds:.2f} s")
    out.result(result.model_dump(mode="json"))
    if not result.ok:
        raise typer.Exit(1)


@app.command("lint")
def lint_cmd(
    file: Path = typer.Argument(..., help="task-code file"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Static checks only (never runs the code); exit code 1 when there are findings."""
    from video2policy.sandbox import lint

    out = Output(json_out)
    findings = lint(_read_code(out, file))
    for finding in findings:
        out.info(
            escape(f"{file}:{finding.line}:{finding.col}: [{finding.rule}] {finding.message}\n    fix: {finding.fix}")
        )
        out.event("finding", **finding.model_dump(mode="json"))
    out.info(f"{len(findings)} finding{'s' if len(findings) != 1 else ''}")
    out.result({"file": str(file), "findings": [f.model_dump(mode="json") for f in findings]})
    if findings:
        raise typer.Exit(1)


@app.command("level")
def level_cmd(json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout")) -> None:
    """The isolation level generated code runs at here, and why."""
    from video2policy.sandbox.isolation import bwrap_works, isolation_level

    out = Output(json_out)
    level = isolation_level()
    ok, why = bwrap_works()
    out.info(f"sandbox level: {level}" + ("" if level == "bwrap" else f" ({why or 'forced by V2P_SANDBOX_LEVEL'})"))
    out.result({"level": level, "bwrap_usable": ok, "why": why})
