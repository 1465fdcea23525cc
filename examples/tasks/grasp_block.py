"""Grasp the block and lift it 10 cm above the table.

Randomization: the block is placed upright at a random position in the central 60 % of the table.
Success: the block's centre is at least 10 cm above its resting height while the fingers hold it.
"""

import torch

from video2policy.tools.sim import Task


class GraspBlock(Task):
    scene_info = {"objects": ["block"], "horizon": 80}

    def reset_objects_states(self, env_ids):
        positions = self.random_table_positions(env_ids, ["block"])
        self.set_object_pose("block", env_ids, positions["block"])

    def compute_observation_key(self, states):
        states["block_to_eef"] = states["block_pos"] - states["eef_pos"]
        states["block_lift"] = (states["block_pos"][:, 2] - states["block_init_pos"][:, 2]).unsqueeze(1)
        return ["eef_pos", "gripper_width", "block_pos", "block_to_eef", "block_lift"]

    def get_observation_space(self):
        return 3 + 1 + 3 + 3 + 1

    def compute_success(self, states):
        lifted = states["block_lift"][:, 0] > 0.10
        held = torch.linalg.vector_norm(states["block_to_eef"], dim=1) < 0.05
        return lifted & held

    def compute_reward(self, actions, states):
        distance = torch.linalg.vector_norm(states["block_to_eef"], dim=1)
        reach_reward = 1.0 - torch.tanh(10.0 * distance)
        near = (distance < 0.02).float()
        closing_reward = near * (actions[:, 6] + 1.0) / 2.0
        lift = states["block_lift"][:, 0].clamp(0.0, 0.12)
        lift_reward = 10.0 * lift * (distance < 0.04).float()
        reward = reach_reward + 0.5 * closing_reward + lift_reward
        return reward, {"reach_reward": reach_reward, "closing_reward": closing_reward, "lift_reward": lift_reward}
