"""Reach the block: move the gripper's grasp point onto the block.

Randomization: the block is placed upright at a random position in the central 60 % of the table.
Success: the grasp point is within 3 cm of the block's centre.
"""

import torch

from video2policy.tools.sim import Task


class ReachBlock(Task):
    scene_info = {"objects": ["block"], "horizon": 50}

    def reset_objects_states(self, env_ids):
        positions = self.random_table_positions(env_ids, ["block"])
        self.set_object_pose("block", env_ids, positions["block"])

    def compute_observation_key(self, states):
        states["block_to_eef"] = states["block_pos"] - states["eef_pos"]
        return ["eef_pos", "block_pos", "block_to_eef", "gripper_width"]

    def get_observation_space(self):
        return 3 + 3 + 3 + 1

    def compute_success(self, states):
        return torch.linalg.vector_norm(states["block_to_eef"], dim=1) < 0.03

    def compute_reward(self, actions, states):
        distance = torch.linalg.vector_norm(states["block_to_eef"], dim=1)
        # tanh for precision near the block, plus a linear pull that still points the way from far off
        reach_reward = 1.0 - torch.tanh(10.0 * distance) - 2.0 * distance
        # come down onto the block from above with open fingers, instead of bumping into its side
        horizontal = torch.linalg.vector_norm(states["block_to_eef"][:, :2], dim=1)
        too_low = (horizontal > 0.03) & (states["block_to_eef"][:, 2] > -0.04)
        approach_penalty = -0.5 * too_low.float()
        open_reward = 0.2 * states["gripper_width"] / 0.1
        action_penalty = -0.01 * torch.sum(actions[:, :3] ** 2, dim=1)
        reward = reach_reward + approach_penalty + open_reward + action_penalty
        return reward, {
            "reach_reward": reach_reward,
            "approach_penalty": approach_penalty,
            "open_reward": open_reward,
            "action_penalty": action_penalty,
        }
