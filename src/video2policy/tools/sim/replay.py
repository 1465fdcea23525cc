"""Replay a scene's first and last poses in the simulator: do they stand as the video shows them?

A perceived scene is only useful if the simulator agrees with it: objects placed where the video starts stay there,
and where it ends the behavior's ground-truth check sees what the person did. Objects that overlap (a solid bowl
around the garlic thrown into it, a cup standing on the ball it covers) are pushed apart the moment physics runs.
`replay` places the objects at the first poses, then at the last, lets each settle for `SETTLE_SECONDS` with the
robot at home, and returns the placed and settled poses (`Replay`), whose `states()` is the state dictionary a
success check reads (`<name>_init_pos` from the start). Objects held up in the air at a frame (nothing under them;
a hand holds them) stay put.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np
import torch

from video2policy.scene import SceneSpec
from video2policy.tools.sim.builder import CompiledScene, build
from video2policy.tools.sim.robot import make_robot

SETTLE_SECONDS = 1.0
HELD_GAP = 0.02  # metres between an object's underside and what is under it (or the table): held in the air


@dataclass
class Replay:
    """Per object, the placed and settled poses (position, quat wxyz) at the first and last frames."""

    placed: dict[str, dict[str, np.ndarray]]  # "first"/"last" -> name -> 7 numbers
    settled: dict[str, dict[str, np.ndarray]]
    held: dict[str, list[str]]  # "first"/"last" -> objects held in the air there (kept in place)
    robot: dict[str, torch.Tensor]  # the robot's state at home (eef_pos, ...), batch of one
    sizes: dict[str, tuple[float, float, float]]

    def moved_cm(self, which: str) -> dict[str, float]:
        """How far each object not held moved while settling at the first or last frame (cm)."""
        return {
            name: round(100 * float(np.linalg.norm(self.settled[which][name][:3] - placed[:3])), 2)
            for name, placed in self.placed[which].items()
            if name not in self.held[which]
        }

    def states(self, settled: bool = True) -> dict[str, torch.Tensor]:
        """The state dictionary at the last frame (batch of one) that a success check reads, the first frame giving
        `<name>_init_pos`: after settling, or (`settled=False`) as placed."""
        poses = self.settled if settled else self.placed
        states = dict(self.robot)
        for name, size in self.sizes.items():
            states[f"{name}_pos"] = _row(poses["last"][name][:3])
            states[f"{name}_quat"] = _row(poses["last"][name][3:])
            states[f"{name}_size"] = _row(size)
            states[f"{name}_init_pos"] = _row(poses["first"][name][:3])
        states["table_height"] = torch.zeros(1)
        return states


def replay(scene: SceneSpec, scene_dir: Path | str, robot: str = "gripper") -> Replay:
    """Settle the scene at its first and at its last poses (see the module's docstring)."""
    compiled = build(scene, make_robot(robot), scene_dir)
    placed, settled, held = {}, {}, {}
    for which in ("first", "last"):
        poses = {o.name: getattr(o, which) for o in scene.objects}
        held[which] = _held(scene, which)
        data = _settle(compiled, poses, held[which])
        placed[which] = {n: np.array([*p.position, *p.quat], float) for n, p in poses.items()}
        settled[which] = {n: _qpos(compiled, data, n).copy() for n in poses}
    home = compiled.robot.read_state(data.qpos[None].copy(), data.qvel[None].copy())
    return Replay(placed, settled, held, home, {o.name: tuple(o.size) for o in scene.objects})


def _settle(compiled: CompiledScene, poses: dict, held: list[str]) -> mujoco.MjData:
    model = compiled.model
    data = mujoco.MjData(model)
    qpos, qvel, ctrl = data.qpos[None].copy(), data.qvel[None].copy(), data.ctrl[None].copy()
    compiled.robot.home(qpos, qvel, ctrl)
    data.qpos[:], data.ctrl[:] = qpos[0], ctrl[0]
    for name, pose in poses.items():
        _qpos(compiled, data, name)[:] = [*pose.position, *pose.quat]
    pinned = {n: _qpos(compiled, data, n).copy() for n in held}
    for _ in range(round(SETTLE_SECONDS / model.opt.timestep)):
        mujoco.mj_step(model, data)
        for name, q in pinned.items():  # the hand holds it
            _qpos(compiled, data, name)[:] = q
            adr = compiled.obj_qvel[name]
            data.qvel[adr : adr + 6] = 0.0
    return data


def _held(scene: SceneSpec, which: str) -> list[str]:
    """Objects whose underside is more than `HELD_GAP` above the table and above the top of anything under their
    centre: nothing holds them up but a hand."""
    out = []
    for obj in scene.objects:
        pose = getattr(obj, which)
        bottom = pose.position[2] - obj.size[2] / 2
        support = 0.0
        for other in scene.objects:
            o = getattr(other, which)
            if other is not obj and np.hypot(*np.subtract(pose.position[:2], o.position[:2])) < max(other.size[:2]) / 2:
                support = max(support, o.position[2] + other.size[2] / 2)
        if bottom - support > HELD_GAP:  # support is never below the table
            out.append(obj.name)
    return out


def _qpos(compiled: CompiledScene, data: mujoco.MjData, name: str) -> np.ndarray:
    adr = compiled.obj_qpos[name]
    return data.qpos[adr : adr + 7]


def _row(values) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, np.float32))[None]
