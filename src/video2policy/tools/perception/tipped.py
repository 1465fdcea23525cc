"""The size of a box the caption says is tipped over, from the two ends of the clip together.

Seen from the front, a box's depth is nearly free: a deeper box a little further back outlines almost the same
(a tall 3.6 cm-deep box fitted 7.5 cm deep at the same silhouette IoU). Once it has fallen on its side, that depth
stands up as its height. So the box's size, its pose standing in the key frame and its pose lying in the last
frame are fitted together to both silhouettes; the joint size replaces the key frame's when it explains the lying
box well and the key frame about as well as before.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize
from scipy.spatial.transform import Rotation

from video2policy.tools.perception.geometry import PinholeCamera
from video2policy.tools.perception.shapes import (
    SilhouetteLoss,
    Solid,
    canonical_box,
    initial_guess,
    scaled_points,
    solid_from,
    track_solid,
)

KEY_SLACK = 0.05  # the joint size may explain the key frame this much less well than the key frame's own fit
LYING_IOU = 0.8  # ... and must explain the last frame, lying on a side, at least this well
LYING_GAIN = 0.03  # ... and better by this than the key frame's box standing there (it may not have fallen)
YAW_STARTS = 12  # lying yaws tried as starting points (the fall's direction is unknown)
STARTS_KEPT = 3  # best starting points refined
MAX_EVALUATIONS = 3000
LYING_STEPS = np.array([0.02, 0.02, 0.3])  # first search steps: metres, metres, radians
JOINT_STEPS = np.array([0.2, 0.2, 0.2, 0.01, 0.01, 0.1, 0.01, 0.01, 0.1])  # log sizes, then both poses


def on_side(size: np.ndarray, x: float, y: float, yaw: float, axis: int) -> Solid:
    """A box lying on the table on a side: turned a quarter about its own x (axis 0) or y (axis 1), then by yaw."""
    rot = Rotation.from_euler("z", yaw).as_matrix() @ Rotation.from_rotvec(np.pi / 2 * np.eye(3)[axis]).as_matrix()
    lowest = float(np.min((scaled_points("box", size) @ rot.T)[:, 2]))
    return Solid("box", size, np.array([x, y, -lowest]), rot)


def joint_box_size(
    key: Solid,
    key_iou: float,
    camera: PinholeCamera,
    key_mask: np.ndarray,
    key_ignore: np.ndarray | None,
    last_mask: np.ndarray,
    last_ignore: np.ndarray | None,
) -> tuple[Solid, float, float] | None:
    """The key frame's box resized so that it also explains the last frame lying on a side: (box at the key frame,
    its key-frame IoU, its lying IoU at the last frame), or None when no such box explains both well, or when the
    key frame's box standing explains the last frame about as well (a deep enough box lying outlines like one
    standing)."""
    key_loss = SilhouetteLoss(camera, key_mask, key_ignore)
    last_loss = SilhouetteLoss(camera, last_mask, last_ignore)
    yaw = float(np.arctan2(key.rotation[1, 0], key.rotation[0, 0]))
    centre, _, _ = initial_guess(camera, last_mask)

    def solids(q: np.ndarray, axis: int) -> tuple[Solid, Solid]:
        return solid_from("box", q[[3, 4, 5, 0, 1, 2]]), on_side(np.exp(q[:3]), q[6], q[7], q[8], axis)

    def loss(q: np.ndarray, axis: int) -> float:
        first, last = solids(q, axis)
        return key_loss(first.surface_points()) + last_loss(last.surface_points())

    def lying_loss(p: np.ndarray, axis: int) -> float:
        return last_loss(on_side(key.size, p[0], p[1], p[2], axis).surface_points())

    # the lying pose at the key frame's size first (its fall's direction is unknown), then everything together
    starts = [
        (lying_loss(np.array([*centre[:2], lying_yaw]), axis), axis, lying_yaw)
        for axis in (0, 1)
        for lying_yaw in np.linspace(-np.pi, np.pi, YAW_STARTS, endpoint=False)
    ]
    best = None
    for _, axis, lying_yaw in sorted(starts, key=lambda s: s[0])[:STARTS_KEPT]:
        p = np.array([*centre[:2], lying_yaw])
        lying = minimize(lying_loss, p, args=(axis,), method="Nelder-Mead", options=_simplex(p, LYING_STEPS)).x
        q = np.array([*np.log(key.size), key.position[0], key.position[1], yaw, *lying])
        res = minimize(loss, q, args=(axis,), method="Nelder-Mead", options=_simplex(q, JOINT_STEPS))
        if best is None or res.fun < best[0]:
            best = (float(res.fun), res.x, axis)
    first, last = solids(best[1], best[2])
    iou_key, iou_last = 1.0 - key_loss(first.surface_points()), 1.0 - last_loss(last.surface_points())
    upright = solid_from("box", np.array([*centre[:2], yaw, *np.log(key.size)]))
    still_standing = track_solid(upright, camera, last_mask, last_ignore, on_table=True)
    if iou_last < max(LYING_IOU, still_standing[1] + LYING_GAIN) or iou_key < key_iou - KEY_SLACK:
        return None
    return canonical_box(first), float(iou_key), float(iou_last)


def refit_tipped_box(fit, masks: np.ndarray, seen: np.ndarray, camera: PinholeCamera, ignore: Callable) -> None:
    """Replace a `MeshFit` box's size by the joint one when the clip ends with the box on its side (in place)."""
    last = len(masks) - 1
    if fit.kind != "box" or fit.keyframe != 0 or last == 0 or not (seen[last] and masks[last].any()):
        return
    found = joint_box_size(fit.solid, fit.iou, camera, masks[0], ignore(0), masks[last], ignore(last))
    if found is None:
        return
    solid, iou_key, iou_last = found
    old = np.round(100 * np.sort(fit.solid.size), 1).tolist()
    fit.height_reason = (
        f"fitted with the last frame, where the caption says it lies on its side ({old} cm before; key-frame "
        f"IoU {iou_key:.2f}, lying IoU {iou_last:.2f}); {fit.height_reason}"
    )
    fit.solid, fit.iou = solid, iou_key


def _simplex(start: np.ndarray, steps: np.ndarray) -> dict:
    """Nelder-Mead options whose first simplex spans `steps` (its default steps are 5 % of each value: far too
    small for a position near the table's centre)."""
    return {"initial_simplex": np.vstack([start, start + np.diag(steps)]), "maxfev": MAX_EVALUATIONS, "xatol": 1e-5}
