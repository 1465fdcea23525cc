"""A batched MuJoCo environment: N independent worlds stepped together in C, read as torch tensors.

Each control step hands all N states and controls to `mujoco.rollout`, which runs the physics sub-steps for every
world on a thread pool without returning to Python. The physics state of all worlds lives in one float64 array
(MuJoCo's full-physics state layout); qpos and qvel are views into it, so resets write straight into it.
Worlds that reach the horizon (or succeed, if asked) are reset on the spot, as Isaac Gym environments do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np
import torch
from mujoco import rollout

from video2policy.failures import FailureReason, TaskCodeError
from video2policy.scene import SceneSpec
from video2policy.tools.sim.builder import CompiledScene, build
from video2policy.tools.sim.robot import ACTION_DIM, make_robot
from video2policy.tools.sim.task import Task
from video2policy.tools.sim.tensor_math import quat_rotate

DEFAULT_HORIZON = 100
DEFAULT_CONTROL_PERIOD = 0.05
FULL_PHYSICS = mujoco.mjtState.mjSTATE_FULLPHYSICS.value


@dataclass
class EpisodeStats:
    """Per-environment running sums for the episode in progress."""

    num_envs: int
    ret: np.ndarray = field(init=False)
    length: np.ndarray = field(init=False)
    success_any: np.ndarray = field(init=False)
    components: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ret = np.zeros(self.num_envs)
        self.length = np.zeros(self.num_envs, dtype=np.int64)
        self.success_any = np.zeros(self.num_envs, dtype=bool)

    def clear(self, ids: np.ndarray) -> None:
        self.ret[ids] = 0.0
        self.length[ids] = 0
        self.success_any[ids] = False
        for values in self.components.values():
            values[ids] = 0.0


def state_slices(model: mujoco.MjModel) -> dict[str, slice]:
    """Where qpos and qvel sit inside MuJoCo's full-physics state vector (components are in bit order)."""
    slices, offset = {}, 0
    flags = [getattr(mujoco.mjtState, n) for n in dir(mujoco.mjtState) if n.startswith("mjSTATE_")]
    for flag in sorted(flags, key=lambda f: f.value):
        if flag.value & FULL_PHYSICS and flag.value & (flag.value - 1) == 0:
            size = mujoco.mj_stateSize(model, flag.value)
            slices[flag.name.removeprefix("mjSTATE_").lower()] = slice(offset, offset + size)
            offset += size
    return slices


