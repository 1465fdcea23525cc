"""`v2p synth BEHAVIOR`: a rendered video of a behavior with ground truth (gt.json), for testing perception."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from video2policy.cli.output import Output


def synth_cmd(
    behavior: str = typer.Argument(..., help="behavior family, e.g. push_left (see `v2p behaviors list`)"),
    seed: int = typer.Option(0, "--seed", help="seeds objects, layout, camera and the demonstration"),
    out_dir: Path = typer.Option(..., "--out", help="output folder (video.mp4, gt.json, task.py, assets/)"),
    size: str = typer.Option("320x240", "--size", help="frame size WxH in pixels"),
    fps: float = typer.Option(15.0, "--fps", help="frames per second (also the demonstration's control rate)"),
    depth: bool = typer.Option(False, "--depth", help="also write depth/NNNNN.png, 16-bit millimetres"),
    masks: bool = typer.Option(False, "--masks", help="also write masks/NNNNN.png object labels"),
    distractors: int | None = typer.Option(None, "--distractors", help="extra objects (default: random, ≤ 3 in all)"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Render BEHAVIOR done by a hand proxy on a table, seen by a random third-person camera, with gt.json."""
    from video2policy.cli.main import fail
    from video2policy.plugins import load_behaviors
    from video2policy.plugins.synth import synthesize

    out = Output(json_out)
    try:
        width, height = (int(v) for v in size.lower().split("x"))
        if width < 32 or height < 32:
            raise ValueError
    except ValueError:
        raise fail(out, f"--size must be WxH with both at least 32 pixels, e.g. 320x240; got {size!r}") from None
    if not 1 <= fps <= 60:
        raise fail(out, f"--fps must be between 1 and 60, got {fps}")
    registry = load_behaviors()
    try:
        family = registry.get(behavior)
    except KeyError as exc:
        raise fail(out, exc.args[0]) from None
    with out.progress(f"synth {behavior}", total=family.demo_steps) as bar:
        try:
            result = synthesize(
                family, seed, out_dir, size=(width, height), fps=fps, depth=depth, masks=masks,
                distractors=distractors, progress=lambda t, n: bar.update(t + 1),
            )  # fmt: skip
        except NotImplementedError as exc:
            raise fail(out, f"behavior {behavior!r} cannot make synthetic videos: {exc}") from None
    if not result.success:
        out.warn(f"the scripted demonstration did not reach {behavior}'s ground-truth success (seed {seed})")
    out.info(
        f"wrote {result.video} ({result.frames} frames) and {result.gt}: {escape(repr(result.scene.caption))}, "
        f"objects {[o.name for o in result.scene.objects]}"
    )
    out.result({
        "video": str(result.video), "gt": str(result.gt), "frames": result.frames, "success": result.success,
        "caption": result.scene.caption, "roles": result.roles,
    })  # fmt: skip
