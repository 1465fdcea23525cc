"""Solid primitives standing on the table, their silhouettes in a camera, and fitting them to masks.

The classical backend has no generative mesh model, so it explains each object's mask with the primitive whose
projected silhouette matches it best (a single-view visual hull under a shape prior). Silhouettes are the convex
hull of projected surface points, filled with anti-aliasing on a small crop, so the loss varies smoothly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import trimesh
from scipy.optimize import minimize
from scipy.spatial.transform import Rotation

from video2policy.tools.perception.geometry import PinholeCamera

# what a silhouette alone may choose among; a "mug" (a cylinder with a handle) is fitted only when the name asks
KINDS = ("box", "cylinder", "sphere", "cone", "ellipsoid", "capsule")
CANVAS = 112  # longest side of the crop the silhouettes are compared on
_SHIFT = 4  # sub-pixel bits for cv2 fill
# How much of the cost of covering a possibly-occluded pixel is waived. Fitting a size, all of it lets the fit grow
# into the hand; tracking a solid of known size, all of it lets the hand hide part of the object at no cost.
FIT_FREE_WEIGHT = 0.6
TRACK_FREE_WEIGHT = 1.0

# Words in an object's name that say what primitive it most likely is (a prior, the fit still decides).
NAME_PRIORS = {
    "sphere": ("ball", "sphere", "orange", "apple", "globe", "marble", "egg", "tomato", "peach"),
    "cylinder": (
        "garlic",  # a bulb stands on its flat root end: a round footprint under a rounded top
        "cup",
        "can",
        "bottle",
        "glass",
        "jar",
        "cylinder",
        "tube",
        "candle",
        "pot",
        "bowl",
        "tin",
        "roll",
        "puck",
        "plate",
        "disc",
        "disk",
        "pan",
        "vase",
    ),
    "box": (
        "block",
        "cube",
        "box",
        "brick",
        "book",
        "bin",
        "crate",
        "carton",
        "phone",
        "remote",
        "tray",
        "case",
        "drawer",
        "container",
        "basket",
        "sponge",
        "eraser",
        "domino",
        "fork",
        "spoon",
        "knife",
        "spatula",
        "pen",
        "pencil",
        "marker",
        "stick",
        "ruler",
    ),
    "cone": ("cone", "funnel", "pyramid"),
    "mug": ("mug",),
    "ellipsoid": ("stone", "rock", "pebble", "potato", "plush", "toy", "teddy", "doll", "egg", "mouse"),
}


@dataclass(frozen=True)
class HeightRatio:
    """A name's typical height over its length, or over its width (`across`: the cross-section of a long thing)."""

    ratio: float
    across: bool = False