class TaskEnv:
    """N parallel worlds of one scene running one task.

    step(actions (N, 7) in [-1, 1]) -> obs (N, D), task reward (N,), done (N,), info. `info` holds `success`,
    the reward components, and for worlds whose episode just ended, `episodes` (return, length, success,
    component means) before they were reset.
    """

    def __init__(
        self,
        scene: SceneSpec,
        task: Task,
        num_envs: int = 16,
        *,
        seed: int = 0,
        scene_dir: Path | str = ".",
        horizon: int | None = None,
        control_period: float = DEFAULT_CONTROL_PERIOD,
        robot: str = "gripper",
        nthread: int | None = None,
        terminate_on_success: bool = False,
    ):
        self.scene = scene
        self.num_envs = num_envs
        self.compiled: CompiledScene = build(scene, make_robot(robot), scene_dir)
        self.model = self.compiled.model
        self.robot = self.compiled.robot
        self.object_names = self.compiled.object_names
        self.horizon = horizon or int(task.scene_info.get("horizon", DEFAULT_HORIZON))
        self.substeps = max(1, round(control_period / self.model.opt.timestep))
        self.control_period = self.substeps * self.model.opt.timestep
        self.terminate_on_success = terminate_on_success
        self.generator = torch.Generator().manual_seed(seed)
        self._check_scene_info(task)

        nthread = min(os.cpu_count() or 1, num_envs) if nthread is None else nthread
        self._pool = rollout.Rollout(nthread=nthread if nthread > 1 else 0)
        self._datas = [mujoco.MjData(self.model) for _ in range(max(nthread, 1))]
        nstate = mujoco.mj_stateSize(self.model, FULL_PHYSICS)
        self._slices = state_slices(self.model)
        self._state = np.zeros((num_envs, nstate))
        self._qpos = self._state[:, self._slices["qpos"]]
        self._qvel = self._state[:, self._slices["qvel"]]
        self._time = self._state[:, self._slices["time"]]
        self._ctrl = np.zeros((num_envs, self.model.nu))
        self._control = np.zeros((num_envs, self.substeps, self.model.nu))
        self._out = np.zeros((num_envs, self.substeps, nstate))
        self._sensors = np.zeros((num_envs, self.substeps, self.model.nsensordata))
        self._warmstart = np.zeros((num_envs, self.model.nv))
        default = mujoco.MjData(self.model)
        self._state[:] = _get_state(self.model, default)
        self._init_pos = {name: torch.zeros(num_envs, 3) for name in self.object_names}
        self._sizes = {
            name: torch.tensor(scene.object(name).size, dtype=torch.float32).expand(num_envs, 3)
            for name in self.object_names
        }
        self.progress = np.zeros(num_envs, dtype=np.int64)
        self.stats = EpisodeStats(num_envs)

        self.task = task
        task.attach(self)
        self.states: dict[str, torch.Tensor] = {}
        self.obs_keys: list[str] = []
        self.observation_width = 0
        self.reset()

    # --- public API ----------------------------------------------------------------------------------------

    @property
    def action_dim(self) -> int:
        return ACTION_DIM

    def reset(self) -> torch.Tensor:
        self._reset_envs(np.arange(self.num_envs))
        return self._observe()

    def step(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        actions = torch.as_tensor(actions, dtype=torch.float32).clamp(-1.0, 1.0)
        if actions.shape != (self.num_envs, ACTION_DIM):
            raise ValueError(f"actions must have shape ({self.num_envs}, {ACTION_DIM}), got {tuple(actions.shape)}")
        self.robot.apply_action(actions.numpy().astype(np.float64), self._ctrl)
        self._simulate()
        self.progress += 1

        self._observe()
        reward, components = self._task_reward(actions)
        success = self._task_success()
        done = torch.from_numpy(self.progress >= self.horizon)
        if self.terminate_on_success:
            done |= success
        info = {"success": success, "reward_components": components, "time_outs": done & ~success}
        self._accumulate(reward, success, components)
        finished = np.flatnonzero(done.numpy())
        if len(finished):
            info["episodes"] = self._finish(finished, success)
            self._reset_envs(finished)
            self._observe()
        return self.obs, reward, done, info

    def set_object_pose(
        self, name: str, env_ids: torch.Tensor, pos: torch.Tensor, quat: torch.Tensor | None = None
    ) -> None:
        ids = np.asarray(torch.as_tensor(env_ids).cpu(), dtype=np.int64)
        adr, dadr = self.compiled.obj_qpos[name], self.compiled.obj_qvel[name]
        pos = torch.as_tensor(pos, dtype=torch.float64).reshape(len(ids), 3)
        quat = torch.tensor([1.0, 0, 0, 0]).expand(len(ids), 4) if quat is None else torch.as_tensor(quat)
        quat = quat.to(torch.float64).reshape(len(ids), 4)
        quat = quat / torch.linalg.vector_norm(quat, dim=1, keepdim=True)
        self._qpos[ids, adr : adr + 3] = pos.numpy()
        self._qpos[ids, adr + 3 : adr + 7] = quat.numpy()
        self._qvel[ids, dadr : dadr + 6] = 0.0

    def physics_state(self) -> np.ndarray:
        """A copy of all worlds' full-physics states (N, nstate); with `ctrl` it determines the future."""
        return self._state.copy()

    def set_physics_state(self, state: np.ndarray, ctrl: np.ndarray | None = None) -> None:
        """Overwrite all worlds' physics states (and actuator targets), then refresh the state dictionary."""
        self._state[:] = state
        if ctrl is not None:
            self._ctrl[:] = ctrl
        self._observe()

    @property
    def ctrl(self) -> np.ndarray:
        return self._ctrl

    # --- internals ------------------------------------------------------------------------------------------

    def _check_scene_info(self, task: Task) -> None:
        wanted = task.scene_info.get("objects", [])
        missing = [n for n in wanted if n not in self.object_names]
        if missing:
            raise ValueError(
                f"task {type(task).__name__}: scene_info names objects {missing} that the scene does not "
                f"have (scene objects: {self.object_names})"
            )

    def _simulate(self) -> None:
        self._control[:] = self._ctrl[:, None, :]
        self._warmstart[:] = 0.0  # explicit, so a world's trajectory never depends on which thread ran it
        self._pool.rollout(
            [self.model] * self.num_envs,
            self._datas,
            self._state,
            self._control,
            skip_checks=True,
            nstep=self.substeps,
            initial_warmstart=self._warmstart,
            state=self._out,
            sensordata=self._sensors,
            chunk_size=None,
            control_spec=mujoco.mjtState.mjSTATE_CTRL.value,
        )
        self._state[:] = self._out[:, -1]

    def _reset_envs(self, ids: np.ndarray) -> None:
        self._time[ids] = 0.0
        qpos, qvel, ctrl = self._qpos[ids], np.zeros((len(ids), self.model.nv)), self._ctrl[ids]
        self.robot.home(qpos, qvel, ctrl)
        self._qpos[ids], self._qvel[ids], self._ctrl[ids] = qpos, qvel, ctrl
        for name in self.object_names:  # default pose before the task places objects
            self.set_object_pose(
                name, torch.as_tensor(ids), torch.tensor([0, 0, self.compiled.rest_height(name)]).expand(len(ids), 3)
            )
        self.task.reset_objects_states(torch.as_tensor(ids))
        for name in self.object_names:
            adr = self.compiled.obj_qpos[name]
            self._init_pos[name][ids] = torch.from_numpy(self._qpos[ids, adr : adr + 3]).float()
        self.progress[ids] = 0
        self.stats.clear(ids)

    def _read_states(self) -> dict[str, torch.Tensor]:
        states = self.robot.read_state(self._qpos, self._qvel)
        qpos = torch.from_numpy(self._qpos.astype(np.float32))
        qvel = torch.from_numpy(self._qvel.astype(np.float32))
        states["table_height"] = torch.zeros(self.num_envs)  # the table top is z = 0 in the table frame
        for name in self.object_names:
            adr, dadr = self.compiled.obj_qpos[name], self.compiled.obj_qvel[name]
            quat = qpos[:, adr + 3 : adr + 7]
            states[f"{name}_pos"] = qpos[:, adr : adr + 3]
            states[f"{name}_quat"] = quat
            states[f"{name}_vel_linear"] = qvel[:, dadr : dadr + 3]
            states[f"{name}_vel_angular"] = quat_rotate(quat, qvel[:, dadr + 3 : dadr + 6])  # world frame
            states[f"{name}_size"] = self._sizes[name]
            states[f"{name}_init_pos"] = self._init_pos[name].clone()
        return states

    def _observe(self) -> torch.Tensor:
        self.states = self._read_states()
        self.obs_keys = self.task.compute_observation_key(self.states)
        missing = [k for k in self.obs_keys if k not in self.states]
        if missing:
            raise TaskCodeError(
                FailureReason.RUNTIME_ERROR,
                f"observation keys {missing} are not in the state dictionary (available: {sorted(self.states)})",
            )
        parts = [self.states[k].reshape(self.num_envs, -1).float() for k in self.obs_keys]
        self.obs = torch.cat(parts, dim=1)
        declared = self.task.get_observation_space()
        if self.obs.shape[1] != declared:
            widths = {k: p.shape[1] for k, p in zip(self.obs_keys, parts, strict=False)}
            raise TaskCodeError(
                FailureReason.SHAPE_MISMATCH,
                f"get_observation_space() returns {declared} but the "
                f"observation keys add up to {self.obs.shape[1]} ({widths})",
            )
        self.observation_width = declared
        return self.obs

    def _task_reward(self, actions: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = self.task.compute_reward(actions, self.states)
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
            raise TaskCodeError(
                FailureReason.SHAPE_MISMATCH,
                "compute_reward must return (reward tensor (N,), dict of component tensors)",
            )
        reward, components = out
        self._check_batch("compute_reward's reward", reward)
        for key, value in components.items():
            self._check_batch(f"reward component {key!r}", value)
        return reward.float(), {k: v.float() for k, v in components.items()}

    def _task_success(self) -> torch.Tensor:
        success = self.task.compute_success(self.states)
        if not isinstance(success, torch.Tensor) or success.shape != (self.num_envs,):
            raise TaskCodeError(
                FailureReason.SHAPE_MISMATCH,
                f"compute_success must return a bool tensor of shape ({self.num_envs},), got {_describe(success)}",
            )
        if success.dtype != torch.bool:
            raise TaskCodeError(
                FailureReason.SHAPE_MISMATCH, f"compute_success must return dtype torch.bool, got {success.dtype}"
            )
        return success

    def _check_batch(self, what: str, value: object) -> None:
        if not isinstance(value, torch.Tensor) or value.shape != (self.num_envs,):
            raise TaskCodeError(
                FailureReason.SHAPE_MISMATCH,
                f"{what} must be a tensor of shape ({self.num_envs},), got {_describe(value)}",
            )
        if not torch.isfinite(value.float()).all():
            bad = int((~torch.isfinite(value.float())).sum())
            raise TaskCodeError(FailureReason.NON_FINITE, f"{what} has {bad} non-finite values (NaN or inf)")

    def _accumulate(self, reward: torch.Tensor, success: torch.Tensor, components: dict[str, torch.Tensor]) -> None:
        s = self.stats
        s.ret += reward.numpy()
        s.length += 1
        s.success_any |= success.numpy()
        for key, value in components.items():
            s.components.setdefault(key, np.zeros(self.num_envs))
            s.components[key] += value.numpy()

    def _finish(self, ids: np.ndarray, success: torch.Tensor) -> dict:
        s = self.stats
        lengths = np.maximum(s.length[ids], 1)
        return {
            "env_ids": ids.copy(),
            "return": s.ret[ids].copy(),
            "length": s.length[ids].copy(),
            "success": s.success_any[ids].copy(),
            "success_final": success.numpy()[ids].copy(),
            "components": {k: v[ids] / lengths for k, v in s.components.items()},
        }


def _get_state(model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
    state = np.zeros(mujoco.mj_stateSize(model, FULL_PHYSICS))
    mujoco.mj_getState(model, data, state, FULL_PHYSICS)
    return state


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return type(value).__name__
