"""`v2p trace show|stats RUN`: the run's ledger, and its statistics (costs, hallucination analysis, curves)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from video2policy.cli.output import Output

app = typer.Typer(help="Read a run's trace (trace.jsonl).", no_args_is_help=True)


def _check(out: Output, run_dir: Path) -> None:
    from video2policy.cli.main import fail

    if not (run_dir / "trace.jsonl").is_file():
        raise fail(out, f"{run_dir}: no trace.jsonl (not a run folder, or the run has not started)")


@app.command("show")
def show_cmd(
    run_dir: Path = typer.Argument(..., help="the run folder"),
    kind: list[str] | None = typer.Option(
        None,
        "--kind",
        help="only these kinds (llm_call, candidate, pick, training, iteration, reflection, evaluation, ...)",
    ),
    json_out: bool = typer.Option(False, "--json", help="one JSON line per ledger line on stdout"),
) -> None:
    """Every model call, candidate, sandbox result, training, pick and reflection, in order."""
    import sys

    from video2policy.trace.ledger import read_trace

    out = Output(json_out)
    _check(out, run_dir)
    for line in read_trace(run_dir / "trace.jsonl"):
        if kind and line.get("kind") not in kind:
            continue
        if json_out:
            sys.stdout.write(json.dumps(line, default=str) + "\n")
        else:
            out.info(_one_line(line))


def _one_line(x: dict) -> str:
    from video2policy.trace.curves import success_of

    k = x.get("kind")
    if k == "llm_call":
        return (
            f"[cyan]llm[/] {x['agent']}#{x.get('sample', 0)} {x['provider']} "
            f"{'(cached) ' if x.get('cached') else ''}{x.get('input_tokens', 0)}+{x.get('output_tokens', 0)} tok "
            f"${x.get('cost_usd', 0):.4f} {x.get('latency_s', 0):.2f}s"
        )
    if k == "candidate":
        state = "ok" if x.get("ok") else f"{x.get('tier')}: {x.get('reason')}: {str(x.get('message'))[:100]}"
        return f"[magenta]candidate[/] {x['k']} attempt {x.get('attempt')}: {state}"
    if k == "training":
        m = x.get("metrics") or {}
        return (
            f"[green]training[/] it {x['iteration']} variant {x['m']}: {x.get('status')} "
            f"success {success_of(m)}{' (reused)' if x.get('reused') else ''}"
            + (f" {x.get('reason')}: {str(x.get('message'))[:100]}" if x.get("status") != "ok" else "")
        )
    if k == "pick":
        return f"[yellow]pick[/] {x.get('choice')}: {escape(str(x.get('reason')))}"
    if k == "iteration":
        return f"[bold]iteration[/] {x['iteration']}: best {x.get('best_m')} score {x.get('best_score')}"
    if k == "evaluation":
        return f"[bold]evaluation[/]: ground-truth success {x.get('success_rate')} ({x.get('status')})"
    rest = {a: b for a, b in x.items() if a not in ("t", "kind", "prompt", "response")}
    return f"{k} {json.dumps(rest, default=str)[:200]}"


@app.command("stats")
def stats_cmd(
    run_dir: Path = typer.Argument(..., help="the run folder"),
    json_out: bool = typer.Option(False, "--json", help="the statistics as one JSON object"),
) -> None:
    """Model calls and cost, the hallucination analysis (paper Table 8) and iteration curves (Figure 4)."""
    from video2policy.trace.stats import run_stats

    out = Output(json_out)
    _check(out, run_dir)
    stats = run_stats(run_dir)
    if json_out:
        out.result(stats)
        return
    llm, h = stats["llm"], stats["hallucination"]
    out.info(
        f"model calls: {llm['calls']} sent ({llm['cached_calls']} from cache) by {', '.join(llm['providers'])}; "
        f"{llm['input_tokens']} + {llm['output_tokens']} tokens; ${llm['cost_usd']:.4f}"
    )
    c = h["candidates"]
    out.info(
        f"candidates: {c['count']}; non-runnable at first attempt {c['non_runnable_first_attempt']}, "
        f"after repair {c['non_runnable_after_repair']}; picked {c['picked']}"
    )
    for when in ("before_picking", "after_picking"):
        x = h[when]
        out.info(
            f"{when.replace('_', ' ')}: non-runnable {x['non_runnable']}, "
            f"runnable zero-success {x['runnable_zero_success']}"
        )
    for it in stats["iterations"]:
        out.info(
            f"iteration {it['iteration']}: best success {it['best_success']}, mean {it['mean_success']} "
            f"({it['runnable']}/{it['trained']} runnable)"
        )
    out.info(f"ground-truth success: {stats['ground_truth_success']}")
