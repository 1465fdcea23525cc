"""6D pose tracking: the scaled solid follows the object's masks from the key frame, forwards and backwards.

Without depth, each frame's pose is the one whose silhouette matches the mask (position and yaw; roll and pitch
too when that fits clearly better, as for objects that tip over). With depth frames, the pose is refined by ICP
(nearest points, Kabsch with yaw only) of the solid's camera-facing surface on the back-projected masked pixels.
Frames where the object is hidden keep the last seen pose with a low confidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from video2policy.tools.perception.geometry import PinholeCamera, kabsch
from video2policy.tools.perception.mesh import depth_points
from video2policy.tools.perception.shapes import Solid, track_solid, unit_points

TILT_GAIN = 0.04  # roll/pitch are freed only when they improve the silhouette IoU by this much
HIDDEN_CONFIDENCE = 0.1
LIFTED = 0.01  # metres above the table from which an object counts as lifted
LIFT_GAIN = 0.1  # a free (lifted) pose must beat the resting one by this silhouette IoU
MAX_SPEED = 2.0  # m/s; a pose that jumps further between frames is penalised (thrown objects stay below this)


@dataclass
class TrackedPose:
    position: np.ndarray
    rotation: np.ndarray
    confidence: float
    method: str


def icp_refine(solid: Solid, points: np.ndarray, camera: PinholeCamera, iterations: int = 12) -> tuple[Solid, float]:
    """Yaw-and-translation ICP of the solid's visible surface onto observed points; returns (solid, inlier share)."""
    if len(points) < 20:
        return solid, 0.0
    base = unit_points(solid.kind) * solid.size
    dense = _densify(base, solid.kind)
    pos, rot = solid.position.copy(), solid.rotation.copy()
    share = 0.0
    for _ in range(iterations):
        model = pos + dense @ rot.T
        facing = _facing(model, pos, camera)
        tree = cKDTree(model[facing])
        dist, idx = tree.query(points)
        limit = max(3 * np.median(dist), 0.005)
        ok = dist < limit
        share = float(ok.mean())
        if ok.sum() < 10:
            break
        R, t = kabsch(model[facing][idx[ok]], points[ok], yaw_only=True)
        pos = R @ pos + t
        rot = R @ rot
        if np.linalg.norm(t) < 1e-4 and abs(np.arctan2(R[1, 0], R[0, 0])) < 1e-3:
            break
    return Solid(solid.kind, solid.size.copy(), pos, rot), share


def _densify(points: np.ndarray, kind: str) -> np.ndarray:
    """Surface samples of a primitive (its hull points plus face and side samples), for ICP."""
    if kind in ("sphere", "ellipsoid"):
        return points
    rng = np.random.default_rng(0)
    lo, hi = points.min(axis=0), points.max(axis=0)
    samples = rng.uniform(lo, hi, size=(1500, 3))
    if kind == "box":
        axis = rng.integers(0, 3, len(samples))
        side = rng.integers(0, 2, len(samples))
        samples[np.arange(len(samples)), axis] = np.where(side, hi[axis], lo[axis])
        return samples
    r = (hi[0] - lo[0]) / 2
    ang = rng.uniform(0, 2 * np.pi, len(samples))
    frac = np.sqrt(rng.uniform(0, 1, len(samples)))
    wall = rng.uniform(0, 1, len(samples)) < 0.6
    rad = np.where(wall, r, r * frac)
    z = np.where(wall, samples[:, 2], np.where(rng.uniform(0, 1, len(samples)) < 0.5, lo[2], hi[2]))
    if kind == "cone":
        rad = rad * (hi[2] - z) / max(hi[2] - lo[2], 1e-9)
    return np.stack([rad * np.cos(ang), rad * np.sin(ang) * (hi[1] - lo[1]) / max(hi[0] - lo[0], 1e-9), z], axis=1)


def _facing(model: np.ndarray, centre: np.ndarray, camera: PinholeCamera) -> np.ndarray:
    """Points on the half of the surface that faces the camera (by their direction from the centre)."""
    to_cam = camera.t - model
    out = model - centre
    return np.einsum("ij,ij->i", to_cam, out) > 0


def track_poses(
    solid: Solid,
    keyframe: int,
    masks: np.ndarray,
    seen: np.ndarray,
    camera: PinholeCamera,
    ignore: Callable[[int], np.ndarray | None],
    depth: Callable[[int], np.ndarray | None] | None = None,
    progress: Callable[[int], None] | None = None,
    fps: float = 30.0,
) -> list[TrackedPose]:
    """Poses for every frame, starting from the key frame's fit."""
    T = len(masks)
    step = MAX_SPEED / fps
    out: list[TrackedPose | None] = [None] * T
    out[keyframe] = TrackedPose(solid.position.copy(), solid.rotation.copy(), 1.0, "key frame fit")
    for direction in (1, -1):
        current = solid
        t = keyframe + direction
        while 0 <= t < T:
            if not seen[t] or not masks[t].any():
                out[t] = TrackedPose(current.position.copy(), current.rotation.copy(), HIDDEN_CONFIDENCE, "hidden")
            else:
                bottom = current.position[2] + float(
                    np.min((unit_points(current.kind) * current.size @ current.rotation.T)[:, 2])
                )
                resting, iou_r = track_solid(current, camera, masks[t], ignore(t), max_step=step, on_table=True)
                free, iou_f = track_solid(
                    current if bottom > LIFTED else resting, camera, masks[t], ignore(t), max_step=step
                )
                gain = LIFT_GAIN if bottom <= LIFTED else -0.02  # hysteresis: lifting and landing need evidence
                if iou_f > iou_r + gain:
                    upright, iou, method = free, iou_f, "silhouette"
                else:
                    upright, iou, method = resting, iou_r, "silhouette on the table"
                if iou < 0.85:
                    tilted, iou_t = track_solid(upright, camera, masks[t], ignore(t), tilt=True, max_step=step)
                    if iou_t > iou + TILT_GAIN:
                        upright, iou, method = tilted, iou_t, "silhouette (tilted)"
                current = upright
                conf = float(np.clip(iou, 0.0, 1.0))
                d = depth(t) if depth else None
                if d is not None:
                    pts = depth_points(masks[t], d, camera)
                    refined, share = icp_refine(current, pts, camera)
                    if share > 0.5:
                        current, method, conf = refined, method + " + ICP", float(min(1.0, 0.5 * conf + 0.5 * share))
                out[t] = TrackedPose(current.position.copy(), current.rotation.copy(), conf, method)
            if progress:
                progress(1)
            t += direction
    return [p for p in out if p is not None]
