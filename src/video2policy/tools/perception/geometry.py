"""Camera and rigid-body geometry in the table frame (z up, metres) with OpenCV pinhole cameras."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation


@dataclass
class PinholeCamera:
    """K at working resolution plus the camera-to-table pose: p_table = R @ p_cam + t."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    R: np.ndarray
    t: np.ndarray

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1.0]])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points) - self.t) @ self.R

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Table-frame points (N, 3) -> pixels (N, 2) and depth along the optical axis (N,)."""
        pc = self.to_camera(points)
        z = pc[:, 2]
        safe = np.where(z > 1e-6, z, 1e-6)
        uv = np.stack([self.fx * pc[:, 0] / safe + self.cx, self.fy * pc[:, 1] / safe + self.cy], axis=1)
        return uv, z

    def rays(self, uv: np.ndarray) -> np.ndarray:
        """Unit ray directions in the table frame through pixels (N, 2)."""
        d = np.stack([(uv[:, 0] - self.cx) / self.fx, (uv[:, 1] - self.cy) / self.fy, np.ones(len(uv))], axis=1)
        d = d @ self.R.T
        return d / np.linalg.norm(d, axis=1, keepdims=True)

    def backproject(self, uv: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Pixels with depth along the optical axis -> table-frame points."""
        pc = np.stack([(uv[:, 0] - self.cx) / self.fx * depth, (uv[:, 1] - self.cy) / self.fy * depth, depth], axis=1)
        return pc @ self.R.T + self.t

    def on_plane(self, uv: np.ndarray, z: float = 0.0) -> np.ndarray:
        """Where pixel rays meet the horizontal plane at height z (NaN for rays that never reach it)."""
        d = self.rays(uv)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (z - self.t[2]) / d[:, 2]
        s = np.where(s > 0, s, np.nan)
        return self.t + d * s[:, None]

    def scaled(self, factor: float) -> PinholeCamera:
        return PinholeCamera(
            self.fx * factor,
            self.fy * factor,
            self.cx * factor,
            self.cy * factor,
            round(self.width * factor),
            round(self.height * factor),
            self.R,
            self.t,
        )


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation (camera->table) of an OpenCV camera at `eye` looking at `target` with no roll."""
    forward = np.asarray(target, float) - np.asarray(eye, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    if np.linalg.norm(right) < 1e-6:
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward], axis=1)


def quat_wxyz(R: np.ndarray) -> tuple[float, float, float, float]:
    x, y, z, w = Rotation.from_matrix(R).as_quat()
    return (float(w), float(x), float(y), float(z))


def matrix_from_wxyz(q) -> np.ndarray:
    w, x, y, z = q
    return Rotation.from_quat([x, y, z, w]).as_matrix()


def yaw_quat(yaw: float) -> tuple[float, float, float, float]:
    return (float(np.cos(yaw / 2)), 0.0, 0.0, float(np.sin(yaw / 2)))


def yaw_of(q) -> float:
    return float(Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_euler("ZYX")[0])


def fit_plane_ransac(
    points: np.ndarray,
    rng: np.random.Generator,
    iters: int = 300,
    tol: float = 0.01,
    up_hint: np.ndarray | None = None,
    max_tilt_deg: float = 75.0,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Dominant plane n.p + d = 0 (n pointing along `up_hint`), with its inlier mask; refined by least squares."""
    best, best_count = None, -1
    n_pts = len(points)
    if n_pts < 3:
        raise ValueError("too few points for a plane")
    for _ in range(iters):
        a, b, c = points[rng.choice(n_pts, 3, replace=False)]
        n = np.cross(b - a, c - a)
        norm = np.linalg.norm(n)
        if norm < 1e-9:
            continue
        n /= norm
        if up_hint is not None:
            if n @ up_hint < 0:
                n = -n
            if np.degrees(np.arccos(np.clip(n @ up_hint, -1, 1))) > max_tilt_deg:
                continue
        d = -n @ a
        count = int((np.abs(points @ n + d) < tol).sum())
        if count > best_count:
            best, best_count = (n, d), count
    if best is None:
        raise ValueError("no plane found")
    n, d = best
    inliers = np.abs(points @ n + d) < tol
    centroid = points[inliers].mean(axis=0)
    _, _, vt = np.linalg.svd(points[inliers] - centroid, full_matrices=False)
    n2 = vt[2] if vt[2] @ n > 0 else -vt[2]
    d2 = -n2 @ centroid
    return n2, float(d2), np.abs(points @ n2 + d2) < tol


def kabsch(source: np.ndarray, target: np.ndarray, yaw_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Rotation R and translation t minimising |R @ source + t - target| (rows are points)."""
    cs, ct = source.mean(axis=0), target.mean(axis=0)
    a, b = source - cs, target - ct
    if yaw_only:
        h = a[:, :2].T @ b[:, :2]
        angle = np.arctan2(h[0, 1] - h[1, 0], h[0, 0] + h[1, 1])
        R = Rotation.from_euler("z", angle).as_matrix()
    else:
        u, _, vt = np.linalg.svd(a.T @ b)
        sign = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
        R = vt.T @ np.diag([1, 1, sign]) @ u.T
    return R, ct - R @ cs