# Typical proportions of things whose one view leaves the height open, as a pull on that ratio which the silhouette
# overrides wherever it does say something clearly. An ellipsoid's silhouette fixes five of its six numbers: a
# computer mouse is about 10-12 cm long and 3.5-4 cm tall. A long thin box seen along its length shows its top and
# one side together, and the silhouette alone splits width and height at random (synthetic pens and sticks 30-69 %
# too low and as much too wide, or the other way round): pens, pencils, markers and sticks are about as tall as
# wide; a fork or spoon lying on the table, curved, about 0.6 of its head's width; a TV remote 2-2.3 cm thick for
# 4.5-5 cm wide. For these the ratio settles the height, not the faces' shading (`mesh.build_mesh_fit`).
HEIGHT_RATIOS = {
    "mouse": HeightRatio(0.37),
    **dict.fromkeys(("pen", "pencil", "marker", "stick", "chopstick"), HeightRatio(1.0, across=True)),
    **dict.fromkeys(("fork", "spoon"), HeightRatio(0.6, across=True)),
    "remote": HeightRatio(0.45, across=True),
}
THIN_START = 0.25  # a long thin thing's fit also starts this wide for its length
HEIGHT_PRIOR_WEIGHT = 0.1  # loss per squared log-ratio off the prior (0.02 let a pixel of contact shadow win)
# Without such a ratio (a stone, a plush toy) an ellipsoid trades its extent along the line of sight against its
# height at almost no cost in the silhouette (a 40 % longer stone lost 0.003 IoU): the fit takes the one closest to
# a thing at rest, about as long as wide and lying on its flatter side (height 0.9 of that), by a pull on the
# spread of its log sizes. The pull outweighs an IoU of 0.04 at a ratio of 1.5 between two axes, far less than an
# axis the silhouette shows costs when it is that far off. (Height ratios 0.8 and 1.0 left 2 and 6 of the 34
# stones of synthetic seeds 0-17 more than 30 % off, 0.9 none; docs/perception.md, version 21.)
ROUND_PRIOR_WEIGHT = 1.0
REST_HEIGHT_RATIO = 0.9
# An "ellipsoid" is a superellipsoid whose exponent the silhouette decides, between a box with rounded edges (an
# irregular stone on a flat face, whose outline seen obliquely is boxier than an ellipse's) and an ellipsoid (1).
MIN_ROUNDNESS = 0.25
ROUNDNESS_START = 0.5  # as a logit: a roundness of 0.71
# A mug is a cylinder with a handle on one side, its length (the bounding box's x) over body and handle. Fitted as a
# plain cylinder, the body widened and flattened to cover the handle (9.5 x 9.5 x 6.8 cm for a body 7.1 cm across
# and 8.5 cm tall). One view seldom shows how far a handle reaches, so it is a typical mug's: 0.4 of the body's
# diameter (a mug 8 cm across is about 11-12 cm long with its handle), over 0.2-0.85 of its height, its bars 0.12
# of the diameter thick; the silhouette decides the body and which way the handle points.
HANDLE_REACH = 0.4
HANDLE_SPAN = (0.2, 0.85)
HANDLE_BAR = 0.12


def height_ratio(name: str) -> HeightRatio | None:
    """The name's typical height over its length or width, when it has one (the head noun decides)."""
    words = name.lower().replace("_", " ").split()
    return HEIGHT_RATIOS.get(words[-1].rstrip("s")) if words else None


# Names whose things come in more than one primitive: the silhouette picks among these and the name's prior.
NAME_ALTERNATIVES = {"bottle": ("capsule",), "flask": ("capsule",)}


def name_kinds(name: str) -> tuple[str, ...]:
    """The primitive a name suggests first, then the others things of that name often are; () for no prior."""
    prior = name_prior(name)
    if prior is None:
        return ()
    words = name.lower().replace("_", " ").split()
    return (prior, *(k for w in words[-1:] for k in NAME_ALTERNATIVES.get(w.rstrip("s"), ())))


def name_prior(name: str) -> str | None:
    words = name.lower().replace("_", " ").split()
    for word in reversed(words):  # the head noun is last: "plush toy", "tennis ball"
        for kind, vocabulary in NAME_PRIORS.items():
            if word in vocabulary or word.rstrip("s") in vocabulary:
                return kind
    return None


@dataclass
class Solid:
    """A primitive of bounding-box size `size` (l, w, h) whose box centre sits at `position`, turned by `rotation`.

    `roundness` is an ellipsoid's superellipsoid exponent (1: an ellipsoid; smaller: boxier); other kinds ignore it.
    """

    kind: str
    size: np.ndarray
    position: np.ndarray
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    roundness: float = 1.0

    def moved(self, position: np.ndarray, rotation: np.ndarray | None = None, size: np.ndarray | None = None) -> Solid:
        """The same shape at another pose (and, given `size`, another scale)."""
        return Solid(
            self.kind,
            np.array(self.size if size is None else size, float),
            np.array(position, float),
            np.array(self.rotation if rotation is None else rotation, float),
            self.roundness,
        )

    def local_points(self) -> np.ndarray:
        """Surface points about its centre, in its own frame."""
        return scaled_points(self.kind, self.size, self.roundness)

    @property
    def yaw(self) -> float:
        return float(Rotation.from_matrix(self.rotation).as_euler("ZYX")[0])

    def surface_points(self) -> np.ndarray:
        return self.position + self.local_points() @ self.rotation.T

    def corners(self) -> np.ndarray:
        """The 8 corners of its bounding box (x slowest, z fastest, as `unit_points("box")`), in the table frame."""
        return self.position + (_UNIT["box"] * self.size) @ self.rotation.T

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "size": self.size.tolist(),
            "position": self.position.tolist(),
            "rotation": self.rotation.tolist(),
            "roundness": self.roundness,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Solid:
        return cls(
            d["kind"],
            np.asarray(d["size"]),
            np.asarray(d["position"]),
            np.asarray(d["rotation"]),
            float(d.get("roundness", 1.0)),
        )


