"""Push the block from right to left (as seen from the camera: towards -x in the table frame).

Randomization: the block starts upright at a random position on the right side of the table
(x in [0.05, 0.2], y in [-0.1, 0.1]).
Success: the block has moved at least 15 cm to the left of where it started and stays on the table.
"""

import torch

from video2policy.tools.sim import Task


class PushBlockLeft(Task):
    scene_info = {"objects": ["block"], "horizon": 60}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        pos = torch.zeros(n, 3)
        pos[:, 0] = self.uniform(n, 0.05, 0.2)
        pos[:, 1] = self.uniform(n, -0.1, 0.1)
        pos[:, 2] = self.rest_height("block")
        self.set_object_pose("block", env_ids, pos)

    def compute_observation_key(self, states):
        # where the gripper should be to push: just right of the block, at its height
        push_point = states["block_pos"].clone()
        push_point[:, 0] += 0.05
        states["eef_to_push_point"] = push_point - states["eef_pos"]
        states["block_displacement"] = states["block_pos"] - states["block_init_pos"]
        return ["eef_pos", "block_pos", "eef_to_push_point", "block_displacement"]

    def get_observation_space(self):
        return 3 + 3 + 3 + 3

    def compute_success(self, states):
        moved_left = states["block_displacement"][:, 0] < -0.15
        on_table = states["block_pos"][:, 2] > 0.0
        return moved_left & on_table

    def compute_reward(self, actions, states):
        approach_distance = torch.linalg.vector_norm(states["eef_to_push_point"], dim=1)
        approach_reward = 1.0 - torch.tanh(10.0 * approach_distance) - 2.0 * approach_distance
        progress_reward = 5.0 * torch.clamp(-states["block_displacement"][:, 0], -0.05, 0.2)
        drift_penalty = -2.0 * torch.abs(states["block_displacement"][:, 1])
        reward = approach_reward + progress_reward + drift_penalty
        return reward, {
            "approach_reward": approach_reward,
            "progress_reward": progress_reward,
            "drift_penalty": drift_penalty,
        }
