"""Procedural meshes for synthetic scenes: containers, covers, mugs, rings, cones and rocks, with convex parts.

Hollow objects (cup, bowl, bin, the upside-down cup used to cover things) are built from boxes, so their convex
parts are exact and free; shapes with holes (ring, mug handle) go through CoACD. Every mesh is in metres, with
its bounding box equal to the requested size (l, w, h).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import trimesh

WALL = 0.006  # wall and base thickness of hollow objects, metres
SEGMENTS = 16
KINDS = ("cup", "cover_cup", "bowl", "bin", "mug", "ring", "cone", "rock")


def make_mesh(kind: str, size: tuple[float, float, float], rng: np.random.Generator) -> tuple[trimesh.Trimesh, list]:
    """(visual mesh, convex collision parts) for one generator `kind`, fitted to `size`."""
    length, width, height = size
    if kind in ("cup", "bowl"):
        parts = [*_round_walls(min(length, width) / 2, height), _disc(min(length, width) / 2, WALL, WALL / 2)]
    elif kind == "cover_cup":
        parts = [*_round_walls(min(length, width) / 2, height), _disc(min(length, width) / 2, WALL, height - WALL / 2)]
    elif kind == "bin":
        parts = _box_walls(length, width, height)
    elif kind == "mug":
        parts = _mug(length, width, height)
    elif kind == "ring":
        ring = trimesh.creation.torus(0.5, 0.15, major_sections=24, minor_sections=10)
        visual = _fit(ring, size)
        return visual, convex_parts(visual)
    elif kind == "cone":
        visual = _fit(trimesh.creation.cone(radius=0.5, height=1.0, sections=24), size)
        return visual, [visual.convex_hull]
    elif kind == "rock":
        rock = trimesh.creation.icosphere(subdivisions=2)
        rock.vertices *= 1.0 + 0.12 * rng.standard_normal((len(rock.vertices), 1))
        rock.vertices[:, 2] = rock.vertices[:, 2].clip(-0.6, 0.7)  # a flat base, so it rests without rolling
        visual = _fit(trimesh.Trimesh(rock.vertices, rock.faces).convex_hull, size)
        return visual, [visual]
    else:
        raise ValueError(f"unknown mesh kind {kind!r}; known: {', '.join(KINDS)}")
    visual = trimesh.util.concatenate(parts)
    return visual, parts


def convex_parts(mesh: trimesh.Trimesh, max_parts: int = 10) -> list[trimesh.Trimesh]:
    """Approximate convex decomposition with CoACD, tuned for speed (about a second for a small mesh)."""
    import coacd

    coacd.set_log_level("error")
    result = coacd.run_coacd(
        coacd.Mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces)),
        threshold=0.08,
        max_convex_hull=max_parts,
        preprocess_mode="off",
        resolution=500,
        mcts_iterations=30,
        mcts_max_depth=2,
        mcts_nodes=10,
        seed=0,
    )
    return [trimesh.Trimesh(v, f).convex_hull for v, f in result]


def save_mesh(visual: trimesh.Trimesh, parts: list[trimesh.Trimesh], folder: Path, name: str) -> tuple[str, list[str]]:
    """Write name.obj and name_partK.obj into `folder`; returns the file names (relative to `folder`)."""
    folder.mkdir(parents=True, exist_ok=True)
    visual.export(folder / f"{name}.obj")
    names = []
    for i, part in enumerate(parts):
        names.append(f"{name}_part{i}.obj")
        part.export(folder / names[-1])
    return f"{name}.obj", names


def _fit(mesh: trimesh.Trimesh, size: tuple[float, float, float]) -> trimesh.Trimesh:
    mesh = mesh.copy()
    mesh.apply_translation(-mesh.bounds.mean(axis=0))
    mesh.apply_scale(np.asarray(size) / mesh.extents)
    mesh.apply_translation([0, 0, size[2] / 2])
    return mesh


def _box(extents: tuple[float, float, float], centre: tuple[float, float, float], yaw: float = 0.0):
    transform = trimesh.transformations.rotation_matrix(yaw, [0, 0, 1])
    transform[:3, 3] = centre
    return trimesh.creation.box(extents=extents, transform=transform)


def _disc(radius: float, thickness: float, z: float) -> trimesh.Trimesh:
    disc = trimesh.creation.cylinder(radius=radius, height=thickness, sections=SEGMENTS * 2)
    disc.apply_translation([0, 0, z])
    return disc


def _round_walls(radius: float, height: float) -> list[trimesh.Trimesh]:
    """A ring of overlapping boxes: the wall of a cup of outer radius `radius`."""
    chord = 2 * radius * math.sin(math.pi / SEGMENTS) * 1.15
    walls = []
    for k in range(SEGMENTS):
        angle = 2 * math.pi * k / SEGMENTS
        r = radius - WALL / 2
        walls.append(_box((WALL, chord, height), (r * math.cos(angle), r * math.sin(angle), height / 2), angle))
    return walls


def _box_walls(length: float, width: float, height: float) -> list[trimesh.Trimesh]:
    return [
        _box((length, width, WALL), (0, 0, WALL / 2)),
        _box((WALL, width, height), (length / 2 - WALL / 2, 0, height / 2)),
        _box((WALL, width, height), (-length / 2 + WALL / 2, 0, height / 2)),
        _box((length, WALL, height), (0, width / 2 - WALL / 2, height / 2)),
        _box((length, WALL, height), (0, -width / 2 + WALL / 2, height / 2)),
    ]


def _mug(length: float, width: float, height: float) -> list[trimesh.Trimesh]:
    """A cup of diameter `width` with a square handle on +x; `length` covers cup and handle."""
    radius = width / 2
    handle = max(length - width, 0.012)
    shift = -handle / 2  # keep the bounding box centred
    cup = [*_round_walls(radius, height), _disc(radius, WALL, WALL / 2)]
    for part in cup:
        part.apply_translation([shift, 0, 0])
    x0 = shift + radius
    bar = 0.008
    cup += [
        _box((handle, bar, bar), (x0 + handle / 2, 0, height * 0.8)),
        _box((handle, bar, bar), (x0 + handle / 2, 0, height * 0.25)),
        _box((bar, bar, height * 0.55 + bar), (x0 + handle - bar / 2, 0, height * 0.525)),
    ]
    return cup