def _fibonacci_sphere(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5**0.5) * i
    return np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], axis=1)


_UNIT = {
    "box": np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)]),
    "cylinder": np.concatenate(
        [
            np.stack([0.5 * np.cos(a), 0.5 * np.sin(a), np.full_like(a, z)], axis=1)
            for a in [np.linspace(0, 2 * np.pi, 40, endpoint=False)]
            for z in (-0.5, 0.5)
        ]
    ),
    "sphere": 0.5 * _fibonacci_sphere(240),
    "ellipsoid": 0.5 * _fibonacci_sphere(240),
    "cone": np.concatenate(
        [
            np.stack([0.5 * np.cos(a), 0.5 * np.sin(a), np.full_like(a, -0.5)], axis=1)
            for a in [np.linspace(0, 2 * np.pi, 40, endpoint=False)]
        ]
        + [np.array([[0.0, 0.0, 0.5]])]
    ),
}


def unit_points(kind: str) -> np.ndarray:
    """Surface points of the primitive with a unit bounding box, centred at the origin."""
    return _UNIT["sphere" if kind == "capsule" else kind]


def superellipsoid(points: np.ndarray, roundness: float) -> np.ndarray:
    """Points of a sphere of radius 0.5 moved along their rays onto the superellipsoid |x|^(2/e) + ... = 0.5^(2/e)."""
    if roundness == 1.0:
        return points
    norm = (np.abs(2 * points) ** (2 / roundness)).sum(axis=1) ** (roundness / 2)
    return points / norm[:, None]


def scaled_points(kind: str, size: np.ndarray, roundness: float = 1.0) -> np.ndarray:
    """Surface points of the primitive with bounding box `size`, centred at the origin.

    A capsule (round ends, like most bottles and many toys) is not a scaled unit shape: its ends stay hemispheres.
    """
    size = np.asarray(size, float)
    if kind == "ellipsoid":
        return superellipsoid(_UNIT[kind], roundness) * size
    if kind == "mug":
        body, handle = mug_frames(size)
        return np.concatenate([_UNIT["cylinder"] * body[0] + body[1], _UNIT["box"] * handle[0] + handle[1]])
    if kind != "capsule":
        return _UNIT[kind] * size
    r = 0.5 * min(size[0], size[1])
    half = max(0.5 * size[2] - r, 0.0)
    pts = _UNIT["sphere"] * np.array([size[0], size[1], 2 * r])
    pts[:, 2] += np.where(pts[:, 2] >= 0, half, -half)
    return pts


