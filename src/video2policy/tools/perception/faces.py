"""A box's height from the shading of its faces, where its silhouette alone leaves the height open.

Seen from one elevated camera, a box whose side faces the camera squarely has a silhouette that fixes only
height · cos(elevation) + depth · sin(elevation): a flat fork and a tall thin slab, or a cube and a tall block,
cast the same outline. Its faces do not look the same: lit from above, the top face is brighter than the sides,
and every face of a plain object is nearly uniform. So among the boxes that explain the silhouette about as well
as the best fit, the one whose projected faces split the object's pixels into the most uniform parts (the largest
share of the lightness variance explained by the face partition, R²) has the right height. A textured or unevenly
lit object gives no clear winner, and the silhouette fit stands.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import minimize

from video2policy.tools.perception.geometry import PinholeCamera
from video2policy.tools.perception.shapes import FIT_FREE_WEIGHT, SilhouetteLoss, Solid, canonical_box, solid_from

IOU_SLACK = 0.03  # a candidate may explain the silhouette this much worse than the best fit
MIN_GAIN = 0.05  # the faces must explain this much more of the lightness variance to move the height
MIN_R2 = 0.5  # and at least this much of it: below, the object is textured or too dark for faces to tell
SCAN = (1 / 6, 6.0, 25)  # heights scanned: this range around the fitted height, log-spaced points
MIN_PIXELS = 40  # below this many object pixels the shading says nothing
SUPERSAMPLE = 4

# indices into `Solid.corners()` of each face (as a convex polygon) and the local axis of its outward normal
_FACES = (
    ((4, 5, 7, 6), (1, 0, 0)),
    ((0, 1, 3, 2), (-1, 0, 0)),
    ((2, 3, 7, 6), (0, 1, 0)),
    ((0, 1, 5, 4), (0, -1, 0)),
    ((1, 3, 7, 5), (0, 0, 1)),
)


@dataclass
class HeightChoice:
    solid: Solid
    iou: float
    fitted_height: float  # the silhouette fit's
    r2_fit: float  # the silhouette fit's face partition
    r2: float  # the chosen box's
    changed: bool

    @property
    def reason(self) -> str:
        if not self.changed:
            return (
                f"silhouette fit (its faces explain R² {self.r2_fit:.2f} of the lightness; "
                "no height does clearly better)"
            )
        return (
            f"face shading: height {100 * self.solid.size[2]:.1f} cm instead of the silhouette's "
            f"{100 * self.fitted_height:.1f} cm (faces explain R² {self.r2:.2f} of the lightness against "
            f"{self.r2_fit:.2f}; silhouette IoU {self.iou:.2f})"
        )


def face_coverage(solid: Solid, camera: PinholeCamera, window: tuple[int, int, int, int]) -> np.ndarray:
    """(h, w, n): the share of each pixel of `window` (y0, y1, x0, x1) covered by each face turned to the camera.

    Faces are drawn at SUPERSAMPLE times the resolution and averaged, so that a face's edge moving by a fraction
    of a pixel changes the shares (a thin top face is only a few pixels tall).
    """
    y0, y1, x0, x1 = window
    corners = solid.corners()
    uv, z = camera.project(corners)
    if (z < 0.02).any() or np.abs(uv).max() > 1e5:
        return np.zeros((y1 - y0, x1 - x0, 0))
    local = (uv - [x0, y0]) * SUPERSAMPLE
    layers = []
    for index, axis in _FACES:
        normal = solid.rotation @ np.asarray(axis, float)
        if normal @ (camera.t - corners[list(index)].mean(axis=0)) <= 0:
            continue
        canvas = np.zeros(((y1 - y0) * SUPERSAMPLE, (x1 - x0) * SUPERSAMPLE), np.uint8)
        cv2.fillConvexPoly(canvas, np.round(local[list(index)] * 16).astype(np.int32), 1, shift=4)
        layers.append(canvas.reshape(y1 - y0, SUPERSAMPLE, x1 - x0, SUPERSAMPLE).mean(axis=(1, 3)))
    return np.stack(layers, axis=-1) if layers else np.zeros((y1 - y0, x1 - x0, 0))


def inner_pixels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ys, xs) of the mask without its rim, where an object's shading is not mixed with what lies behind it."""
    return np.nonzero(cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool))


def explained_share(design: np.ndarray, values: np.ndarray) -> float:
    """R²: the share of the variance of `values` that a least-squares fit on the columns of `design` explains."""
    coefficients = np.linalg.lstsq(design, values, rcond=None)[0]
    total = ((values - values.mean()) ** 2).sum()
    residual = ((values - design @ coefficients) ** 2).sum()
    return float(1.0 - residual / max(total, 1e-6))


