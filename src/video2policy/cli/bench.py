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


@app.command("rl")
def bench_rl_cmd(
    seeds: str = typer.Option("0,1,2", help="comma-separated training seeds per task"),
    tasks: str = typer.Option("reach_block,push_block_left", help="example tasks (examples/tasks/<name>.py)"),
    hp: list[str] = typer.Option([], "--hp", help="PPO hyperparameter override NAME=VALUE (repeatable)"),
    throughput_only: bool = typer.Option(False, "--throughput-only", help="only the training/raw throughput ratio"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Env steps and wall time to 0.9 eval success (reach, push), and training vs raw env throughput."""
    from video2policy.cli.train import _hyperparameters
    from video2policy.tools.rl.bench import bench_rl, summary_table

    out = Output(json_out)
    overrides = _hyperparameters(hp, out)
    if throughput_only:
        seeds = ""
    names, seed_list = tuple(tasks.split(",")), tuple(int(s) for s in seeds.split(",") if s.strip())
    with out.progress("bench rl", total=len(names) * len(seed_list) + 1) as bar:
        done = [0]

        def progress(kind: str, row: dict) -> None:
            done[0] += 1
            bar.update(done[0], f"{row['task']} {kind}", kind=kind, row=row)

        report = bench_rl(names, seed_list, progress=progress, hyperparameters=overrides)
    out.info(summary_table(report))
    out.result({"benchmark": "rl", **report})


@app.command("behaviors")
def bench_behaviors_cmd(
    families: str = typer.Option("", help="comma-separated families (default: every built-in and plugin family)"),
    seeds: int = typer.Option(3, help="training seeds per family (0..seeds-1)"),
    env_steps: int = typer.Option(0, help="env steps per training (0: the family's budget)"),
    work_dir: str = typer.Option("runs/bench-behaviors", help="scenes, task code and trainings go here"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Each family's reference task code: sandbox tiers, PPO on its own synthetic scene, ground-truth success."""
    from pathlib import Path

    from video2policy.plugins.bench import bench_family, markdown, summarize

    out = Output(json_out)
    registry, names = _families(out, families)
    rows = []
    with out.progress("bench behaviors", total=len(names) * seeds) as bar:
        for family in names:
            for seed in range(seeds):
                row = bench_family(registry.get(family), seed, Path(work_dir) / family / str(seed), env_steps or None)
                rows.append(row)
                bar.update(len(rows), f"{family} seed {seed}: {row.get('success', 0):.2f}", row=row)
    table = summarize(rows)
    out.info(markdown(table))
    out.result({"benchmark": "behaviors", "table": table, "rows": rows})


@app.command("sandbox")
def bench_sandbox_cmd(
    tasks: str = typer.Option("reach_block,grasp_block,push_block_left", help="example tasks (examples/tasks/)"),
    scene: str = typer.Option("examples/scenes/block.json", help="scene the tasks run on"),
    repeats: int = typer.Option(3, min=1, help="checks per task (and baseline start-ups), medians reported"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Full sandbox tier check of example tasks against a bare `python -I -c "import torch, ..."` start-up."""
    from pathlib import Path

    from video2policy.sandbox.bench import bench_sandbox, summary_table

    out = Output(json_out)
    paths = [Path("examples/tasks") / f"{name}.py" for name in tasks.split(",") if name]
    missing = [str(p) for p in [*paths, Path(scene)] if not p.is_file()]
    if missing:
        from video2policy.cli.main import fail

        raise fail(out, f"not found: {', '.join(missing)} (run from the repository root)")
    with out.progress("bench sandbox", total=len(paths)) as bar:
        report = bench_sandbox(paths, Path(scene), repeats, progress=lambda i, row: bar.update(i, row["task"], row=row))
    out.info(summary_table(report))
    out.result({"benchmark": "sandbox", **report})


@app.command("perception")
def bench_perception_cmd(
    families: str = typer.Option("", help="comma-separated families (default: every built-in and plugin family)"),
    seeds: int = typer.Option(3, help="synthetic videos per family (seeds first-seed..first-seed+seeds-1)"),
    first_seed: int = typer.Option(0, help="the first seed: 6 with --seeds 3 gives clips no rule was tuned on"),
    work_dir: str = typer.Option("runs/bench-perception", help="synthetic clips and perception outputs go here"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Classical perception on synthetic videos (camera given) against gt.json: size, position, yaw, failures."""
    from pathlib import Path

    from video2policy.tools.perception.bench import markdown, run_bench, summarize

    out = Output(json_out)
    _, names = _families(out, families)
    with out.progress("bench perception", total=len(names) * seeds) as bar:

        def progress(i: int, row: dict) -> None:
            bar.update(i, f"{row['family']} seed {row['seed']}", row=row)

        rows = run_bench(names, list(range(first_seed, first_seed + seeds)), Path(work_dir), progress=progress)
    summary = summarize(rows)
    out.info(markdown(rows, summary))
    out.result({"benchmark": "perception", "summary": summary, "rows": rows})


def _families(out: Output, families: str) -> tuple[object, list[str]]:
    """The behavior registry and the comma-separated families asked for (all when empty); unknown ones fail."""
    from video2policy.cli.main import fail
    from video2policy.plugins import load_behaviors

    registry = load_behaviors()
    names = [f for f in families.split(",") if f] or registry.names()
    unknown = [f for f in names if f not in registry.behaviors]
    if unknown:
        raise fail(out, f"unknown families {unknown}; available: {', '.join(registry.names())}")
    return registry, names
