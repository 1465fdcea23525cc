"""Solids do not pass through each other: a pose that puts one object inside another is read wrong.

Each object's pose is tracked alone, from its own masks. Where the hand hides one of two things it slides together
("Sliding [remote] to [mouse]"), the hidden one keeps its last seen pose while the seen one moves into it: the
hidden thing was shoved along. And a thing read from a partial mask (a stick half under the hand) can slide on
past the thing it stopped against. Frame by frame, two objects whose solids reach into each other by more than a
fit's noise are parted along the way they came together (`keep_apart`): a hidden thing is pushed on, and stays
where it was pushed while it stays hidden; of two seen things, the one whose reading jumped is set back."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import ConvexHull

from video2policy.tools.perception.pose import TrackedPose
from video2policy.tools.perception.shapes import Solid

PASS_THROUGH = 0.01  # metres one solid may reach into another (a fit's noise) before it counts as passing through
GRID = 7  # volume samples per side of a solid's bounding box
TOUCH = 0.001  # metres inside a solid's outer surface from which a point counts as inside it
SIDES = 8  # horizontal directions tried for the least move that parts two solids
PUSH_SPEED = 0.5  # m/s: most slides are slower; a reading that jumps faster is likelier a misread: it pushes nothing
PUSHED = " (pushed apart)"  # said after a moved pose's method
REACH = 0.01  # the first move tried when looking for the way out (doubled until out)


@dataclass(frozen=True)
class Body:
    """A solid at one pose, as the space it fills: its convex hull's faces and points throughout its volume."""

    faces: np.ndarray  # (n, 4): a point x is inside where faces[:, :3] @ x + faces[:, 3] < 0 for all
    points: np.ndarray  # (m, 3)

    @classmethod
    def of(cls, solid: Solid) -> Body:
        hull = ConvexHull(solid.surface_points())
        axes = [np.linspace(-0.5, 0.5, GRID) * s for s in solid.size]
        local = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        points = np.concatenate([solid.position + local @ solid.rotation.T, hull.points[hull.vertices]])
        return cls(hull.equations, points[_inside(hull.equations, points, TOUCH)])

    def shifted(self, by: np.ndarray) -> Body:
        faces = self.faces.copy()
        faces[:, 3] -= faces[:, :3] @ by
        return Body(faces, self.points + by)


def _inside(faces: np.ndarray, points: np.ndarray, margin: float) -> np.ndarray:
    return (points @ faces[:, :3].T + faces[:, 3] < margin).all(axis=1)


def overlapping(a: Body, b: Body) -> bool:
    """Whether either body has a point inside the other (deeper than `TOUCH`)."""
    return bool(_inside(a.faces, b.points, -TOUCH).any() or _inside(b.faces, a.points, -TOUCH).any())


def way_out(a: Body, b: Body, direction: np.ndarray) -> float:
    """How far `b` must move along the unit `direction` to leave `a` (0 when they do not overlap): both are
    convex, so the moves that keep them overlapping form one interval, whose far end bisection finds."""
    if not overlapping(a, b):
        return 0.0
    inside, out = 0.0, REACH
    while overlapping(a, b.shifted(direction * out)):
        inside, out = out, 2 * out
    for _ in range(12):
        mid = (inside + out) / 2
        if overlapping(a, b.shifted(direction * mid)):
            inside = mid
        else:
            out = mid
    return out


def depth(a: Body, b: Body) -> float:
    """How deep the two reach into each other: the least horizontal move that parts them (of `SIDES` tried)."""
    if not overlapping(a, b):
        return 0.0
    angles = np.linspace(0, 2 * np.pi, SIDES, endpoint=False)
    return min(way_out(a, b, np.array([np.cos(q), np.sin(q), 0.0])) for q in angles)


def keep_apart(tracks: dict[str, list[TrackedPose]], solids: dict[str, Solid], fps: float) -> dict[str, int]:
    """Push overlapping objects apart, frame by frame (`tracks` changed in place). Returns, per object, how many
    of its frames were moved.

    Only motion seen since the frame before brings two things together (the one's step relative to the other's,
    towards it); an overlap nothing seen explains is left alone. A hidden thing a seen one ran into is pushed on,
    unless the seen one's reading jumped faster than most slides go (`PUSH_SPEED`: likelier a misread than a push);
    of two seen things, the one whose reading jumped further ran into the other and is set back. Either moves
    along the way they came together until they part, but never further than they closed in that frame."""
    names = list(tracks)
    moved = dict.fromkeys(names, 0)
    shift = {n: np.zeros(3) for n in names}  # how far a pushed object, hidden since, was pushed
    for t in range(1, len(tracks[names[0]])):
        for n in names:
            pose = tracks[n][t]
            if not pose.kept:
                shift[n] = np.zeros(3)
            elif shift[n].any():
                tracks[n][t] = _pushed(pose, shift[n])
                moved[n] += 1
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                gives = _give_way(tracks, solids, a, b, t, PUSH_SPEED / fps)
                if gives is None:
                    continue
                name, out = gives
                tracks[name][t] = _pushed(tracks[name][t], out)
                shift[name] = shift[name] + out
                moved[name] += 1
    return moved


def _pushed(pose: TrackedPose, by: np.ndarray) -> TrackedPose:
    method = pose.method if pose.method.endswith(PUSHED) else pose.method + PUSHED
    return replace(pose, position=pose.position + by, method=method)


def _give_way(
    tracks: dict[str, list[TrackedPose]], solids: dict[str, Solid], a: str, b: str, t: int, max_push: float
) -> tuple[str, np.ndarray] | None:
    """Which of `a` and `b` gives way in frame `t`, and the move that parts them (`keep_apart`); None if neither."""
    pa, pb = tracks[a][t], tracks[b][t]
    flat = np.array([1.0, 1.0, 0.0])
    step_a = (pa.position - tracks[a][t - 1].position) * flat
    step_b = (pb.position - tracks[b][t - 1].position) * flat
    closing = step_a - step_b  # how a moved towards b since the frame before
    closed = float(np.linalg.norm(closing))
    if closed < 1e-3 or closing @ (pb.position - pa.position) <= 0:
        return None  # no motion seen brought them together
    hidden_a, hidden_b = pa.kept, pb.kept
    if (hidden_a and hidden_b) or ((hidden_a or hidden_b) and closed > max_push):
        return None
    ba = Body.of(solids[a].moved(pa.position, pa.rotation))
    bb = Body.of(solids[b].moved(pb.position, pb.rotation))
    if depth(ba, bb) <= PASS_THROUGH:
        return None
    a_gives = hidden_a if hidden_a or hidden_b else np.linalg.norm(step_a) > np.linalg.norm(step_b)
    direction = closing / closed
    if a_gives:
        return a, -direction * min(way_out(bb, ba, -direction), closed)
    return b, direction * min(way_out(ba, bb, direction), closed)
