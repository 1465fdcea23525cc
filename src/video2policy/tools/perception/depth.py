"""Intrinsics, depth and the table plane: the camera's pose in the table frame, and where each came from.

Sources, in order of trust: what the user gave (intrinsics, a camera pose, depth frames), what a depth model
estimated, and priors (a 60 degree horizontal field of view; a camera 0.5 m above the table looking 30 degrees
down). With depth, the table is the dominant near-horizontal plane under the image centre; its visible extent gives
the table's size and centre (the origin of the table frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from video2policy.scene import Camera, Intrinsics
from video2policy.tools.perception.errors import PerceptionError
from video2policy.tools.perception.geometry import PinholeCamera, fit_plane_ransac, look_at, matrix_from_wxyz, quat_wxyz

DEFAULT_HFOV_DEG = 60.0
DEFAULT_HEIGHT_M = 0.5
DEFAULT_PITCH_DEG = 30.0
DEPTH_SUFFIXES = (".png", ".npy", ".tif", ".tiff")


@dataclass
class Geometry:
    """The depth stage's answer; `camera` is at working resolution."""

    camera: PinholeCamera
    intrinsics_source: str
    pose_source: str
    depth_source: str  # given | model | none
    table_size: tuple[float, float] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        c = self.camera
        return {
            "camera": {
                "fx": c.fx,
                "fy": c.fy,
                "cx": c.cx,
                "cy": c.cy,
                "width": c.width,
                "height": c.height,
                "R": c.R.tolist(),
                "t": c.t.tolist(),
            },
            "intrinsics_source": self.intrinsics_source,
            "pose_source": self.pose_source,
            "depth_source": self.depth_source,
            "table_size": self.table_size,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Geometry:
        c = d["camera"]
        cam = PinholeCamera(
            c["fx"], c["fy"], c["cx"], c["cy"], c["width"], c["height"], np.asarray(c["R"]), np.asarray(c["t"])
        )
        size = tuple(d["table_size"]) if d.get("table_size") else None
        return cls(cam, d["intrinsics_source"], d["pose_source"], d["depth_source"], size, list(d.get("notes", [])))

    def scene_camera(self, scale: float) -> Camera:
        """The camera at source resolution, as scene.json stores it."""
        c = self.camera.scaled(1.0 / scale)
        src = {"given": "given", "estimated": "estimated", "default": "default", "synthetic": "synthetic"}
        return Camera(
            intrinsics=Intrinsics(fx=c.fx, fy=c.fy, cx=c.cx, cy=c.cy, width=c.width, height=c.height),
            position=tuple(float(v) for v in c.t),
            quat=quat_wxyz(c.R),
            intrinsics_source=src.get(self.intrinsics_source, "estimated"),
            pose_source=src.get(self.pose_source, "estimated"),
        )


class DepthFrames:
    """Depth in metres (0 where unknown) per frame at working size, read lazily from a folder of files."""

    def __init__(self, folder: str | Path, count: int, size: tuple[int, int], unit: float = 0.001, stride: int = 1):
        folder = Path(folder)
        if not folder.is_dir():
            raise PerceptionError("depth", None, f"{folder}: no such depth folder")
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in DEPTH_SUFFIXES)
        if len(self.files) < count:
            raise PerceptionError(
                "depth", None, f"{folder}: {len(self.files)} depth frames for a video of {count} frames"
            )
        self.files = self.files[:count][::stride]
        self.size, self.unit = size, unit

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, t: int) -> np.ndarray:
        file = self.files[t]
        if file.suffix == ".npy":
            raw, unit = np.load(file).astype(np.float32), 1.0
        else:
            raw = cv2.imread(str(file), cv2.IMREAD_UNCHANGED)
            if raw is None or raw.ndim != 2:
                raise PerceptionError("depth", None, f"{file}: not a single-channel depth image")
            raw, unit = raw.astype(np.float32), self.unit
        if raw.shape[::-1] != self.size:
            raw = cv2.resize(raw, self.size, interpolation=cv2.INTER_NEAREST)
        return raw * unit


