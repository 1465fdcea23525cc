"""`v2p bench ...`: benchmarks reported as ratios against a baseline measured in the same run."""

from __future__ import annotations

import typer

from video2policy.cli.output import Output

app = typer.Typer(help="Benchmarks (ratios against a baseline measured in the same run).", no_args_is_help=True)


@app.command("sim")
def bench_sim_cmd(
    sizes: str = typer.Option("1,16,64,256", help="comma-separated numbers of parallel worlds"),
    env_steps: int = typer.Option(12_000, help="env-steps per side and size (sets the run time)"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Batched environment env-steps/s against a raw mj_step loop on the same compiled model."""
    from video2policy.tools.sim.bench import bench_sim, summary_table

    out = Output(json_out)
    ns = tuple(int(s) for s in sizes.split(","))
    with out.progress("bench sim", total=len(ns)) as bar:
        rows = bench_sim(ns, env_steps, progress=lambda i, row: bar.update(i, f"N={row['num_envs']}", row=row))
    out.info(summary_table(rows))
    out.result({"benchmark": "sim", "rows": rows})
