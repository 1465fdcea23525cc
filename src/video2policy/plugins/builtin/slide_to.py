"""Slide something to something (the paper's remote to the mouse): push a flat object up to another."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import toolkit as sh
from video2policy.plugins.api import Behavior, ObjectSpec

TEMPLATE = '''"""Slide the {{ labels.target }} to the {{ labels.anchor }}: push it along +y until they touch.

Randomization: the {{ labels.anchor }} starts at x in [-0.1, 0.1], y in [0.1, 0.18]; the {{ labels.target }}
lies 22 to 28 cm nearer the camera, in line with it; objects the task does not use wait at the back of the table.
Success: the gap between them along y is under 2 cm, the {{ labels.target }} never left the table top and the
{{ labels.anchor }} moved less than 2 cm.
"""

import torch

from video2policy.tools.sim import Task
from video2policy.tools.sim.tensor_math import up_axis


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ target }}", "{{ anchor }}"], "horizon": 80}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        anchor_pos = torch.zeros(n, 3)
        anchor_pos[:, 0] = self.uniform(n, -0.1, 0.1)
        anchor_pos[:, 1] = self.uniform(n, 0.1, 0.18)
        anchor_pos[:, 2] = self.rest_height("{{ anchor }}")
        self.set_object_pose("{{ anchor }}", env_ids, anchor_pos)
        target_pos = anchor_pos.clone()
        target_pos[:, 0] += self.uniform(n, -0.02, 0.02)
        target_pos[:, 1] -= self.uniform(n, 0.22, 0.28)
        target_pos[:, 2] = self.rest_height("{{ target }}")
        self.set_object_pose("{{ target }}", env_ids, target_pos)
{{ park_others }}

    def compute_observation_key(self, states):
        push_point = states["{{ target }}_pos"].clone()
        push_point[:, 1] -= states["{{ target }}_size"][:, 1] / 2 + 0.025
        push_point[:, 2] = push_point[:, 2].clamp(min=0.015)
        states["eef_to_push_point"] = push_point - states["eef_pos"]
        # the way there: stay above the {{ labels.target }}'s top until the fingers are over the push point
        off_xy = torch.linalg.vector_norm(states["eef_to_push_point"][:, :2], dim=1)
        clearance = states["{{ target }}_pos"][:, 2] + states["{{ target }}_size"][:, 2] / 2 + 0.03 - push_point[:, 2]
        waypoint = push_point.clone()
        waypoint[:, 2] += clearance * ((off_xy - 0.02) / 0.04).clamp(0.0, 1.0)
        states["eef_to_waypoint"] = waypoint - states["eef_pos"]
        half_depths = (states["{{ target }}_size"][:, 1] + states["{{ anchor }}_size"][:, 1]) / 2
        gap = states["{{ anchor }}_pos"][:, 1] - states["{{ target }}_pos"][:, 1] - half_depths
        states["{{ target }}_gap"] = gap.unsqueeze(1)
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
        touching = states["{{ target }}_gap"][:, 0] < 0.02
        aligned = (states["{{ target }}_pos"][:, 0] - states["{{ anchor }}_pos"][:, 0]).abs() < 0.05
        flat = states["{{ target }}_pos"][:, 2] < states["{{ target }}_size"][:, 2] / 2 + 0.01
        anchor_still = torch.linalg.vector_norm(states["{{ anchor }}_displacement"][:, :2], dim=1) < 0.02
        return touching & aligned & flat & anchor_still

    def compute_reward(self, actions, states):
        approach_distance = torch.linalg.vector_norm(states["eef_to_waypoint"], dim=1)
        approach_reward = {{ w.approach }} * (1.0 - torch.tanh(10.0 * approach_distance) - 2.0 * approach_distance)
        # how much of the starting gap has been closed; nothing more for shoving the {{ labels.anchor }} on
        half_depths = (states["{{ target }}_size"][:, 1] + states["{{ anchor }}_size"][:, 1]) / 2
        start_gap = states["{{ anchor }}_init_pos"][:, 1] - states["{{ target }}_init_pos"][:, 1] - half_depths
        progress = start_gap - states["{{ target }}_gap"][:, 0].clamp(min=0.0)
        gap_reward = {{ w.gap }} * progress.clamp(min=-0.05)
        drift_penalty = -{{ w.drift }} * (states["{{ target }}_pos"][:, 0] - states["{{ anchor }}_pos"][:, 0]).abs()
        anchor_penalty = -{{ w.anchor }} * torch.linalg.vector_norm(states["{{ anchor }}_displacement"][:, :2], dim=1)
        # push with closed fingers pointing down: a solid, predictable pusher
        tilt_penalty = -{{ w.tilt }} * (1.0 - up_axis(states["eef_quat"])[:, 2])
        grip_penalty = -{{ w.grip }} * states["gripper_width"] / 0.1
        reward = approach_reward + gap_reward + drift_penalty + anchor_penalty + tilt_penalty + grip_penalty
        return reward, {
            "approach_reward": approach_reward,
            "gap_reward": gap_reward,
            "drift_penalty": drift_penalty,
            "anchor_penalty": anchor_penalty,
            "tilt_penalty": tilt_penalty,
            "grip_penalty": grip_penalty,
        }
'''


def y_gap(states: dict[str, torch.Tensor], target: str, anchor: str) -> torch.Tensor:
    half_depths = (states[f"{target}_size"][:, 1] + states[f"{anchor}_size"][:, 1]) / 2
    return states[f"{anchor}_pos"][:, 1] - states[f"{target}_pos"][:, 1] - half_depths


class SlideTo(Behavior):
    name = "slide_to"
    description = "Slide a flat object along the table until it touches another object, without lifting it."
    caption_patterns = (
        "Sliding [target] to [anchor]",
        "Sliding [target] towards [anchor]",
        "Sliding [target] across the table to [anchor]",
        "Pushing [target] until it touches [anchor]",
    )
    roles = {"target": "the flat object slid (a remote)", "anchor": "the object it slides up to (a mouse)"}
    prompt_hints = (
        "Slide, do not lift: penalise or fail any state where the target is above its resting height.",
        "Here the slide goes away from the camera (+y); push from the target's near end.",
    )
    cot_examples = (
        "Sliding the remote to the mouse: target = remote, anchor = mouse. Gap along y between their near faces; "
        "success under 2 cm with the remote flat on the table and the mouse not pushed away.",
    )
    template = TEMPLATE
    reward_weights = {"approach": 1.0, "gap": 10.0, "drift": 2.0, "anchor": 10.0, "tilt": 0.3, "grip": 0.1}
    demo_steps = 70

    def success(self, states: dict[str, torch.Tensor], roles: dict[str, str]) -> torch.Tensor:
        target, anchor = roles["target"], roles["anchor"]
        side = (states[f"{target}_pos"][:, 0] - states[f"{anchor}_pos"][:, 0]).abs()
        aligned = side < states[f"{anchor}_size"][:, 0] / 2 + states[f"{target}_size"][:, 0] / 2
        flat = states[f"{target}_pos"][:, 2] < states[f"{target}_size"][:, 2] / 2 + 0.01
        anchor_still = torch.linalg.vector_norm(sh.displacement(states, anchor)[:, :2], dim=1) < 0.03
        return (y_gap(states, target, anchor) < 0.025) & aligned & flat & anchor_still

    def scripted_action(self, states: dict[str, torch.Tensor], roles: dict[str, str], t: int) -> torch.Tensor:
        target, anchor = roles["target"], roles["anchor"]
        n = len(states["eef_pos"])
        act = sh.push(states, target, sh.fixed_direction(n, 0.0, 1.0), speed=0.4)
        done = y_gap(states, target, anchor) < 0.012
        return torch.where(done.unsqueeze(1), sh.retreat(states), act)

    def synth_objects(self, rng: np.random.Generator) -> list[ObjectSpec]:
        (tname, trgba), (aname, argba) = sh.colors(rng, 2)
        remote = (sh.u(rng, 0.04, 0.05), sh.u(rng, 0.13, 0.16), sh.u(rng, 0.016, 0.02))
        mouse = (sh.u(rng, 0.055, 0.065), sh.u(rng, 0.09, 0.11), sh.u(rng, 0.03, 0.04))
        return [
            ObjectSpec("target", f"{tname} remote", "box", remote, trgba, 0.1),
            ObjectSpec("anchor", f"{aname} mouse", "ellipsoid", mouse, argba, 0.3),
        ]
