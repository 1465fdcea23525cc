"""The full demo run: synthesize a video of a behavior (push left by default), take its scene (perceived from the
video, or the synthetic ground truth), run the agents' graph on it, and write the report.

Small sizes by default (K = 2, M = 2, N = 2) so it finishes on a laptop with the offline provider; every size is
a setting, so `V2P_CODE_SAMPLES=8` etc. turn it into the paper's configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape

from video2policy.agents import toolbox
from video2policy.agents.run import create_run, execute
from video2policy.cli.output import Output
from video2policy.settings import Settings

DEMO_SIZES = {
    "code_samples": 2,
    "reward_samples": 2,
    "iterations": 2,
    "train_env_steps": 150_000,
    "train_num_envs": 64,
    "eval_episodes": 10,
    "eval_seeds": (0, 1, 2),
}


def demo_settings(settings: Settings, explicit: set[str]) -> Settings:
    """The demo's small sizes, except where the user set a value (flag, V2P_* variable or v2p.toml)."""
    return settings.model_copy(update={k: v for k, v in DEMO_SIZES.items() if k not in explicit})


def run_full_demo(
    out: Output,
    settings: Settings,
    work_dir: Path,
    *,
    behavior: str = "push_left",
    seed: int = 0,
    perceive: bool = False,
) -> dict[str, Any]:
    """Synthesize → scene → graph → report; returns the run summary (with `synthetic` details added)."""
    from video2policy.plugins.synth import synthesize

    work_dir = Path(work_dir)
    registry = toolbox.behaviors()
    b = registry.get(behavior)
    with out.progress(f"synthesize a {behavior} video", total=b.demo_steps) as bar:
        synth = synthesize(b, seed, work_dir / "synth", progress=lambda i, n: bar.update(i, status=f"frame {i}"))
    out.info(f"synthetic video: {synth.video} ({synth.frames} frames; caption {escape(repr(synth.scene.caption))})")
    scene_path, source = synth.gt, "ground truth"
    if perceive:
        scene_path, source = _perceive(out, synth, work_dir)
    out.event("demo_scene", scene=str(scene_path), source=source)
    run_dir = create_run(
        settings,
        scene_path,
        run_dir=work_dir / "run",
        inputs={"synthetic": {"behavior": behavior, "seed": seed, "scene_source": source, "video": str(synth.video)}},
    )
    summary = execute(run_dir, out, registry=registry)
    return summary | {"synthetic_video": str(synth.video), "scene_source": source}


def _perceive(out: Output, synth: Any, work_dir: Path) -> tuple[Path, str]:
    """The perceived scene, or the ground truth (with a warning) when perception is unavailable or fails."""
    try:
        from video2policy.tools.perception import perceive

        labels = [o.label for o in synth.scene.objects]
        scene = perceive(synth.video, synth.scene.caption, labels, work_dir / "perception")
    except Exception as exc:  # perception failing must not sink the demo: fall back to ground truth, say so
        out.warn(f"perception failed or is unavailable ({type(exc).__name__}: {exc}); using the ground-truth scene")
        return synth.gt, "ground truth (perception failed)"
    del scene
    return work_dir / "perception" / "scene.json", "perception"
