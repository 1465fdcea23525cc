"""Hand-written success checks for the bundled examples, and loading a success check for `v2p eval`.

Evaluation must use a check the agents never saw. For a scene whose behavior has a plugin, that is the plugin's
`success(states, roles)`; for the bundled examples (and the benchmarks) the checks below restate the examples'
success definitions from the standard state keys only, never from keys the task code adds.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import torch

from video2policy.scene import SceneSpec

SuccessFn = Callable[[dict[str, torch.Tensor]], torch.Tensor]


def reach(target: str = "block", radius: float = 0.03) -> SuccessFn:
    """The grasp point is within `radius` of the object's centre."""

    def success(states: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.linalg.vector_norm(states[f"{target}_pos"] - states["eef_pos"], dim=1) < radius

    return success


def pushed_left(target: str = "block", distance: float = 0.15) -> SuccessFn:
    """The object moved at least `distance` towards -x from its start and is still on the table."""

    def success(states: dict[str, torch.Tensor]) -> torch.Tensor:
        moved = states[f"{target}_pos"][:, 0] - states[f"{target}_init_pos"][:, 0] < -distance
        return moved & (states[f"{target}_pos"][:, 2] > states["table_height"])

    return success


EXAMPLES: dict[str, SuccessFn] = {"reach_block": reach(), "push_block_left": pushed_left()}


def from_file(path: str | Path) -> SuccessFn:
    """A Python file that defines `success(states) -> BoolTensor (N,)`."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(f"v2p_success_{abs(hash(str(path.resolve())))}", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ValueError(f"success check {path}: not a readable Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn = getattr(module, "success", None)
    if not callable(fn):
        raise ValueError(f"success check {path}: defines no function `success(states)`")
    return fn


def from_behavior(scene: SceneSpec, behavior_name: str | None = None) -> tuple[SuccessFn, str]:
    """The behavior plugin's ground truth for this scene: roles from matching the scene's caption.

    Returns the check and a description. ValueError when no plugin or no role assignment fits.
    """
    from video2policy.plugins.registry import load_behaviors

    registry = load_behaviors()
    matched = registry.match(scene.caption or "")
    name = behavior_name or scene.behavior or (matched[0].name if matched else None)
    if name is None:
        raise ValueError("the scene names no behavior and its caption matches none; pass a success check")
    behavior = registry.get(name)
    found = behavior.match(scene.caption or "")
    if found is None:
        raise ValueError(f"behavior {name!r}: the scene caption {scene.caption!r} does not fit its patterns")
    labels = found[0]
    by_label = {o.label.lower(): o.name for o in scene.objects}
    roles = {}
    for role, label in labels.items():
        if label.lower() not in by_label:
            raise ValueError(f"behavior {name!r}: role {role!r} is {label!r}, which no scene object is labelled")
        roles[role] = by_label[label.lower()]

    def success(states: dict[str, torch.Tensor]) -> torch.Tensor:
        return behavior.success(states, roles)

    return success, f"behavior {name!r} ground truth with roles {roles}"
