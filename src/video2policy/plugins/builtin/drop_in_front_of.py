"""Drop something in front of something: carry an object and let it fall just in front of another."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import toolkit as sh
from video2policy.plugins.api import Behavior, ObjectSpec

TEMPLATE = '''"""Drop the {{ labels.target }} in front of the {{ labels.anchor }} (nearer the camera: towards -y).

Randomization: the {{ labels.anchor }} starts at x in [-0.1, 0.1], y in [0.05, 0.15]; the {{ labels.target }}
starts 15 to 22 cm to its right, nearer the camera; objects the task does not use wait at the back of the table.
Success: the {{ labels.target }} was carried (lifted 3 cm off the table) and now rests on the table in a band in
front of the {{ labels.anchor }} (up to 15 cm in front of it, no further sideways than its edges plus 3 cm).
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
        # whether the {{ labels.target }} has been off the table this episode: dropping means it was carried there
        if len(env_ids) == self.num_envs:
            self.carried = torch.zeros(self.num_envs, dtype=torch.bool)
        else:
            self.carried[env_ids] = False
{{ park_others }}

    def compute_observation_key(self, states):
        # the middle of the band in front of the anchor, on the table
        goal = states["{{ anchor }}_pos"].clone()
        goal[:, 1] -= (states["{{ anchor }}_size"][:, 1] + states["{{ target }}_size"][:, 1]) / 2 + 0.05
        goal[:, 2] = states["{{ target }}_size"][:, 2] / 2
        states["{{ target }}_to_eef"] = states["{{ target }}_pos"] - states["eef_pos"]
        states["{{ target }}_to_goal"] = goal - states["{{ target }}_pos"]
        lift = states["{{ target }}_pos"][:, 2] - states["{{ target }}_init_pos"][:, 2]
        self.carried = self.carried | (lift > 0.03)
        states["{{ target }}_carried"] = self.carried.float().unsqueeze(1)
        return [
            "eef_pos",
            "gripper_width",
            "{{ target }}_pos",
            "{{ target }}_to_eef",
            "{{ target }}_to_goal",
            "{{ target }}_carried",
        ]

    def get_observation_space(self):
        return 3 + 1 + 3 + 3 + 3 + 1

    def compute_success(self, states):
        offset = states["{{ target }}_to_goal"]
        sideways = offset[:, 0].abs() < states["{{ anchor }}_size"][:, 0] / 2 + 0.03
        in_band = offset[:, 1].abs() < 0.06
        resting = offset[:, 2].abs() < 0.01
        return sideways & in_band & resting & self.carried

    def compute_reward(self, actions, states):
        to_eef = states["{{ target }}_to_eef"]
        distance = torch.linalg.vector_norm(to_eef, dim=1)
        horizontal = torch.linalg.vector_norm(to_eef[:, :2], dim=1)
        width = states["gripper_width"]
        # stage 1, reach a point that slides down a funnel onto the {{ labels.target }}: above it while the hand is
        # off to the side, at it once the hand is over it (come down from above, not into its side); tanh for
        # precision near the point plus a linear pull that still points the way from far off
        funnel = states["{{ target }}_pos"].clone()
        funnel[:, 2] += (2.0 * (horizontal - 0.01)).clamp(0.0, 0.08)
        approach = torch.linalg.vector_norm(funnel - states["eef_pos"], dim=1)
        reach_reward = {{ w.reach }} * (1.0 - torch.tanh(10.0 * approach) - 2.0 * approach)
        open_reward = 0.2 * (distance > 0.03).float() * width / 0.1
        # stage 2, grasp: close when the grasp point is at the object; held = fingers closed around it
        at_object = (horizontal < 0.015) & (to_eef[:, 2].abs() < 0.015)
        close_reward = 0.5 * at_object.float() * (actions[:, 6] + 1.0) / 2.0
        # (closed all the way means nothing is between the fingers: pressing down next to it is not holding it)
        size_y = states["{{ target }}_size"][:, 1]
        held = (distance < 0.03) & (width < size_y + 0.012) & (width > 0.5 * size_y)
        grasp_reward = {{ w.grasp }} * held.float()
        # stage 3, lift it 3 cm while held (once it has been up, `carried` stays set for the episode)
        carried = self.carried
        lift = states["{{ target }}_pos"][:, 2] - states["{{ target }}_init_pos"][:, 2]
        lift_reward = {{ w.lift }} * (held & ~carried).float() * lift.clamp(0.0, 0.03) / 0.03
        # stage 4, carry it towards the goal while held (it keeps paying once it is there, held or not); it pays
        # at least 2 x 0.5, never less than the lift before it
        to_goal = states["{{ target }}_to_goal"]
        goal_xy = torch.linalg.vector_norm(to_goal[:, :2], dim=1)
        at_goal = carried & (goal_xy < 0.03)
        # tanh for precision at the goal, a steep linear part so moving it there always beats holding it still
        toward = 1.5 - torch.tanh(5.0 * goal_xy) + 2.0 * (0.5 - goal_xy).clamp(min=0.0)
        carry_reward = {{ w.carry }} * ((held & carried) | at_goal).float() * toward
        # stage 5, put it down on the table there, then let go of it
        place_reward = {{ w.place }} * at_goal.float() * (1.0 - torch.tanh(10.0 * to_goal[:, 2].abs()))
        resting = to_goal[:, 2].abs() < 0.01
        let_go = at_goal & resting & (width > states["{{ target }}_size"][:, 1] + 0.02)
        release_reward = {{ w.release }} * let_go.float()
        reward = (
            reach_reward + open_reward + close_reward + grasp_reward + lift_reward + carry_reward
            + place_reward + release_reward
        )
        return reward, {
            "reach_reward": reach_reward,
            "open_reward": open_reward,
            "close_reward": close_reward,
            "grasp_reward": grasp_reward,
            "lift_reward": lift_reward,
            "carry_reward": carry_reward,
            "place_reward": place_reward,
            "release_reward": release_reward,
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
        "Stages, each paying more than the one before: reach (funnel from above), grasp (held), lift 3 cm, carry "
        "to the goal while held, lower it onto the table there, open the fingers.",
        "Pushing it there is not dropping: keep a per-episode flag of whether it was lifted, reset it in "
        "reset_objects_states, observe it, and require it for success and for the carry reward.",
    )
    cot_examples = (
        "Dropping the block in front of the mug: target = block, anchor = mug. The goal is the mug's position "
        "shifted towards the camera by half both depths plus 5 cm. Success: the block was lifted this episode "
        "and rests on the table in that band. Reward: reach, grasp, lift, carry (xy distance to goal, only after "
        "the lift), place (height error at the goal), release (fingers open with the block resting there).",
    )
    template = TEMPLATE
    reward_weights = {"reach": 1.0, "grasp": 0.5, "lift": 1.0, "carry": 2.0, "place": 2.0, "release": 1.5}
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
