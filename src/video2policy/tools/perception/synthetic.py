"""Small rendered clips with exact ground truth, for tests and as the benchmark's fallback when `v2p synth` is absent.

Objects move kinematically (no physics) from a start to an end pose while the gripper hovers over the first one;
the clip, optional depth PNGs (millimetres) and gt.json (a SceneSpec with every frame's pose) are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import mujoco
import numpy as np

from video2policy.scene import Camera, Intrinsics, Pose, SceneObject, SceneSpec
from video2policy.tools.perception.geometry import look_at, quat_wxyz, yaw_quat


@dataclass
class MovingObject:
    name: str
    shape: str  # box | cylinder | sphere
    size: tuple[float, float, float]
    color: tuple[float, float, float]
    start: tuple[float, float, float]  # x, y, yaw
    end: tuple[float, float, float]
    lift: float = 0.0  # peak height above the table in the middle of the clip


def default_synthetic_camera(
    width: int = 320, height: int = 240, hfov_deg: float = 58.0, elevation_deg: float = 40.0, distance: float = 0.65
) -> Camera:
    """A camera in front of the table looking down at its centre, as `v2p synth` frames its scenes."""
    target = np.array([0.0, 0.05, 0.0])
    e = np.radians(elevation_deg)
    eye = target + distance * np.array([0.0, -np.cos(e), np.sin(e)])
    fy = width / 2 / np.tan(np.radians(hfov_deg) / 2)
    return Camera(
        intrinsics=Intrinsics(fx=fy, fy=fy, cx=width / 2, cy=height / 2, width=width, height=height),
        position=tuple(eye.tolist()),
        quat=quat_wxyz(look_at(eye, target)),
        intrinsics_source="synthetic",
        pose_source="synthetic",
    )


def render_clip(
    out_dir: str | Path,
    objects: list[MovingObject],
    caption: str,
    frames: int = 24,
    fps: float = 10.0,
    camera: Camera | None = None,
    depth: bool = True,
    masks: bool = True,
) -> Path:
    """Write out_dir/video.mp4, depth/*.png (millimetres), masks/*.png (0 background, k = objects[k-1]) and gt.json."""
    from video2policy.tools.sim.builder import build
    from video2policy.tools.sim.render import SceneRenderer, VideoWriter
    from video2policy.tools.sim.robot import make_robot

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    camera = camera or default_synthetic_camera()
    k = camera.intrinsics
    scene = SceneSpec(
        task_title="synthetic clip",
        caption=caption,
        camera=camera,
        objects=[
            SceneObject(name=o.name, label=o.name.replace("_", " "), shape=o.shape, size=o.size, color=(*o.color, 1.0))
            for o in objects
        ],
    )
    compiled = build(scene, make_robot("gripper"))
    renderer = SceneRenderer(compiled, width=k.width, height=k.height)
    data, model = renderer.data, renderer.model
    robot = compiled.robot
    poses: dict[str, list[Pose]] = {o.name: [] for o in objects}
    for folder, wanted in (("depth", depth), ("masks", masks)):
        if wanted:
            (out_dir / folder).mkdir(exist_ok=True)
    with VideoWriter(out_dir / "video.mp4", fps=fps) as video:
        for t in range(frames):
            s = t / max(frames - 1, 1)
            ease = 0.5 - 0.5 * np.cos(np.pi * s)
            for o in objects:
                x, y, yaw = (np.asarray(o.start) * (1 - ease) + np.asarray(o.end) * ease).tolist()
                z = o.size[2] / 2 + o.lift * np.sin(np.pi * s)
                q = yaw_quat(yaw)
                adr = compiled.obj_qpos[o.name]
                data.qpos[adr : adr + 7] = [x, y, z, *q]
                poses[o.name].append(Pose(frame=t, time=t / fps, position=(x, y, z), quat=q))
            lead = poses[objects[0].name][-1].position
            qpos = data.qpos[None].copy()
            robot.home(qpos, data.qvel[None].copy(), data.ctrl[None].copy())
            qpos[0, robot.qpos_idx[:3]] = [lead[0] + 0.02, lead[1] + 0.06, lead[2] + 0.16]
            data.qpos[:] = qpos[0]
            mujoco.mj_forward(model, data)
            video.write(renderer.rgb("video"))
            if depth:
                mm = np.clip(renderer.depth("video") * 1000.0, 0, 65535).astype(np.uint16)
                cv2.imwrite(str(out_dir / "depth" / f"{t:05d}.png"), mm)
            if masks:
                seg = renderer.segmentation("video").astype(np.uint8)
                cv2.imwrite(str(out_dir / "masks" / f"{t:05d}.png"), seg)
    renderer.close()
    for obj in scene.objects:
        obj.poses = poses[obj.name]
        obj.first, obj.last = obj.poses[0], obj.poses[-1]
    scene.save(out_dir / "gt.json")
    return out_dir
