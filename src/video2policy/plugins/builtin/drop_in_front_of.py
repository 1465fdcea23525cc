"""Drop something in front of something: carry an object and let it fall just in front of another."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import toolkit as sh
from video2policy.plugins.api import Behavior, ObjectSpec

TEMPLATE = '''"""Drop the {{ labels.target }} in front of the {{ labels.anchor }} (nearer the camera: towards -y).

Randomization: the {{ labels.anchor }} starts at x in [-0.1, 0.1], y in [0.05, 0.15]; the {{ labels.target }}
starts 15 to 22 cm to its right, nearer the camera; objects the task does not use wait at the back of the table.
Success: the {{ labels.target }} was carried (lifted 2 cm off the table), was moved more than 8 cm and now rests
on the table in a band in front of the {{ labels.anchor }} (up to 11 cm in front of it, no further sideways than
its edges plus 3 cm).
"""

import torch

from video2policy.tools.sim import Task
from video2policy.tools.sim.tensor_math import up_axis


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ target }}", "{{ anchor }}"], "horizon": 100}

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
        states["{{ target }}_lift"] = lift.unsqueeze(1)
        self.carried = self.carried | (lift > 0.02)
        states["{{ target }}_carried"] = self.carried.float().unsqueeze(1)
        # 1 when the fingers point straight down
        states["eef_upright"] = up_axis(states["eef_quat"])[:, 2:3]
        return [
            "eef_pos",
            "eef_quat",
            "eef_upright",
            "gripper_width",
            "{{ target }}_pos",
            "{{ target }}_to_eef",
            "{{ target }}_to_goal",
            "{{ target }}_lift",
            "{{ target }}_carried",
        ]

    def get_observation_space(self):
        return 3 + 4 + 1 + 1 + 3 + 3 + 3 + 1 + 1

    def compute_success(self, states):
        offset = states["{{ target }}_to_goal"]
        sideways = offset[:, 0].abs() < states["{{ anchor }}_size"][:, 0] / 2 + 0.03
        in_band = offset[:, 1].abs() < 0.06
        resting = offset[:, 2].abs() < 0.01
        moved = (states["{{ target }}_pos"] - states["{{ target }}_init_pos"])[:, :2].norm(dim=1) > 0.08
        return sideways & in_band & resting & moved & self.carried

    def compute_reward(self, actions, states):
        # stage 1, pick it up (reach, close the fingers at it, lift it while the grasp point stays at it); the lift
        # pays a lot next to reaching and grasping so that picking up, not hovering, is what the policy learns.
        # The reach aims at a point that slides down a funnel onto the object: above it while the hand is off to the
        # side, at it once the hand is over it (come down from above, not into its side, which knocks it away)
        to_eef = states["{{ target }}_to_eef"]
        distance = torch.linalg.vector_norm(to_eef, dim=1)
        horizontal = torch.linalg.vector_norm(to_eef[:, :2], dim=1)
        funnel = to_eef.clone()
        funnel[:, 2] += (2.0 * (horizontal - 0.01)).clamp(0.0, 0.08)
        approach = torch.linalg.vector_norm(funnel, dim=1)
        reach_reward = {{ w.reach }} * (1.0 - torch.tanh(10.0 * approach) - 2.0 * approach)
        widest = states["{{ target }}_size"][:, :2].max(dim=1).values
        # closing the fingers at it pays; fingers closed onto it (as narrow as the object) pay more, so the hand
        # squeezes instead of half-closing
        near = distance < 0.03
        grasp_reward = {{ w.grasp }} * near.float() * (actions[:, 6] + 1.0) / 2.0
        squeezed = near & (states["gripper_width"] < widest + 0.005)
        squeeze_reward = {{ w.squeeze }} * squeezed.float()
        holding = distance < 0.04
        carried = self.carried
        # closed fingers cannot come down around it: fingers narrower than it plus 1 cm while the hand is still 4 cm
        # or more from it cost (a cost, not a bonus for open ones, so that coming nearer never loses anything; on
        # the width, not the action, so the policy does not learn to push the gripper action far past open, from
        # where it would never explore closing)
        too_narrow = states["gripper_width"] < widest + 0.01
        open_penalty = -{{ w.open }} * ((distance > 0.04) & ~carried & too_narrow).float()
        # the grasp wants fingers pointing down; turning the hand never helps, so the cheapest way is not to rotate
        tilt_penalty = -{{ w.tilt }} * (1.0 - states["eef_upright"][:, 0])
        rotation_penalty = -{{ w.rotation }} * actions[:, 3:6].pow(2).sum(dim=1)
        # the lift pays for height up to 8 cm (lifting, not holding still, is what pays most in this stage); once it
        # has been 2 cm up it pays at least that much while it is held, so lowering it at the goal costs little
        lift = states["{{ target }}_lift"][:, 0].clamp(0.0, 0.08)
        lift = torch.where(carried, lift.clamp(min=0.02), lift)
        lift_reward = {{ w.lift }} * lift * holding.float()
        # stage 2, carry it while held to a point that slides down a funnel onto the goal: 6 cm above the table
        # while it is off to the side, on the table once it is over the goal (so it is put down there, not dragged)
        to_goal = states["{{ target }}_to_goal"]
        goal_xy = torch.linalg.vector_norm(to_goal[:, :2], dim=1)
        funnel = to_goal.clone()
        funnel[:, 2] += (2.0 * (goal_xy - 0.01)).clamp(0.0, 0.06)
        carry_distance = torch.linalg.vector_norm(funnel, dim=1)
        carry_reward = {{ w.carry }} * (holding & carried).float() * (1.0 - torch.tanh(4.0 * carry_distance))
        # stage 3, down on the table at the goal: open the fingers (the drop), paid while it stays there
        at_goal = carried & (goal_xy < 0.03) & (to_goal[:, 2].abs() < 0.01)
        release_reward = {{ w.release }} * at_goal.float() * (1.0 - actions[:, 6]) / 2.0
        reward = reach_reward + open_penalty + tilt_penalty + rotation_penalty + grasp_reward + squeeze_reward
        reward = reward + lift_reward + carry_reward + release_reward
        return reward, {
            "reach_reward": reach_reward,
            "open_penalty": open_penalty,
            "tilt_penalty": tilt_penalty,
            "rotation_penalty": rotation_penalty,
            "grasp_reward": grasp_reward,
            "squeeze_reward": squeeze_reward,
            "lift_reward": lift_reward,
            "carry_reward": carry_reward,
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
    # lift_up's pick-up reward (which trains to 0.93), then a carry term worth more than the whole pick-up
    reward_weights = {
        "reach": 1.0,
        "open": 0.3,
        "tilt": 1.0,
        "rotation": 0.1,
        "grasp": 1.0,
        "squeeze": 0.5,
        "lift": 40.0,
        "carry": 8.0,
        "release": 4.0,
    }
    # PPO's default initial action noise (2 cm/step of jitter) knocks the object away before the fingers close;
    # a quieter start lets it find the grasp, as for lift_up
    train_hyperparameters = {"init_sigma": -1.0}
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
