"""Mesh and scale stages: which frame to build from, which primitive explains the object, and its metric size.

The mesh stage works in the mesh's own units (largest extent 1), as a generative mesh model would; the scale stage
then finds rho = D_image / D_mesh: the object's extent measured from back-projected masked pixels over the
mesh's extent in the same directions. The pixels' depth comes from depth frames (given or from a depth model), or,
without depth, from the silhouette fit standing on the table plane in the calibrated or estimated camera.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from video2policy.tools.perception import shading
from video2policy.tools.perception.colors import lab
from video2policy.tools.perception.faces import IOU_SLACK, MIN_R2, choose_height
from video2policy.tools.perception.geometry import PinholeCamera
from video2policy.tools.perception.shapes import (
    KINDS,
    SilhouetteLoss,
    Solid,
    fit_on_table,
    height_ratio,
    name_kinds,
    track_solid,
)
from video2policy.tools.perception.track import mask_iou

HIDDEN_SHARE = 0.05  # a first-frame fit with more of its silhouette on possible occluders may be partly hidden
OTHER_END_IOU_SLACK = 0.05  # a key frame moves to another frame only if the fit there is about as good
STILL_MASK_IOU = 0.9  # a frame whose mask overlaps the key frame's this much shows the box standing where it stood
STILL_FRAMES_READ = 6  # at most this many such frames have their faces read
FULLER_VIEW = 1.2  # a later view of an object this many times larger than the first frame's ...
SAME_PLACE = 0.75  # ... holding this share of the first frame's mask (it has not moved) ...
REVEALED_SHARE = 0.5  # ... and grown mostly where something was in front of it then, shows what the start hid
OUTLINE_GAIN = 0.1  # the last frame is taken when less of its outline borders possible occluders by this share,
BOTH_ENDS_GAIN = 0.2  # ... and its solid explains both ends' silhouettes this much better (IoU sum)
FULLEST_SHARE = 0.95  # the frame taken: the first showing this share of the largest view (that may hold the hand)
NAME_TIE = 0.01  # the name's first kind wins over its alternatives unless their silhouette fits this much better
NAME_SLACK = 0.06  # another kind overrules the name only when its silhouette fits this much better,
OUTLINE_PIXELS = 0.5  # ... or more than what this many pixels of error all along the outline move the IoU
PARAMS = {"box": 6, "ellipsoid": 7, "cylinder": 4, "cone": 4, "capsule": 4, "sphere": 3, "mug": 5}

# Typical largest extent (metres) of things people name, used only when nothing metric is known (no depth, no
# camera pose): the whole scene is scaled so the named objects get their usual size.
SIZE_PRIORS = {
    "cup": 0.11,
    "mug": 0.1,
    "can": 0.12,
    "bottle": 0.22,
    "glass": 0.12,
    "ball": 0.07,
    "block": 0.05,
    "cube": 0.05,
    "box": 0.2,
    "book": 0.22,
    "bin": 0.35,
    "bowl": 0.16,
    "plate": 0.25,
    "toy": 0.25,
    "plush": 0.25,
    "phone": 0.15,
    "remote": 0.18,
    "apple": 0.08,
    "orange": 0.08,
    "banana": 0.18,
    "spoon": 0.15,
    "fork": 0.18,
    "knife": 0.2,
    "pen": 0.14,
    "marker": 0.14,
    "sponge": 0.1,
    "bag": 0.3,
    "shoe": 0.28,
    "lid": 0.1,
    "jar": 0.12,
    "tray": 0.35,
    "basket": 0.35,
    "brick": 0.2,
    "stone": 0.06,
    "rock": 0.08,
    "ring": 0.07,
    "cone": 0.1,
    "tube": 0.15,
}


@dataclass
class MeshFit:
    kind: str
    kind_reason: str
    keyframe: int
    keyframe_reason: str
    solid: Solid  # metric fit at the key frame (camera units)
    iou: float
    height_reason: str = ""  # boxes: how the height was settled (silhouette alone, or the faces' shading)

    @property
    def proportions(self) -> np.ndarray:
        return self.solid.size / self.solid.size.max()

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "kind_reason": self.kind_reason,
            "keyframe": self.keyframe,
            "keyframe_reason": self.keyframe_reason,
            "solid": self.solid.to_dict(),
            "iou": self.iou,
            "height_reason": self.height_reason,
        }

    @classmethod
    def from_dict(cls, d: dict) -> MeshFit:
        return cls(
            d["kind"],
            d["kind_reason"],
            d["keyframe"],
            d["keyframe_reason"],
            Solid.from_dict(d["solid"]),
            d["iou"],
            d.get("height_reason", ""),
        )


def size_prior(label: str) -> float | None:
    for word in reversed(label.lower().replace("_", " ").split()):
        for key in (word, word.rstrip("s")):
            if key in SIZE_PRIORS:
                return SIZE_PRIORS[key]
    return None


def outline_noise(mask: np.ndarray) -> float:
    """How much IoU `OUTLINE_PIXELS` of segmentation error all along a mask's outline costs: about 0.06 for a
    40-pixel-wide disc, 0.3 for a 10-pixel one, whose fits no silhouette can rank."""
    import cv2

    area = int(mask.sum())
    if area == 0:
        return 0.0
    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return OUTLINE_PIXELS * float((mask & ~inner).sum()) / area


def choose_kind(
    label: str,
    camera: PinholeCamera,
    mask: np.ndarray,
    ignore: np.ndarray | None,
    trust_name: bool = False,
    fits: dict[str, tuple[Solid, float]] | None = None,
    lab_image: np.ndarray | None = None,
) -> tuple[str, str]:
    """The name's primitive unless another one explains the silhouette clearly better (or `trust_name`).

    Quick fits of every kind pick a rival; the name's kinds and that rival are then fitted fully (into `fits`,
    for the caller to reuse) and compared, since a quick fit can stop in a poor local optimum (a turned box). A
    rival must fit clearly better than the name's kind, by more than the outline's pixel noise (`outline_noise`).
    Among a name's kinds (a bottle: cylinder or capsule) the silhouette decides, unless the object's shading in
    `lab_image` (the frame in CIELAB) clearly favours another one (`shading.shading_r2`).
    """
    fits = {} if fits is None else fits
    kinds = name_kinds(label)
    prior = kinds[0] if kinds else None
    if prior and trust_name:
        return prior, f"from the name ('{label}' suggests a {prior}; the camera is a prior, so fits are not compared)"
    ratio = height_ratio(label)
    quick = {k: fit_on_table(k, camera, mask, ignore, quick=True, height_ratio=ratio)[1] for k in KINDS}
    best = max(quick, key=lambda k: quick[k] - 0.004 * PARAMS[k])
    for kind in dict.fromkeys((*kinds, best)):
        if kind not in fits:
            fits[kind] = fit_on_table(kind, camera, mask, ignore, height_ratio=ratio)
    iou = {k: v[1] for k, v in fits.items()}
    best = max(iou, key=lambda k: iou[k] - 0.004 * PARAMS[k])
    if prior:
        named = max(kinds, key=lambda k: iou[k] + (NAME_TIE if k == prior else 0.0))
        reason = f"from the name ('{label}' suggests a {prior}; {named} silhouette IoU {iou[named]:.2f})"
        if lab_image is not None:
            named, reason = _named_kind_by_shading(label, named, reason, fits, camera, mask, lab_image)
        if iou[named] >= iou[best] - max(NAME_SLACK, outline_noise(mask)):
            return named, reason
        return best, f"from the silhouette ({best} IoU {iou[best]:.2f} beats the name's {named} {iou[named]:.2f})"
    return best, f"from the silhouette (best IoU {iou[best]:.2f} among {', '.join(KINDS)})"


def _named_kind_by_shading(
    label: str,
    named: str,
    reason: str,
    fits: dict[str, tuple[Solid, float]],
    camera: PinholeCamera,
    mask: np.ndarray,
    lab_image: np.ndarray,
) -> tuple[str, str]:
    """The name's round kind whose surface normals explain the lightness clearly best, else `named` as it was."""
    kinds = [k for k in name_kinds(label) if k in shading.ROUND_KINDS]
    if named not in kinds or len(kinds) < 2:
        return named, reason
    r2 = {k: shading.shading_r2(fits[k][0], camera, mask, lab_image) for k in kinds}
    shaded = max(r2, key=r2.get)
    if shaded == named or r2[shaded] < max(r2[named] + shading.MIN_GAIN, shading.MIN_R2):
        return named, reason
    return shaded, (
        f"from the name and the shading ('{label}' may be a {' or a '.join(kinds)}; the {shaded}'s surface explains "
        f"R² {r2[shaded]:.2f} of the lightness, the {named}'s {r2[named]:.2f}; {shaded} silhouette IoU "
        f"{fits[shaded][1]:.2f})"
    )


