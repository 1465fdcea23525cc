"""`v2p demo`: the whole pipeline on a synthetic clip, on the embedded defaults (no GPU, no API key).

It synthesizes a video of a behavior (push left by default) with `v2p synth`, perceives it with the classical
backend (falling back, with a warning, to the clip's ground-truth scene if perception fails), runs the agents'
graph with small sizes (K = M = N = 2; the offline provider unless an endpoint is configured), evaluates the
policy with the behavior's ground-truth success check and writes runs/<id>/report.html.

`--rl-only` is the foundation's smaller demo: PPO on the bundled push example and a ground-truth evaluation, into
runs/<id>/final/{policy.pt, eval.json, rollout.mp4}. `train_and_evaluate` is its reusable part.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import typer

from video2policy.cli.output import Output
from video2policy.paths import BLOCK_SCENE, example_task

DEMO_STEPS = 150_000


def train_and_evaluate(
    out: Output,
    scene_path: Path,
    task_code_path: Path,
    run_dir: Path,
    success_fn: Any,
    *,
    env_steps: int = DEMO_STEPS,
    num_envs: int = 64,
    seed: int = 0,
    episodes: int = 10,
    seeds: tuple[int, ...] = (0, 1, 2),
    success_weight: float = 100.0,
    hyperparameters: dict[str, Any] | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Train in run_dir/train, evaluate with `success_fn`, and fill run_dir/final; returns a summary dict.

    A failed training (typed task-code failure) is returned, not raised: summary["status"] == "failed".
    """
    from video2policy.tools.rl.evaluate import evaluate
    from video2policy.tools.rl.train import TrainJob, train

    run_dir = Path(run_dir)
    final = run_dir / "final"
    final.mkdir(parents=True, exist_ok=True)
    job = TrainJob(
        scene_path=scene_path,
        task_code_path=task_code_path,
        out_dir=run_dir / "train",
        env_steps=env_steps,
        num_envs=num_envs,
        seed=seed,
        success_weight=success_weight,
        hyperparameters=hyperparameters or {},
        timeout_s=timeout_s,
    )
    with out.progress("train", total=env_steps) as bar:

        def progress(record: dict) -> None:
            rate = record.get("success_rate")
            bar.update(
                min(record["env_steps"], env_steps),
                f"success {rate:.2f}" if rate is not None else "",
                env_steps=record["env_steps"],
                success_rate=rate,
            )

        result = train(job, progress=progress)
    summary: dict[str, Any] = {"run_dir": str(run_dir), "train": result.model_dump(mode="json")}
    if not result.ok or "policy" not in result.files:
        return summary | {"status": "failed", "reason": result.reason, "message": result.message}
    shutil.copyfile(result.files["policy"], final / "policy.pt")
    with out.progress("evaluate", total=len(seeds)) as bar:
        evaluation = evaluate(
            scene_path,
            task_code_path,
            final / "policy.pt",
            success_fn,
            episodes=episodes,
            seeds=seeds,
            video_path=final / "rollout.mp4",
            progress=lambda i, n: bar.update(i, f"seed {i}/{n}"),
        )
    evaluation.save(final / "eval.json")
    return summary | {
        "status": "ok",
        "success_rate": evaluation.success_rate,
        "success_std": evaluation.success_std,
        "policy": str(final / "policy.pt"),
        "eval": str(final / "eval.json"),
        "video": evaluation.video,
    }