def mug_frames(size: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(size, centre) of a mug's body cylinder and of its handle's bounding box, about the mug's bounding-box centre
    (the handle along +x)."""
    length, d, h = (float(v) for v in size)
    reach = max(length - d, 0.0)
    z0, z1 = (-h / 2 + f * h for f in HANDLE_SPAN)
    body = (np.array([d, d, h]), np.array([-reach / 2, 0.0, 0.0]))
    handle = (np.array([reach, HANDLE_BAR * d, z1 - z0]), np.array([length / 2 - reach / 2, 0.0, (z0 + z1) / 2]))
    return body, handle


def round_footprint(kind: str) -> bool:
    """Whether a primitive's footprint counts as a disc or ellipse (cylinders, cones, mugs, capsules) rather than a
    rectangle (boxes, and ellipsoids, whose roundness may make them boxy): what holds a thing put into it."""
    return kind not in ("box", "ellipsoid")


def unit_mesh(kind: str) -> trimesh.Trimesh:
    """The primitive as a watertight mesh with a unit bounding box (what the mesh stage writes before scaling)."""
    if kind == "box":
        mesh = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    elif kind == "cylinder":
        mesh = trimesh.creation.cylinder(radius=0.5, height=1.0, sections=48)
    elif kind == "cone":
        mesh = trimesh.creation.cone(radius=0.5, height=1.0, sections=48)
    else:
        mesh = trimesh.creation.icosphere(subdivisions=3, radius=0.5)
    mesh.apply_translation(-mesh.bounds.mean(axis=0))
    return mesh


def solid_parts(kind: str, size: np.ndarray) -> list[trimesh.Trimesh]:
    """The convex pieces a compound primitive is built from (a mug: its body and the three bars of its handle), about
    its bounding-box centre; [] for the others."""
    if kind != "mug":
        return []
    (d, body_at), (handle, handle_at) = mug_frames(np.asarray(size, float))
    body = trimesh.creation.cylinder(radius=d[0] / 2, height=d[2], sections=48)
    body.apply_translation(body_at)
    bar = handle[1]
    x0, x1 = handle_at[0] - handle[0] / 2 - bar / 2, handle_at[0] + handle[0] / 2  # reaching into the wall
    z0, z1 = handle_at[2] - handle[2] / 2, handle_at[2] + handle[2] / 2
    bars = [
        ((x1 - x0, bar, bar), ((x0 + x1) / 2, 0.0, z0 + bar / 2)),
        ((x1 - x0, bar, bar), ((x0 + x1) / 2, 0.0, z1 - bar / 2)),
        ((bar, bar, z1 - z0), (x1 - bar / 2, 0.0, (z0 + z1) / 2)),
    ]
    return [body] + [
        trimesh.creation.box(extents=e, transform=trimesh.transformations.translation_matrix(c)) for e, c in bars
    ]


def solid_mesh(kind: str, size: np.ndarray, roundness: float = 1.0) -> trimesh.Trimesh:
    """The primitive as a mesh with bounding box `size`, centred at its bounding-box centre (watertight, but for
    compound primitives, whose pieces overlap)."""
    size = np.asarray(size, float)
    parts = solid_parts(kind, size)
    if parts:
        return trimesh.util.concatenate(parts)
    if kind == "ellipsoid":
        mesh = unit_mesh(kind)
        mesh = trimesh.Trimesh(superellipsoid(mesh.vertices, roundness) * size, mesh.faces)
    elif kind == "capsule":
        r = 0.5 * min(size[0], size[1])
        mesh = trimesh.creation.capsule(height=max(size[2] - 2 * r, 1e-6), radius=r, count=[32, 32])
        mesh.apply_scale([size[0] / (2 * r), size[1] / (2 * r), 1.0])
    else:
        mesh = unit_mesh(kind)
        mesh.apply_scale(size)
    mesh.apply_translation(-mesh.bounds.mean(axis=0))
    return mesh


class SilhouetteLoss:
    """1 - soft IoU between a solid's silhouette and a mask, on a crop around the mask.

    `ignore` marks pixels where something else (a hand, a gripper, another object) may hide the object: the solid
    may cover them without penalty.
    """

    def __init__(
        self,
        camera: PinholeCamera,
        mask: np.ndarray,
        ignore: np.ndarray | None = None,
        margin: float = 0.6,
        free_weight: float = TRACK_FREE_WEIGHT,
    ):
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            raise ValueError("empty mask")
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        pad = int(max(x1 - x0, y1 - y0) * margin) + 4
        h, w = mask.shape
        # Where the mask touches the image's border the crop reaches past it, and what lies beyond may be hidden
        # there as behind a hand: a solid cut off by the border neither grows out of the image for free nor pays in
        # full for what the image cannot show.
        cut = (x0 == 0, y0 == 0, x1 == w, y1 == h)
        self.x0 = x0 - pad if cut[0] else max(0, x0 - pad)
        self.y0 = y0 - pad if cut[1] else max(0, y0 - pad)
        self.x1 = x1 + pad if cut[2] else min(w, x1 + pad)
        self.y1 = y1 + pad if cut[3] else min(h, y1 + pad)
        self.s = CANVAS / max(self.x1 - self.x0, self.y1 - self.y0)
        size = (max(1, round((self.x1 - self.x0) * self.s)), max(1, round((self.y1 - self.y0) * self.s)))
        crop, ign = self._crop(mask), self._crop(ignore) if ignore is not None else None
        if any(cut):
            beyond = 1.0 - self._crop(np.ones((h, w), np.float32))
            ign = beyond if ign is None else np.maximum(ign, beyond)
        self.target = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        self.free = np.zeros_like(self.target)
        if ign is not None:
            self.free = cv2.resize(ign, size, interpolation=cv2.INTER_AREA) * (1 - self.target)
        self.camera = camera
        self.free_weight = free_weight
        self.canvas = np.zeros((size[1], size[0]), np.uint8)

    def _crop(self, image: np.ndarray) -> np.ndarray:
        """The crop of a mask as floats, zero where the crop lies beyond the image."""
        h, w = image.shape
        out = np.zeros((self.y1 - self.y0, self.x1 - self.x0), np.float32)
        ya, yb, xa, xb = max(self.y0, 0), min(self.y1, h), max(self.x0, 0), min(self.x1, w)
        out[ya - self.y0 : yb - self.y0, xa - self.x0 : xb - self.x0] = image[ya:yb, xa:xb]
        return out

    def silhouette(self, points: np.ndarray) -> np.ndarray | None:
        uv, z = self.camera.project(points)
        if (z < 0.02).any():
            return None
        local = (uv - [self.x0, self.y0]) * self.s
        if np.abs(local).max() > 1e5:
            return None
        hull = cv2.convexHull(np.round(local * (1 << _SHIFT)).astype(np.int32))
        self.canvas[:] = 0
        cv2.fillConvexPoly(self.canvas, hull, 255, lineType=cv2.LINE_AA, shift=_SHIFT)
        return self.canvas.astype(np.float32) / 255.0

    def hidden_share(self, points: np.ndarray) -> float:
        """Share of the solid's silhouette on pixels where something may hide it (0 when fully in view)."""
        sil = self.silhouette(points)
        if sil is None:
            return 1.0
        return float((sil * self.free).sum() / max(sil.sum(), 1e-6))

    def __call__(self, points: np.ndarray) -> float:
        sil = self.silhouette(points)
        if sil is None:
            return 2.0
        inter = np.minimum(sil, self.target).sum()
        union = np.maximum(sil - self.free_weight * self.free, self.target).sum()
        outside_crop = 0.0
        return float(1.0 - inter / max(union, 1e-6) + outside_crop)


def _box_rotation(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def initial_guess(camera: PinholeCamera, mask: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Table position below the mask, footprint width and height from the mask's extent (for starting a fit)."""
    ys, xs = np.nonzero(mask)
    bottom = ys.max()
    row = xs[ys >= bottom - max(2, 0.05 * (bottom - ys.min()))]
    contact = camera.on_plane(np.array([[row.mean(), bottom + 0.5]]))[0]
    if not np.isfinite(contact).all():
        contact = camera.on_plane(np.array([[camera.cx, camera.height - 1.0]]))[0]
    depth = max(camera.to_camera(contact[None])[0, 2], 0.05)
    width = max((xs.max() - xs.min() + 1) * depth / camera.fx, 0.005)
    height = max((ys.max() - ys.min() + 1) * depth / camera.fy, 0.005)
    view = contact - camera.t
    view[2] = 0
    view /= max(np.linalg.norm(view), 1e-9)
    centre = contact + view * width / 2
    return centre, width, min(height, 3 * width + height / 2)


def _principal_yaw(camera: PinholeCamera, mask: np.ndarray, centre: np.ndarray) -> tuple[float, ...]:
    """The yaw whose table direction projects onto the mask's long image axis (a start for elongated objects)."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 10:
        return ()
    pts = np.stack([xs, ys], axis=1).astype(float)
    mean = pts.mean(axis=0)
    _, vecs = np.linalg.eigh(np.cov((pts - mean).T))
    axis = vecs[:, -1]
    ends = camera.on_plane(np.stack([mean - 10 * axis, mean + 10 * axis]), z=0.0)
    if not np.isfinite(ends).all():
        return ()
    d = ends[1] - ends[0]
    return (float(np.arctan2(d[1], d[0])),)


def solid_from(kind: str, p: np.ndarray) -> Solid:
    """The solid of a fit's parameter vector (position on the table, yaw, log sizes; an ellipsoid's roundness as a
    logit between MIN_ROUNDNESS and 1), standing on the table."""
    if kind in ("box", "ellipsoid"):
        x, y, yaw, ll, lw, lh = p[:6]
        size = np.exp([ll, lw, lh])
        solid = Solid(kind, size, np.array([x, y, size[2] / 2]), _box_rotation(yaw))
        if kind == "ellipsoid":
            solid.roundness = MIN_ROUNDNESS + (1 - MIN_ROUNDNESS) / (1 + np.exp(-p[6]))
        return solid
    if kind in ("cylinder", "cone"):
        x, y, lr, lh = p
        d, h = 2 * np.exp(lr), np.exp(lh)
        return Solid(kind, np.array([d, d, h]), np.array([x, y, h / 2]))
    if kind == "mug":  # the body's radius and height, and which way the handle points
        x, y, lr, lh, yaw = p
        d, h = 2 * np.exp(lr), np.exp(lh)
        return Solid(kind, np.array([d * (1 + HANDLE_REACH), d, h]), np.array([x, y, h / 2]), _box_rotation(yaw))
    if kind == "capsule":  # never shorter than wide: lh is the straight part's length
        x, y, lr, lh = p
        d = 2 * np.exp(lr)
        h = d + np.exp(lh)
        return Solid(kind, np.array([d, d, h]), np.array([x, y, h / 2]))
    x, y, lr = p
    d = 2 * np.exp(lr)
    return Solid(kind, np.array([d, d, d]), np.array([x, y, d / 2]))


def fit_on_table(
    kind: str,
    camera: PinholeCamera,
    mask: np.ndarray,
    ignore: np.ndarray | None = None,
    quick: bool = False,
    height_ratio: HeightRatio | None = None,
) -> tuple[Solid, float]:
    """The `kind` primitive resting on the table (z = 0) whose silhouette best matches `mask`; returns (solid, IoU).

    `height_ratio` (height over length or width, from the name) weakly pulls boxes and ellipsoids towards it; the
    returned IoU is the silhouette's alone.
    """
    loss = SilhouetteLoss(camera, mask, ignore, free_weight=FIT_FREE_WEIGHT)
    centre, width, height = initial_guess(camera, mask)
    heading = float(np.arctan2(centre[1] - camera.t[1], centre[0] - camera.t[0]))  # from the camera to the object
    along = _principal_yaw(camera, mask, centre)
    starts = {
        "box": [
            [centre[0], centre[1], yaw, np.log(width), np.log(width), np.log(height)] for yaw in (0.0, 0.6, *along)
        ],
        "cylinder": [  # the mask's height, then a flat one: seen from above, a wide bowl's footprint fills its mask
            [centre[0], centre[1], np.log(width / 2), np.log(h)]
            for h in dict.fromkeys((height, min(height, width / 3)))
        ],
        "capsule": [[centre[0], centre[1], np.log(width / 2), np.log(max(height - width, 0.3 * width))]],
        "sphere": [[centre[0], centre[1], np.log(width / 2)]],
        "mug": [  # the handle to either side first (where it shows), then every 45 degrees
            [centre[0], centre[1], np.log(width / (2 + HANDLE_REACH)), np.log(height), heading + turn]
            for turn in np.pi / 4 * np.array([2, -2, 1, -1, 3, -3, 0, 4])
        ],
    }[{"ellipsoid": "box", "cone": "cylinder"}.get(kind, kind)]
    pull = height_ratio is not None and kind in ("box", "ellipsoid")
    if pull and height_ratio.across:  # a long thin thing (a fork): also from a thin footprint along the mask's axis,
        # or the pull towards its cross-section's proportions can keep a square start from thinning
        thin = [np.log(width), np.log(width * THIN_START), np.log(height)]
        starts += [[centre[0], centre[1], yaw, *thin] for yaw in along]
    if kind == "ellipsoid":
        starts = [[*start, ROUNDNESS_START] for start in starts]
    if quick:
        starts = starts[:1]

    round_pull = height_ratio is None and kind == "ellipsoid"

    def f(p: np.ndarray) -> float:
        value = loss(solid_from(kind, p).surface_points())
        if pull:
            side = min(p[3], p[4]) if height_ratio.across else max(p[3], p[4])
            value += HEIGHT_PRIOR_WEIGHT * (p[5] - side - np.log(height_ratio.ratio)) ** 2
        elif round_pull:
            value += ROUND_PRIOR_WEIGHT * float(np.var([p[3], p[4], p[5] - np.log(REST_HEIGHT_RATIO)]))
        return value

    dims = len(starts[0])
    steps = np.array([width * 0.3 if i < 2 else 0.25 for i in range(dims)])
    if dims >= 6:
        steps[2] = 0.4
    if dims == 7:
        steps[6] = 1.0
    if kind == "mug":
        steps[4] = 0.6
    # a mug's eight starts (which way its handle points) are each searched briefly, then only the best is refined
    screen = kind == "mug"

    def search(p0: np.ndarray, scale: np.ndarray, maxfev: int, xatol: float, fatol: float):
        simplex = np.vstack([p0, p0 + np.diag(scale)])
        options = {"initial_simplex": simplex, "xatol": xatol, "fatol": fatol, "maxfev": maxfev}
        return minimize(f, p0, method="Nelder-Mead", options=options)

    best = None
    for start in starts:
        res = search(np.asarray(start, float), steps, 300 if quick or screen else 900, 1e-4, 1e-5)
        if not (quick or screen):
            res = search(res.x, steps * 0.15, 600, 1e-5, 1e-6)
        if best is None or res.fun < best.fun:
            best = res
    if screen and not quick:
        best = search(best.x, steps * 0.3, 900, 1e-5, 1e-6)
    solid = solid_from(kind, best.x)
    iou = 1.0 - loss(solid.surface_points()) if pull or round_pull else 1.0 - float(best.fun)
    if kind in ("box", "ellipsoid"):
        solid = canonical_box(solid)
    return solid, float(iou)


def canonical_box(solid: Solid) -> Solid:
    """The same box or ellipsoid with length >= width (its frame turned 90 degrees when needed)."""
    if solid.size[1] > solid.size[0]:
        solid.size = solid.size[[1, 0, 2]]
        solid.rotation = solid.rotation @ _box_rotation(np.pi / 2)
    return solid


def track_solid(
    solid: Solid,
    camera: PinholeCamera,
    mask: np.ndarray,
    ignore: np.ndarray | None = None,
    tilt: bool = False,
    max_step: float | None = None,
    on_table: bool = False,
    max_tilt: float | None = None,
    along_ray: float = 0.0,
    tilt_from: np.ndarray | None = None,
) -> tuple[Solid, float]:
    """Move a solid of fixed size so its silhouette matches `mask`, starting from its current pose.

    Free: position and (unless the primitive is round about z) yaw; with `tilt` also roll and pitch, for objects
    that tip over. The solid cannot sink into the table, nor (softly) move more than `max_step` metres.
    `on_table` keeps it resting on the table (height fixed), which removes the depth-size ambiguity of one view.
    `max_tilt` (radians) softly bounds roll and pitch, for an object propped up on something rather than tipped:
    from the solid's current pose, or from `tilt_from` (a rotation) when given, so that tilts frame after frame do
    not add up to more than a prop holds.
    `along_ray` is the cost (IoU per metre) of moving along the camera's ray, which one view measures only by the
    apparent size: a partly hidden object in the air otherwise drifts towards or away from the camera.
    """
    loss = SilhouetteLoss(camera, mask, ignore)
    pts = solid.local_points()
    base = solid.rotation
    turn = solid.kind in ("box", "ellipsoid", "mug") or abs(base[2, 2]) < 0.9  # round about z only while upright
    low = float(np.min((pts @ base.T)[:, 2]))  # lowest point relative to the centre

    def pose(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rot = base
        if tilt:
            rot = Rotation.from_rotvec([p[4], p[5], p[3] if turn else 0.0]).as_matrix() @ base
        elif turn:
            rot = _box_rotation(p[3]) @ base
        pos = np.array(p[:3], float)
        if on_table:
            pos[2] = -float(np.min((pts @ rot.T)[:, 2]))
        return pos, rot

    start = solid.position.copy()
    reach = max_step if max_step is not None else 10.0
    ray = (start - camera.t) / max(float(np.linalg.norm(start - camera.t)), 1e-9)

    def f(p: np.ndarray) -> float:
        pos, rot = pose(p)
        bottom = pos[2] + float(np.min((pts @ rot.T)[:, 2]))
        jump = max(0.0, float(np.linalg.norm(pos - start)) - reach)
        steep = 0.0
        if tilt and max_tilt is not None:
            if tilt_from is None:
                steep = max(0.0, float(np.hypot(p[4], p[5])) - max_tilt)
            else:
                steep = max(0.0, float(np.arccos(np.clip(rot[:, 2] @ tilt_from[:, 2], -1.0, 1.0))) - max_tilt)
        return loss(pos + pts @ rot.T) + 20 * max(0.0, -0.003 - bottom) + 10 * jump + 2 * steep + depth_cost(pos)

    def depth_cost(pos: np.ndarray) -> float:  # a prior on the motion, not a misfit: the IoU returned leaves it out
        return along_ray * abs(float((pos - start) @ ray)) if along_ray else 0.0

    p0 = np.array([*solid.position, 0.0, 0.0, 0.0])
    p0[2] = max(p0[2], -low)
    step = float(np.max(solid.size)) * 0.25
    steps = np.array([step, step, step, 0.3, 0.3, 0.3])
    n = 6 if tilt else (4 if turn else 3)
    p0, steps = p0[:n], steps[:n]
    if on_table:  # z is not free: a zero step keeps it out of the search
        steps[2] = 0.0
        keep = np.ones(n, bool)
        keep[2] = False
        full = p0.copy()

        def reduced(q: np.ndarray) -> float:
            full[keep] = q
            return f(full)

        simplex = np.vstack([p0[keep], p0[keep] + np.diag(steps[keep])])
        res = minimize(
            reduced,
            p0[keep],
            method="Nelder-Mead",
            options={"initial_simplex": simplex, "xatol": 1e-5, "fatol": 1e-6, "maxfev": 250 * n},
        )
        full[keep] = res.x
        pos, rot = pose(full)
        fit = float(res.fun) - depth_cost(pos)
        return solid.moved(pos, rot), 1.0 - min(fit, 1.0)
    simplex = np.vstack([p0, p0 + np.diag(steps)])
    res = minimize(
        f,
        p0,
        method="Nelder-Mead",
        options={"initial_simplex": simplex, "xatol": 1e-5, "fatol": 1e-6, "maxfev": 250 * n},
    )
    pos, rot = pose(res.x)
    fit = float(res.fun) - depth_cost(pos)
    return solid.moved(pos, rot), 1.0 - min(fit, 1.0)