def build_mesh_fit(
    label: str,
    masks: np.ndarray,
    seen: np.ndarray,
    camera: PinholeCamera,
    ignore: callable,
    trust_name: bool = False,
    image: Callable[[int], np.ndarray] | None = None,
) -> MeshFit:
    """Fit the object at the first frame, at a later one that shows more of it when the hand hid part of it at the
    start and it has not moved, or at the last one when it is hidden at the start (chosen and recorded).

    A box's height, which its silhouette can leave open, is then settled by the shading of its faces in
    `image(keyframe)` (RGB at the masks' resolution) when that is given and the camera is known, not a default
    guess (`faces.choose_height`), unless its name gives it a typical proportion (`shapes.HEIGHT_RATIOS`: a
    remote, a pen, a fork), which the silhouette fit already pulls on: there the faces, a sliver of a side beside a
    long top, misread it (remotes in synthetic slide_to clips: 24 of 29 heights the faces moved came out worse,
    15 of them over 30 % off, against none from the silhouette).
    """
    # each frame is converted once, for the kind's shading and for the box's faces; None without images
    lab_at = functools.cache(lambda t: lab(image(t)) if image is not None else None)
    fit = _silhouette_fit(label, masks, seen, camera, ignore, trust_name, lab_at)
    ratio = height_ratio(label)
    if fit.kind == "box" and ratio is not None:  # the name's proportion already settles the height (see above)
        fit.height_reason = (
            f"silhouette fit with the name's typical proportion (height {ratio.ratio:g} of its "
            f"{'width' if ratio.across else 'length'}); face shading not asked"
        )
    elif fit.kind == "box" and image is not None and not trust_name:
        t = fit.keyframe
        choice = choose_height(fit.solid, fit.iou, camera, masks[t], ignore(t), lab_at(t))
        fit.height_reason = choice.reason
        fit.solid, fit.iou = choice.solid, choice.iou
        if not choice.changed and max(choice.r2_fit, choice.r2) < MIN_R2:  # its faces say nothing here
            _height_from_other_frames(fit, label, masks, seen, camera, ignore, lab_at)
    return fit


