"""Push something from right to left (towards -x in the table frame, as seen from the camera)."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import toolkit as sh
from video2policy.plugins.api import Behavior, ObjectSpec

TEMPLATE = '''"""Push the {{ labels.target }} from {{ start_side }} to {{ end_side }} (towards {{ axis }}).

Randomization: the {{ labels.target }} starts upright at a random position on the {{ start_side }} side of the table
(x in [{{ x_low }}, {{ x_high }}], y in [-0.1, 0.1]); objects the task does not use wait at the back of the table.
Success: the {{ labels.target }} has moved at least 12 cm to the {{ end_side }} of where it started and is still on
the table.
"""

import torch

from video2policy.tools.sim import Task


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ target }}"], "horizon": 60}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        pos = torch.zeros(n, 3)
        pos[:, 0] = self.uniform(n, {{ x_low }}, {{ x_high }})
        pos[:, 1] = self.uniform(n, -0.1, 0.1)
        pos[:, 2] = self.rest_height("{{ target }}")
        self.set_object_pose("{{ target }}", env_ids, pos)
{{ park_others }}

    def compute_observation_key(self, states):
        # where the fingers should be to push: just {{ start_side }} of the object, at its centre height
        push_point = states["{{ target }}_pos"].clone()
        push_point[:, 0] {{ push_op }} states["{{ target }}_size"][:, 0] / 2 + 0.025
        push_point[:, 2] = push_point[:, 2].clamp(min=0.015)
        states["eef_to_push_point"] = push_point - states["eef_pos"]
        states["{{ target }}_displacement"] = states["{{ target }}_pos"] - states["{{ target }}_init_pos"]
        return ["eef_pos", "{{ target }}_pos", "eef_to_push_point", "{{ target }}_displacement"]

    def get_observation_space(self):
        return 3 + 3 + 3 + 3

    def compute_success(self, states):
        moved = {{ sign }}states["{{ target }}_displacement"][:, 0] > 0.12
        on_table = states["{{ target }}_pos"][:, 2] > 0.0
        return moved & on_table

    def compute_reward(self, actions, states):
        approach_distance = torch.linalg.vector_norm(states["eef_to_push_point"], dim=1)
        # tanh for precision near the push point, plus a linear pull that still points the way from far off
        approach_reward = {{ w.approach }} * (1.0 - torch.tanh(10.0 * approach_distance) - 2.0 * approach_distance)
        progress = torch.clamp({{ sign }}states["{{ target }}_displacement"][:, 0], -0.05, 0.2)
        progress_reward = {{ w.progress }} * progress
        drift_penalty = -{{ w.drift }} * torch.abs(states["{{ target }}_displacement"][:, 1])
        reward = approach_reward + progress_reward + drift_penalty
        return reward, {
            "approach_reward": approach_reward,
            "progress_reward": progress_reward,
            "drift_penalty": drift_penalty,
        }
'''


class PushLeft(Behavior):
    name = "push_left"
    description = "Push an object across the table from right to left, without lifting it."
    caption_patterns = (
        "Pushing [target] from right to left",
        "Moving [target] from right to left",
        "Pushing [target] to the left",
    )
    roles = {"target": "the object that is pushed"}
    prompt_hints = (
        "Left and right are as seen from the camera: left is -x in the table frame.",
        "Start the object on the right half of the table so that it can travel at least 12 cm.",
        "Reward getting the fingers just right of the object at its centre height, then its leftward displacement.",
    )
    cot_examples = (
        "The caption says the cup moves from right to left, so the cup is the target and the motion is along -x. "
        "I place the cup at x in [0.05, 0.2]; success is a displacement below -0.12 m in x while the cup stays on the "
        "table. The reward first brings the fingers to a point 2.5 cm right of the cup, then pays for leftward "
        "displacement and penalises sideways drift.",
    )
    template = TEMPLATE
    reward_weights = {"approach": 1.0, "progress": 5.0, "drift": 2.0}
    demo_steps = 60
    direction = -1.0  # sign of x motion

    def template_context(self, roles: dict[str, str]) -> dict:
        left = self.direction < 0
        return {
            "sign": "-" if left else "",
            "push_op": "+=" if left else "-=",
            "axis": "-x" if left else "+x",
            "start_side": "right" if left else "left",
            "end_side": "left" if left else "right",
            "x_low": "0.05" if left else "-0.2",
            "x_high": "0.2" if left else "-0.05",
        }

    def success(self, states: dict[str, torch.Tensor], roles: dict[str, str]) -> torch.Tensor:
        target = roles["target"]
        moved = self.direction * sh.displacement(states, target)[:, 0] > 0.10
        return moved & sh.on_table(states, target)

    def scripted_action(self, states: dict[str, torch.Tensor], roles: dict[str, str], t: int) -> torch.Tensor:
        target = roles["target"]
        n = len(states["eef_pos"])
        act = sh.push(states, target, sh.fixed_direction(n, self.direction, 0.0))
        done = self.direction * sh.displacement(states, target)[:, 0] > 0.16
        return torch.where(done.unsqueeze(1), sh.retreat(states), act)

    def synth_objects(self, rng: np.random.Generator) -> list[ObjectSpec]:
        return [sh.small_object(rng, "target", sh.colors(rng, 1)[0])]
