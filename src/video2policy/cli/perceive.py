"""`v2p perceive VIDEO`: reconstruct the scene of a video (scene.json, assets/, contact_sheet.png), stage by stage."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import typer

from video2policy.cli.output import Output


class StageBars:
    """One progress bar per perception stage, opened when the stage starts and closed when the next one does."""

    def __init__(self, out: Output):
        self.out = out
        self.stack: ExitStack | None = None
        self.stage: str | None = None
        self.bar = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stack, self.stage = ExitStack(), stage
            self.bar = self.stack.enter_context(self.out.progress(f"perceive {stage}", total=total))
        self.bar.bar.update(self.bar.task_id, total=total)
        self.bar.update(done, total=total)

    def close(self) -> None:
        if self.stack is not None:
            self.stack.close()
        self.stack, self.stage, self.bar = None, None, None


def perceive_cmd(
    video: Path = typer.Argument(..., help="an mp4/webm file, or a folder of frames (jpg/png)"),
    caption: str = typer.Option("", "--caption", help="e.g. 'Pushing [cup] from right to left'"),
    objects: str = typer.Option("", "--objects", help="comma-separated object names (default: the caption's [..])"),
    out_dir: Path = typer.Option(..., "--out", help="output folder: scene.json, assets/, stages/, contact_sheet.png"),
    backend: str = typer.Option("classical", "--backend", help="classical | models | stage=backend,..."),
    depth: Path | None = typer.Option(None, "--depth", help="folder of depth frames (16-bit PNG, --depth-unit m each)"),
    depth_unit: float = typer.Option(0.001, "--depth-unit", help="metres per depth-PNG unit (0.001: millimetres)"),
    intrinsics: str | None = typer.Option(None, "--intrinsics", help="fx,fy,cx,cy in source pixels"),
    camera: Path | None = typer.Option(
        None, "--camera", help="a scene.json whose camera (intrinsics and pose) is known"
    ),
    hint: list[str] = typer.Option([], "--hint", help="NAME=x0,y0,x1,y1 (a box) or NAME=COLOUR; repeatable"),
    max_side: int = typer.Option(640, "--max-side", min=64, help="frames are shrunk to this longer side"),
    stride: int = typer.Option(1, "--stride", min=1, help="keep every n-th frame"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Find, segment and track the named objects, estimate the camera, fit and scale meshes, track 6D poses.

    A re-run with the same inputs resumes from the per-stage cache in OUT/stages/. A failing stage writes
    OUT/failure.json and keeps everything finished before it.
    """
    from video2policy.cli.main import fail
    from video2policy.scene import SceneSpec
    from video2policy.tools.perception import PerceptionError, PerceptionOptions, perceive

    out = Output(json_out)
    given_camera = None
    if camera is not None:
        try:
            given_camera = SceneSpec.load(camera).camera
        except Exception as exc:
            raise fail(out, f"--camera {camera}: not a readable scene.json ({exc})") from None
    names = [o.strip() for o in objects.split(",") if o.strip()] or None
    bars = StageBars(out)
    try:
        scene = perceive(
            video,
            caption,
            names,
            out_dir,
            backend=backend,
            depth_dir=depth,
            intrinsics=intrinsics,
            progress=bars,
            camera=given_camera,
            hints=list(hint) or None,
            options=PerceptionOptions(depth_unit=depth_unit, max_side=max_side, stride=stride),
        )
    except PerceptionError as exc:
        bars.close()
        out.event("failure", **exc.to_dict(), failure_json=str(out_dir / "failure.json"))
        raise fail(out, f"{exc} (partial results kept in {out_dir})") from None
    finally:
        bars.close()
    for warning in scene.provenance.warnings:
        out.warn(warning)
    shells = scene.provenance.stages.get("assets", {}).get("open", {})
    for obj in scene.objects:
        size = " x ".join(f"{100 * v:.1f}" for v in obj.size)
        first = ", ".join(f"{100 * v:.1f}" for v in obj.first.position)
        last = ", ".join(f"{100 * v:.1f}" for v in obj.last.position)
        shell = f", open at the {shells[obj.name]['open']}" if obj.name in shells else ""
        out.info(f"{obj.name}: {size} cm{shell}, first ({first}) cm, last ({last}) cm")
    out.info(f"wrote {out_dir / 'scene.json'}, {out_dir / 'assets'}/ and {out_dir / 'contact_sheet.png'}")
    out.result(
        {
            "scene": str(out_dir / "scene.json"),
            "contact_sheet": str(out_dir / "contact_sheet.png"),
            "objects": [
                {"name": o.name, "size": o.size, "first": o.first.position, "last": o.last.position}
                for o in scene.objects
            ],
            "warnings": scene.provenance.warnings,
            "stages": {
                s: {k: v for k, v in p.items() if k in ("backend", "seconds", "cached")}
                for s, p in scene.provenance.stages.items()
            },
        }
    )
