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
