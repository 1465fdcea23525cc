"""Solids do not pass through each other (`contact`): drawn solids and tracks with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from video2policy.tools.perception.contact import Body, depth, keep_apart, way_out
from video2policy.tools.perception.pose import HIDDEN_CONFIDENCE, TrackedPose
from video2policy.tools.perception.shapes import Solid

FPS = 15.0
REMOTE = Solid("box", np.array([0.04, 0.14, 0.02]), np.array([0.0, 0.0, 0.01]))
MOUSE = Solid("ellipsoid", np.array([0.06, 0.10, 0.035]), np.array([0.0, 0.0, 0.0175]))


def _at(solid: Solid, x: float, y: float) -> Body:
    return Body.of(solid.moved(np.array([x, y, solid.position[2]])))


def test_a_box_reaching_into_another_leaves_it_by_as_much_as_it_reaches_in() -> None:
    a, b = _at(REMOTE, 0.0, 0.0), _at(REMOTE, 0.0, 0.11)  # 3 cm of b's near end inside a's far end
    assert way_out(a, b, np.array([0.0, 1.0, 0.0])) == pytest.approx(0.03, abs=0.002)
    assert way_out(a, b, np.array([1.0, 0.0, 0.0])) == pytest.approx(0.04, abs=0.002)  # sideways: its width
    assert depth(a, b) == pytest.approx(0.03, abs=0.002)  # the least way out
    assert way_out(a, _at(REMOTE, 0.0, 0.15), np.array([0.0, 1.0, 0.0])) == 0.0  # 1 cm apart
    stacked = Body.of(REMOTE.moved(np.array([0.0, 0.0, 0.03])))  # lying on top of it: touching, not inside
    assert depth(a, stacked) == 0.0


def _track(positions: list[tuple[float, float, float]], method: str, confidence: float) -> list[TrackedPose]:
    return [TrackedPose(np.array(p), np.eye(3), confidence, method) for p in positions]


def _slide(steps: list[float], mouse_y: float = 0.15) -> dict[str, list[TrackedPose]]:
    """A remote read on the table, moving along +y by `steps` (metres per frame), towards a mouse hidden throughout
    (its pose only repeats where it was last seen)."""
    ys = np.concatenate([[0.0], np.cumsum(steps)])
    return {
        "remote": _track([(0.0, y, 0.01) for y in ys], "silhouette on the table", 0.9),
        "mouse": _track([(0.0, mouse_y, 0.0175)] * len(ys), "hidden", HIDDEN_CONFIDENCE),
    }


def test_a_hidden_thing_a_seen_one_runs_into_is_pushed_on_and_stays_there() -> None:
    # the remote's far end (y + 0.07) meets the mouse's near end (0.15 - 0.05) at y = 0.03, then goes 3 cm further
    tracks = _slide([0.015] * 4 + [0.0, 0.0])
    moved = keep_apart(tracks, {"remote": REMOTE, "mouse": MOUSE}, FPS)
    mouse = np.array([p.position[1] for p in tracks["mouse"]])
    assert moved["remote"] == 0 and moved["mouse"] > 0
    assert mouse[:3] == pytest.approx(0.15)  # not yet reached
    assert mouse[4] == pytest.approx(0.18, abs=0.003)  # pushed on by the 3 cm the remote went on
    assert mouse[-1] == pytest.approx(mouse[4])  # the remote stopped; hidden, the mouse stays where it was pushed
    assert "pushed apart" in tracks["mouse"][-1].method
    assert [p.position[1] for p in tracks["remote"]] == pytest.approx([0.0, 0.015, 0.03, 0.045, 0.06, 0.06, 0.06])


def test_a_reading_that_jumps_faster_than_a_hand_slides_things_pushes_nothing() -> None:
    tracks = _slide([0.01, 0.01, 0.06])  # 6 cm in a frame at 15 fps: 0.9 m/s
    assert keep_apart(tracks, {"remote": REMOTE, "mouse": MOUSE}, FPS) == {"remote": 0, "mouse": 0}
    assert tracks["mouse"][-1].position[1] == pytest.approx(0.15)


def test_of_two_seen_things_the_one_whose_reading_jumped_into_the_other_is_set_back() -> None:
    tracks = _slide([0.01, 0.01, 0.01, 0.05])  # read 5 cm on in one frame, half into a mouse in view
    tracks["mouse"] = _track([p.position for p in tracks["mouse"]], "silhouette on the table", 0.9)
    moved = keep_apart(tracks, {"remote": REMOTE, "mouse": MOUSE}, FPS)
    assert moved == {"remote": 1, "mouse": 0}
    assert tracks["remote"][-1].position[1] == pytest.approx(0.03, abs=0.003)  # back to touching it
    assert tracks["mouse"][-1].position[1] == pytest.approx(0.15)


def test_an_overlap_no_motion_brings_about_is_left_alone() -> None:
    # the remote moves away from a mouse it overlaps (read so from the start): nothing seen pushed them together
    tracks = _slide([-0.01, -0.01], mouse_y=0.08)
    tracks["mouse"] = _track([p.position for p in tracks["mouse"]], "silhouette on the table", 0.9)
    assert keep_apart(tracks, {"remote": REMOTE, "mouse": MOUSE}, FPS) == {"remote": 0, "mouse": 0}
