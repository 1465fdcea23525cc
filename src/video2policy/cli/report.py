"""`v2p report RUN`: write (or rewrite) the run's self-contained report.html."""

from __future__ import annotations

from pathlib import Path

import typer

from video2policy.cli.output import Output


def report_cmd(
    run_dir: Path = typer.Argument(..., help="the run folder"),
    open_browser: bool = typer.Option(False, "--open", help="open it in a web browser"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """One HTML file: input video beside the policy's rollout, success per iteration, reward curves, code, costs."""
    from video2policy.cli.main import fail
    from video2policy.trace.report import write_report

    out = Output(json_out)
    if not (run_dir / "run.json").is_file():
        raise fail(out, f"{run_dir}: not a run folder (no run.json)")
    path = write_report(run_dir)
    out.info(f"report: {path}")
    if open_browser:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    out.result({"report": str(path)})