def parse_intrinsics(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or values[0] <= 0 or values[1] <= 0:
        raise PerceptionError("depth", None, f"--intrinsics {text!r}: expected fx,fy,cx,cy in pixels (fx, fy > 0)")
    return values  # type: ignore[return-value]


def working_intrinsics(
    size: tuple[int, int], scale: float, given: tuple[float, float, float, float] | None
) -> tuple[tuple[float, float, float, float], str]:
    """(fx, fy, cx, cy) at working size, from the given source-size values or the field-of-view prior."""
    if given is not None:
        return tuple(v * scale for v in given), "given"  # type: ignore[return-value]
    w, h = size
    f = w / 2 / np.tan(np.radians(DEFAULT_HFOV_DEG) / 2)
    return (f, f, w / 2, h / 2), "default"


def prior_pose(K: tuple[float, float, float, float], size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A camera DEFAULT_HEIGHT_M above the table, pitched DEFAULT_PITCH_DEG down at the table origin."""
    pitch = np.radians(DEFAULT_PITCH_DEG)
    eye = np.array([0.0, -DEFAULT_HEIGHT_M / np.tan(pitch), DEFAULT_HEIGHT_M])
    return look_at(eye, np.zeros(3)), eye


def camera_from_given(camera: Camera, scale: float, size: tuple[int, int]) -> PinholeCamera:
    k = camera.intrinsics
    factor = size[0] / k.width
    return PinholeCamera(
        k.fx * factor,
        k.fy * factor,
        k.cx * factor,
        k.cy * factor,
        size[0],
        size[1],
        matrix_from_wxyz(camera.quat),
        np.asarray(camera.position, float),
    )


def pose_from_depth(
    depth: np.ndarray, K: tuple[float, float, float, float], exclude: np.ndarray | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, tuple[float, float], np.ndarray]:
    """Table plane from one depth map: camera rotation and position in the table frame, table size, table pixels."""
    fx, fy, cx, cy = K
    h, w = depth.shape
    vv, uu = np.mgrid[0:h, 0:w]
    valid = depth > 0.05
    if exclude is not None:
        valid &= ~exclude
    pts_all = np.stack([(uu - cx) / fx * depth, (vv - cy) / fy * depth, depth], axis=-1)
    sample = valid.copy()
    sample[: h // 3] = False  # the table is below the horizon
    idx = np.flatnonzero(sample[::3, ::3])
    if len(idx) < 200:
        raise PerceptionError("depth", None, "too few valid depth pixels in the lower image to find the table")
    pts = pts_all[::3, ::3].reshape(-1, 3)[idx]
    tol = max(0.006, 0.006 * float(np.median(pts[:, 2])))
    try:
        n, d, _ = fit_plane_ransac(pts, rng, iters=400, tol=tol, up_hint=np.array([0.0, -1.0, 0.0]))
    except ValueError as exc:
        raise PerceptionError("depth", None, f"no table plane in the depth frames ({exc})") from None
    dist = pts_all @ n + d
    table = valid & (np.abs(dist) < 2 * tol)
    table = _component_below_centre(table)
    if table.sum() < 100:
        raise PerceptionError("depth", None, "the table plane covers too few pixels")
    z_axis = n
    x_axis = np.array([1.0, 0.0, 0.0]) - n[0] * n
    x_axis /= np.linalg.norm(x_axis)
    y_axis = np.cross(z_axis, x_axis)
    A = np.stack([x_axis, y_axis, z_axis])  # rows: table axes in camera coordinates
    on_table = pts_all[table] @ A.T
    lo, hi = np.percentile(on_table[:, :2], [1, 99], axis=0)
    centre = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, 0.0])
    # p_table = A @ p_cam + t: the plane becomes z = 0 and the centre of the visible table the origin.
    t = np.array([-centre[0], -centre[1], d])
    return A, t, (float(hi[0] - lo[0]), float(hi[1] - lo[1])), table


def _component_below_centre(mask: np.ndarray) -> np.ndarray:
    m = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m)
    if n <= 1:
        return mask
    h, w = mask.shape
    lower = labels[h // 2 :, w // 4 : 3 * w // 4]
    counts = np.bincount(lower.ravel(), minlength=n)
    counts[0] = 0
    best = int(np.argmax(counts)) if counts.max() > 0 else int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) + 1
    return labels == best


def estimate_geometry(
    first_frame: np.ndarray,
    scale: float,
    intrinsics: tuple[float, float, float, float] | None,
    camera: Camera | None,
    depth0: np.ndarray | None,
    depth_source: str,
    rng: np.random.Generator,
) -> Geometry:
    """The classical depth stage: combine what was given with the depth frames or the priors."""
    h, w = first_frame.shape[:2]
    notes: list[str] = []
    if camera is not None and intrinsics is None:
        cam = camera_from_given(camera, scale, (w, h))
        return Geometry(cam, "given", "given", depth_source, None, ["camera intrinsics and pose given"])
    K, k_source = working_intrinsics((w, h), scale, intrinsics)
    if camera is not None:
        cam = PinholeCamera(*K, w, h, matrix_from_wxyz(camera.quat), np.asarray(camera.position, float))
        return Geometry(cam, k_source, "given", depth_source, None, ["camera pose given"])
    if k_source == "default":
        notes.append(f"intrinsics from a {DEFAULT_HFOV_DEG:.0f} degree horizontal field-of-view prior")
    if depth0 is not None:
        R, t, table_size, _ = pose_from_depth(depth0, K, None, rng)
        # p_table = R @ p_cam + t; the camera sits at t.
        notes.append("camera pose from the table plane in the depth frames")
        return Geometry(PinholeCamera(*K, w, h, R, t), k_source, "estimated", depth_source, table_size, notes)
    R, eye = prior_pose(K, (w, h))
    notes.append(
        f"camera pose from a prior ({DEFAULT_HEIGHT_M} m above the table, {DEFAULT_PITCH_DEG:.0f} degrees down)"
    )
    return Geometry(PinholeCamera(*K, w, h, R, eye), k_source, "default", depth_source, None, notes)
