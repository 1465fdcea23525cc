"""The gripper's rotation arithmetic agrees with SciPy's, and rotation actions turn the hand as commanded."""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from video2policy.scene import SceneSpec
from video2policy.tools.sim import TaskEnv, load_task_class
from video2policy.tools.sim.robot import euler_zyx_to_matrix, euler_zyx_to_quat, matrix_to_euler_zyx, rotvec_to_matrix


def test_rotation_helpers_match_scipy():
    rng = np.random.default_rng(0)
    euler = rng.uniform(-1.2, 1.2, (64, 3))
    rotvec = rng.normal(size=(64, 3)) * 0.3
    rotvec[0] = 0.0
    matrix = euler_zyx_to_matrix(euler)
    assert np.allclose(matrix, Rotation.from_euler("ZYX", euler).as_matrix())
    assert np.allclose(matrix_to_euler_zyx(matrix), euler)
    assert np.allclose(rotvec_to_matrix(rotvec), Rotation.from_rotvec(rotvec).as_matrix())
    xyzw = Rotation.from_euler("ZYX", euler).as_quat()
    dots = np.abs((euler_zyx_to_quat(euler) * np.c_[xyzw[:, 3], xyzw[:, :3]]).sum(axis=1))
    assert np.allclose(dots, 1.0)


def test_yaw_action_turns_the_hand(block_scene_path, example_task):
    env = TaskEnv(SceneSpec.load(block_scene_path), load_task_class(example_task("reach_block"))(), num_envs=1)
    action = torch.zeros(1, 7)
    action[0, 5] = 1.0  # +z rotation, 0.1 rad per step
    for _ in range(5):
        env.step(action)
    for _ in range(10):
        env.step(torch.zeros(1, 7))
    w, x, y, z = env.states["eef_quat"][0].tolist()
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    assert abs(yaw - 0.5) < 0.03
