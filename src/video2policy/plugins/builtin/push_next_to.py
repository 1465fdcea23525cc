"""Push something next to something: slide one object across the table until it is beside another."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import toolkit as sh
from video2policy.plugins.api import Behavior, ObjectSpec

TEMPLATE = '''"""Push the {{ labels.target }} next to the {{ labels.anchor }}, without moving the {{ labels.anchor }}.

Randomization: the {{ labels.anchor }} starts at x in [-0.15, -0.05], y in [-0.05, 0.1]; the {{ labels.target }}
starts 18 to 24 cm to its right; objects the task does not use wait at the back of the table.
Success: the gap between the two objects' bounding circles is below 3 cm and the {{ labels.anchor }} moved less
than 2 cm.
"""

import torch

from video2policy.tools.sim import Task
from video2policy.tools.sim.tensor_math import up_axis


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ target }}", "{{ anchor }}"], "horizon": 80}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        anchor_pos = torch.zeros(n, 3)
        anchor_pos[:, 0] = self.uniform(n, -0.15, -0.05)
        anchor_pos[:, 1] = self.uniform(n, -0.05, 0.1)
        anchor_pos[:, 2] = self.rest_height("{{ anchor }}")
        self.set_object_pose("{{ anchor }}", env_ids, anchor_pos)
        target_pos = anchor_pos.clone()
        target_pos[:, 0] += self.uniform(n, 0.18, 0.24)
        target_pos[:, 1] += self.uniform(n, -0.02, 0.02)
        target_pos[:, 2] = self.rest_height("{{ target }}")
        self.set_object_pose("{{ target }}", env_ids, target_pos)
{{ park_others }}

    def compute_observation_key(self, states):
        to_anchor = states["{{ anchor }}_pos"][:, :2] - states["{{ target }}_pos"][:, :2]
        distance = torch.linalg.vector_norm(to_anchor, dim=1, keepdim=True).clamp(min=1e-6)
        target_radius = states["{{ target }}_size"][:, :2].max(dim=1).values / 2
        anchor_radius = states["{{ anchor }}_size"][:, :2].max(dim=1).values / 2
        # push from the far side of the target, along the line to the anchor
        push_point = states["{{ target }}_pos"].clone()
        push_point[:, :2] -= to_anchor / distance * (target_radius + 0.025).unsqueeze(1)
        push_point[:, 2] = push_point[:, 2].clamp(min=0.015)
        states["eef_to_push_point"] = push_point - states["eef_pos"]
        # the way there: stay above the target's top until the fingers are over the push point, then go down
        # (a straight line would knock the target the wrong way)
        off_xy = torch.linalg.vector_norm(states["eef_to_push_point"][:, :2], dim=1)
        clearance = states["{{ target }}_pos"][:, 2] + states["{{ target }}_size"][:, 2] / 2 + 0.03 - push_point[:, 2]
        waypoint = push_point.clone()
        waypoint[:, 2] += clearance * ((off_xy - 0.02) / 0.04).clamp(0.0, 1.0)
        states["eef_to_waypoint"] = waypoint - states["eef_pos"]
        states["{{ target }}_gap"] = distance - (target_radius + anchor_radius).unsqueeze(1)
        states["{{ anchor }}_displacement"] = states["{{ anchor }}_pos"] - states["{{ anchor }}_init_pos"]
        return [
            "eef_pos",
            "eef_quat",
            "gripper_width",
            "{{ target }}_pos",
            "{{ anchor }}_pos",
            "eef_to_push_point",
            "eef_to_waypoint",
            "{{ target }}_gap",
            "{{ anchor }}_displacement",
        ]

    def get_observation_space(self):
        return 3 + 4 + 1 + 3 + 3 + 3 + 3 + 1 + 3

    def compute_success(self, states):
        close = states["{{ target }}_gap"][:, 0] < 0.03
        anchor_still = torch.linalg.vector_norm(states["{{ anchor }}_displacement"][:, :2], dim=1) < 0.02
        return close & anchor_still

    def compute_reward(self, actions, states):
        # full marks anywhere within 1.5 cm of the push point: the fingers touching the {{ labels.target }} are that
        # far from it, so pushing costs no approach reward
        approach_distance = (torch.linalg.vector_norm(states["eef_to_waypoint"], dim=1) - 0.015).clamp(min=0.0)
        approach_reward = {{ w.approach }} * (1.0 - torch.tanh(10.0 * approach_distance) - 2.0 * approach_distance)
        start = states["{{ anchor }}_init_pos"][:, :2] - states["{{ target }}_init_pos"][:, :2]
        # how much of the starting gap has been closed; nothing more for shoving the {{ labels.anchor }} on
        radii = states["{{ target }}_gap"][:, 0] - torch.linalg.vector_norm(
            states["{{ anchor }}_pos"][:, :2] - states["{{ target }}_pos"][:, :2], dim=1
        )
        start_gap = torch.linalg.vector_norm(start, dim=1) + radii
        progress = start_gap - states["{{ target }}_gap"][:, 0].clamp(min=0.0)
        # a low floor: knocking the {{ labels.target }} away from the {{ labels.anchor }} must keep costing
        gap_reward = {{ w.gap }} * progress.clamp(min=-0.3)
        anchor_penalty = -{{ w.anchor }} * torch.linalg.vector_norm(states["{{ anchor }}_displacement"][:, :2], dim=1)
        # push with closed fingers pointing down, and do not turn the hand: a solid, predictable pusher
        tilt_penalty = -{{ w.tilt }} * (1.0 - up_axis(states["eef_quat"])[:, 2])
        grip_penalty = -{{ w.grip }} * states["gripper_width"] / 0.1
        rotation_penalty = -{{ w.rotation }} * actions[:, 3:6].pow(2).sum(dim=1)
        reward = approach_reward + gap_reward + anchor_penalty + tilt_penalty + grip_penalty + rotation_penalty
        return reward, {
            "approach_reward": approach_reward,
            "gap_reward": gap_reward,
            "anchor_penalty": anchor_penalty,
            "tilt_penalty": tilt_penalty,
            "grip_penalty": grip_penalty,
            "rotation_penalty": rotation_penalty,
        }
'''


def gap(states: dict[str, torch.Tensor], a: str, b: str) -> torch.Tensor:
    """Distance between the bounding circles of a and b (negative when they overlap)."""
    return sh.xy_distance(states, a, b) - sh.radius(states, a) - sh.radius(states, b)


class PushNextTo(Behavior):
    name = "push_next_to"
    description = "Push one object across the table until it is right next to another, which stays put."
    caption_patterns = (
        "Pushing [target] next to [anchor]",
        "Moving [target] next to [anchor]",
        "Putting [target] next to [anchor]",
        "Moving [target] closer to [anchor]",
        "Pushing [target] closer to [anchor]",
    )
    roles = {"target": "the object that is moved", "anchor": "the object it ends up next to"}
    prompt_hints = (
        "Push along the line from the target to the anchor, from the target's far side.",
        "Measure closeness as the gap between bounding circles, and penalise moving the anchor.",
    )
    cot_examples = (
        "Pushing the cup next to the box: target = cup, anchor = box. The cup starts 18-24 cm right of the box. "
        "Success: circle gap below 3 cm and the box moved under 2 cm. Reward: reach the push point behind the cup, "
        "progress (how much closer the cup got), minus the box's displacement.",
    )
    template = TEMPLATE
    reward_weights = {"approach": 1.0, "gap": 10.0, "anchor": 10.0, "tilt": 0.3, "grip": 0.3, "rotation": 0.05}
    # std 1 exploration noise (2 cm a step) knocks a light, round target off the line to the anchor before the
    # policy has learned to push it; a quieter start keeps it in line (with the grip weight 0.3 and the lower floor
    # on progress; bench, 300k steps, seeds 0-2: 0.3/1.0/0.7 before, 0.8/1.0/0.8 after)
    train_hyperparameters = {"init_sigma": -1.0}
    demo_steps = 70

    def success(self, states: dict[str, torch.Tensor], roles: dict[str, str]) -> torch.Tensor:
        target, anchor = roles["target"], roles["anchor"]
        moved = torch.linalg.vector_norm(sh.displacement(states, target)[:, :2], dim=1) > 0.05
        anchor_still = torch.linalg.vector_norm(sh.displacement(states, anchor)[:, :2], dim=1) < 0.03
        return (gap(states, target, anchor) < 0.04) & moved & anchor_still & sh.on_table(states, target)

    def scripted_action(self, states: dict[str, torch.Tensor], roles: dict[str, str], t: int) -> torch.Tensor:
        target, anchor = roles["target"], roles["anchor"]
        direction = sh.unit_xy(states[f"{anchor}_pos"] - states[f"{target}_pos"])
        act = sh.push(states, target, direction, speed=0.4)
        done = gap(states, target, anchor) < 0.02
        return torch.where(done.unsqueeze(1), sh.retreat(states), act)

    def synth_objects(self, rng: np.random.Generator) -> list[ObjectSpec]:
        first, second = sh.colors(rng, 2)
        kinds = ("box", "cylinder", "cone", "rock")
        return [sh.small_object(rng, "target", first, kinds=kinds), sh.small_object(rng, "anchor", second, kinds=kinds)]
