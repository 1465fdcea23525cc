"""Push something with something: move a tool against an object so the tool, not the hand, pushes it."""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins import toolkit as sh
from video2policy.plugins.api import Behavior, ObjectSpec

TEMPLATE = '''"""Push the {{ labels.target }} with the {{ labels.tool }}: push the {{ labels.tool }} leftwards into it.

Randomization: the {{ labels.target }} starts at x in [-0.15, -0.05], y in [-0.08, 0.08]; the {{ labels.tool }}
lies 2 to 4 cm to its right, in line with it; objects the task does not use wait at the back of the table.
Success: the {{ labels.target }} has moved at least 8 cm to the left and the {{ labels.tool }} at least 4 cm, the
fingers stay at least 3 cm away from the {{ labels.target }} (only the {{ labels.tool }} touches it), and the
{{ labels.tool }} is still against it on the table.
"""

import torch

from video2policy.tools.sim import Task
from video2policy.tools.sim.tensor_math import up_axis


class {{ class_name }}(Task):
    scene_info = {"objects": ["{{ target }}", "{{ tool }}"], "horizon": 80}

    def reset_objects_states(self, env_ids):
        n = len(env_ids)
        target_pos = torch.zeros(n, 3)
        target_pos[:, 0] = self.uniform(n, -0.15, -0.05)
        target_pos[:, 1] = self.uniform(n, -0.08, 0.08)
        target_pos[:, 2] = self.rest_height("{{ target }}")
        self.set_object_pose("{{ target }}", env_ids, target_pos)
        spacing = (self.object_size("{{ target }}")[0] + self.object_size("{{ tool }}")[0]) / 2
        tool_pos = target_pos.clone()
        tool_pos[:, 0] += spacing + self.uniform(n, 0.02, 0.04)
        tool_pos[:, 1] += self.uniform(n, -0.01, 0.01)
        tool_pos[:, 2] = self.rest_height("{{ tool }}")
        self.set_object_pose("{{ tool }}", env_ids, tool_pos)
{{ park_others }}

    def compute_observation_key(self, states):
        # push point: 1.5 cm right of the {{ labels.tool }}'s right end, low; the fingers (1.2 cm thick) touch the end
        # 3 mm closer, so hovering there leaves no gap to cross
        right_end = states["{{ tool }}_pos"][:, 0] + states["{{ tool }}_size"][:, 0] / 2
        push_point = states["{{ tool }}_pos"].clone()
        push_point[:, 0] = right_end + 0.015
        push_point[:, 2] = push_point[:, 2].clamp(min=0.015)
        states["eef_to_push_point"] = push_point - states["eef_pos"]
        # the way there: stay above the {{ labels.tool }}'s top until the fingers are over the push point
        off_xy = torch.linalg.vector_norm(states["eef_to_push_point"][:, :2], dim=1)
        clearance = states["{{ tool }}_pos"][:, 2] + states["{{ tool }}_size"][:, 2] / 2 + 0.03 - push_point[:, 2]
        waypoint = push_point.clone()
        waypoint[:, 2] += clearance * ((off_xy - 0.02) / 0.04).clamp(0.0, 1.0)
        # 1 once the fingers are low, behind the {{ labels.tool }}'s end and in line with it (not on top of it)
        behind = ((states["eef_pos"][:, 0] - right_end - 0.004) / 0.006).clamp(0.0, 1.0)
        in_line = (1.0 - (torch.abs(states["eef_to_push_point"][:, 1]) - 0.01) / 0.02).clamp(0.0, 1.0)
        low = (1.0 - (states["eef_pos"][:, 2] - push_point[:, 2] - 0.01) / 0.01).clamp(0.0, 1.0)
        states["eef_ready"] = (behind * in_line * low).unsqueeze(1)
        states["eef_to_waypoint"] = waypoint - states["eef_pos"]
        states["{{ tool }}_displacement"] = states["{{ tool }}_pos"] - states["{{ tool }}_init_pos"]
        states["{{ target }}_displacement"] = states["{{ target }}_pos"] - states["{{ target }}_init_pos"]
        states["{{ tool }}_to_{{ target }}"] = states["{{ target }}_pos"] - states["{{ tool }}_pos"]
        return [
            "eef_pos",
            "eef_quat",
            "gripper_width",
            "{{ tool }}_pos",
            "{{ tool }}_quat",
            "{{ target }}_pos",
            "eef_to_push_point",
            "eef_to_waypoint",
            "{{ tool }}_displacement",
            "{{ target }}_displacement",
            "{{ tool }}_to_{{ target }}",
        ]

    def get_observation_space(self):
        return 3 + 4 + 1 + 3 + 4 + 3 + 3 + 3 + 3 + 3 + 3

    def compute_success(self, states):
        moved = -states["{{ target }}_displacement"][:, 0] > 0.08
        tool_moved = torch.linalg.vector_norm(states["{{ tool }}_displacement"][:, :2], dim=1) > 0.04
        hand_gap = torch.linalg.vector_norm(states["{{ target }}_pos"][:, :2] - states["eef_pos"][:, :2], dim=1)
        target_radius = states["{{ target }}_size"][:, :2].max(dim=1).values / 2
        hand_away = hand_gap > target_radius + 0.03
        # still against the {{ labels.tool }} and on the table: knocking the {{ labels.target }} away is no push
        tool_gap = torch.linalg.vector_norm(states["{{ tool }}_to_{{ target }}"][:, :2], dim=1)
        tool_radius = states["{{ tool }}_size"][:, :2].max(dim=1).values / 2
        touching = tool_gap < tool_radius + target_radius + 0.03
        on_table = states["{{ target }}_pos"][:, 2] > 0.0
        return moved & tool_moved & hand_away & touching & on_table

    def compute_reward(self, actions, states):
        # full marks anywhere within 1.5 cm of the push point, which takes in the fingers touching the
        # {{ labels.tool }}'s end, so pushing costs no approach reward
        approach_distance = (torch.linalg.vector_norm(states["eef_to_waypoint"], dim=1) - 0.015).clamp(min=0.0)
        approach_reward = {{ w.approach }} * (1.0 - torch.tanh(10.0 * approach_distance) - 2.0 * approach_distance)
        # from the push point on to the {{ labels.tool }}'s end (3 mm): parking short of it, or hovering above it,
        # never pays in full, and from the end any move to the left pushes
        contact = (states["eef_to_push_point"][:, 0] / 0.003).clamp(0.0, 1.0)
        press_reward = {{ w.press }} * states["eef_ready"][:, 0] * contact
        progress = torch.clamp(-states["{{ target }}_displacement"][:, 0], -0.05, 0.15)
        progress_reward = {{ w.progress }} * progress
        # the {{ labels.tool }} moving left comes first and pays a little, so pushing it is worth learning
        tool_progress = torch.clamp(-states["{{ tool }}_displacement"][:, 0], -0.05, 0.15)
        tool_reward = {{ w.tool }} * tool_progress
        misalignment_penalty = -{{ w.align }} * torch.abs(states["{{ tool }}_to_{{ target }}"][:, 1])
        hand_gap = torch.linalg.vector_norm(states["{{ target }}_pos"][:, :2] - states["eef_pos"][:, :2], dim=1)
        target_radius = states["{{ target }}_size"][:, :2].max(dim=1).values / 2
        touch_penalty = -{{ w.touch }} * (hand_gap < target_radius + 0.03).float()
        # push with closed fingers pointing down: a solid, predictable pusher
        tilt_penalty = -{{ w.tilt }} * (1.0 - up_axis(states["eef_quat"])[:, 2])
        grip_penalty = -{{ w.grip }} * states["gripper_width"] / 0.1
        # turning the hand never helps a straight push: noise on the rotation actions only tilts the pusher
        rotation_penalty = -{{ w.rotation }} * actions[:, 3:6].pow(2).sum(dim=1)
        reward = (
            approach_reward
            + press_reward
            + tool_reward
            + progress_reward
            + misalignment_penalty
            + touch_penalty
            + tilt_penalty
            + grip_penalty
            + rotation_penalty
        )
        return reward, {
            "approach_reward": approach_reward,
            "press_reward": press_reward,
            "tool_reward": tool_reward,
            "progress_reward": progress_reward,
            "tilt_penalty": tilt_penalty,
            "grip_penalty": grip_penalty,
            "misalignment_penalty": misalignment_penalty,
            "touch_penalty": touch_penalty,
            "rotation_penalty": rotation_penalty,
        }
'''