def face_r2(solid: Solid, camera: PinholeCamera, mask: np.ndarray, lab_image: np.ndarray) -> float:
    """Share of the lightness variance of the object's inner pixels explained by the visible faces.

    Each pixel's lightness is modelled as the coverage-weighted mix of one lightness per face (least squares).
    Lightness only: shading changes it from face to face, and video codecs keep colour at half resolution, which
    smears chroma across the edges between faces.
    """
    ys, xs = inner_pixels(mask)
    if len(xs) < MIN_PIXELS:
        return 0.0
    window = (int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1)
    coverage = face_coverage(solid, camera, window)[ys - window[0], xs - window[2]]
    on_box = coverage.sum(axis=1) > 0.5
    if on_box.sum() < MIN_PIXELS or coverage.shape[1] == 0:
        return 0.0
    shares = coverage[on_box] / coverage[on_box].sum(axis=1, keepdims=True)
    return explained_share(shares, lab_image[ys[on_box], xs[on_box], 0].astype(float))


def _box_params(solid: Solid) -> np.ndarray:
    """The fit's free parameters of a box of fixed height: position on the table, yaw, log length and width."""
    return np.array([*solid.position[:2], solid.yaw, *np.log(solid.size[:2])])


def _fit_at_height(loss: SilhouetteLoss, start: Solid, height: float, width: float) -> tuple[Solid, float]:
    """The box of this height whose silhouette best matches (position, yaw and footprint free), from `start`;
    `width` (the silhouette fit's) sets the first steps of the search."""

    def f(q: np.ndarray) -> float:
        return loss(solid_from("box", np.array([*q, np.log(height)])).surface_points())

    steps = np.array([0.2 * width, 0.2 * width, 0.3, 0.25, 0.25])
    q0 = _box_params(start)
    res = minimize(
        f,
        q0,
        method="Nelder-Mead",
        options={
            "initial_simplex": np.vstack([q0, q0 + np.diag(steps)]),
            "xatol": 1e-5,
            "fatol": 1e-6,
            "maxfev": 500,
        },
    )
    return solid_from("box", np.array([*res.x, np.log(height)])), 1.0 - float(res.fun)


def choose_height(
    solid: Solid,
    iou: float,
    camera: PinholeCamera,
    mask: np.ndarray,
    ignore: np.ndarray | None,
    lab_image: np.ndarray,
) -> HeightChoice:
    """Scan box heights around the silhouette fit; keep the one whose faces best explain the lightness."""
    fitted_height = float(solid.size[2])
    r2_fit = face_r2(solid, camera, mask, lab_image)
    unchanged = HeightChoice(solid, iou, fitted_height, r2_fit, r2_fit, False)
    if mask.sum() < MIN_PIXELS:
        return unchanged
    loss = SilhouetteLoss(camera, mask, ignore, free_weight=FIT_FREE_WEIGHT)
    width = float(solid.size[:2].max())
    low, high, n = SCAN
    heights = fitted_height * np.exp(np.linspace(np.log(low), np.log(high), n))
    scanned = [_fit_at_height(loss, solid, h, width) for h in heights]
    best = _best(scanned, iou, camera, mask, lab_image)
    if best is None:
        return unchanged
    i = best[3]
    finer = np.exp(np.linspace(np.log(heights[max(i - 1, 0)]), np.log(heights[min(i + 1, n - 1)]), 9))
    finely = [_fit_at_height(loss, scanned[i][0], h, width) for h in finer]
    best = _best(finely, iou, camera, mask, lab_image) or best
    chosen, chosen_iou, r2 = best[:3]
    if r2 < max(r2_fit + MIN_GAIN, MIN_R2):
        return unchanged
    return HeightChoice(canonical_box(chosen), chosen_iou, fitted_height, r2_fit, r2, True)


def _best(
    scanned: list[tuple[Solid, float]],
    iou: float,
    camera: PinholeCamera,
    mask: np.ndarray,
    lab_image: np.ndarray,
) -> tuple[Solid, float, float, int] | None:
    """The candidate with the largest face R² among those whose silhouette IoU is within the slack of `iou`."""
    best = None
    for i, (candidate, candidate_iou) in enumerate(scanned):
        if candidate_iou < iou - IOU_SLACK:
            continue
        r2 = face_r2(candidate, camera, mask, lab_image)
        if best is None or r2 > best[2]:
            best = (candidate, candidate_iou, r2, i)
    return best