def _height_from_other_frames(
    fit: MeshFit,
    label: str,
    masks: np.ndarray,
    seen: np.ndarray,
    camera: PinholeCamera,
    ignore: callable,
    lab_at: Callable[[int], np.ndarray],
) -> None:
    """When the key frame's faces say nothing (a hand's shadow across the box), read them at the clip's other end
    and at frames where the box still stands as it does at the key frame (the shadow moves on as the hand comes).

    The box is refitted at each such frame; the frame whose faces explain most of the lightness becomes the key
    frame, but only if its faces settle the height and the box is in view there, no more hidden and fitted about as
    well as at the key frame, and if a box of the size read there also fits the key frame's silhouette within
    IOU_SLACK of the key frame's own fit.
    """
    key = fit.keyframe
    other = len(masks) - 1 if key == 0 else 0
    still = [
        t
        for t in range(len(masks))
        if t not in (key, other) and seen[t] and mask_iou(masks[t], masks[key]) >= STILL_MASK_IOU
    ]
    if len(still) > STILL_FRAMES_READ:  # evenly spread: the shadow's place changes slowly
        still = [still[i] for i in np.linspace(0, len(still) - 1, STILL_FRAMES_READ).round().astype(int)]
    hidden_key = hidden_share(fit.solid, camera, masks[key], ignore(key))
    ratio = height_ratio(label)
    best = None
    for t in [other, *still]:
        if t == key or not (seen[t] and masks[t].any()):
            continue
        solid, iou = fit_on_table("box", camera, masks[t], ignore(t), height_ratio=ratio)
        if iou < fit.iou - OTHER_END_IOU_SLACK or hidden_share(solid, camera, masks[t], ignore(t)) > max(
            HIDDEN_SHARE, hidden_key
        ):
            continue
        choice = choose_height(solid, iou, camera, masks[t], ignore(t), lab_at(t))
        if not choice.changed or (best is not None and choice.r2 <= best[1].r2):
            continue
        # the size read there must also explain the key frame's silhouette (about as well as its own fit did)
        placed = Solid("box", choice.solid.size, fit.solid.position.copy(), fit.solid.rotation)
        _, iou_key = track_solid(placed, camera, masks[key], ignore(key), on_table=True)
        if iou_key >= fit.iou - IOU_SLACK:
            best = (t, choice)
    if best is None:
        return
    t, choice = best
    where = {0: "first frame", len(masks) - 1: "last frame"}.get(t, f"frame {t} (standing as at the key frame)")
    fit.keyframe_reason = f"{where}: its faces settle the height, not those of frame {key} ({fit.keyframe_reason})"
    fit.keyframe, fit.solid, fit.iou = t, choice.solid, choice.iou
    fit.height_reason = choice.reason


