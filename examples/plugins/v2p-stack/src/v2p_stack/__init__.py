"""Stack something on something: pick up one object and put it down on top of another."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import Behavior, ObjectSpec
from video2policy.plugins import toolkit as tk

TEMPLATE = '''"""Stack the {{ labels.top }} on the {{ labels.base }}: pick it up and put it down on top of it.

Randomization: the {{ labels.base }} starts at x in [-0.15, -0.05], y in [-0.05, 0.1]; the {{ labels.top }}
starts at x in [0.08, 0.18], y in [-0.1, 0.05]; objects the task does not use wait at the back of the table.
Success: the {{ labels.top }} rests on the {{ labels.base }}: centred within 2.5 cm, its bottom at the base's top.
"""

import torch

from video2policy.tools.sim import Task


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ top }}", "{{ base }}"], "horizon": 100}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        base_pos = torch.zeros(n, 3)
        base_pos[:, 0] = self.uniform(n, -0.15, -0.05)
        base_pos[:, 1] = self.uniform(n, -0.05, 0.1)
        base_pos[:, 2] = self.rest_height("{{ base }}")
        self.set_object_pose("{{ base }}", env_ids, base_pos)
        top_pos = torch.zeros(n, 3)
        top_pos[:, 0] = self.uniform(n, 0.08, 0.18)
        top_pos[:, 1] = self.uniform(n, -0.1, 0.05)
        top_pos[:, 2] = self.rest_height("{{ top }}")
        self.set_object_pose("{{ top }}", env_ids, top_pos)
{{ park_others }}

    def compute_observation_key(self, states):
        # where the top object's centre should end up: on the base, centred
        goal = states["{{ base }}_pos"].clone()
        goal[:, 2] += (states["{{ base }}_size"][:, 2] + states["{{ top }}_size"][:, 2]) / 2
        states["{{ top }}_to_eef"] = states["{{ top }}_pos"] - states["eef_pos"]
        states["{{ top }}_to_goal"] = goal - states["{{ top }}_pos"]
        return ["eef_pos", "gripper_width", "{{ top }}_pos", "{{ top }}_to_eef", "{{ top }}_to_goal"]

    def get_observation_space(self):
        return 3 + 1 + 3 + 3 + 3

    def compute_success(self, states):
        centred = torch.linalg.vector_norm(states["{{ top }}_to_goal"][:, :2], dim=1) < 0.025
        on_top = states["{{ top }}_to_goal"][:, 2].abs() < 0.01
        return centred & on_top

    def compute_reward(self, actions, states):
        distance = torch.linalg.vector_norm(states["{{ top }}_to_eef"], dim=1)
        reach_reward = {{ w.reach }} * (1.0 - torch.tanh(5.0 * distance))
        grasped = ((distance < 0.03) & (states["gripper_width"] < states["{{ top }}_size"][:, 1] + 0.012)).float()
        grasp_reward = {{ w.grasp }} * grasped
        goal_distance = torch.linalg.vector_norm(states["{{ top }}_to_goal"], dim=1)
        place_reward = {{ w.place }} * (1.0 - torch.tanh(5.0 * goal_distance))
        reward = reach_reward + grasp_reward + place_reward
        return reward, {"reach_reward": reach_reward, "grasp_reward": grasp_reward, "place_reward": place_reward}
'''


class StackOn(Behavior):
    name = "stack_on"
    description = "Pick up an object and put it down on top of another one."
    caption_patterns = (
        "Stacking [top] on [base]",
        "Putting [top] on top of [base]",
        "Putting [top] onto [base]",
    )
    roles = {"top": "the object put on top", "base": "the object it is stacked on"}
    prompt_hints = ("The goal is the base's position raised by half of both heights.",)
    cot_examples = (
        "Putting the red block on top of the box: top = red block, base = box. Reward reach, grasp and the 3D "
        "distance from the block to the goal on the box.",
    )
    template = TEMPLATE
    reward_weights = {"reach": 1.0, "grasp": 0.5, "place": 4.0}
    demo_steps = 100

    def success(self, states: dict[str, torch.Tensor], roles: dict[str, str]) -> torch.Tensor:
        top, base = roles["top"], roles["base"]
        resting = (states[f"{top}_pos"][:, 2] - states[f"{base}_pos"][:, 2]) - (
            states[f"{top}_size"][:, 2] + states[f"{base}_size"][:, 2]
        ) / 2
        return (tk.xy_distance(states, top, base) < 0.03) & (resting.abs() < 0.012)

    def scripted_action(self, states: dict[str, torch.Tensor], roles: dict[str, str], t: int) -> torch.Tensor:
        top, base = roles["top"], roles["base"]
        goal = states[f"{base}_pos"].clone()
        goal[:, 2] += (states[f"{base}_size"][:, 2] + states[f"{top}_size"][:, 2]) / 2 + 0.01
        release = torch.linalg.vector_norm(goal - states[f"{top}_pos"], dim=1) < 0.015
        act = tk.pick_and_place(states, top, goal, release, travel_z=0.18, speed=0.7)
        done = self.success(states, roles) & ~tk.held(states, top)
        return torch.where(done.unsqueeze(1), tk.retreat(states), act)

    def synth_objects(self, rng: np.random.Generator) -> list[ObjectSpec]:
        (tname, trgba), (bname, brgba) = tk.colors(rng, 2)
        s = tk.u(rng, 0.035, 0.045)
        top = ObjectSpec("top", f"{tname} block", "box", (s, s, s), trgba, 0.05)
        base = ObjectSpec("base", f"{bname} box", "box", (0.08, 0.08, tk.u(rng, 0.04, 0.06)), brgba, 0.3)
        return [top, base]
