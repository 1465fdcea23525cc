"""Cover something with something: put an upside-down cup (or bowl) over a small object."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import toolkit as sh
from video2policy.plugins.api import Behavior, ObjectSpec

TEMPLATE = '''"""Cover the {{ labels.target }} with the {{ labels.cover }}: put the {{ labels.cover }} down over it.

Randomization: the {{ labels.target }} starts at x in [-0.15, -0.05], y in [-0.05, 0.1]; the {{ labels.cover }}
(open side down) starts to its right at x in [0.08, 0.18], y in [-0.05, 0.1]; objects the task does not use wait
at the back of the table.
Success: the {{ labels.target }} is inside the {{ labels.cover }}'s footprint and the {{ labels.cover }}'s rim is
below the {{ labels.target }}'s centre.
"""

import torch

from video2policy.tools.sim import Task


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ target }}", "{{ cover }}"], "horizon": 100}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        target_pos = torch.zeros(n, 3)
        target_pos[:, 0] = self.uniform(n, -0.15, -0.05)
        target_pos[:, 1] = self.uniform(n, -0.05, 0.1)
        target_pos[:, 2] = self.rest_height("{{ target }}")
        self.set_object_pose("{{ target }}", env_ids, target_pos)
        cover_pos = torch.zeros(n, 3)
        cover_pos[:, 0] = self.uniform(n, 0.08, 0.18)
        cover_pos[:, 1] = self.uniform(n, -0.05, 0.1)
        cover_pos[:, 2] = self.rest_height("{{ cover }}")
        self.set_object_pose("{{ cover }}", env_ids, cover_pos)
{{ park_others }}

    def compute_observation_key(self, states):
        # where the cover's centre must end up: over the target, resting on the table
        goal = states["{{ target }}_pos"].clone()
        goal[:, 2] = states["{{ cover }}_size"][:, 2] / 2
        states["{{ cover }}_to_eef"] = states["{{ cover }}_pos"] - states["eef_pos"]
        states["{{ cover }}_to_goal"] = goal - states["{{ cover }}_pos"]
        return [
            "eef_pos",
            "gripper_width",
            "{{ cover }}_pos",
            "{{ target }}_pos",
            "{{ cover }}_to_eef",
            "{{ cover }}_to_goal",
        ]

    def get_observation_space(self):
        return 3 + 1 + 3 + 3 + 3 + 3

    def compute_success(self, states):
        offset = torch.linalg.vector_norm(states["{{ cover }}_to_goal"][:, :2], dim=1)
        cover_radius = states["{{ cover }}_size"][:, :2].min(dim=1).values / 2
        target_radius = states["{{ target }}_size"][:, :2].max(dim=1).values / 2
        inside = offset < (cover_radius - target_radius).clamp(min=0.01)
        rim = states["{{ cover }}_pos"][:, 2] - states["{{ cover }}_size"][:, 2] / 2
        return inside & (rim < states["{{ target }}_pos"][:, 2])

    def compute_reward(self, actions, states):
        distance = torch.linalg.vector_norm(states["{{ cover }}_to_eef"], dim=1)
        reach_reward = {{ w.reach }} * (1.0 - torch.tanh(10.0 * distance) - 2.0 * distance)
        grasped = ((distance < 0.03) & (states["gripper_width"] < states["{{ cover }}_size"][:, 1] + 0.012)).float()
        grasp_reward = {{ w.grasp }} * grasped
        hover = states["{{ cover }}_to_goal"].clone()
        hover[:, 2] += states["{{ target }}_size"][:, 2] + 0.03
        carry_reward = {{ w.carry }} * grasped * (1.0 - torch.tanh(5.0 * torch.linalg.vector_norm(hover, dim=1)))
        over = (torch.linalg.vector_norm(states["{{ cover }}_to_goal"][:, :2], dim=1) < 0.015).float()
        lower_reward = {{ w.lower }} * over * (1.0 - torch.tanh(10.0 * states["{{ cover }}_to_goal"][:, 2].abs()))
        reward = reach_reward + grasp_reward + carry_reward + lower_reward
        return reward, {
            "reach_reward": reach_reward,
            "grasp_reward": grasp_reward,
            "carry_reward": carry_reward,
            "lower_reward": lower_reward,
        }
'''


def covered(states: dict[str, torch.Tensor], target: str, cover: str, tolerance: float = 0.005) -> torch.Tensor:
    """`target` is under `cover`: inside its footprint, with the cover's rim below the target's centre."""
    room = states[f"{cover}_size"][:, :2].min(dim=1).values / 2 - 0.006 - sh.radius(states, target)
    inside = sh.xy_distance(states, target, cover) < room.clamp(min=0.005) + tolerance
    rim = states[f"{cover}_pos"][:, 2] - states[f"{cover}_size"][:, 2] / 2
    return inside & (rim < states[f"{target}_pos"][:, 2])


def cover_objects(rng: np.random.Generator) -> list[ObjectSpec]:
    """A small ball or block and an upside-down cup big enough to hide it."""
    (tname, trgba), (cname, crgba) = sh.colors(rng, 2)
    s = sh.u(rng, 0.025, 0.035)
    if rng.random() < 0.5:
        target = ObjectSpec("target", f"{tname} ball", "sphere", (s, s, s), trgba, 0.03)
    else:
        target = ObjectSpec("target", f"{tname} block", "box", (s, s, s), trgba, 0.03)
    d = sh.u(rng, 0.072, 0.082)
    cover = ObjectSpec("cover", f"{cname} cup", "mesh", (d, d, sh.u(rng, 0.06, 0.075)), crgba, 0.06, "cover_cup")
    return [target, cover]


class Cover(Behavior):
    name = "cover"
    description = "Put an upside-down container (cup, bowl) over a small object so that it hides it."
    caption_patterns = (
        "Covering [target] with [cover]",
        "Putting [cover] over [target]",
        "Putting [cover] upside down over [target]",
    )
    roles = {"target": "the small object that gets covered", "cover": "the open-bottomed container put over it"}
    prompt_hints = (
        "The cover is an upside-down cup: its open side faces the table. Grasp it across its outer diameter.",
        "Carry the cover above the target first (its rim higher than the target's top), then lower it.",
        "Success: target inside the cover's footprint and the cover's rim below the target's centre.",
    )
    cot_examples = (
        "Covering the ball with the cup: target = ball, cover = cup. Stages: reach the cup, close, carry it to a "
        "hover point above the ball (rim 3 cm above the ball's top), lower it onto the table. Rewards per stage, "
        "each gated by the previous one (grasped, over the ball).",
    )
    template = TEMPLATE
    reward_weights = {"reach": 1.0, "grasp": 0.5, "carry": 2.0, "lower": 4.0}
    demo_steps = 100

    def success(self, states: dict[str, torch.Tensor], roles: dict[str, str]) -> torch.Tensor:
        return covered(states, roles["target"], roles["cover"]) & sh.on_table(states, roles["target"])

    def scripted_action(self, states: dict[str, torch.Tensor], roles: dict[str, str], t: int) -> torch.Tensor:
        target, cover = roles["target"], roles["cover"]
        goal = states[f"{target}_pos"].clone()
        goal[:, 2] = states[f"{cover}_size"][:, 2] / 2 + 0.003
        gap = sh.xy_distance(states, target, cover)
        release = (gap < 0.01) & (states[f"{cover}_pos"][:, 2] < goal[:, 2] + 0.01)
        act = sh.pick_and_place(states, cover, goal, release, travel_z=0.17)
        done = self.success(states, roles) & ~sh.held(states, cover)
        return torch.where(done.unsqueeze(1), sh.retreat(states), act)

    def synth_objects(self, rng: np.random.Generator) -> list[ObjectSpec]:
        return cover_objects(rng)
