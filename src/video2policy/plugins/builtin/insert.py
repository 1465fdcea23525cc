"""Insert something into something (the paper's fork into a container): put a long thin object into a bin."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import toolkit as sh
from video2policy.plugins.api import Behavior, ObjectSpec

TEMPLATE = '''"""Insert the {{ labels.tool }} into the {{ labels.container }}: pick it up and lower it inside.

Randomization: the {{ labels.container }} starts at x in [-0.15, -0.05], y in [0.0, 0.1]; the {{ labels.tool }}
lies at x in [0.1, 0.18], y in [-0.1, 0.0]; objects the task does not use wait at the back of the table.
Success: the {{ labels.tool }}'s centre is inside the {{ labels.container }}'s walls and below its rim.
"""

import torch

from video2policy.tools.sim import Task


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ tool }}", "{{ container }}"], "horizon": 100}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        container_pos = torch.zeros(n, 3)
        container_pos[:, 0] = self.uniform(n, -0.15, -0.05)
        container_pos[:, 1] = self.uniform(n, 0.0, 0.1)
        container_pos[:, 2] = self.rest_height("{{ container }}")
        self.set_object_pose("{{ container }}", env_ids, container_pos)
        tool_pos = torch.zeros(n, 3)
        tool_pos[:, 0] = self.uniform(n, 0.1, 0.18)
        tool_pos[:, 1] = self.uniform(n, -0.1, 0.0)
        tool_pos[:, 2] = self.rest_height("{{ tool }}")
        self.set_object_pose("{{ tool }}", env_ids, tool_pos)
{{ park_others }}

    def compute_observation_key(self, states):
        # the slot: the container's centre, just above its floor
        slot = states["{{ container }}_pos"].clone()
        slot[:, 2] = 0.006 + states["{{ tool }}_size"][:, 2] / 2 + 0.005
        states["{{ tool }}_to_eef"] = states["{{ tool }}_pos"] - states["eef_pos"]
        states["{{ tool }}_to_slot"] = slot - states["{{ tool }}_pos"]
        return ["eef_pos", "gripper_width", "{{ tool }}_pos", "{{ tool }}_to_eef", "{{ tool }}_to_slot"]

    def get_observation_space(self):
        return 3 + 1 + 3 + 3 + 3

    def compute_success(self, states):
        offset = states["{{ tool }}_to_slot"][:, :2].abs()
        inner = states["{{ container }}_size"][:, :2] / 2 - 0.006
        within = (offset < inner).all(dim=1)
        rim = states["{{ container }}_pos"][:, 2] + states["{{ container }}_size"][:, 2] / 2
        return within & (states["{{ tool }}_pos"][:, 2] < rim)

    def compute_reward(self, actions, states):
        distance = torch.linalg.vector_norm(states["{{ tool }}_to_eef"], dim=1)
        reach_reward = {{ w.reach }} * (1.0 - torch.tanh(10.0 * distance) - 2.0 * distance)
        grasped = ((distance < 0.03) & (states["gripper_width"] < states["{{ tool }}_size"][:, 1] + 0.012)).float()
        grasp_reward = {{ w.grasp }} * grasped
        lifted = (states["{{ tool }}_pos"][:, 2] > states["{{ container }}_size"][:, 2] + 0.02).float()
        slot_xy = torch.linalg.vector_norm(states["{{ tool }}_to_slot"][:, :2], dim=1)
        carry_reward = {{ w.carry }} * grasped * (0.5 * lifted + 1.0 - torch.tanh(5.0 * slot_xy))
        over = (slot_xy < 0.02).float()
        insert_reward = {{ w.insert }} * over * (1.0 - torch.tanh(10.0 * states["{{ tool }}_to_slot"][:, 2].abs()))
        reward = reach_reward + grasp_reward + carry_reward + insert_reward
        return reward, {
            "reach_reward": reach_reward,
            "grasp_reward": grasp_reward,
            "carry_reward": carry_reward,
            "insert_reward": insert_reward,
        }
'''


class Insert(Behavior):
    name = "insert"
    description = "Pick up a long thin object (a fork) and put it into a container (a bin or cup)."
    caption_patterns = (
        "Inserting [tool] into [container]",
        "Putting [tool] in [container]",
        "Sticking [tool] into [container]",
        "Inserting [tool] in [container]",
    )
    roles = {"tool": "the thin object inserted (fork, pen)", "container": "the open container it goes into"}
    prompt_hints = (
        "Grasp the tool at its centre; the fingers close along y, across the tool's narrow side.",
        "Lift it above the container's rim before moving over the container, then lower it inside.",
        "Success: tool centre inside the container's inner footprint and below its rim.",
    )
    cot_examples = (
        "Inserting the fork into the container: tool = fork, container = container. Slot = container centre just "
        "above its floor. Reward: reach, grasp, carry (lifted above the rim, xy distance to slot), insert (height "
        "error once over the slot).",
    )
    template = TEMPLATE
    reward_weights = {"reach": 1.0, "grasp": 0.5, "carry": 2.0, "insert": 4.0}
    demo_steps = 100

    def success(self, states: dict[str, torch.Tensor], roles: dict[str, str]) -> torch.Tensor:
        return sh.inside(states, roles["tool"], roles["container"])

    def scripted_action(self, states: dict[str, torch.Tensor], roles: dict[str, str], t: int) -> torch.Tensor:
        tool, container = roles["tool"], roles["container"]
        goal = states[f"{container}_pos"].clone()
        goal[:, 2] = 0.006 + states[f"{tool}_size"][:, 2] / 2 + 0.012
        close = torch.linalg.vector_norm(goal - states[f"{tool}_pos"], dim=1) < 0.015
        act = sh.pick_and_place(states, tool, goal, close, travel_z=0.15, speed=0.6)
        done = sh.inside(states, tool, container) & ~sh.held(states, tool)
        return torch.where(done.unsqueeze(1), sh.retreat(states), act)

    def synth_objects(self, rng: np.random.Generator) -> list[ObjectSpec]:
        (tname, trgba), (cname, crgba) = sh.colors(rng, 2)
        fork = ObjectSpec(
            "tool", f"{tname} fork", "box", (sh.u(rng, 0.1, 0.12), sh.u(rng, 0.02, 0.024), 0.014), trgba, 0.03
        )
        size = (sh.u(rng, 0.15, 0.17), sh.u(rng, 0.09, 0.1), sh.u(rng, 0.045, 0.06))
        return [fork, ObjectSpec("container", f"{cname} container", "mesh", size, crgba, 0.2, "bin")]