class PushWith(Behavior):
    name = "push_with"
    description = "Push an object using another object as a tool; the hand never touches the pushed object."
    caption_patterns = (
        "Pushing [target] with [tool]",
        "Poking [target] with [tool]",
        "Moving [target] with [tool]",
    )
    roles = {"target": "the object that gets pushed", "tool": "the object used to push it"}
    prompt_hints = (
        "The tool lies between the hand and the target: push the tool, and the tool pushes the target.",
        "Penalise the fingers coming close to the target: success requires only the tool to touch it.",
    )
    cot_examples = (
        "Pushing the cup with the pen: target = cup, tool = pen. The pen lies just right of the cup, in line with "
        "it. Reward: fingers to the pen's right end, then the cup's leftward displacement; penalties for the pen "
        "drifting out of line and for the fingers getting within 3 cm of the cup.",
    )
    template = TEMPLATE
    reward_weights = {
        "approach": 1.0,
        "press": 0.5,
        "tool": 10.0,
        "progress": 10.0,
        "align": 2.0,
        "touch": 1.0,
        "tilt": 0.3,
        "grip": 0.3,
        "rotation": 0.05,
    }
    # half the default KL target: the adaptive learning rate takes smaller steps. With the default, training
    # success swung between 0.06 and 0.5 on seed 2 and its policy often stopped short of pushing the tool
    train_hyperparameters = {"kl_threshold": 0.008}
    demo_steps = 70

    def success(self, states: dict[str, torch.Tensor], roles: dict[str, str]) -> torch.Tensor:
        target, tool = roles["target"], roles["tool"]
        moved = torch.linalg.vector_norm(sh.displacement(states, target)[:, :2], dim=1) > 0.08
        tool_moved = torch.linalg.vector_norm(sh.displacement(states, tool)[:, :2], dim=1) > 0.04
        hand = torch.linalg.vector_norm(states[f"{target}_pos"][:, :2] - states["eef_pos"][:, :2], dim=1)
        hand_away = hand > sh.radius(states, target) + 0.03
        touching = sh.xy_distance(states, tool, target) < sh.radius(states, tool) + sh.radius(states, target) + 0.03
        return moved & tool_moved & hand_away & touching

    def scripted_action(self, states: dict[str, torch.Tensor], roles: dict[str, str], t: int) -> torch.Tensor:
        target, tool = roles["target"], roles["tool"]
        n = len(states["eef_pos"])
        act = sh.push(states, tool, sh.fixed_direction(n, -1.0, 0.0), speed=0.5)
        done = -sh.displacement(states, target)[:, 0] > 0.13
        return torch.where(done.unsqueeze(1), sh.retreat(states), act)

    def synth_objects(self, rng: np.random.Generator) -> list[ObjectSpec]:
        target_color, (tool_color, rgba) = sh.colors(rng, 2)
        target = sh.small_object(rng, "target", target_color, kinds=("box", "cylinder", "cone", "rock"))
        noun = ("pen", "stick", "ruler")[int(rng.integers(3))]
        size = (sh.u(rng, 0.09, 0.12), sh.u(rng, 0.02, 0.03), sh.u(rng, 0.02, 0.03))
        tool = ObjectSpec("tool", f"{tool_color} {noun}", "box", size, rgba, 0.04)
        return [target, tool]
