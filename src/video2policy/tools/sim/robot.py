"""Robots: what the policy's 7-number action drives.

A robot adds its bodies and actuators to the MuJoCo spec, turns actions into actuator targets, and reads the
end-effector part of the state dictionary. Tasks only see that state dictionary, so another robot (a 7-DoF arm
with an IK controller, say) can be added by implementing `Robot` without touching any task code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import mujoco
import numpy as np
import torch

ACTION_DIM = 7  # position delta (3), axis-angle rotation delta (3), gripper (1): -1 open .. +1 closed


class Robot(Protocol):
    name: str

    def add_to_spec(self, spec: mujoco.MjSpec) -> None:
        """Add bodies, joints and actuators to the spec, before compilation."""

    def bind(self, model: mujoco.MjModel) -> None:
        """Look up the compiled indices the other methods need."""

    def home(self, qpos: np.ndarray, qvel: np.ndarray, ctrl: np.ndarray) -> None:
        """Write the home configuration for the given rows (batched arrays)."""

    def apply_action(self, actions: np.ndarray, ctrl: np.ndarray) -> None:
        """Turn actions (N, 7) in [-1, 1] into actuator targets, updating ctrl (N, nu) in place."""

    def read_state(self, qpos: np.ndarray, qvel: np.ndarray) -> dict[str, torch.Tensor]:
        """eef_pos, eef_quat (wxyz), eef_vel_linear, gripper_width (float32 tensors) from batched qpos/qvel."""


@dataclass
class GripperLimits:
    """Per-control-step action scales and the workspace the end-effector target is clipped to."""

    pos_step: float = 0.02  # m per control step at |a| = 1
    rot_step: float = 0.1  # rad per control step at |a| = 1
    max_width: float = 0.10  # m between the fingers' inner faces when open
    workspace_low: tuple[float, float, float] = (-0.6, -0.5, 0.012)
    workspace_high: tuple[float, float, float] = (0.6, 0.5, 0.45)
    max_tilt: float = 1.4  # rad, keeps the ZYX Euler chain away from its singularity


@dataclass
class FloatingGripper:
    """A parallel-jaw gripper on a floating base driven in end-effector space: the fast default robot.

    The base carries slide joints x, y, z and hinges yaw, pitch, roll (in that order, so the hand's rotation is
    Rz @ Ry @ Rx). Its frame origin is the grasp point between the fingertips; at zero rotation the fingers
    point down. Position actuators track targets held in `ctrl`; gravity is compensated.
    """

    home_pos: tuple[float, float, float] = (0.0, -0.15, 0.25)
    limits: GripperLimits = field(default_factory=GripperLimits)
    name: str = "gripper"

    def add_to_spec(self, spec: mujoco.MjSpec) -> None:
        base = spec.worldbody.add_body(name="gripper", pos=[0, 0, 0], gravcomp=1.0)
        for axis, jname in zip(np.eye(3), ("gx", "gy", "gz"), strict=False):
            base.add_joint(name=jname, type=mujoco.mjtJoint.mjJNT_SLIDE, axis=axis, armature=0.1, damping=[40.0, 0, 0])
        for axis, jname in zip(([0, 0, 1], [0, 1, 0], [1, 0, 0]), ("gyaw", "gpitch", "groll"), strict=False):
            base.add_joint(name=jname, type=mujoco.mjtJoint.mjJNT_HINGE, axis=axis, armature=0.01, damping=[2.0, 0, 0])
        grey = [0.35, 0.35, 0.4, 1.0]
        base.add_geom(
            name="palm",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=[0.02, 0.068, 0.012],
            pos=[0, 0, 0.082],
            rgba=grey,
            mass=0.4,
        )
        base.add_site(name="eef", pos=[0, 0, 0], size=[0.005, 0, 0], rgba=[1, 0, 0, 0.5])
        half_open = self.limits.max_width / 2
        for side, sign in (("left", 1.0), ("right", -1.0)):
            finger = base.add_body(name=f"finger_{side}", pos=[0, 0, 0], gravcomp=1.0)
            finger.add_joint(
                name=f"finger_{side}",
                type=mujoco.mjtJoint.mjJNT_SLIDE,
                axis=[0, sign, 0],
                range=[0.0, half_open],
                armature=0.01,
                damping=[5.0, 0, 0],
            )
            finger.add_geom(
                name=f"finger_{side}",
                type=mujoco.mjtGeom.mjGEOM_BOX,
                size=[0.012, 0.006, 0.045],
                pos=[0, sign * 0.006, 0.035],
                rgba=grey,
                mass=0.05,
                friction=[1.5, 0.01, 0.001],
                condim=4,
            )
        spec.add_exclude(bodyname1="finger_left", bodyname2="finger_right")
        spec.add_equality(
            type=mujoco.mjtEq.mjEQ_JOINT, name1="finger_right", name2="finger_left", data=[0, 1, 0, 0, 0] + [0] * 7
        )
        gains = {
            "gx": (4000, 50),
            "gy": (4000, 50),
            "gz": (4000, 50),
            "gyaw": (60, 5),
            "gpitch": (60, 5),
            "groll": (60, 5),
            "finger_left": (800, 40),
        }
        for jname, (kp, force) in gains.items():
            act = spec.add_actuator(name=f"a_{jname}", target=jname, trntype=mujoco.mjtTrn.mjTRN_JOINT)
            act.set_to_position(kp=kp, dampratio=1.0)
            act.forcelimited = True
            act.forcerange = [-force, force]

    def bind(self, model: mujoco.MjModel) -> None:
        names = ("gx", "gy", "gz", "gyaw", "gpitch", "groll", "finger_left", "finger_right")
        self.qpos_idx = np.array([model.jnt_qposadr[model.joint(n).id] for n in names])
        self.qvel_idx = np.array([model.jnt_dofadr[model.joint(n).id] for n in names])
        self.ctrl_idx = np.array([model.actuator(f"a_{n}").id for n in names[:7]])

    def home(self, qpos: np.ndarray, qvel: np.ndarray, ctrl: np.ndarray) -> None:
        home = np.array([*self.home_pos, 0, 0, 0, self.limits.max_width / 2, self.limits.max_width / 2])
        qpos[:, self.qpos_idx] = home
        qvel[:, self.qvel_idx] = 0.0
        ctrl[:, self.ctrl_idx] = home[:7]

    def apply_action(self, actions: np.ndarray, ctrl: np.ndarray) -> None:
        lim = self.limits
        a = np.clip(actions, -1.0, 1.0)
        target = ctrl[:, self.ctrl_idx]
        pos = np.clip(target[:, :3] + a[:, :3] * lim.pos_step, lim.workspace_low, lim.workspace_high)
        turned = matrix_to_euler_zyx(rotvec_to_matrix(a[:, 3:6] * lim.rot_step) @ euler_zyx_to_matrix(target[:, 3:6]))
        turned[:, 1:] = np.clip(turned[:, 1:], -lim.max_tilt, lim.max_tilt)
        finger = lim.max_width / 2 * (1.0 - a[:, 6:7]) / 2.0
        ctrl[:, self.ctrl_idx] = np.concatenate([pos, turned, finger], axis=1)

    def read_state(self, qpos: np.ndarray, qvel: np.ndarray) -> dict[str, torch.Tensor]:
        q = qpos[:, self.qpos_idx]
        v = qvel[:, self.qvel_idx]
        state = {
            "eef_pos": q[:, 0:3],
            "eef_quat": euler_zyx_to_quat(q[:, 3:6]),
            "eef_vel_linear": v[:, 0:3],
            "gripper_width": q[:, 6] + q[:, 7],
        }
        return {k: torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) for k, x in state.items()}


# Small numpy rotation helpers: at a few dozen worlds per call they are several times faster than scipy's.


def euler_zyx_to_matrix(e: np.ndarray) -> np.ndarray:
    """(N, 3) yaw, pitch, roll -> (N, 3, 3) Rz @ Ry @ Rx."""
    cz, sz = np.cos(e[:, 0]), np.sin(e[:, 0])
    cy, sy = np.cos(e[:, 1]), np.sin(e[:, 1])
    cx, sx = np.cos(e[:, 2]), np.sin(e[:, 2])
    return np.stack(
        [
            np.stack([cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx], -1),
            np.stack([sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx], -1),
            np.stack([-sy, cy * sx, cy * cx], -1),
        ],
        axis=1,
    )


def matrix_to_euler_zyx(m: np.ndarray) -> np.ndarray:
    yaw = np.arctan2(m[:, 1, 0], m[:, 0, 0])
    pitch = np.arcsin(np.clip(-m[:, 2, 0], -1.0, 1.0))
    roll = np.arctan2(m[:, 2, 1], m[:, 2, 2])
    return np.stack([yaw, pitch, roll], axis=1)


def rotvec_to_matrix(v: np.ndarray) -> np.ndarray:
    """Rodrigues' formula, batched; zero vectors give the identity."""
    angle = np.linalg.norm(v, axis=1)
    axis = v / np.where(angle > 1e-12, angle, 1.0)[:, None]
    x, y, z = axis[:, 0], axis[:, 1], axis[:, 2]
    k = np.zeros((len(v), 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 0], k[:, 1, 2], k[:, 2, 0], k[:, 2, 1] = -z, y, z, -x, -y, x
    s, c = np.sin(angle)[:, None, None], np.cos(angle)[:, None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def euler_zyx_to_quat(e: np.ndarray) -> np.ndarray:
    """(N, 3) yaw, pitch, roll -> (N, 4) wxyz quaternion of Rz @ Ry @ Rx."""
    cy, sy = np.cos(e[:, 0] / 2), np.sin(e[:, 0] / 2)
    cp, sp = np.cos(e[:, 1] / 2), np.sin(e[:, 1] / 2)
    cr, sr = np.cos(e[:, 2] / 2), np.sin(e[:, 2] / 2)
    return np.stack(
        [
            cr * cp * cy + sr * sp * sy,
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
        ],
        axis=-1,
    )


ROBOTS: dict[str, type] = {"gripper": FloatingGripper}


def make_robot(name: str) -> Robot:
    try:
        return ROBOTS[name]()
    except KeyError:
        raise ValueError(f"unknown robot {name!r}; available: {sorted(ROBOTS)}") from None
