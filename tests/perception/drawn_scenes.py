"""A fixed camera over the table and solids drawn as filled silhouettes: small images the perception tests fit."""

from __future__ import annotations

import cv2
import numpy as np

from video2policy.tools.perception.geometry import PinholeCamera, look_at
from video2policy.tools.perception.shapes import Solid

W, H = 320, 240


def camera() -> PinholeCamera:
    eye = np.array([0.05, -0.45, 0.4])
    f = W / 2 / np.tan(np.radians(30))
    return PinholeCamera(f, f, W / 2, H / 2, W, H, look_at(eye, np.array([0.0, 0.05, 0.0])), eye)


def draw(solid: Solid, cam: PinholeCamera) -> np.ndarray:
    uv, _ = cam.project(solid.surface_points())
    mask = np.zeros((H, W), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(uv).astype(np.int32)), 1)
    return mask.astype(bool)


def paint_box(solid: Solid, cam: PinholeCamera, top: tuple, sides: tuple, seed: int = 0) -> np.ndarray:
    """An RGB image of a box lit from above: the silhouette in the sides' colour, the top face brighter, noise."""
    corners = solid.corners()
    uv, _ = cam.project(corners)
    image = np.full((H, W, 3), (235, 230, 200), np.uint8)
    cv2.fillConvexPoly(image, cv2.convexHull(np.round(uv).astype(np.int32)), sides)
    cv2.fillConvexPoly(image, cv2.convexHull(np.round(uv[corners[:, 2] > solid.position[2]]).astype(np.int32)), top)
    noise = np.random.default_rng(seed).normal(0, 3, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)
