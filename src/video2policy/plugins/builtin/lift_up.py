"""Lift something up: grasp it and raise it clear of the table."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import toolkit as sh
from video2policy.plugins.api import Behavior, ObjectSpec

TEMPLATE = '''"""Lift the {{ labels.target }} up: grasp it and raise it at least 9 cm above where it rested.

Randomization: the {{ labels.target }} starts upright at a random position in the middle of the table
(x in [-0.15, 0.15], y in [-0.1, 0.1]); objects the task does not use wait at the back of the table.
Success: the {{ labels.target }}'s centre is at least 9 cm above its starting height while the fingers hold it.
"""

import torch

from video2policy.tools.sim import Task


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ target }}"], "horizon": 60}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        pos = torch.zeros(n, 3)
        pos[:, 0] = self.uniform(n, -0.15, 0.15)
        pos[:, 1] = self.uniform(n, -0.1, 0.1)
        pos[:, 2] = self.rest_height("{{ target }}")
        self.set_object_pose("{{ target }}", env_ids, pos)
{{ park_others }}

    def compute_observation_key(self, states):
        states["{{ target }}_to_eef"] = states["{{ target }}_pos"] - states["eef_pos"]
        lift = states["{{ target }}_pos"][:, 2] - states["{{ target }}_init_pos"][:, 2]
        states["{{ target }}_lift"] = lift.unsqueeze(1)
        return ["eef_pos", "gripper_width", "{{ target }}_pos", "{{ target }}_to_eef", "{{ target }}_lift"]

    def get_observation_space(self):
        return 3 + 1 + 3 + 3 + 1

    def compute_success(self, states):
        lifted = states["{{ target }}_lift"][:, 0] > 0.09
        held = torch.linalg.vector_norm(states["{{ target }}_to_eef"], dim=1) < 0.05
        return lifted & held

    def compute_reward(self, actions, states):
        distance = torch.linalg.vector_norm(states["{{ target }}_to_eef"], dim=1)
        reach_reward = {{ w.reach }} * (1.0 - torch.tanh(10.0 * distance) - 2.0 * distance)
        near = (distance < 0.02).float()
        grasp_reward = {{ w.grasp }} * near * (actions[:, 6] + 1.0) / 2.0
        lift = states["{{ target }}_lift"][:, 0].clamp(0.0, 0.12)
        lift_reward = {{ w.lift }} * lift * (distance < 0.04).float()
        reward = reach_reward + grasp_reward + lift_reward
        return reward, {"reach_reward": reach_reward, "grasp_reward": grasp_reward, "lift_reward": lift_reward}
'''


class LiftUp(Behavior):
    name = "lift_up"
    description = "Grasp an object and lift it up off the table."
    caption_patterns = (
        "Lifting [target] up",
        "Lifting up [target]",
        "Picking [target] up",
        "Raising [target]",
    )
    roles = {"target": "the object that is lifted"}
    prompt_hints = (
        "The gripper's grasp point is eef_pos; open is action[6] = -1, closed +1.",
        "Reward reaching, then closing the fingers near the object, then height gained while it stays close.",
        "Measure the lift from <name>_init_pos, not from the table, so object size does not matter.",
    )
    cot_examples = (
        "Lifting the cup up: one object, the cup. Reset it anywhere in the middle of the table. Success: the cup is "
        "10 cm above its start and within 5 cm of the grasp point, so throwing it up does not count. Reward: "
        "1 - tanh(10 d) to reach, a bonus for closing when d < 2 cm, and 10 x lift while held.",
    )
    template = TEMPLATE
    reward_weights = {"reach": 1.0, "grasp": 1.0, "lift": 40.0}
    # PPO's default initial action noise (log-std 0: 2 cm/step of jitter) knocks rolling and tall objects away
    # before the fingers close, and the policy settles on hovering; a quieter start lets it find the grasp
    # (bench, 300k steps, seeds 0-2: 0.63 mean with the default, 0.93 with this)
    train_hyperparameters = {"init_sigma": -1.0}
    demo_steps = 60

    def success(self, states: dict[str, torch.Tensor], roles: dict[str, str]) -> torch.Tensor:
        return sh.displacement(states, roles["target"])[:, 2] > 0.08

    def scripted_action(self, states: dict[str, torch.Tensor], roles: dict[str, str], t: int) -> torch.Tensor:
        target = roles["target"]
        goal = states[f"{target}_init_pos"].clone()
        goal[:, 2] += 0.14
        return sh.pick_and_place(states, target, goal, torch.zeros(len(goal), dtype=torch.bool), travel_z=0.2)

    def synth_objects(self, rng: np.random.Generator) -> list[ObjectSpec]:
        return [sh.small_object(rng, "target", sh.colors(rng, 1)[0])]
