"""Open containers and covers: walls and a floor (or a roof) instead of a solid primitive.

One view fits every object with a solid primitive, but a thing the caption puts something into (a bowl, a bin) is
open at the top and a thing it covers something with (a cup put down over a ball) is open at the bottom. As solids,
the simulator holds the garlic on the bowl's lid and stands the cup on the ball, pushing them apart as soon as the
scene starts. Here such an object becomes a shell of convex slabs (each an exact collision part, no decomposition
needed): a rectangular one for boxes, an elliptical ring of wall pieces for round things, `wall_thickness` thick.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import trimesh

WALL = 0.006  # metres: a plastic or ceramic container's wall and floor (the synthetic scenes' containers use the same)
WALL_SHARE = 0.1  # ... never more than this share of its smaller horizontal extent (a small cup)
FLOOR_SHARE = 0.25  # ... nor its floor more than this share of its height
RING_PIECES = 24  # wall pieces around a round shell


def wall_thickness(size) -> float:
    """The wall and floor thickness (metres) of an open object of metric bounding box `size` (l, w, h)."""
    length, width, height = (float(v) for v in size)
    return min(WALL, WALL_SHARE * min(length, width), FLOOR_SHARE * height)


def shell_parts(round_: bool, size, wall: float, opening: str) -> list[trimesh.Trimesh]:
    """Convex slabs of a shell with bounding box `size` (any unit, `wall` in the same), about its bounding-box
    centre: the walls, and a plate at the bottom when `opening` is "top" (a container) or at the top when it is
    "bottom" (a cover)."""
    if opening not in ("top", "bottom"):
        raise ValueError(f"opening must be 'top' or 'bottom', not {opening!r}")
    x, y, z = (float(v) for v in size)
    plate_z = -z / 2 + wall / 2 if opening == "top" else z / 2 - wall / 2
    if not round_:
        plate = _slab((x, y, wall), (0.0, 0.0, plate_z))
        sides = [
            _slab((wall, y, z), (x / 2 - wall / 2, 0.0, 0.0)),
            _slab((wall, y, z), (-x / 2 + wall / 2, 0.0, 0.0)),
            _slab((x, wall, z), (0.0, y / 2 - wall / 2, 0.0)),
            _slab((x, wall, z), (0.0, -y / 2 + wall / 2, 0.0)),
        ]
        return [plate, *sides]
    plate = trimesh.creation.cylinder(radius=0.5, height=wall, sections=48)
    plate.apply_scale([x, y, 1.0])
    plate.apply_translation([0.0, 0.0, plate_z])
    return [plate, *_ring(x / 2 - wall / 2, y / 2 - wall / 2, wall, z)]


def _ring(a: float, b: float, wall: float, h: float) -> list[trimesh.Trimesh]:
    """Wall pieces along the ellipse of semi-axes (a, b) (the wall's middle line), overlapping at their ends."""
    angles = np.linspace(0.0, 2 * math.pi, RING_PIECES + 1)
    points = np.stack([a * np.cos(angles), b * np.sin(angles)], axis=1)
    pieces = []
    for p, q in itertools.pairwise(points):
        along = q - p
        length = float(np.linalg.norm(along)) + wall / 2  # a little overlap closes the corners
        centre = (p + q) / 2
        turn = trimesh.transformations.rotation_matrix(math.atan2(along[1], along[0]), (0, 0, 1))
        turn[:3, 3] = (centre[0], centre[1], 0.0)
        pieces.append(trimesh.creation.box(extents=(length, wall, h), transform=turn))
    return pieces


def _slab(extents, centre) -> trimesh.Trimesh:
    return trimesh.creation.box(extents=extents, transform=trimesh.transformations.translation_matrix(centre))
