"""`v2p resume RUN`: finish a run that was stopped (killed, crashed, or waiting for review)."""

from __future__ import annotations

from pathlib import Path

import typer

from video2policy.cli.output import Output


def resume_cmd(
    run_dir: Path = typer.Argument(..., help="the run folder"),
    approve: bool = typer.Option(False, "--approve", help="approve the picked code (run waiting for review)"),
    reject: bool = typer.Option(False, "--reject", help="reject it: the critic picks another candidate"),
    edit: Path | None = typer.Option(None, "--edit", help="replace it with this file (checked by the sandbox)"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable events on stdout"),
) -> None:
    """Continue a run from its last checkpoint; model calls and finished trainings are never repeated."""
    from video2policy.agents.llm import LLMError
    from video2policy.agents.run import RunError, execute
    from video2policy.agents.toolbox import ToolMissing
    from video2policy.cli.main import fail
    from video2policy.cli.run import report_summary, review_prompt

    out = Output(json_out)
    if sum([approve, reject, edit is not None]) > 1:
        raise fail(out, "give at most one of --approve, --reject, --edit")
    decision = None
    if approve:
        decision = {"action": "approve"}
    elif reject:
        decision = {"action": "reject"}
    elif edit is not None:
        if not edit.is_file():
            raise fail(out, f"--edit {edit}: no such file")
        decision = {"action": "edit", "code": edit.read_text()}
    if not (run_dir / "run.json").is_file():
        raise fail(out, f"{run_dir}: not a run folder (no run.json)")
    try:
        summary = execute(run_dir, out, review_decision=decision, reviewer=review_prompt(out))
    except (RunError, ToolMissing, LLMError) as exc:
        raise fail(out, str(exc)) from None
    report_summary(out, summary)
