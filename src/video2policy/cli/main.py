"""The `v2p` command. Each command group lives in its own module and is registered here."""

from __future__ import annotations

import json
import sys

import typer

from video2policy.cli import bench, doctor
from video2policy.cli.output import Output

app = typer.Typer(
    help="video2policy: turn videos of people handling objects into robot tasks and policies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
schema_app = typer.Typer(help="Print JSON Schemas of the file contracts.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
app.add_typer(bench.app, name="bench")
app.command("doctor")(doctor.doctor)


@schema_app.command("scene")
def schema_scene() -> None:
    """The JSON Schema of scene.json (SceneSpec)."""
    from video2policy.scene import scene_json_schema

    sys.stdout.write(json.dumps(scene_json_schema(), indent=2) + "\n")


def fail(out: Output, message: str, code: int = 2) -> typer.Exit:
    """Report an expected failure without a traceback: red text on stderr, an `error` event with --json."""
    out.console.print(f"[red]error:[/] {message}")
    out.event("error", message=message)
    return typer.Exit(code)


if __name__ == "__main__":
    app()
