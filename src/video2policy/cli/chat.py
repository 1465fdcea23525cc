"""`v2p chat RUN "it pushes too slowly"`: a person's feedback for the run's next reward reflection."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from video2policy.cli.output import Output


def chat_cmd(
    run_dir: Path = typer.Argument(..., help="the run folder"),
    message: str = typer.Argument(..., help="what you saw, e.g. 'it pushes too slowly'"),
    more: int = typer.Option(
        0,
        "--more",
        help="for a finished run: add this many reflection iterations that use the feedback, and continue now",
    ),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Add feedback that the reward reflector reads at its next reflection."""
    from video2policy.agents.run import RunError, execute, extend_run
    from video2policy.cli.main import fail
    from video2policy.cli.run import report_summary

    out = Output(json_out)
    if not (run_dir / "run.json").is_file():
        raise fail(out, f"{run_dir}: not a run folder (no run.json)")
    if not message.strip():
        raise fail(out, "the feedback message is empty")
    with (run_dir / "feedback.jsonl").open("a") as f:
        f.write(json.dumps({"t": time.time(), "text": message.strip()}) + "\n")
    out.info(f"feedback saved for the next reflection of {run_dir.name}")
    out.event("feedback", run_dir=str(run_dir), text=message.strip())
    if more > 0:
        try:
            extend_run(run_dir, more)
            summary = execute(run_dir, out)
        except RunError as exc:
            raise fail(out, str(exc)) from None
        report_summary(out, summary)
    else:
        out.result({"run_dir": str(run_dir), "feedback": message.strip()})
