"""The `Task` base class: the six parts the task-coder agent writes (DESIGN.md, 'Task code').

A task subclass gives `scene_info`, `reset_objects_states`, `compute_observation_key`, `get_observation_space`,
`compute_success` and `compute_reward`. All of them work on batches: tensors with a leading dimension N, the
number of parallel environments. The environment calls them; task code never touches MuJoCo directly, only the
state dictionary and the helpers below (placing objects, seeded random numbers).
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from video2policy.tools.sim.env import TaskEnv

ROBOT_OBSERVATION_KEYS = ["eef_pos", "eef_quat", "gripper_width"]
OBJECT_OBSERVATION_SUFFIXES = ["_pos", "_quat", "_vel_linear"]
TASK_PARTS = (
    "scene_info",
    "reset_objects_states",
    "compute_observation_key",
    "get_observation_space",
    "compute_success",
    "compute_reward",
)


class Task:
    """Base class of every task. Subclasses override the six parts; the defaults make a runnable baseline.

    `scene_info` is a dict: ``objects`` lists the scene objects the task uses (names from scene.json);
    optional ``horizon`` sets the episode length in control steps.
    """

    scene_info: dict[str, Any] = {}

    def attach(self, env: TaskEnv) -> None:
        """Called by the environment before anything else; gives the helpers their batch and random source."""
        self.env = env

    # --- what task code may use ---------------------------------------------------------------------------

    @property
    def num_envs(self) -> int:
        return self.env.num_envs

    @property
    def object_names(self) -> list[str]:
        return self.env.object_names

    @property
    def table_size(self) -> tuple[float, float]:
        return self.env.scene.table.size

    def object_size(self, name: str) -> torch.Tensor:
        """(3,) l, w, h of an object in metres."""
        return torch.tensor(self.env.scene.object(name).size, dtype=torch.float32)

    def rest_height(self, name: str) -> float:
        """z of the object's centre when it stands upright on the table."""
        return self.env.compiled.rest_height(name)

    def uniform(self, n: int, low: float, high: float, dim: int | None = None) -> torch.Tensor:
        """Seeded uniform samples, shape (n,) or (n, dim); the environment's seed makes runs repeatable."""
        shape = (n,) if dim is None else (n, dim)
        return low + (high - low) * torch.rand(shape, generator=self.env.generator)

    def set_object_pose(
        self,
        name: str,
        env_ids: torch.Tensor,
        pos: torch.Tensor,
        quat: torch.Tensor | None = None,
    ) -> None:
        """Place an object in the given environments (pos (n, 3), quat (n, 4) wxyz); its velocity is zeroed."""
        self.env.set_object_pose(name, env_ids, pos, quat)

    def random_table_positions(
        self,
        env_ids: torch.Tensor,
        names: list[str] | None = None,
        region: tuple[float, float, float, float] | None = None,
        gap: float = 0.02,
    ) -> dict[str, torch.Tensor]:
        """Non-overlapping resting positions for `names` in each environment.

        `region` is (x_min, x_max, y_min, y_max) in the table frame, default the central 60 % of the table.
        Objects keep `gap` metres between their bounding circles. Returns name -> (n, 3).
        """
        names = names if names is not None else self.object_names
        if region is None:
            sx, sy = self.table_size
            region = (-0.3 * sx, 0.3 * sx, -0.3 * sy, 0.3 * sy)
        n = len(env_ids)
        radii = {k: float(torch.linalg.vector_norm(self.object_size(k)[:2])) / 2 for k in names}
        placed: dict[str, torch.Tensor] = {}
        for name in names:
            pos = torch.zeros(n, 3)
            pos[:, 2] = self.rest_height(name)
            todo = torch.ones(n, dtype=torch.bool)
            for _ in range(100):
                k = int(todo.sum())
                if k == 0:
                    break
                pos[todo, 0] = self.uniform(k, region[0], region[1])
                pos[todo, 1] = self.uniform(k, region[2], region[3])
                clash = torch.zeros(n, dtype=torch.bool)
                for other, opos in placed.items():
                    dist = torch.linalg.vector_norm(pos[:, :2] - opos[:, :2], dim=1)
                    clash |= dist < radii[name] + radii[other] + gap
                todo = clash
            if todo.any():
                raise ValueError(f"could not place {name!r} without overlap in region {region}; make it larger")
            placed[name] = pos
        return placed

    # --- the six parts --------------------------------------------------------------------------------------

    def reset_objects_states(self, env_ids: torch.Tensor) -> None:
        """Default: every scene object upright at a random, non-overlapping table position."""
        for name, pos in self.random_table_positions(env_ids).items():
            self.set_object_pose(name, env_ids, pos)

    def compute_observation_key(self, states: dict[str, torch.Tensor]) -> list[str]:
        """State keys concatenated into the observation; task code may add derived keys to `states` here."""
        keys = list(ROBOT_OBSERVATION_KEYS)
        for name in self.object_names:
            keys += [name + suffix for suffix in OBJECT_OBSERVATION_SUFFIXES]
        return keys

    def get_observation_space(self) -> int:
        """Width of the observation vector; must equal the concatenated keys' width."""
        return 3 + 4 + 1 + len(self.object_names) * (3 + 4 + 3)

    def compute_success(self, states: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define compute_success(states)")

    def compute_reward(
        self,
        actions: torch.Tensor,
        states: dict[str, torch.Tensor],
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        raise NotImplementedError(f"{type(self).__name__} must define compute_reward(actions, states)")


def load_task_class(path: str | Path) -> type[Task]:
    """Import a task-code file and return its one `Task` subclass. Runs the file: only for checked code."""
    path = Path(path)
    module_name = f"v2p_task_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    found = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Task) and obj is not Task and obj.__module__ == module_name
    ]
    if len(found) != 1:
        raise ImportError(f"{path}: expected exactly one Task subclass, found {[c.__name__ for c in found]}")
    return found[0]