def _silhouette_fit(
    label: str,
    masks: np.ndarray,
    seen: np.ndarray,
    camera: PinholeCamera,
    ignore: callable,
    trust_name: bool,
    lab_at: Callable[[int], np.ndarray | None],
) -> MeshFit:
    """The kind and its fit at the first frame, at the frame showing most of a still object partly hidden at the
    start (`_fuller_view`), or at the last when the object is partly hidden at the start.
    `lab_at(t)` (frame t in CIELAB, or None) lets the shading choose among a name's kinds."""
    T = len(masks)
    first, last = 0, T - 1
    ratio = height_ratio(label)

    def fitted(t: int, kind: str, cache: dict) -> tuple[Solid, float]:
        if kind not in cache:
            cache[kind] = fit_on_table(kind, camera, masks[t], ignore(t), height_ratio=ratio)
        return cache[kind]

    last_in_view = bool(seen[last] and masks[last].any()) and T > 1
    if seen[first] and masks[first].any():
        cache: dict = {}
        fuller = _fuller_view(masks, seen, ignore)
        if fuller is not None:  # the start hid part of it, and it has not moved: fit where most of it shows
            t, grown = fuller
            kind, kind_reason = choose_kind(label, camera, masks[t], ignore(t), trust_name, cache, lab_at(t))
            solid, iou = fitted(t, kind, cache)
            reason = (
                f"frame {t}: the object stands where it stood at the start, {grown:.1f} times as large as it "
                f"shows in the first frame, where the hand or another object hid part of it (fit IoU {iou:.2f})"
            )
            return MeshFit(kind, kind_reason, t, reason, solid, iou)
        kind, kind_reason = choose_kind(label, camera, masks[first], ignore(first), trust_name, cache, lab_at(first))
        solid, iou = fitted(first, kind, cache)
        hidden = hidden_share(solid, camera, masks[first], ignore(first))
        if hidden <= HIDDEN_SHARE or not last_in_view:
            return MeshFit(kind, kind_reason, first, f"first frame (silhouette fit IoU {iou:.2f})", solid, iou)
        solid_l, iou_l = fit_on_table(kind, camera, masks[last], ignore(last), height_ratio=ratio)
        hidden_l = hidden_share(solid_l, camera, masks[last], ignore(last))
        iou_lf = _moved_fit(solid_l, solid, camera, masks[first], ignore(first))
        if iou_lf >= iou - IOU_SLACK:  # what the last frame shows must also explain the first (else it is not
            # the object as it stood: one held up in the air at the end reads too large resting on the table)
            if hidden_l < hidden - 0.05 and iou_l > iou - OTHER_END_IOU_SLACK:
                reason = (
                    f"last frame: the object is partly hidden at the start ({100 * hidden:.0f} % of it then, "
                    f"{100 * hidden_l:.0f} % at the end; fit IoU {iou:.2f} first, {iou_l:.2f} last)"
                )
                return MeshFit(kind, kind_reason, last, reason, solid_l, iou_l)
            iou_fl = _moved_fit(solid, solid_l, camera, masks[last], ignore(last))
            edge, edge_l = (occluded_outline(masks[t], ignore(t)) for t in (first, last))
            if edge_l < edge - OUTLINE_GAIN and iou_lf + iou_l >= iou + iou_fl + BOTH_ENDS_GAIN:
                reason = (
                    f"last frame: the hand or another object borders {100 * edge:.0f} % of its outline at the start, "
                    f"{100 * edge_l:.0f} % at the end, and the solid read at the end also explains the first "
                    f"silhouette (IoU {iou_lf:.2f}; the first frame's own fit {iou:.2f}) while the first frame's "
                    f"does not explain the last ({iou_fl:.2f}; its own fit {iou_l:.2f})"
                )
                return MeshFit(kind, kind_reason, last, reason, solid_l, iou_l)
        reason = f"first frame (fit IoU {iou:.2f}, {100 * hidden:.0f} % possibly hidden; the last is no better)"
        return MeshFit(kind, kind_reason, first, reason, solid, iou)
    cache = {}
    kind, kind_reason = choose_kind(label, camera, masks[last], ignore(last), trust_name, cache, lab_at(last))
    solid, iou = fitted(last, kind, cache)
    return MeshFit(kind, kind_reason, last, "last frame: the object is hidden at the start", solid, iou)


