"""Which round primitive an object is, from how its surface is lit, where its silhouette cannot tell.

Seen from above, a short cylinder and a capsule (a bottle with a round top) cast nearly the same outline, but
the cylinder's flat top is lit evenly while a dome brightens towards the light and darkens away from it. Each
candidate solid gives every object pixel a surface normal (by casting the pixel's ray at it); under a distant
light a matte surface's lightness is about ambient + light · normal, so regressing the pixels' lightness on their
normals explains more of its variance (R²) for the candidate with the right shape. A textured or unevenly lit
object gives no clear winner, and the silhouette's choice stands.
"""

from __future__ import annotations

import numpy as np

from video2policy.tools.perception.faces import MIN_PIXELS, explained_share, inner_pixels
from video2policy.tools.perception.geometry import PinholeCamera
from video2policy.tools.perception.shapes import Solid

ROUND_KINDS = ("cylinder", "capsule", "sphere", "ellipsoid", "cone")
MIN_GAIN = 0.05  # another kind's normals must explain this much more of the lightness variance to be chosen
MIN_R2 = 0.5  # and at least this much of it


def _unit_shape(solid: Solid) -> tuple[np.ndarray, float | None]:
    """The scale that maps the solid onto a unit shape, and that shape: a cylinder (or a cone, its tip at z = 1) of
    radius 1 and half-height 1 (None), or a capsule of radius 1 whose straight part reaches ±half (0 for a sphere or
    an ellipsoid). A boxier ellipsoid (`Solid.roundness` < 1) is shaded as the ellipsoid of its bounding box: the
    normals differ only near its rounded edges."""
    a, b, h = solid.size / 2
    if solid.kind in ("cylinder", "cone"):
        return np.array([a, b, h]), None
    if solid.kind == "capsule":
        r = min(a, b)
        return np.array([a, b, r]), max(h - r, 0.0) / r
    return np.array([a, b, h]), 0.0


def surface_normals(solid: Solid, camera: PinholeCamera, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outward normals (N, 3, table frame) where the rays through pixels `uv` first meet a round solid, and which
    rays meet it at all (N,). The solid is scaled onto a unit shape, where the ray tests are quadratics."""
    if solid.kind not in ROUND_KINDS:
        raise ValueError(f"surface normals are defined for {', '.join(ROUND_KINDS)}, not {solid.kind!r}")
    scale, half = _unit_shape(solid)
    origin = (camera.t - solid.position) @ solid.rotation / scale
    rays = camera.rays(np.asarray(uv, float)) @ solid.rotation / scale
    nearest = np.full(len(rays), np.inf)
    normals = np.zeros((len(rays), 3))

    def keep(t: np.ndarray, valid: np.ndarray, normal_at) -> None:
        closer = valid & (t > 0) & (t < nearest)
        points = origin + t[closer, None] * rays[closer]
        nearest[closer], normals[closer] = t[closer], normal_at(points)

    if solid.kind == "cone":  # the side: x² + y² = ((1 - z) / 2)², its tip at z = 1, its base at z = -1
        for t, valid in _cone_roots(rays, origin):
            z = origin[2] + t * rays[:, 2]
            keep(t, valid & (np.abs(z) <= 1.0), lambda p: p * [1.0, 1.0, 0.0] + [0.0, 0.0, 1.0] * (1 - p[:, 2:]) / 4)
    else:  # the side: x² + y² = 1 between the ends
        side_ends = 1.0 if half is None else half
        for t, valid in _unit_roots(rays[:, :2], origin[:2]):
            z = origin[2] + t * rays[:, 2]
            keep(t, valid & (np.abs(z) <= side_ends), lambda p: p * [1.0, 1.0, 0.0])
    if half is None:  # flat ends at z = ±1 (a cone's tip end is a point: no ray meets it within the radius)
        for end in (1.0, -1.0) if solid.kind == "cylinder" else (-1.0,):
            dz = np.where(np.abs(rays[:, 2]) > 1e-12, rays[:, 2], 1e-12)
            t = (end - origin[2]) / dz
            xy = origin[:2] + t[:, None] * rays[:, :2]
            keep(t, (xy**2).sum(axis=1) <= 1.0, lambda p, end=end: np.tile([0.0, 0.0, end], (len(p), 1)))
    else:  # round ends: unit spheres at z = ±half, each the half beyond it
        for end in dict.fromkeys((half, -half)):  # one sphere when half is 0
            centre = np.array([0.0, 0.0, end])
            for t, valid in _unit_roots(rays, origin - centre):
                z = origin[2] + t * rays[:, 2]
                beyond = np.sign(end) * (z - end) >= 0
                keep(t, valid & beyond, lambda p, c=centre: p - c)
    hit = np.isfinite(nearest)
    normals = normals / scale  # normals transform with the inverse transpose of the scaling
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return normals @ solid.rotation.T, hit


def _unit_roots(d: np.ndarray, o: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Both ray parameters t where |o + t·d| = 1 (rows of d; o shared), each with where it exists."""
    return _quadratic_roots(np.maximum((d * d).sum(axis=1), 1e-12), 2.0 * d @ o, o @ o - 1.0)


def _cone_roots(d: np.ndarray, o: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Both ray parameters t where o + t·d meets the double cone x² + y² = ((1 - z) / 2)² (rows of d; o shared)."""
    w = 1.0 - o[2]
    a = d[:, 0] ** 2 + d[:, 1] ** 2 - d[:, 2] ** 2 / 4
    a = np.where(np.abs(a) > 1e-12, a, 1e-12)
    return _quadratic_roots(a, 2.0 * d[:, :2] @ o[:2] + w * d[:, 2] / 2, o[0] ** 2 + o[1] ** 2 - w**2 / 4)


def _quadratic_roots(a: np.ndarray, b: np.ndarray, c: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Both roots of a·t² + b·t + c = 0 (a nonzero), each with where it exists (a real root)."""
    disc = b * b - 4 * a * c
    root = np.sqrt(np.maximum(disc, 0.0))
    return [((-b - root) / (2 * a), disc >= 0), ((-b + root) / (2 * a), disc >= 0)]


def shading_r2(solid: Solid, camera: PinholeCamera, mask: np.ndarray, lab_image: np.ndarray) -> float:
    """Share of the lightness variance of the object's inner pixels explained by ambient + light · normal.

    Lightness only, as for box faces (`faces.face_r2`): video codecs smear colour across shading edges. Pixels
    whose ray misses the solid are left out; 0.0 when too few pixels are left to say anything.
    """
    ys, xs = inner_pixels(mask)
    if len(xs) < MIN_PIXELS:
        return 0.0
    normals, hit = surface_normals(solid, camera, np.stack([xs, ys], axis=1))
    if hit.sum() < MIN_PIXELS:
        return 0.0
    design = np.column_stack([np.ones(hit.sum()), normals[hit]])
    return explained_share(design, lab_image[ys[hit], xs[hit], 0].astype(float))
