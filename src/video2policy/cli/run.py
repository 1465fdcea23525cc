"""`v2p run VIDEO --caption ...` (perceive, then the agents' graph) and `v2p run --scene scene.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from video2policy.cli.output import Output

RUN_HELP = "Turn a video (or a scene file) into a task and a trained policy: perceive, analyse, code, train, report."


def settings_from_flags(**flags: Any) -> Any:
    """Settings with the flags that were given (None = not given, fall through to env and v2p.toml)."""
    from video2policy.settings import load_settings

    if flags.get("ablations") == []:
        flags["ablations"] = None
    return load_settings(**flags)


def review_prompt(out: Output) -> Any:
    """Ask a person at the terminal to approve, edit or reject the picked code; None when nobody can answer."""
    if out.json_mode or not out.console.is_terminal:
        return None

    def ask(payload: dict[str, Any]) -> dict[str, Any] | None:
        from rich.syntax import Syntax

        out.console.rule(f"review: candidate {payload['k']} ({payload['reason']})")
        out.console.print(Syntax(payload["code"], "python", line_numbers=True))
        choice = typer.prompt("approve, edit or reject? [a/e/r]", default="a").strip().lower()[:1]
        if choice == "r":
            return {"action": "reject"}
        if choice == "e":
            edited = typer.edit(payload["code"], extension=".py")
            return {"action": "edit", "code": edited} if edited else {"action": "approve"}
        return {"action": "approve"}

    return ask


def report_summary(out: Output, summary: dict[str, Any]) -> None:
    if summary["status"] == "awaiting_review":
        out.info(
            f"[yellow]waiting for review[/]: candidate {summary['review']['k']} at {summary['review']['path']}\n"
            f"continue with `v2p resume {summary['run_dir']} --approve` (or --reject, --edit FILE)"
        )
    else:
        gt = summary.get("ground_truth_success")
        out.info(
            f"[bold green]{summary['status']}[/]: {summary['run_dir']} (provider {summary['provider']}); "
            f"ground-truth success {gt if gt is not None else 'n/a'}; report {summary.get('report')}"
        )
    out.result(summary)


def run_cmd(
    video: Path | None = typer.Argument(None, help="input video (mp4/webm); omit with --scene"),
    caption: str | None = typer.Option(None, help='what happens, e.g. "Pushing [cup] from right to left"'),
    objects: list[str] | None = typer.Option(None, "--objects", help="object names to find (repeatable)"),
    behavior: str | None = typer.Option(None, help="behavior plugin name; default: the scene analyst decides"),
    scene: Path | None = typer.Option(None, help="skip perception: start from this scene.json"),
    run_dir: Path | None = typer.Option(None, help="run folder (default: <runs_dir>/<timestamp>-<id>)"),
    backend: str = typer.Option("classical", help="perception backend"),
    provider: str | None = typer.Option(None, help="openai | offline | auto"),
    base_url: str | None = typer.Option(None, help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1"),
    model: str | None = typer.Option(None, help="model name at the endpoint"),
    code_samples: int | None = typer.Option(None, "-K", "--code-samples", help="task-code candidates (paper: 8)"),
    reward_samples: int | None = typer.Option(None, "-M", "--reward-samples", help="reward variants (paper: 8)"),
    iterations: int | None = typer.Option(None, "-N", "--iterations", help="reflection iterations (paper: 5)"),
    env_steps: int | None = typer.Option(None, "--env-steps", help="environment steps per training"),
    ablation: list[str] | None = typer.Option(
        None,
        "--ablation",
        help="no_visual, no_success_picking, no_reflection, single_reward_sample, no_tracking, robogen",
    ),
    review: bool = typer.Option(False, "--review", help="stop after picking to approve, edit or reject the code"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable events on stdout"),
) -> None:
    """Turn a video (or a scene file) into a simulated task and a trained policy."""
    from video2policy.cli.main import fail

    out = Output(json_out)
    if (video is None) == (scene is None):
        raise fail(out, "give either a VIDEO (with --caption) or --scene scene.json")
    if video is not None and not caption:
        raise fail(out, "--caption is required with a video (e.g. --caption 'Pushing [cup] from right to left')")
    if video is not None and not video.is_file():
        raise fail(out, f"{video}: no such video file")
    try:
        settings = settings_from_flags(
            llm_provider=provider,
            llm_base_url=base_url,
            llm_model=model,
            code_samples=code_samples,
            reward_samples=reward_samples,
            iterations=iterations,
            train_env_steps=env_steps,
            ablations=ablation,
            review=review or None,
        )
    except ValueError as exc:
        raise fail(out, f"settings: {exc}") from None
    summary = start_and_execute(
        out,
        settings,
        video=video,
        caption=caption,
        objects=objects,
        behavior=behavior,
        scene=scene,
        run_dir=run_dir,
        backend=backend,
    )
    report_summary(out, summary)


def start_and_execute(
    out: Output,
    settings: Any,
    *,
    video: Path | None,
    caption: str | None,
    objects: list[str] | None,
    behavior: str | None,
    scene: Path | None,
    run_dir: Path | None,
    backend: str = "classical",
    registry: Any = None,
) -> dict[str, Any]:
    """Create the run (perceiving the video when there is no scene), then execute its graph."""
    from video2policy.agents.run import RunError, create_run, execute
    from video2policy.agents.toolbox import ToolMissing
    from video2policy.cli.main import fail
    from video2policy.scene import SceneError

    try:
        inputs: dict[str, Any] = {}
        if scene is None:
            scene, inputs = perceive_video(out, settings, video, caption, objects, backend, run_dir)
        run = create_run(settings, scene, caption=caption, behavior=behavior, run_dir=run_dir, inputs=inputs)
        out.info(f"run folder: {run}")
        out.event("run", run_dir=str(run))
        return execute(run, out, review_decision=None, reviewer=review_prompt(out), registry=registry)
    except (RunError, SceneError, ToolMissing) as exc:
        raise fail(out, str(exc)) from None
    except Exception as exc:
        from video2policy.agents.llm import LLMError

        if isinstance(exc, LLMError) or type(exc).__name__ == "PerceptionError":
            raise fail(out, f"{exc} (the run can be continued with `v2p resume`)") from None
        raise


def perceive_video(
    out: Output, settings: Any, video: Path, caption: str, objects: list[str] | None, backend: str, run_dir: Path | None
) -> tuple[Path, dict[str, Any]]:
    import time

    from video2policy.tools.perception import perceive

    work = Path(run_dir) / "perception" if run_dir else Path(settings.runs_dir) / f"perception-{time.time_ns()}"
    with out.progress("perception", total=None) as bar:
        perceive(
            video,
            caption,
            objects,
            work,
            backend=backend,
            progress=lambda *a, **k: bar.update(0, status=str(a[0]) if a else ""),
        )
    return work / "scene.json", {
        "video": str(video),
        "objects": objects,
        "perception_backend": backend,
        "perception_dir": str(work),
    }


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)
