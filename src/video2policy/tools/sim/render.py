"""Rendering: RGB and segmentation images of one world of a batched environment, and rollouts to mp4.

MuJoCo renders offscreen; the package sets MUJOCO_GL=egl (Mesa on CPU) unless the user chose another backend.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import mujoco
import numpy as np
import torch

from video2policy.tools.sim.builder import CompiledScene
from video2policy.tools.sim.env import FULL_PHYSICS, TaskEnv

BACKGROUND = 0


class SceneRenderer:
    """Renders a compiled scene at a given physics state. Segmentation labels: 0 background and table,
    1..K the scene objects in scene order, K+1 the robot."""

    def __init__(self, compiled: CompiledScene, width: int = 256, height: int = 256):
        self.compiled = compiled
        self.model = compiled.model
        self.data = mujoco.MjData(self.model)
        self.renderer = mujoco.Renderer(self.model, height=height, width=width)
        self.labels = np.zeros(self.model.ngeom + 1, dtype=np.int32)  # index by geom id + 1 (-1 = none)
        for i, name in enumerate(compiled.object_names):
            self.labels[np.asarray(compiled.obj_geoms[name]) + 1] = i + 1
        robot_body = self.model.body(compiled.robot.name).id
        for g in range(self.model.ngeom):
            body = self.model.geom_bodyid[g]
            if body == robot_body or self.model.body_rootid[body] == self.model.body_rootid[robot_body] != 0:
                self.labels[g + 1] = len(compiled.object_names) + 1

    def set_state(self, state: np.ndarray) -> None:
        mujoco.mj_setState(self.model, self.data, state, FULL_PHYSICS)
        mujoco.mj_forward(self.model, self.data)

    def rgb(self, camera: str | int = "front") -> np.ndarray:
        """(H, W, 3) uint8."""
        self.renderer.disable_segmentation_rendering()
        self.renderer.disable_depth_rendering()
        self.renderer.update_scene(self.data, camera=camera)
        return self.renderer.render().copy()

    def depth(self, camera: str | int = "front") -> np.ndarray:
        """(H, W) float32 metres along the optical axis."""
        self.renderer.enable_depth_rendering()
        self.renderer.update_scene(self.data, camera=camera)
        out = self.renderer.render().astype(np.float32)
        self.renderer.disable_depth_rendering()
        return out

    def segmentation(self, camera: str | int = "front") -> np.ndarray:
        """(H, W) int32 labels (see the class docstring)."""
        self.renderer.enable_segmentation_rendering()
        self.renderer.update_scene(self.data, camera=camera)
        ids = self.renderer.render()[..., 0]
        self.renderer.disable_segmentation_rendering()
        geom_ids = np.where(ids >= 0, ids, -1)
        return self.labels[np.clip(geom_ids, -1, self.model.ngeom - 1) + 1]

    def close(self) -> None:
        self.renderer.close()


class VideoWriter:
    """H.264 mp4 through PyAV; frames are (H, W, 3) uint8. The same frames always give the same file."""

    def __init__(self, path: str | Path, fps: float = 20.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.container = av.open(str(self.path), mode="w")
        self.fps = fps
        self.stream = None

    def write(self, frame: np.ndarray) -> None:
        if self.stream is None:
            self.stream = self.container.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1000))
            self.stream.height, self.stream.width = (
                frame.shape[0] - frame.shape[0] % 2,
                frame.shape[1] - frame.shape[1] % 2,
            )
            self.stream.pix_fmt = "yuv420p"
            # x264's macroblock tree let stale memory into the output once the process had encoded or decoded other
            # video, so the same frames came out as different files; without it a seed gives the same clip every time.
            self.stream.options = {"crf": "23", "preset": "veryfast", "x264-params": "mbtree=0"}
        frame = frame[: self.stream.height, : self.stream.width]
        for packet in self.stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
            self.container.mux(packet)

    def close(self) -> None:
        if self.stream is not None:
            for packet in self.stream.encode():
                self.container.mux(packet)
        self.container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def record_rollout(
    env: TaskEnv,
    policy: Callable[[torch.Tensor], torch.Tensor],
    path: str | Path,
    steps: int | None = None,
    env_id: int = 0,
    camera: str = "front",
    size: tuple[int, int] = (256, 256),
) -> dict:
    """Run `policy` on the environment and write world `env_id` to an mp4; returns success and step count.

    The recording stops at the first episode end of that world (or after `steps` control steps).
    """
    renderer = SceneRenderer(env.compiled, width=size[0], height=size[1])
    steps = steps or env.horizon
    success = False
    with VideoWriter(path, fps=1.0 / env.control_period) as video:
        obs = env.obs
        renderer.set_state(env.physics_state()[env_id])
        video.write(renderer.rgb(camera))
        taken = 0
        for _ in range(steps):
            obs, _, done, info = env.step(policy(obs))
            taken += 1
            success = success or bool(info["success"][env_id])
            if bool(done[env_id]):
                break
            renderer.set_state(env.physics_state()[env_id])
            video.write(renderer.rgb(camera))
    renderer.close()
    return {"path": str(path), "steps": taken, "success": success}
