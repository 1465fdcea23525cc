"""The `v2p` command. Each command group lives in its own module and is registered here."""

from __future__ import annotations

import json
import sys

import typer
from rich.markup import escape

from video2policy.cli import (
    behaviors,
    bench,
    chat,
    demo,
    doctor,
    perceive,
    report,
    resume,
    run,
    sandbox,
    synth,
    trace,
    train,
)
from video2policy.cli.output import Output

app = typer.Typer(
    help="video2policy: turn videos of people handling objects into robot tasks and policies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
schema_app = typer.Typer(help="Print JSON Schemas of the file contracts.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
app.add_typer(bench.app, name="bench")
app.add_typer(behaviors.app, name="behaviors")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(trace.app, name="trace")
app.command("doctor")(doctor.doctor)
app.command("demo")(demo.demo)
app.command("synth")(synth.synth_cmd)
app.command("perceive")(perceive.perceive_cmd)
app.command("train")(train.train_cmd)
app.command("eval")(train.eval_cmd)
app.command("run", help=run.RUN_HELP)(run.run_cmd)
app.command("resume")(resume.resume_cmd)
app.command("report")(report.report_cmd)
app.command("chat")(chat.chat_cmd)


@schema_app.command("scene")
def schema_scene() -> None:
    """The JSON Schema of scene.json (SceneSpec)."""
    from video2policy.scene import scene_json_schema

    sys.stdout.write(json.dumps(scene_json_schema(), indent=2) + "\n")


def fail(out: Output, message: str, code: int = 2) -> typer.Exit:
    """Report an expected failure without a traceback: red text on stderr, an `error` event with --json."""
    # soft_wrap: a path or command in the message must stay on one line to be copied; escape: paths may hold "[".
    out.console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    out.event("error", message=message)
    return typer.Exit(code)


if __name__ == "__main__":
    app()
