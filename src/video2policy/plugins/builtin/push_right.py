"""Push something from left to right (towards +x in the table frame): the mirror image of push_left.

The ground truth, demonstration and synthetic objects are push_left's, mirrored. The reference reward is its own:
besides push_left's terms it observes the fingers' width and tilt and asks for closed fingers pointing down, which
makes the hand a solid, predictable pusher (a tilted or open hand lets the object slip and drift sideways).
"""

from __future__ import annotations

from video2policy.plugins.builtin.push_left import PushLeft

TEMPLATE = '''"""Push the {{ labels.target }} from left to right (towards +x).

Randomization: the {{ labels.target }} starts upright at a random position on the left side of the table
(x in [-0.2, -0.05], y in [-0.1, 0.1]); objects the task does not use wait at the back of the table.
Success: the {{ labels.target }} has moved at least 12 cm to the right of where it started and is still on
the table.
"""

import torch

from video2policy.tools.sim import Task
from video2policy.tools.sim.tensor_math import up_axis


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ target }}"], "horizon": 60}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        pos = torch.zeros(n, 3)
        pos[:, 0] = self.uniform(n, -0.2, -0.05)
        pos[:, 1] = self.uniform(n, -0.1, 0.1)
        pos[:, 2] = self.rest_height("{{ target }}")
        self.set_object_pose("{{ target }}", env_ids, pos)
{{ park_others }}

    def compute_observation_key(self, states):
        # where the fingers should be to push: just left of the object, at its centre height
        push_point = states["{{ target }}_pos"].clone()
        push_point[:, 0] -= states["{{ target }}_size"][:, 0] / 2 + 0.025
        push_point[:, 2] = push_point[:, 2].clamp(min=0.015)
        states["eef_to_push_point"] = push_point - states["eef_pos"]
        states["{{ target }}_displacement"] = states["{{ target }}_pos"] - states["{{ target }}_init_pos"]
        # 1 when the fingers point straight down
        states["eef_upright"] = up_axis(states["eef_quat"])[:, 2:3]
        return [
            "eef_pos",
            "eef_quat",
            "gripper_width",
            "{{ target }}_pos",
            "eef_to_push_point",
            "{{ target }}_displacement",
        ]

    def get_observation_space(self):
        return 3 + 4 + 1 + 3 + 3 + 3

    def compute_success(self, states):
        moved = states["{{ target }}_displacement"][:, 0] > 0.12
        on_table = states["{{ target }}_pos"][:, 2] > 0.0
        return moved & on_table

    def compute_reward(self, actions, states):
        approach_distance = torch.linalg.vector_norm(states["eef_to_push_point"], dim=1)
        # tanh for precision near the push point, plus a linear pull that still points the way from far off
        approach_reward = {{ w.approach }} * (1.0 - torch.tanh(10.0 * approach_distance) - 2.0 * approach_distance)
        progress = torch.clamp(states["{{ target }}_displacement"][:, 0], -0.05, 0.2)
        progress_reward = {{ w.progress }} * progress
        drift_penalty = -{{ w.drift }} * torch.abs(states["{{ target }}_displacement"][:, 1])
        # closed fingers pointing down push like one solid block; open or tilted ones let the object slip
        tilt_penalty = -{{ w.tilt }} * (1.0 - states["eef_upright"][:, 0])
        grip_penalty = -{{ w.grip }} * states["gripper_width"] / 0.1
        # turning the hand never helps a straight push: the cheapest way to stay upright is not to rotate
        rotation_penalty = -{{ w.rotation }} * actions[:, 3:6].pow(2).sum(dim=1)
        reward = approach_reward + progress_reward + drift_penalty + tilt_penalty + grip_penalty + rotation_penalty
        return reward, {
            "approach_reward": approach_reward,
            "progress_reward": progress_reward,
            "drift_penalty": drift_penalty,
            "tilt_penalty": tilt_penalty,
            "grip_penalty": grip_penalty,
            "rotation_penalty": rotation_penalty,
        }
'''


class PushRight(PushLeft):
    name = "push_right"
    description = "Push an object across the table from left to right, without lifting it."
    caption_patterns = (
        "Pushing [target] from left to right",
        "Moving [target] from left to right",
        "Pushing [target] to the right",
    )
    prompt_hints = (
        "Left and right are as seen from the camera: right is +x in the table frame.",
        "Start the object on the left half of the table so that it can travel at least 12 cm.",
        "Reward getting the fingers just left of the object at its centre height, then its rightward displacement.",
        "Push with closed fingers pointing straight down (observe gripper_width and the hand's up axis).",
    )
    cot_examples = (
        "The caption says the cup moves from left to right: the target is the cup, the motion is along +x. I place "
        "it at x in [-0.2, -0.05]; success is a displacement above 0.12 m in x with the cup still on the table. "
        "The reward brings the closed fingers, pointing down, to a point 2.5 cm left of the cup, then pays for "
        "rightward displacement and penalises sideways drift.",
    )
    template = TEMPLATE
    reward_weights = {"approach": 1.0, "progress": 10.0, "drift": 2.0, "tilt": 1.0, "grip": 0.3, "rotation": 0.1}
    direction = 1.0
