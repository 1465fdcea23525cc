"""Helpers for writing behavior plugins (the built-ins use them too): scripted controllers, geometry, objects.

The controllers are stateless: each step they read the state dictionary and decide the phase (approach, close,
carry, release, push, retreat) from geometry alone, for all N worlds at once.
"""

from __future__ import annotations

import numpy as np
import torch

from video2policy.plugins.api import ObjectSpec

POS_STEP = 0.02  # metres per control step at |action| = 1 (the gripper's limit)
MIN_EEF_Z = 0.013  # the grasp point cannot go lower (workspace floor)

# --- scripted controllers -------------------------------------------------------------------------------------


def goto(eef: torch.Tensor, goal: torch.Tensor, speed: float = 1.0) -> torch.Tensor:
    """Position part of an action that moves the grasp point towards `goal` (clipped to `speed`)."""
    return ((goal - eef) / POS_STEP).clamp(-speed, speed)


def action(xyz: torch.Tensor, grip: torch.Tensor) -> torch.Tensor:
    return torch.cat([xyz, torch.zeros_like(xyz), grip.reshape(-1, 1)], dim=1).clamp(-1.0, 1.0)


def where3(cond: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(cond.unsqueeze(1), a, b)


def retreat(states: dict[str, torch.Tensor]) -> torch.Tensor:
    """Open the gripper and rise: what a demonstration does once the behavior is done."""
    eef = states["eef_pos"]
    goal = eef.clone()
    goal[:, 2] = 0.22
    return action(goto(eef, goal, 0.6), torch.full((len(eef),), -1.0))


def held(states: dict[str, torch.Tensor], obj: str) -> torch.Tensor:
    """The fingers are closed on `obj`: the grasp point is at it and the width matches its y extent."""
    dist = torch.linalg.vector_norm(states[f"{obj}_pos"] - states["eef_pos"], dim=1)
    return (dist < 0.035) & (states["gripper_width"] < states[f"{obj}_size"][:, 1] + 0.012)


def pick_and_place(
    states: dict[str, torch.Tensor],
    obj: str,
    goal: torch.Tensor,
    release: torch.Tensor,
    travel_z: float = 0.15,
    speed: float = 1.0,
    stop_on_release: bool = True,
) -> torch.Tensor:
    """Grasp `obj` from above, carry it at `travel_z` to above `goal`, go down to `goal`, open where `release`.

    With `stop_on_release` False the hand keeps moving while it opens (a throw)."""
    eef, pos, size = states["eef_pos"], states[f"{obj}_pos"], states[f"{obj}_size"]
    n = len(eef)
    grasp = pos.clone()
    grasp[:, 2] = pos[:, 2].clamp(min=MIN_EEF_Z)
    safe_z = pos[:, 2] + size[:, 2] / 2 + 0.06
    dxy = torch.linalg.vector_norm(grasp[:, :2] - eef[:, :2], dim=1)
    above = torch.cat([grasp[:, :2], safe_z.unsqueeze(1)], dim=1)
    rise = torch.cat([eef[:, :2], safe_z.unsqueeze(1)], dim=1)
    approach = where3(eef[:, 2] > safe_z - 0.03, above, rise)
    approach = where3(dxy < 0.01, grasp, approach)
    at_grasp = (dxy < 0.01) & ((eef[:, 2] - grasp[:, 2]).abs() < 0.006)
    open_, close = torch.full((n,), -1.0), torch.full((n,), 1.0)
    xyz = goto(eef, approach, speed)
    grip = open_.clone()
    xyz = where3(at_grasp, torch.zeros_like(xyz), xyz)
    grip = torch.where(at_grasp, close, grip)

    is_held = held(states, obj)
    carry_xy = torch.linalg.vector_norm(goal[:, :2] - pos[:, :2], dim=1)
    travel = torch.cat([goal[:, :2], torch.full((n, 1), travel_z)], dim=1)
    up = torch.cat([eef[:, :2], torch.full((n, 1), travel_z)], dim=1)
    carry = where3(carry_xy > 0.02, where3(eef[:, 2] > travel_z - 0.03, travel, up), goal + (eef - pos))
    xyz = where3(is_held, goto(eef, carry, speed), xyz)
    grip = torch.where(is_held, close, grip)
    drop = is_held & release
    if stop_on_release:
        xyz = where3(drop, torch.zeros_like(xyz), xyz)
    grip = torch.where(drop, open_, grip)
    return action(xyz, grip)


def push(
    states: dict[str, torch.Tensor],
    obj: str,
    direction: torch.Tensor,
    height: torch.Tensor | None = None,
    speed: float = 0.6,
) -> torch.Tensor:
    """Push `obj` along the unit xy `direction` (N, 2): come down behind it, then move through it."""
    eef, pos, size = states["eef_pos"], states[f"{obj}_pos"], states[f"{obj}_size"]
    n = len(eef)
    reach = (direction.abs() * size[:, :2]).sum(dim=1) / 2 + 0.02  # half extent along the push, plus a finger
    z = (pos[:, 2] if height is None else height).clamp(min=MIN_EEF_Z)
    behind_xy = pos[:, :2] - direction * reach.unsqueeze(1)
    rel = pos[:, :2] - eef[:, :2]
    along = (rel * direction).sum(dim=1)
    perp = torch.stack([-direction[:, 1], direction[:, 0]], dim=1)
    lateral = (rel * perp).sum(dim=1)
    low = eef[:, 2] < z + 0.02
    pushing = low & (along > reach - 0.03) & (lateral.abs() < 0.02)
    at_behind = torch.linalg.vector_norm(behind_xy - eef[:, :2], dim=1) < 0.012
    hover_z = pos[:, 2] + size[:, 2] / 2 + 0.05
    goal_hover = torch.cat([behind_xy, hover_z.unsqueeze(1)], dim=1)
    goal_rise = torch.cat([eef[:, :2], hover_z.unsqueeze(1)], dim=1)
    goal_down = torch.cat([behind_xy, z.unsqueeze(1)], dim=1)
    goal = where3(low & ~at_behind, goal_rise, goal_hover)
    goal = where3(at_behind, goal_down, goal)
    push_xy = eef[:, :2] + direction * 0.05 + perp * lateral.unsqueeze(1)
    goal = where3(pushing, torch.cat([push_xy, z.unsqueeze(1)], dim=1), goal)
    xyz = goto(eef, goal, 1.0)
    xyz = where3(pushing, xyz.clamp(-speed, speed), xyz)
    return action(xyz, torch.full((n,), 1.0))


def unit_xy(vec: torch.Tensor) -> torch.Tensor:
    return vec[:, :2] / torch.linalg.vector_norm(vec[:, :2], dim=1, keepdim=True).clamp(min=1e-6)


def fixed_direction(n: int, x: float, y: float) -> torch.Tensor:
    return torch.tensor([x, y], dtype=torch.float32).expand(n, 2)


# --- geometry tests used by the ground-truth checks -----------------------------------------------------------


def radius(states: dict[str, torch.Tensor], obj: str) -> torch.Tensor:
    """Half the larger horizontal extent of `obj`."""
    return states[f"{obj}_size"][:, :2].max(dim=1).values / 2


def xy_distance(states: dict[str, torch.Tensor], a: str, b: str) -> torch.Tensor:
    return torch.linalg.vector_norm(states[f"{a}_pos"][:, :2] - states[f"{b}_pos"][:, :2], dim=1)


def displacement(states: dict[str, torch.Tensor], obj: str) -> torch.Tensor:
    return states[f"{obj}_pos"] - states[f"{obj}_init_pos"]


def on_table(states: dict[str, torch.Tensor], obj: str) -> torch.Tensor:
    """Still on the table top (not fallen off it)."""
    return states[f"{obj}_pos"][:, 2] > 0.0


def inside(states: dict[str, torch.Tensor], obj: str, container: str, margin: float = 0.0) -> torch.Tensor:
    """`obj`'s centre lies within `container`'s inner footprint and below its rim."""
    offset = (states[f"{obj}_pos"] - states[f"{container}_pos"])[:, :2].abs()
    inner = states[f"{container}_size"][:, :2] / 2 - 0.006 - margin
    rim = states[f"{container}_pos"][:, 2] + states[f"{container}_size"][:, 2] / 2
    return (offset < inner).all(dim=1) & (states[f"{obj}_pos"][:, 2] < rim)


# --- random objects -------------------------------------------------------------------------------------------

PALETTE = {
    "red": (0.85, 0.2, 0.18),
    "blue": (0.15, 0.35, 0.85),
    "green": (0.2, 0.65, 0.25),
    "yellow": (0.95, 0.8, 0.15),
    "orange": (0.95, 0.5, 0.1),
    "purple": (0.55, 0.25, 0.7),
    "white": (0.92, 0.92, 0.9),
    "black": (0.12, 0.12, 0.14),
    "teal": (0.1, 0.6, 0.6),
    "pink": (0.95, 0.5, 0.7),
}
TABLE_LIKE = {"white"}  # too close to the table and floor for a clear first frame when small


def colors(rng: np.random.Generator, k: int) -> list[tuple[str, tuple[float, float, float, float]]]:
    """k distinct named colours."""
    names = [n for n in PALETTE if n not in TABLE_LIKE]
    picked = rng.choice(len(names), size=k, replace=False)
    return [(names[i], (*PALETTE[names[i]], 1.0)) for i in picked]


def color_name(rgba: tuple[float, ...]) -> str:
    """The palette name of an rgba colour."""
    return min(PALETTE, key=lambda k: sum((a - b) ** 2 for a, b in zip(PALETTE[k], rgba[:3], strict=False)))


def u(rng: np.random.Generator, low: float, high: float) -> float:
    return round(float(rng.uniform(low, high)), 4)


def small_object(
    rng: np.random.Generator,
    role: str | None,
    color: tuple[str, tuple[float, float, float, float]],
    max_width: float = 0.06,
    min_size: float = 0.035,
    height: tuple[float, float] = (0.035, 0.07),
    mesh: bool = True,
    kinds: tuple[str, ...] | None = None,
) -> ObjectSpec:
    """A graspable object: box, cylinder, sphere, capsule or (sometimes) a cone or rock mesh."""
    kinds = kinds or ("box", "cylinder", "sphere", "capsule", "box", *(("cone", "rock") if mesh else ()))
    kind = kinds[int(rng.integers(len(kinds)))]
    cname, rgba = color
    w = u(rng, min_size, max_width)
    if kind == "sphere":
        return ObjectSpec(role, f"{cname} ball", "sphere", (w, w, w), rgba, 0.04)
    if kind == "box":
        size = (u(rng, min_size, max_width), w, u(rng, *height))
        return ObjectSpec(role, f"{cname} block", "box", size, rgba, 0.06)
    if kind == "cylinder":
        return ObjectSpec(role, f"{cname} can", "cylinder", (w, w, u(rng, *height)), rgba, 0.06)
    if kind == "capsule":
        return ObjectSpec(role, f"{cname} bottle", "capsule", (w, w, max(u(rng, *height), w * 1.2)), rgba, 0.06)
    if kind == "cone":
        return ObjectSpec(role, f"{cname} cone", "mesh", (w, w, u(rng, *height)), rgba, 0.05, "cone")
    return ObjectSpec(role, f"{cname} stone", "mesh", (w, w * 0.9, u(rng, 0.03, 0.05)), rgba, 0.06, "rock")


def distractor(rng: np.random.Generator, color: tuple[str, tuple[float, float, float, float]]) -> ObjectSpec:
    """A clutter object no role uses: anything, including rings and mugs."""
    pick = int(rng.integers(4))
    cname, rgba = color
    if pick == 0:
        return ObjectSpec(None, f"{cname} ring", "mesh", (0.07, 0.07, 0.02), rgba, 0.04, "ring")
    if pick == 1:
        return ObjectSpec(None, f"{cname} mug", "mesh", (0.09, 0.065, 0.08), rgba, 0.1, "mug")
    return small_object(rng, None, color)
