"""Uncover something: lift the upside-down cup that hides an object and put it aside."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import toolkit as sh
from video2policy.plugins.api import Behavior, ObjectSpec
from video2policy.plugins.builtin.cover import cover_objects

TEMPLATE = '''"""Uncover the {{ labels.target }}: lift the {{ labels.cover }} that hides it.

Randomization: the {{ labels.target }} starts at x in [-0.12, 0.12], y in [-0.05, 0.1] with the
{{ labels.cover }} (open side down) over it; objects the task does not use wait at the back of the table.
Success: the {{ labels.cover }}'s rim is at least 3 cm above the {{ labels.target }}'s top, or the
{{ labels.cover }} is beside it, while the {{ labels.target }} stays on the table.
"""

import torch

from video2policy.tools.sim import Task


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ target }}", "{{ cover }}"], "horizon": 60}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        target_pos = torch.zeros(n, 3)
        target_pos[:, 0] = self.uniform(n, -0.12, 0.12)
        target_pos[:, 1] = self.uniform(n, -0.05, 0.1)
        target_pos[:, 2] = self.rest_height("{{ target }}")
        self.set_object_pose("{{ target }}", env_ids, target_pos)
        cover_pos = target_pos.clone()
        cover_pos[:, 2] = self.rest_height("{{ cover }}")
        self.set_object_pose("{{ cover }}", env_ids, cover_pos)
{{ park_others }}

    def compute_observation_key(self, states):
        states["{{ cover }}_to_eef"] = states["{{ cover }}_pos"] - states["eef_pos"]
        rim = states["{{ cover }}_pos"][:, 2] - states["{{ cover }}_size"][:, 2] / 2
        top = states["{{ target }}_pos"][:, 2] + states["{{ target }}_size"][:, 2] / 2
        states["{{ cover }}_clearance"] = (rim - top).unsqueeze(1)
        return [
            "eef_pos",
            "gripper_width",
            "{{ cover }}_pos",
            "{{ target }}_pos",
            "{{ cover }}_to_eef",
            "{{ cover }}_clearance",
        ]

    def get_observation_space(self):
        return 3 + 1 + 3 + 3 + 3 + 1

    def compute_success(self, states):
        lifted = states["{{ cover }}_clearance"][:, 0] > 0.03
        gap = torch.linalg.vector_norm(states["{{ cover }}_pos"][:, :2] - states["{{ target }}_pos"][:, :2], dim=1)
        beside = gap > (states["{{ cover }}_size"][:, 0] + states["{{ target }}_size"][:, 0]) / 2
        on_table = states["{{ target }}_pos"][:, 2] < states["{{ target }}_size"][:, 2] / 2 + 0.02
        return (lifted | beside) & on_table

    def compute_reward(self, actions, states):
        distance = torch.linalg.vector_norm(states["{{ cover }}_to_eef"], dim=1)
        reach_reward = {{ w.reach }} * (1.0 - torch.tanh(10.0 * distance) - 2.0 * distance)
        grasped = ((distance < 0.03) & (states["gripper_width"] < states["{{ cover }}_size"][:, 1] + 0.012)).float()
        grasp_reward = {{ w.grasp }} * grasped
        lift_reward = {{ w.lift }} * grasped * states["{{ cover }}_clearance"][:, 0].clamp(-0.05, 0.06)
        reward = reach_reward + grasp_reward + lift_reward
        return reward, {"reach_reward": reach_reward, "grasp_reward": grasp_reward, "lift_reward": lift_reward}
'''


class Uncover(Behavior):
    name = "uncover"
    description = "Lift the upside-down container that hides an object, revealing it."
    caption_patterns = (
        "Uncovering [target]",
        "Uncovering [target] by lifting [cover]",
        "Lifting [cover] off [target]",
        "Removing [cover], revealing [target] behind",
    )
    roles = {"target": "the object that is revealed", "cover": "the container hiding it"}
    prompt_hints = (
        "At reset the cover sits over the target: same xy, resting on the table.",
        "Reward grasping the cover and the clearance between its rim and the target's top.",
    )
    cot_examples = (
        "Uncovering the ball: the cup hides the ball. Reset puts the cup over the ball. Success: the cup's rim is "
        "3 cm above the ball's top or the cup is beside the ball, and the ball is still on the table.",
    )
    template = TEMPLATE
    reward_weights = {"reach": 1.0, "grasp": 0.5, "lift": 30.0}
    demo_steps = 60

    def success(self, states: dict[str, torch.Tensor], roles: dict[str, str]) -> torch.Tensor:
        target, cover = roles["target"], roles["cover"]
        rim = states[f"{cover}_pos"][:, 2] - states[f"{cover}_size"][:, 2] / 2
        top = states[f"{target}_pos"][:, 2] + states[f"{target}_size"][:, 2] / 2
        beside = sh.xy_distance(states, target, cover) > sh.radius(states, cover) + sh.radius(states, target)
        resting = states[f"{target}_pos"][:, 2] < states[f"{target}_size"][:, 2] / 2 + 0.02
        return ((rim > top + 0.02) | beside) & resting

    def scripted_action(self, states: dict[str, torch.Tensor], roles: dict[str, str], t: int) -> torch.Tensor:
        cover = roles["cover"]
        goal = states[f"{cover}_init_pos"].clone()
        goal[:, 0] += torch.where(goal[:, 0] > 0, -0.12, 0.12)
        goal[:, 2] += 0.12
        return sh.pick_and_place(states, cover, goal, torch.zeros(len(goal), dtype=torch.bool), travel_z=0.2)

    def synth_objects(self, rng: np.random.Generator) -> list[ObjectSpec]:
        return cover_objects(rng)
