"""Simulator assets: the visual mesh in its own units and its convex parts (CoACD where it is not convex)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from video2policy.tools.perception.hollow import shell_parts
from video2policy.tools.perception.shapes import mug_frames, round_footprint, solid_mesh, solid_parts


def object_mesh(
    kind: str, proportions: np.ndarray, roundness: float = 1.0, opening: str | None = None, wall: float = 0.0
) -> trimesh.Trimesh:
    """The primitive with a bounding box of `proportions` (largest extent 1), centred at its bounding-box centre;
    with `opening` ("top", "bottom") a shell of `wall` thickness (same unit) open on that side."""
    if opening:
        mesh = trimesh.util.concatenate(open_parts(kind, proportions, opening, wall))
        mesh.apply_translation(-mesh.bounds.mean(axis=0))
        return mesh
    return solid_mesh(kind, np.asarray(proportions, float), roundness)


def object_parts(
    kind: str, proportions: np.ndarray, mesh: trimesh.Trimesh, opening: str | None = None, wall: float = 0.0
) -> list[trimesh.Trimesh]:
    """Convex pieces for collisions: an open shell's slabs or a compound primitive's own (exact, no
    decomposition), else `convex_parts`."""
    if opening:
        return open_parts(kind, proportions, opening, wall)
    return solid_parts(kind, np.asarray(proportions, float)) or convex_parts(mesh)


def open_parts(kind: str, proportions: np.ndarray, opening: str, wall: float) -> list[trimesh.Trimesh]:
    """The slabs of the primitive made open on one side (`hollow.shell_parts`); a mug's body is the shell and its
    handle stays."""
    size = np.asarray(proportions, float)
    if kind != "mug":
        return shell_parts(round_footprint(kind), size, wall, opening)
    (body, body_at), _ = mug_frames(size)
    shell = shell_parts(True, body, wall, opening)
    for part in shell:
        part.apply_translation(body_at)
    return shell + solid_parts(kind, size)[1:]


def convex_parts(mesh: trimesh.Trimesh, max_parts: int = 12) -> list[trimesh.Trimesh]:
    """Convex pieces for collisions: the mesh itself when convex, otherwise CoACD's decomposition."""
    if mesh.is_convex:
        return [mesh]
    import coacd

    coacd.set_log_level("error")
    parts = coacd.run_coacd(
        coacd.Mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces)),
        threshold=0.05,
        max_convex_hull=max_parts,
        preprocess_mode="auto",
        seed=0,
    )
    return [trimesh.Trimesh(v, f).convex_hull for v, f in parts]


def write_assets(
    out_dir: Path, name: str, mesh: trimesh.Trimesh, parts: list[trimesh.Trimesh]
) -> tuple[str, list[str]]:
    """assets/<name>.obj and assets/<name>_part<i>.obj; paths relative to `out_dir` (the scene's folder)."""
    folder = out_dir / "assets"
    folder.mkdir(parents=True, exist_ok=True)
    mesh.export(folder / f"{name}.obj")
    paths = []
    for i, part in enumerate(parts):
        part.export(folder / f"{name}_part{i}.obj")
        paths.append(f"assets/{name}_part{i}.obj")
    return f"assets/{name}.obj", paths
