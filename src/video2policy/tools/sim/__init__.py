"""MuJoCo simulation: scene building, robots, the batched task environment, the `Task` base class, rendering."""

from video2policy.tools.sim.builder import CompiledScene, build
from video2policy.tools.sim.env import TaskEnv
from video2policy.tools.sim.robot import ACTION_DIM, FloatingGripper, Robot, make_robot
from video2policy.tools.sim.task import Task, load_task_class

__all__ = [
    "ACTION_DIM",
    "CompiledScene",
    "FloatingGripper",
    "Robot",
    "Task",
    "TaskEnv",
    "build",
    "load_task_class",
    "make_robot",
]
