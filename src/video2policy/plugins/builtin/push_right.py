"""Push something from left to right (towards +x in the table frame): the mirror image of push_left."""

from __future__ import annotations

from video2policy.plugins.builtin.push_left import PushLeft


class PushRight(PushLeft):
    name = "push_right"
    description = "Push an object across the table from left to right, without lifting it."
    caption_patterns = (
        "Pushing [target] from left to right",
        "Moving [target] from left to right",
        "Pushing [target] to the right",
    )
    prompt_hints = (
        "Left and right are as seen from the camera: right is +x in the table frame.",
        "Start the object on the left half of the table so that it can travel at least 12 cm.",
        "Reward getting the fingers just left of the object at its centre height, then its rightward displacement.",
    )
    cot_examples = (
        "The caption says the cup moves from left to right: the target is the cup, the motion is along +x. I place "
        "it at x in [-0.2, -0.05]; success is a displacement above 0.12 m in x with the cup still on the table.",
    )
    direction = 1.0