def _moved_fit(solid: Solid, there: Solid, camera: PinholeCamera, mask: np.ndarray, ignore: np.ndarray | None) -> float:
    """How well `solid`, moved on the table to where `there` stands, fits `mask` (IoU): whether what one end of
    the clip shows also explains the other end's silhouette."""
    start = solid.moved(np.array([*there.position[:2], solid.position[2]]))
    return track_solid(start, camera, mask, ignore, on_table=True)[1]


def occluded_outline(mask: np.ndarray, ignore: np.ndarray | None) -> float:
    """Share of the mask's outline that borders possible occluders: where the silhouette stops at the hand (or
    another object), the object may go on behind it, so a fit there is open towards larger. A cup held at the
    start shows a sliver a slim cylinder fits (2.7 cm wide for a 7.4 cm cup); put down at the end, most of its
    outline is its own."""
    if ignore is None or not mask.any():
        return 0.0
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~mask
    return float(ignore[ring].mean()) if ring.any() else 0.0


def _fuller_view(masks: np.ndarray, seen: np.ndarray, ignore: callable) -> tuple[int, float] | None:
    """The frame that shows most of an object the first frame showed only in part, and how many times larger it
    is there; None when no frame does. Only frames where it still stands where it stood count (its mask holds most
    of its first one: a cup later lifted towards the camera shows larger, but not as it stood), and only growth
    where something could hide it at the start (the hand, another object): a mask grown into a neighbour or a
    shadow of its colour is no fuller view."""
    first = masks[0]
    still = seen & ((masks & first).reshape(len(masks), -1).sum(axis=1) >= SAME_PLACE * first.sum())
    areas = np.where(still, masks.reshape(len(masks), -1).sum(axis=1), 0)
    t = int(np.argmax(areas >= FULLEST_SHARE * areas.max()))  # where it first shows about all it shows there
    if t == 0 or areas[t] < FULLER_VIEW * first.sum():
        return None
    hidden = ignore(0)
    grown = masks[t] & ~first
    if hidden is None or (grown & hidden).sum() < REVEALED_SHARE * grown.sum():
        return None
    return t, float(areas[t] / first.sum())


def hidden_share(solid: Solid, camera: PinholeCamera, mask: np.ndarray, ignore: np.ndarray | None) -> float:
    """Share of a fitted solid's silhouette that falls on possible occluders (the hand, other objects)."""
    if ignore is None:
        return 0.0
    return SilhouetteLoss(camera, mask, ignore).hidden_share(solid.surface_points())


def extents_along(points: np.ndarray, camera: PinholeCamera, centre: np.ndarray) -> np.ndarray:
    """(width across the view, height above the table) of points, robustly."""
    view = centre - camera.t
    view[2] = 0.0
    across = np.cross(view / max(np.linalg.norm(view), 1e-9), [0.0, 0.0, 1.0])
    a = points @ across
    return np.array([np.percentile(a, 98) - np.percentile(a, 2), np.percentile(points[:, 2], 98)])


def rho_from_points(points: np.ndarray, fit: MeshFit, camera: PinholeCamera) -> tuple[float, dict]:
    """rho = D_image / D_mesh along the directions a single view measures well (across the view, and height)."""
    unit = fit.solid.moved(np.array([*fit.solid.position[:2], fit.proportions[2] / 2]), size=fit.proportions)
    d_image = extents_along(points, camera, fit.solid.position)
    d_mesh = extents_along(unit.surface_points(), camera, fit.solid.position)
    rho = float(d_image.sum() / max(d_mesh.sum(), 1e-9))
    return rho, {"D_image": d_image.round(4).tolist(), "D_mesh": d_mesh.round(4).tolist()}


def depth_points(mask: np.ndarray, depth: np.ndarray, camera: PinholeCamera) -> np.ndarray:
    """Back-projected masked pixels with valid depth, without the mask's rim and outliers, in the table frame."""
    import cv2

    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    if inner.sum() < 20:
        inner = mask
    ys, xs = np.nonzero(inner & (depth > 0.05))
    if len(xs) < 10:
        return np.zeros((0, 3))
    z = depth[ys, xs]
    med = np.median(z)
    mad = np.median(np.abs(z - med)) + 1e-3
    keep = np.abs(z - med) < 4 * mad + 0.02
    pts = camera.backproject(np.stack([xs[keep], ys[keep]], axis=1).astype(float), z[keep])
    return pts[pts[:, 2] > -0.01]
