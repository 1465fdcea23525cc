"""Throw something into something (the paper's garlic into a bowl): release it away from the bowl so it lands inside."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import toolkit as sh
from video2policy.plugins.api import Behavior, ObjectSpec

TEMPLATE = '''"""Throw the {{ labels.target }} into the {{ labels.container }}: let go away from it so it lands inside.

Randomization: the {{ labels.container }} starts at x in [-0.25, -0.15], y in [0.05, 0.18]; the {{ labels.target }}
starts at x in [0.1, 0.2], y in [-0.1, 0.0]; objects the task does not use wait at the back of the table.
Success: the {{ labels.target }} is inside the {{ labels.container }} (within its walls, below its rim) while the
hand is more than 12 cm away from the {{ labels.container }} horizontally.
"""

import torch

from video2policy.tools.sim import Task


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ target }}", "{{ container }}"], "horizon": 80}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        container_pos = torch.zeros(n, 3)
        container_pos[:, 0] = self.uniform(n, -0.25, -0.15)
        container_pos[:, 1] = self.uniform(n, 0.05, 0.18)
        container_pos[:, 2] = self.rest_height("{{ container }}")
        self.set_object_pose("{{ container }}", env_ids, container_pos)
        target_pos = torch.zeros(n, 3)
        target_pos[:, 0] = self.uniform(n, 0.1, 0.2)
        target_pos[:, 1] = self.uniform(n, -0.1, 0.0)
        target_pos[:, 2] = self.rest_height("{{ target }}")
        self.set_object_pose("{{ target }}", env_ids, target_pos)
{{ park_others }}

    def compute_observation_key(self, states):
        states["{{ target }}_to_eef"] = states["{{ target }}_pos"] - states["eef_pos"]
        states["{{ target }}_to_{{ container }}"] = states["{{ container }}_pos"] - states["{{ target }}_pos"]
        hand_gap = states["{{ container }}_pos"][:, :2] - states["eef_pos"][:, :2]
        states["hand_to_{{ container }}"] = torch.linalg.vector_norm(hand_gap, dim=1, keepdim=True)
        return [
            "eef_pos",
            "gripper_width",
            "{{ target }}_pos",
            "{{ target }}_vel_linear",
            "{{ target }}_to_eef",
            "{{ target }}_to_{{ container }}",
            "hand_to_{{ container }}",
        ]

    def get_observation_space(self):
        return 3 + 1 + 3 + 3 + 3 + 3 + 1

    def compute_success(self, states):
        offset = states["{{ target }}_to_{{ container }}"][:, :2].abs()
        within = (offset < states["{{ container }}_size"][:, :2] / 2 - 0.006).all(dim=1)
        rim = states["{{ container }}_pos"][:, 2] + states["{{ container }}_size"][:, 2] / 2
        below_rim = states["{{ target }}_pos"][:, 2] < rim
        thrown = states["hand_to_{{ container }}"][:, 0] > 0.12
        return within & below_rim & thrown

    def compute_reward(self, actions, states):
        distance = torch.linalg.vector_norm(states["{{ target }}_to_eef"], dim=1)
        reach_reward = {{ w.reach }} * (1.0 - torch.tanh(10.0 * distance) - 2.0 * distance)
        grasped = ((distance < 0.03) & (states["gripper_width"] < states["{{ target }}_size"][:, 1] + 0.012)).float()
        grasp_reward = {{ w.grasp }} * grasped
        lifted = (states["{{ target }}_pos"][:, 2] > 0.08).float()
        bowl_distance = torch.linalg.vector_norm(states["{{ target }}_to_{{ container }}"][:, :2], dim=1)
        toward_reward = {{ w.toward }} * (1.0 - torch.tanh(5.0 * bowl_distance)) * torch.maximum(lifted, 1.0 - grasped)
        hand_penalty = -{{ w.hand }} * (states["hand_to_{{ container }}"][:, 0] < 0.12).float()
        reward = reach_reward + grasp_reward + toward_reward + hand_penalty
        return reward, {
            "reach_reward": reach_reward,
            "grasp_reward": grasp_reward,
            "toward_reward": toward_reward,
            "hand_penalty": hand_penalty,
        }
'''


class ThrowInto(Behavior):
    name = "throw_into"
    description = "Throw a small object into a container from a distance (it flies the last part on its own)."
    caption_patterns = (
        "Throwing [target] into [container]",
        "Tossing [target] into [container]",
        "Putting [target] into [container]",
        "Dropping [target] into [container]",
    )
    roles = {"target": "the small object thrown (garlic)", "container": "the open container it lands in (bowl)"}
    prompt_hints = (
        "Throwing means releasing the object while the hand is still away from the container; penalise the hand "
        "coming within 12 cm of the container horizontally.",
        "Include the object's velocity in the observation: the policy must time the release.",
    )
    cot_examples = (
        "Throwing the garlic into the bowl: target = garlic, container = bowl. Success: garlic within the bowl's "
        "walls and below its rim while the hand is over 12 cm from the bowl. Reward: reach, grasp, the garlic's "
        "distance to the bowl once lifted or released, and a penalty for the hand near the bowl.",
    )
    template = TEMPLATE
    reward_weights = {"reach": 1.0, "grasp": 0.5, "toward": 4.0, "hand": 1.0}
    demo_steps = 90

    def success(self, states: dict[str, torch.Tensor], roles: dict[str, str]) -> torch.Tensor:
        target, container = roles["target"], roles["container"]
        hand = torch.linalg.vector_norm(states[f"{container}_pos"][:, :2] - states["eef_pos"][:, :2], dim=1)
        return sh.inside(states, target, container) & (hand > 0.12)

    def scripted_action(self, states: dict[str, torch.Tensor], roles: dict[str, str], t: int) -> torch.Tensor:
        target, container = roles["target"], roles["container"]
        n = len(states["eef_pos"])
        goal = states[f"{container}_pos"].clone()
        goal[:, 2] = 0.16
        to_bowl = torch.linalg.vector_norm(goal[:, :2] - states[f"{target}_pos"][:, :2], dim=1)
        release = (to_bowl < 0.04) & (states[f"{target}_pos"][:, 2] > 0.12)
        act = sh.pick_and_place(states, target, goal, release, travel_z=0.16, speed=0.6, stop_on_release=False)
        gone = torch.linalg.vector_norm(states[f"{target}_pos"] - states["eef_pos"], dim=1) > 0.05
        flying = gone & (states[f"{target}_pos"][:, 2] > states[f"{target}_size"][:, 2] / 2 + 0.01)
        done = flying | sh.inside(states, target, container)
        home = torch.tensor([0.15, -0.15, 0.2]).expand(n, 3)
        back = sh.action(sh.goto(states["eef_pos"], home, 0.8), torch.full((n,), -1.0))
        return torch.where(done.unsqueeze(1), back, act)

    def synth_objects(self, rng: np.random.Generator) -> list[ObjectSpec]:
        ((_, crgba),) = sh.colors(rng, 1)
        s = sh.u(rng, 0.03, 0.038)
        garlic = ObjectSpec("target", "garlic", "cylinder", (s, s, s * 0.85), (0.93, 0.9, 0.8, 1.0), 0.02)
        d = sh.u(rng, 0.14, 0.17)
        bowl = ObjectSpec("container", "bowl", "mesh", (d, d, sh.u(rng, 0.045, 0.06)), crgba, 0.25, "bowl")
        return [garlic, bowl]
