"""Drop something in front of something: carry an object and let it fall just in front of another."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import toolkit as sh
from video2policy.plugins.api import Behavior, ObjectSpec

TEMPLATE = '''"""Drop the {{ labels.target }} in front of the {{ labels.anchor }} (nearer the camera: towards -y).

Randomization: the {{ labels.anchor }} starts at x in [-0.1, 0.1], y in [0.05, 0.15]; the {{ labels.target }}
starts 15 to 22 cm to its right, nearer the camera; objects the task does not use wait at the back of the table.
Success: the {{ labels.target }} rests on the table in a band in front of the {{ labels.anchor }} (up to 15 cm in
front of it, no further sideways than its edges plus 3 cm).
"""

import torch

from video2policy.tools.sim import Task


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ target }}", "{{ anchor }}"], "horizon": 90}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        anchor_pos = torch.zeros(n, 3)
        anchor_pos[:, 0] = self.uniform(n, -0.1, 0.1)
        anchor_pos[:, 1] = self.uniform(n, 0.05, 0.15)
        anchor_pos[:, 2] = self.rest_height("{{ anchor }}")
        self.set_object_pose("{{ anchor }}", env_ids, anchor_pos)
        target_pos = anchor_pos.clone()
        target_pos[:, 0] += self.uniform(n, 0.15, 0.22)
        target_pos[:, 1] -= self.uniform(n, 0.1, 0.15)
        target_pos[:, 2] = self.rest_height("{{ target }}")
        self.set_object_pose("{{ target }}", env_ids, target_pos)
{{ park_others }}

    def compute_observation_key(self, states):
        # the middle of the band in front of the anchor, on the table
        goal = states["{{ anchor }}_pos"].clone()
        goal[:, 1] -= (states["{{ anchor }}_size"][:, 1] + states["{{ target }}_size"][:, 1]) / 2 + 0.05
        goal[:, 2] = states["{{ target }}_size"][:, 2] / 2
        states["{{ target }}_to_eef"] = states["{{ target }}_pos"] - states["eef_pos"]
        states["{{ target }}_to_goal"] = goal - states["{{ target }}_pos"]
        return ["eef_pos", "gripper_width", "{{ target }}_pos", "{{ target }}_to_eef", "{{ target }}_to_goal"]

    def get_observation_space(self):
        return 3 + 1 + 3 + 3 + 3

    def compute_success(self, states):
        offset = states["{{ target }}_to_goal"]
        sideways = offset[:, 0].abs() < states["{{ anchor }}_size"][:, 0] / 2 + 0.03
        in_band = offset[:, 1].abs() < 0.06
        resting = offset[:, 2].abs() < 0.01
        return sideways & in_band & resting

    def compute_reward(self, actions, states):
        distance = torch.linalg.vector_norm(states["{{ target }}_to_eef"], dim=1)
        reach_reward = {{ w.reach }} * (1.0 - torch.tanh(10.0 * distance) - 2.0 * distance)
        grasped = ((distance < 0.03) & (states["gripper_width"] < states["{{ target }}_size"][:, 1] + 0.012)).float()
        grasp_reward = {{ w.grasp }} * grasped
        goal_distance = torch.linalg.vector_norm(states["{{ target }}_to_goal"][:, :2], dim=1)
        carry_reward = {{ w.carry }} * (1.0 - torch.tanh(5.0 * goal_distance))
        place_distance = torch.linalg.vector_norm(states["{{ target }}_to_goal"], dim=1)
        place_reward = {{ w.place }} * (1.0 - torch.tanh(10.0 * place_distance))
        reward = reach_reward + grasp_reward + carry_reward + place_reward
        return reward, {
            "reach_reward": reach_reward,
            "grasp_reward": grasp_reward,
            "carry_reward": carry_reward,
            "place_reward": place_reward,
        }
'''


def in_front(states: dict[str, torch.Tensor], target: str, anchor: str) -> torch.Tensor:
    """`target` lies in a band up to 15 cm in front of `anchor` (towards the camera), within its width + 3 cm."""
    t, a = states[f"{target}_pos"], states[f"{anchor}_pos"]
    touching = (states[f"{anchor}_size"][:, 1] + states[f"{target}_size"][:, 1]) / 2
    ahead = a[:, 1] - t[:, 1]
    sideways = (t[:, 0] - a[:, 0]).abs() < states[f"{anchor}_size"][:, 0] / 2 + 0.03
    return (ahead > touching - 0.01) & (ahead < touching + 0.15) & sideways


class DropInFrontOf(Behavior):
    name = "drop_in_front_of"
    description = "Carry an object and drop it onto the table just in front of another object."
    caption_patterns = (
        "Dropping [target] in front of [anchor]",
        "Putting [target] in front of [anchor]",
        "Placing [target] in front of [anchor]",
    )
    roles = {"target": "the object that is dropped", "anchor": "the object it lands in front of"}
    prompt_hints = (
        "In front of means between the object and the camera: smaller y in the table frame.",
        "Grasp, lift, carry above the goal band and open the gripper; reward the target's distance to the goal.",
    )
    cot_examples = (
        "Dropping the block in front of the mug: target = block, anchor = mug. The goal is the mug's position "
        "shifted towards the camera by half both depths plus 5 cm. Success: the block rests on the table in that "
        "band. Reward: reach, grasp, carry (xy distance to goal), place (3D distance to goal).",
    )
    template = TEMPLATE
    reward_weights = {"reach": 1.0, "grasp": 0.5, "carry": 2.0, "place": 4.0}
    demo_steps = 90

    def success(self, states: dict[str, torch.Tensor], roles: dict[str, str]) -> torch.Tensor:
        target, anchor = roles["target"], roles["anchor"]
        resting = states[f"{target}_pos"][:, 2] < states[f"{target}_size"][:, 2] / 2 + 0.01
        moved = torch.linalg.vector_norm(sh.displacement(states, target)[:, :2], dim=1) > 0.08
        return in_front(states, target, anchor) & resting & moved

    def scripted_action(self, states: dict[str, torch.Tensor], roles: dict[str, str], t: int) -> torch.Tensor:
        target, anchor = roles["target"], roles["anchor"]
        goal = states[f"{anchor}_pos"].clone()
        goal[:, 1] -= (states[f"{anchor}_size"][:, 1] + states[f"{target}_size"][:, 1]) / 2 + 0.05
        goal[:, 2] = states[f"{target}_size"][:, 2] / 2 + 0.06
        release = torch.linalg.vector_norm(goal[:, :2] - states[f"{target}_pos"][:, :2], dim=1) < 0.015
        act = sh.pick_and_place(states, target, goal, release, travel_z=0.15)
        done = in_front(states, target, anchor)
        return torch.where(done.unsqueeze(1), sh.retreat(states), act)

    def synth_objects(self, rng: np.random.Generator) -> list[ObjectSpec]:
        first, (aname, argba) = sh.colors(rng, 2)
        target = sh.small_object(rng, "target", first, kinds=("box", "cylinder", "cone", "rock"))
        if rng.random() < 0.5:
            anchor = ObjectSpec("anchor", f"{aname} mug", "mesh", (0.095, 0.07, 0.085), argba, 0.12, "mug")
        else:
            size = (sh.u(rng, 0.05, 0.09), sh.u(rng, 0.05, 0.08), sh.u(rng, 0.05, 0.1))
            anchor = ObjectSpec("anchor", f"{aname} box", "box", size, argba, 0.15)
        return [target, anchor]