def demo(
    runs_dir: Path | None = typer.Option(
        None, "--runs-dir", help="where the run folder goes (default: setting runs_dir)"
    ),
    behavior: str = typer.Option("push_left", "--behavior", help="behavior family of the synthetic clip"),
    seed: int = typer.Option(0, "--seed", help="seed of the synthetic clip and of training"),
    use_perception: bool = typer.Option(
        True, "--perceive/--ground-truth", help="perceive the clip, or start from its ground-truth scene"
    ),
    open_report: bool = typer.Option(True, "--open/--no-open", help="open report.html in a browser when one exists"),
    rl_only: bool = typer.Option(False, "--rl-only", help="only train and evaluate the bundled push example"),
    steps: int = typer.Option(DEMO_STEPS, "--steps", help="training env steps (with --rl-only)"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Synthesize a push video, perceive it, run the agents, train, evaluate and write the report."""
    from video2policy.cli.main import fail
    from video2policy.settings import load_settings

    out = Output(json_out)
    try:
        settings = load_settings()
    except ValueError as exc:
        raise fail(out, f"settings: {exc}") from None
    run_dir = Path(runs_dir or settings.runs_dir) / time.strftime("demo-%Y%m%d-%H%M%S")
    if rl_only:
        return _rl_only_demo(out, settings, run_dir, steps, seed)

    from video2policy.agents.demo import demo_settings, run_full_demo
    from video2policy.agents.run import RunError
    from video2policy.agents.toolbox import ToolMissing

    settings = demo_settings(settings, set(settings.model_fields_set))
    start = time.perf_counter()
    out.info(
        f"demo {run_dir}: {behavior} clip (seed {seed}) → {'perception' if use_perception else 'ground truth'} → "
        f"agents (K={settings.code_samples}, M={settings.reward_samples}, N={settings.iterations}, "
        f"{settings.train_env_steps:,} env steps per training) → report"
    )
    try:
        summary = run_full_demo(out, settings, run_dir, behavior=behavior, seed=seed, perceive=use_perception)
    except (RunError, ToolMissing, KeyError) as exc:
        raise fail(out, f"demo: {exc}") from None
    summary["wall_s"] = round(time.perf_counter() - start, 1)
    from video2policy.cli.run import report_summary

    report_summary(out, summary)
    if summary.get("status") != "done":
        raise fail(out, f"demo did not finish: status {summary.get('status')}", code=1)
    report = summary.get("report")
    if open_report and report and not json_out and _has_display():
        import webbrowser

        webbrowser.open(Path(report).resolve().as_uri())


def _has_display() -> bool:
    """A browser can be shown: a desktop session (macOS/Windows, or X11/Wayland on Linux)."""
    import os
    import sys

    return sys.platform in {"darwin", "win32"} or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _rl_only_demo(out: Output, settings: Any, run_dir: Path, steps: int, seed: int) -> None:
    """PPO on examples/tasks/push_block_left.py and a ground-truth evaluation with a rollout video."""
    from video2policy.cli.main import fail
    from video2policy.scene import SceneSpec
    from video2policy.tools.rl import ground_truth

    scene_path, task_path = BLOCK_SCENE, example_task("push_block_left")
    if not scene_path.is_file() or not task_path.is_file():
        raise fail(out, f"the bundled examples are missing ({scene_path}, {task_path}); run from a source checkout")
    try:
        success_fn, source = ground_truth.from_behavior(SceneSpec.load(scene_path))
    except (ImportError, KeyError, ValueError) as exc:
        success_fn, source = ground_truth.EXAMPLES["push_block_left"], "the example's hand-written check"
        out.warn(f"no behavior plugin for the demo scene ({exc}); evaluating with {source}")
    out.info(f"demo run {run_dir}: train {task_path.name} for {steps} env steps, then evaluate ({source})")
    summary = train_and_evaluate(
        out,
        scene_path,
        task_path,
        run_dir,
        success_fn,
        env_steps=steps,
        seed=seed,
        episodes=settings.eval_episodes,
        seeds=tuple(settings.eval_seeds),
        success_weight=settings.success_weight,
    )
    summary["success_source"] = source
    out.result(summary)
    if summary["status"] != "ok":
        raise fail(out, f"demo training failed: {summary['reason']}: {summary['message']}", code=1)
    out.info(
        f"success {summary['success_rate']:.2f} ± {summary['success_std']:.2f}; "
        f"policy {summary['policy']}, video {summary['video']}"
    )
