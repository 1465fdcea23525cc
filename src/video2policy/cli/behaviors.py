"""`v2p behaviors list|show`: the behavior families found through the `video2policy.behaviors` entry points."""

from __future__ import annotations

import typer

from video2policy.cli.output import Output

app = typer.Typer(help="Behavior families (plugins): list them, show one.", no_args_is_help=True)


@app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout")) -> None:
    """Every behavior plugin found, and every plugin that failed to load with its error."""
    from rich.markup import escape
    from rich.table import Table

    from video2policy.plugins import load_behaviors

    out = Output(json_out)
    registry = load_behaviors()
    table = Table(title="behavior families", show_lines=False)
    for column in ("name", "roles", "source", "description"):
        table.add_column(column)
    for b in registry.all():
        table.add_row(b.name, ", ".join(b.roles), escape(registry.sources[b.name]), escape(b.description))
    for name, error in registry.errors.items():
        table.add_row(f"[red]{escape(name)}[/]", "", "[red]failed to load[/]", f"[red]{escape(error)}[/]")
    out.console.print(table)
    out.result({
        "behaviors": [
            {"name": b.name, "roles": list(b.roles), "source": registry.sources[b.name], "description": b.description,
             "api_version": b.api_version}
            for b in registry.all()
        ],
        "errors": registry.errors,
    })  # fmt: skip


@app.command("show")
def show_cmd(
    name: str = typer.Argument(..., help="behavior name, e.g. push_left"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
    code: bool = typer.Option(False, "--code", help="also print the reference task code for placeholder objects"),
) -> None:
    """Caption patterns, roles, prompt hints, chain-of-thought examples and reward weights of one behavior."""
    from rich.markup import escape

    from video2policy.cli.main import fail
    from video2policy.plugins import load_behaviors

    out = Output(json_out)
    registry = load_behaviors()
    try:
        behavior = registry.get(name)
    except KeyError as exc:
        raise fail(out, exc.args[0]) from None
    info = behavior.describe()
    info["source"] = registry.sources[name]
    roles = {role: role for role in behavior.roles}
    if code or json_out:
        info["reference_code"] = behavior.render_task_code(roles)
    out.info(f"[bold]{name}[/] ({escape(info['source'])}, plugin API {info['api_version']}): "
             + escape(info["description"]))  # fmt: skip
    out.info("caption patterns: " + escape("; ".join(info["caption_patterns"])))
    out.info("roles: " + escape("; ".join(f"{k} = {v}" for k, v in info["roles"].items())))
    for hint in info["prompt_hints"]:
        out.info(f"hint: {escape(hint)}")
    for example in info["cot_examples"]:
        out.info(f"example: {escape(example)}")
    out.info("reward weights: " + ", ".join(f"{k}={v}" for k, v in info["reward_weights"].items()))
    if info["train_hyperparameters"]:
        out.info("PPO overrides: " + ", ".join(f"{k}={v}" for k, v in info["train_hyperparameters"].items()))
    if code:
        out.console.print(info["reference_code"], markup=False, highlight=False, soft_wrap=True)
    out.result(info)
