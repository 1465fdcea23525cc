"""Tip something over: push a tall object near its top until it falls on its side."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import toolkit as sh
from video2policy.plugins.api import Behavior, ObjectSpec
from video2policy.tools.sim.tensor_math import up_axis

TEMPLATE = '''"""Tip the {{ labels.target }} over: push it near its top until it lies on its side.

Randomization: the {{ labels.target }} stands upright at a random position in the middle of the table
(x in [-0.15, 0.15], y in [-0.1, 0.05]); objects the task does not use wait at the back of the table.
Success: the {{ labels.target }}'s up axis is tilted more than 65 degrees from vertical and it is still on the table.
"""

import torch

from video2policy.tools.sim import Task
from video2policy.tools.sim.tensor_math import up_axis


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ target }}"], "horizon": 50}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        pos = torch.zeros(n, 3)
        pos[:, 0] = self.uniform(n, -0.15, 0.15)
        pos[:, 1] = self.uniform(n, -0.1, 0.05)
        pos[:, 2] = self.rest_height("{{ target }}")
        self.set_object_pose("{{ target }}", env_ids, pos)
{{ park_others }}

    def compute_observation_key(self, states):
        # push away from the camera (+y) at three quarters of the object's height
        push_point = states["{{ target }}_init_pos"].clone()
        push_point[:, 1] -= states["{{ target }}_size"][:, 1] / 2 + 0.025
        push_point[:, 2] = 1.5 * states["{{ target }}_size"][:, 2] / 2
        states["eef_to_push_point"] = push_point - states["eef_pos"]
        states["{{ target }}_upright"] = up_axis(states["{{ target }}_quat"])[:, 2:3]
        return ["eef_pos", "{{ target }}_pos", "{{ target }}_quat", "eef_to_push_point", "{{ target }}_upright"]

    def get_observation_space(self):
        return 3 + 3 + 4 + 3 + 1

    def compute_success(self, states):
        tipped = states["{{ target }}_upright"][:, 0] < 0.4
        on_table = states["{{ target }}_pos"][:, 2] > 0.0
        return tipped & on_table

    def compute_reward(self, actions, states):
        approach_distance = torch.linalg.vector_norm(states["eef_to_push_point"], dim=1)
        approach_reward = {{ w.approach }} * (1.0 - torch.tanh(10.0 * approach_distance) - 2.0 * approach_distance)
        tilt_reward = {{ w.tilt }} * (1.0 - states["{{ target }}_upright"][:, 0])
        reward = approach_reward + tilt_reward
        return reward, {"approach_reward": approach_reward, "tilt_reward": tilt_reward}
'''


class TipOver(Behavior):
    name = "tip_over"
    description = "Push a tall object near its top so that it falls over onto its side."
    caption_patterns = (
        "Tipping [target] over",
        "Knocking [target] over",
        "Pushing [target] so that it falls over",
        "Pushing [target] so it falls over",
    )
    roles = {"target": "the tall object that is tipped over"}
    prompt_hints = (
        "A tall object tips when pushed above its centre of mass; aim at three quarters of its height.",
        "Use up_axis(quat)[:, 2] from tensor_math: 1 upright, 0 lying on its side.",
    )
    cot_examples = (
        "Tipping the bottle over: target is the bottle. Success is a tilt beyond 65 degrees (up-axis z below 0.4). "
        "The reward brings the fingers to a point in front of the bottle at 3/4 of its height, then pays 1 - up_z.",
    )
    template = TEMPLATE
    reward_weights = {"approach": 1.0, "tilt": 5.0}
    demo_steps = 50

    def success(self, states: dict[str, torch.Tensor], roles: dict[str, str]) -> torch.Tensor:
        target = roles["target"]
        return (up_axis(states[f"{target}_quat"])[:, 2] < 0.5) & sh.on_table(states, target)

    def scripted_action(self, states: dict[str, torch.Tensor], roles: dict[str, str], t: int) -> torch.Tensor:
        target = roles["target"]
        n = len(states["eef_pos"])
        height = 0.75 * states[f"{target}_size"][:, 2]
        act = sh.push(states, target, sh.fixed_direction(n, 0.0, 1.0), height=height, speed=0.5)
        done = up_axis(states[f"{target}_quat"])[:, 2] < 0.4
        return torch.where(done.unsqueeze(1), sh.retreat(states), act)

    def synth_objects(self, rng: np.random.Generator) -> list[ObjectSpec]:
        cname, rgba = sh.colors(rng, 1)[0]
        w, h = sh.u(rng, 0.035, 0.05), sh.u(rng, 0.12, 0.16)
        kind = int(rng.integers(3))
        if kind == 0:
            return [ObjectSpec("target", f"{cname} box", "box", (sh.u(rng, 0.035, 0.05), w, h), rgba, 0.08)]
        if kind == 1:
            return [ObjectSpec("target", f"{cname} bottle", "cylinder", (w, w, h), rgba, 0.08)]
        return [ObjectSpec("target", f"{cname} tube", "capsule", (w, w, h), rgba, 0.08)]
