"""Replaying a scene's first and last poses in MuJoCo: open containers and covers hold what the video shows.

Perception writes a bowl the caption throws something into, or a cup it covers something with, as a shell open on
that side (`perception.hollow`); as a solid primitive the simulator pushed the garlic and the bowl apart, and stood
the cup on the ball. Each case is replayed with the shell and, as the counter-case, with the solid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from video2policy.plugins import load_behaviors
from video2policy.scene import Pose, SceneObject, SceneSpec
from video2policy.tools.perception.assets import object_mesh, object_parts, write_assets
from video2policy.tools.perception.hollow import wall_thickness
from video2policy.tools.sim.replay import replay

BOWL = np.array([0.14, 0.14, 0.045])  # metres
CUP = np.array([0.08, 0.08, 0.10])


def _asset(tmp_path: Path, name: str, kind: str, size: np.ndarray, opening: str | None, **pose) -> SceneObject:
    """An object as perception writes it: unit-size mesh and convex parts, scaled by rho."""
    rho = float(size.max())
    wall = wall_thickness(size) / rho if opening else 0.0
    mesh = object_mesh(kind, size / rho, opening=opening, wall=wall)
    mesh_path, parts = write_assets(tmp_path, name, mesh, object_parts(kind, size / rho, mesh, opening, wall))
    return SceneObject(name=name, mesh=mesh_path, collision=parts, size=tuple(size), scale=rho, **pose)


def _at(x: float, y: float, z: float, frame: int = 0) -> Pose:
    return Pose(frame=frame, time=frame / 15, position=(x, y, z), quat=(1.0, 0.0, 0.0, 0.0))


def _garlic_thrown_into(tmp_path: Path, opening: str | None) -> SceneSpec:
    floor = wall_thickness(BOWL) if opening else 0.0  # perception puts it on the floor of an open bowl only
    garlic = SceneObject(
        name="garlic",
        shape="cylinder",
        size=(0.032, 0.032, 0.027),
        first=_at(0.12, -0.08, 0.0135),
        last=_at(-0.18, 0.16, floor + 0.0135, 60),
    )
    bowl = _asset(tmp_path, "bowl", "cylinder", BOWL, opening, first=_at(-0.19, 0.15, 0.0225))
    bowl.last = _at(-0.19, 0.15, 0.0225, 60)
    return SceneSpec(caption="Throwing [garlic] into [bowl]", objects=[garlic, bowl])


@pytest.mark.parametrize("opening", ["top", None], ids=["open-bowl", "solid-bowl"])
def test_garlic_thrown_into_an_open_bowl_stays_in_it_and_the_bowl_stays_put(tmp_path, opening) -> None:
    result = replay(_garlic_thrown_into(tmp_path, opening), tmp_path)
    moved = result.moved_cm("last")
    if not opening:  # the solid bowl and the garlic inside it are pushed apart
        assert max(moved.values()) > 1.0, moved
        return
    assert max(moved.values()) < 0.3, moved
    assert result.moved_cm("first")["bowl"] < 0.1
    roles = {"target": "garlic", "container": "bowl"}
    assert bool(load_behaviors().get("throw_into").success(result.states(), roles)[0])


@pytest.mark.parametrize("opening", ["bottom", None], ids=["open-cup", "solid-cup"])
def test_a_cup_put_down_over_a_ball_covers_it(tmp_path, opening) -> None:
    ball = SceneObject(
        name="ball", shape="sphere", size=(0.05, 0.05, 0.05), first=_at(0.0, 0.1, 0.025), last=_at(0.0, 0.1, 0.025, 50)
    )
    cup = _asset(tmp_path, "cup", "cylinder", CUP, opening, first=_at(0.15, 0.0, 0.05), last=_at(0.0, 0.1, 0.05, 50))
    result = replay(SceneSpec(caption="Covering [ball] with [cup]", objects=[ball, cup]), tmp_path)
    covered = bool(load_behaviors().get("cover").success(result.states(), {"target": "ball", "cover": "cup"})[0])
    placed = bool(
        load_behaviors().get("cover").success(result.states(settled=False), {"target": "ball", "cover": "cup"})[0]
    )
    assert placed  # as perceived, before physics, either way
    assert covered == (opening == "bottom"), result.moved_cm("last")


def test_an_object_held_up_in_the_air_stays_where_the_hand_holds_it(tmp_path) -> None:
    bottle = SceneObject(
        name="bottle",
        shape="cylinder",
        size=(0.06, 0.06, 0.15),
        first=_at(0.0, 0.1, 0.075),
        last=_at(0.0, 0.1, 0.25, 40),
    )
    result = replay(SceneSpec(caption="Lifting [bottle] up", objects=[bottle]), tmp_path)
    assert result.held == {"first": [], "last": ["bottle"]}
    assert np.allclose(result.settled["last"]["bottle"][:3], (0.0, 0.1, 0.25), atol=1e-6)
    assert result.moved_cm("last") == {}  # held things are not counted as moving
    assert bool(load_behaviors().get("lift_up").success(result.states(), {"target": "bottle"})[0])
