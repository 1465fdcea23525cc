"""6D pose tracking: the scaled solid follows the object's masks from the key frame, forwards and backwards.

Without depth, each frame's pose is the one whose silhouette matches the mask (position and yaw; roll and pitch
too when that fits clearly better, as for objects that tip over). With depth frames, the pose is refined by ICP
(nearest points, Kabsch with yaw only) of the solid's camera-facing surface on the back-projected masked pixels.
Frames where the object is hidden keep the last seen pose with a low confidence. A lifted object whose mask stands
still (and at the clip's end) lands where its camera ray meets the table when that fits as well: one view cannot
tell an object held near the camera from the same object put down further away. A solid that has lost its mask
(a drop faster than the speed limit) is looked for afresh where the mask meets the table. An object lying pointed
away from the camera can outline much as it did standing: its shading (a lit side is not a lit top) or the caption
("Tipping [bottle] over") then says it lies on its side. An object the caption puts into a container
("Inserting [fork] into [container]") ends inside it, on its floor, when its track ends outside or in the air;
lying there, only the container's near wall may hide it.
A caption that pushes or slides things ("Pushing [cup] from left to right") keeps every named object on the table.
One that lifts a thing up ("Lifting [can] up") raises it straight above where it lay, where a mask half hidden in
the hand would otherwise read as the thing sliding away on the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from video2policy.tools.perception import shading
from video2policy.tools.perception.colors import lab
from video2policy.tools.perception.faces import face_r2
from video2policy.tools.perception.geometry import PinholeCamera, kabsch
from video2policy.tools.perception.hollow import wall_thickness
from video2policy.tools.perception.mesh import depth_points
from video2policy.tools.perception.shapes import SilhouetteLoss, Solid, initial_guess, round_footprint, track_solid
from video2policy.tools.perception.track import mostly_within, outline

TILT_GAIN = 0.04  # roll/pitch are freed only when they improve the silhouette IoU by this much
HIDDEN_CONFIDENCE = 0.1
STILL_CONFIDENCE = 0.6  # a frame's pose that the caption, not the frame's mask, decides
LIFTED = 0.01  # metres above the table from which a lifted object still counts as lifted
LIFT_OFF = 0.025  # ... and from which a resting one may count as lifted
LIFT_GAIN = 0.05  # a free (lifted) pose must beat the resting one by this silhouette IoU
LAND_GAIN = -0.02  # ... and keeps winning while it is not clearly worse (hysteresis)
ABOVE_RANGE = 0.4  # metres above its resting place searched for a picked-up object
ABOVE_SLACK = 0.03  # straight above its resting place is preferred unless a free pose fits this much better
ANCHOR_IOU = 0.75  # a resting pose fitting this well becomes the place a lifted object is looked for above
STILL = 0.003  # metres per frame below which a resting object counts as still
MAX_SPEED = 2.0  # m/s; a pose that jumps further between frames is penalised (thrown objects stay below this)
PROPPED = np.radians(25)  # steepest tilt of an object landing propped up on something
REST_PX = 1.5  # a mask whose centroid moves less than this between frames stands still
LOST_IOU = 0.3  # a pose fitting its mask worse than this has lost it and is looked for afresh
REFOUND_IOU = 0.6  # ... and taken where it is found only when it fits the mask at least this well
LAND_SLACK = 0.02  # a lifted object lands where a resting pose on its camera ray fits within this IoU of the free one
TIPPED_SLACK = 0.03  # an object the caption says is tipped over ends on its side if that fits within this IoU
ALONG_RAY = 1.0  # IoU per metre a lifted object pays for moving along the camera ray (`shapes.track_solid`)
FALLEN = 0.9  # lying on a side must bring the object's centre at least this much lower than standing
COVERED = 0.5  # a pose that loses its mask while this share of it lies behind other things stays there, covered
LYING_CHECK_IOU = 0.95  # a resting object fitting worse than this is also tried on its side, judged by its shading,
SHADING_TRUST = 0.7  # if its surface explains this much of its lightness at the key frame (an open cup: ~0.55)
LYING_SHADING_GAIN = 0.15  # and lying explains this much more of it than standing
HELD_DRIFT = 0.02  # metres a held object's resting reading may stray from where it lay before it counts as lifted
SETTLE_FROM, SETTLE_TO = 3.0, 40.0  # degrees: a resting pose tilted this much (propped, not lying) may settle flat
SETTLE_SLACK = 0.02  # ... when flat fits within this IoU of tilted
COVER_REACH = 0.5  # a cover landing within this share of its width from what it covers is put down over it
INSIDE_CONFIDENCE = 0.3  # a final pose put inside its container by the caption, not by its masks


HIDDEN_METHOD, COVERED_METHOD = "hidden", "covered"  # poses that repeat the last one: nothing seen placed them


@dataclass
class TrackedPose:
    position: np.ndarray
    rotation: np.ndarray
    confidence: float
    method: str

    @property
    def kept(self) -> bool:
        """Whether this pose only repeats the last one (the object hidden or covered; nothing seen moves it)."""
        return self.method.startswith((HIDDEN_METHOD, COVERED_METHOD))


def icp_refine(solid: Solid, points: np.ndarray, camera: PinholeCamera, iterations: int = 12) -> tuple[Solid, float]:
    """Yaw-and-translation ICP of the solid's visible surface onto observed points; returns (solid, inlier share)."""
    if len(points) < 20:
        return solid, 0.0
    base = solid.local_points()
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
    return solid.moved(pos, rot), share


def _densify(points: np.ndarray, kind: str) -> np.ndarray:
    """Surface samples of a primitive (its hull points plus face and side samples), for ICP."""
    if kind in ("sphere", "ellipsoid", "capsule", "mug"):
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
    image: Callable[[int], np.ndarray] | None = None,
    tipped: bool = False,
    held: bool = False,
    picked: bool = False,
    slid: bool = False,
    pushed: bool = False,
    still: bool = False,
) -> list[TrackedPose]:
    """Poses for every frame, starting from the key frame's fit.

    Each frame compares the object resting on the table with the object free in space (same size, so its
    apparent size fixes its distance). Free wins when it explains the mask better and floats clear of the table;
    it starts from the previous pose and from straight above where the object last rested (objects are mostly
    picked up, not slid away in the air), whichever fits better. With `image(t)` (RGB at the masks' resolution),
    a resting object is also tried on its side, and taken so when that fits at least as well and its surface
    explains the pixels' lightness clearly better (`_lying_by_shading`), and where the outline alone would lay it
    down, it keeps standing if its shading says so (`_stands`). `tipped` (the caption says the object is tipped
    over) lets it end on its side when that fits the last frame nearly as well as standing; it is never in the air
    (it pivots on the table as it falls), and once read away from where it stood it is tried lying every frame
    (what is tipped over does not slide away standing). `held` (the
    caption says it is lifted up) keeps it in the air once lifted: still in the hand at the end, it was not put
    down, so the resting reading along the camera's ray is not tried; and a held object rises straight above where
    it lay: once lifted, or once its resting reading strays from there (`HELD_DRIFT`), it is looked for only there.
    While it is lifted, moving along the camera's ray costs (`ALONG_RAY`): one view measures that only by the
    apparent size. `picked` (the caption drops it: "Dropping [stone] in front of [mug]") lifts it straight up the
    same way whenever its resting reading strays from where it lay, but lets it fly and land; lost while it is
    carried, it is found again at the distance from the camera it was carried at (`_across`), not on the table under
    its mask. `slid` (the caption pushes or slides things) keeps it on the table throughout: a pushed object hidden
    under the hand that pushes it otherwise reads as lifted towards the camera. `pushed` (the thing the hand pushes
    or slides: the caption's first object) follows its mask, carried along by the image's motion, while the hand
    hides it: it moves with the hand, where a merely hidden thing would stay put. `still` (the caption covers or
    uncovers it) keeps the key frame's pose throughout: the hand moves the cover, and the mask of a thing going
    under a cover follows the cover. A thing no fall lowers tilts at most `PROPPED` from its key frame's pose, and a
    resting tilt settles flat wherever flat fits as well (`_settled`).
    """
    T = len(masks)
    if still:
        if progress:
            progress(T - 1)
        return [
            TrackedPose(
                solid.position.copy(),
                solid.rotation.copy(),
                1.0 if t == keyframe else (STILL_CONFIDENCE if seen[t] and masks[t].any() else HIDDEN_CONFIDENCE),
                "key frame fit" if t == keyframe else "stays put (caption)",
            )
            for t in range(T)
        ]
    step = MAX_SPEED / fps
    # shading is evidence only where it explains the known pose (the key frame's)
    if (
        image is not None
        and masks[keyframe].any()
        and _surface_r2(solid, camera, masks[keyframe], lab(image(keyframe))) < SHADING_TRUST
    ):
        image = None
    out: list[TrackedPose | None] = [None] * T
    out[keyframe] = TrackedPose(solid.position.copy(), solid.rotation.copy(), 1.0, "key frame fit")
    grounded = slid or tipped  # pushed along or over: never in the air (a fallen tube pointing at the camera
    # outlines much as it would tilted up in the air)
    for direction in (1, -1):
        current, lifted, anchor, up = solid, False, solid, False
        t = keyframe + direction
        while 0 <= t < T:
            if pushed and not seen[t] and masks[t].any():
                current, _ = track_solid(current, camera, masks[t], ignore(t), max_step=step, on_table=True)
                out[t] = TrackedPose(
                    current.position.copy(), current.rotation.copy(), HIDDEN_CONFIDENCE, "carried under the hand"
                )
            elif not seen[t] or not masks[t].any():
                out[t] = TrackedPose(current.position.copy(), current.rotation.copy(), HIDDEN_CONFIDENCE, HIDDEN_METHOD)
            else:
                ign = ignore(t)
                resting, iou_r = track_solid(current, camera, masks[t], ign, max_step=step, on_table=True)
                resting, iou_r = _settled(resting, iou_r, camera, masks[t], ign, step)
                free, iou_f = resting, iou_r  # never better: not lifted
                if not grounded:
                    free, iou_f = track_solid(
                        current if lifted else resting,
                        camera,
                        masks[t],
                        ign,
                        max_step=step,
                        along_ray=ALONG_RAY if lifted else 0.0,
                    )
                above = None if grounded else _above(anchor, camera, masks[t], ign)
                if above is not None:
                    above, iou_above = above
                    free_a, iou_a = track_solid(
                        above, camera, masks[t], ign, max_step=step, along_ray=ALONG_RAY if lifted else 0.0
                    )
                    if iou_a > iou_f:
                        free, iou_f = free_a, iou_a
                    if iou_above >= iou_f - ABOVE_SLACK:  # picked straight up: as good, and the likelier story
                        free, iou_f = above, iou_above
                final = not 0 <= t + direction < T  # where the clip ends, the object has mostly been put down
                if final and not lifted:  # resting until the last frame, it was not picked up in it: it may
                    rolled, iou_rolled = track_solid(  # have rolled or tipped over where it lay
                        resting,
                        camera,
                        masks[t],
                        ign,
                        tilt=True,
                        on_table=True,
                        max_step=step,
                        max_tilt=None if _can_fall(anchor) else PROPPED,
                        tilt_from=solid.rotation,
                    )
                    if iou_rolled > iou_r + TILT_GAIN:
                        resting, iou_r = rolled, iou_rolled
                elif lifted:
                    lifted = _bottom(free) > LIFTED and iou_f > iou_r + LAND_GAIN
                else:
                    lifted = _bottom(free) > LIFT_OFF and iou_f > iou_r + LIFT_GAIN
                drifted = above is not None and _xy_gap(resting, anchor) > HELD_DRIFT
                if direction == 1 and ((held and (up or lifted or drifted)) or (picked and not lifted and drifted)):
                    # "Lifting [can] up": a held thing read as sliding away from where it lay (its mask, partly
                    # hidden in the hand, climbing the image) is being lifted; it rises straight above where it lay
                    # and stays up, rather than moving along the camera's ray, which a partial mask cannot measure.
                    # A thing the caption drops is lifted the same way, then tracked freely until it lands.
                    up, lifted = up or held, True
                    if _xy_gap(free, anchor) > HELD_DRIFT:
                        free, iou_f = (above, iou_above) if above is not None else (current, 0.0)
                if lifted and not held and (final or _at_rest(masks, seen, t, direction)):
                    landed = _landing(free, camera, masks[t], ign)
                    if landed is not None and landed[1] >= iou_f - LAND_SLACK:
                        resting, iou_r = landed
                        lifted = False
                if lifted:
                    upright, iou, method = free, iou_f, "silhouette"
                else:
                    upright, iou, method = resting, iou_r, "silhouette on the table"
                # what the caption tips over does not slide away standing: read away from where it stood, it falls
                falling = tipped and direction == 1 and _xy_gap(upright, anchor) > HELD_DRIFT
                if (iou < 0.85 or falling) and not up:
                    for lying in _lying(anchor, current.position):  # tipped over: resting on a side
                        fallen, iou_l = track_solid(lying, camera, masks[t], ign, max_step=step, on_table=True)
                        plain = iou_l > iou + (0.0 if lifted else TILT_GAIN)
                        captioned = not plain and falling and iou_l >= iou - TIPPED_SLACK
                        unasked = lifted or image is None  # in the air, or no image: the shading is not asked
                        if (plain or captioned) and (
                            unasked or not _stands(upright, fallen, camera, masks[t], image(t))
                        ):
                            side = "on its side, as captioned" if captioned else "on its side"
                            upright, iou, method = fallen, iou_l, f"silhouette on the table ({side})"
                            lifted = False
                if not lifted and image is not None and iou < LYING_CHECK_IOU:
                    shaded = _lying_by_shading(upright, iou, anchor, current, camera, masks[t], ign, image(t), step)
                    if shaded is not None:
                        upright, iou, method = shaded
                if tipped and final and direction == 1 and not lifted:  # "Tipping [bottle] over": one view may
                    for lying in _lying(_upright(anchor), current.position):  # outline it lying as standing
                        fallen, iou_l = track_solid(lying, camera, masks[t], ign, max_step=step, on_table=True)
                        if iou_l >= iou - TIPPED_SLACK and "on its side" not in method:
                            upright, iou, method = fallen, iou_l, "silhouette on the table (on its side, as captioned)"
                # the solid lost its mask (a drop faster than the speed limit): find it anew
                if iou < LOST_IOU and not up:
                    covered = _covered_share(current, camera, ign) >= COVERED  # under or behind another object
                    found, iou_n = _refind(current, camera, masks[t], ign)
                    aloft = False
                    if picked and lifted:  # dropped, lost while it was carried: it may be found still in the air,
                        flying = _across(current, camera, masks[t], ign)  # at the distance it was carried at
                        if _bottom(flying[0]) > LIFTED and flying[1] >= min(iou_n, REFOUND_IOU):
                            (found, iou_n), aloft = flying, True
                    # it must fit well (a stray speck of its colour does not) and, if it was covered where it
                    # was, be in view where it is found: a thrown thing whose pose strayed behind its bowl is
                    # seen in the bowl, while a block under a cup is not its colour on the cup's rim
                    if iou_n >= REFOUND_IOU and not (covered and _covered_share(found, camera, ign) >= COVERED):
                        upright, iou = found, iou_n
                        method = "silhouette (found again)" if aloft else "silhouette on the table (found again)"
                        lifted = aloft
                    elif covered:  # nothing moves it there, and what its colour shows elsewhere is not it
                        out[t] = TrackedPose(
                            current.position.copy(), current.rotation.copy(), HIDDEN_CONFIDENCE, COVERED_METHOD
                        )
                        if progress:
                            progress(1)
                        t += direction
                        continue
                if iou < 0.85 and not up:
                    tilted, iou_t = track_solid(
                        upright,
                        camera,
                        masks[t],
                        ign,
                        tilt=True,
                        max_step=step,
                        on_table=grounded,
                        along_ray=ALONG_RAY if lifted else 0.0,
                        max_tilt=None if lifted or _can_fall(anchor) else PROPPED,
                        tilt_from=solid.rotation,
                    )
                    if iou_t > iou + TILT_GAIN:
                        upright, iou, method = tilted, iou_t, "silhouette (tilted)"
                still = np.linalg.norm(upright.position - current.position) < STILL
                current = upright
                if not lifted and iou > ANCHOR_IOU and still:  # where it rests before it moves (a lift starts
                    anchor = upright  # looking like a slide away from the camera)
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


def _lying_by_shading(
    upright: Solid,
    iou: float,
    anchor: Solid,
    current: Solid,
    camera: PinholeCamera,
    mask: np.ndarray,
    ignore: np.ndarray | None,
    rgb: np.ndarray,
    step: float,
) -> tuple[Solid, float, str] | None:
    """The object on its side when its shading says so: one view can leave the silhouette open (a can or a bottle
    that falls away from the camera outlines much as it did standing), but a lit side is not a lit top.

    Tried when standing explains less than `SHADING_TRUST` of the lightness; taken when the lying pose fits the
    silhouette at least as well as `upright` and its surface explains clearly more of the lightness
    (`LYING_SHADING_GAIN`, at least `shading.MIN_R2`); None otherwise.
    """
    image_lab = lab(rgb)
    r2_upright = _surface_r2(upright, camera, mask, image_lab)
    if r2_upright >= SHADING_TRUST:  # standing still explains its lightness
        return None
    candidates = [
        track_solid(lying, camera, mask, ignore, max_step=step, on_table=True)
        for lying in _lying(_upright(anchor), current.position)
    ]
    candidates = [c for c in candidates if c[1] >= iou]
    if not candidates:
        return None
    best, r2 = max(((c, _surface_r2(c[0], camera, mask, image_lab)) for c in candidates), key=lambda x: x[1])
    if r2 < max(r2_upright + LYING_SHADING_GAIN, shading.MIN_R2):
        return None
    return best[0], best[1], f"silhouette on the table (on its side: shading R² {r2:.2f}, upright {r2_upright:.2f})"


def _stands(upright: Solid, lying: Solid, camera: PinholeCamera, mask: np.ndarray, rgb: np.ndarray) -> bool:
    """Whether the shading says a resting object still stands where its outline alone would lay it down (a squat
    cone partly hidden by what pushes it outlines much like one lying on its slant): `_lying_by_shading` mirrored,
    standing explains clearly more of the lightness than lying (`LYING_SHADING_GAIN`, at least `shading.MIN_R2`)."""
    image_lab = lab(rgb)
    r2_upright = _surface_r2(upright, camera, mask, image_lab)
    return r2_upright >= max(_surface_r2(lying, camera, mask, image_lab) + LYING_SHADING_GAIN, shading.MIN_R2)


def _covered_share(solid: Solid, camera: PinholeCamera, occluders: np.ndarray | None) -> float:
    """Share of the solid's silhouette (drawn in the whole image) on pixels where something else may hide it."""
    if occluders is None:
        return 0.0
    import cv2

    uv, z = camera.project(solid.surface_points())
    if (z < 0.02).any() or not np.isfinite(uv).all() or np.abs(uv).max() > 1e5:
        return 0.0
    silhouette = np.zeros(occluders.shape, np.uint8)
    cv2.fillConvexPoly(silhouette, cv2.convexHull(np.round(uv).astype(np.int32)), 1)
    area = int(silhouette.sum())
    return float((silhouette.astype(bool) & occluders).sum() / area) if area else 0.0


def _upright(solid: Solid) -> Solid:
    """The solid standing straight at its yaw (a resting pose may carry a few degrees of tilt from its fit)."""
    yaw = np.arctan2(solid.rotation[1, 0], solid.rotation[0, 0])
    return solid.moved(solid.position, Rotation.from_euler("z", yaw).as_matrix())


def _settled(
    resting: Solid, iou: float, camera: PinholeCamera, mask: np.ndarray, ignore: np.ndarray | None, step: float
) -> tuple[Solid, float]:
    """A resting pose that carries a tilt from earlier frames (a remote propped on a mouse, or a partial mask read
    as a tilt), or the same pose standing flat when that fits as well: on a flat table nothing holds a tilt up
    once the prop is gone, and a tilt read once would otherwise ride along with every frame after it."""
    tilt = float(np.degrees(np.arccos(np.clip(abs(resting.rotation[2, 2]), 0.0, 1.0))))
    if not SETTLE_FROM <= tilt <= SETTLE_TO:
        return resting, iou
    flat, iou_flat = track_solid(_upright(resting), camera, mask, ignore, max_step=step, on_table=True)
    return (flat, iou_flat) if iou_flat >= iou - SETTLE_SLACK else (resting, iou)


def _surface_r2(solid: Solid, camera: PinholeCamera, mask: np.ndarray, image_lab: np.ndarray) -> float:
    """Share of the object pixels' lightness variance its surface explains (box faces, or round normals)."""
    if solid.kind == "box":
        return face_r2(solid, camera, mask, image_lab)
    if solid.kind in shading.ROUND_KINDS:
        return shading.shading_r2(solid, camera, mask, image_lab)
    return 0.0


def _refind(solid: Solid, camera: PinholeCamera, mask: np.ndarray, ignore: np.ndarray | None) -> tuple[Solid, float]:
    """The solid resting on the table under its mask (where the mask's lowest row meets the table), fitted there."""
    centre, _, _ = initial_guess(camera, mask)
    rest_z = solid.position[2] - _bottom(solid)
    start = solid.moved(np.array([centre[0], centre[1], rest_z]))
    return track_solid(start, camera, mask, ignore, on_table=True)


def _can_fall(solid: Solid) -> bool:
    """Whether the solid, standing, has a side it could fall onto (`_lying`); if not, it tilts only when propped."""
    return bool(_lying(solid, solid.position))


def _lying(upright: Solid, position: np.ndarray) -> list[Solid]:
    """The solid at `position` turned from its upright pose onto a side (about its own x and y axes), where that
    lowers it: things fall over into lower poses, so a flat remote pushed along does not stand up on its edge.

    It comes to rest in the lowest pose near a quarter turn: a box or a cylinder on a side, a cone on its slant
    (tipped past the quarter turn, its tip on the table), which the quarter turn itself leaves hanging on its rim.
    A cone lies either way along each axis (its tip towards or away from the camera); a box or a cylinder lies the
    same either way, so only one turn per axis is tried.
    """
    if abs(upright.rotation[2, 2]) < 0.9 or upright.kind == "sphere":
        return []
    standing = upright.size[2] / 2
    points = upright.local_points()
    turns = np.radians(np.arange(45.0, 135.5, 1.0))
    out = []
    for axis in ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)):
        for sign in (1.0, -1.0) if upright.kind == "cone" else (1.0,):
            rots = upright.rotation @ Rotation.from_rotvec(sign * turns[:, None] * np.array(axis)).as_matrix()
            heights = -(points @ rots[:, 2, :].T).min(axis=0)  # each turn's lowest point below the centre
            lowest = np.flatnonzero(heights <= heights.min() + 1e-4)
            best = lowest[np.argmin(np.abs(turns[lowest] - np.pi / 2))]  # a box: the quarter turn itself
            if heights[best] < FALLEN * standing:
                out.append(upright.moved(position, rots[best]))
    return out


def _at_rest(masks: np.ndarray, seen: np.ndarray, t: int, direction: int) -> bool:
    """Whether the mask stands still in the image since the previous frame (a falling or carried object moves)."""
    prev = t - direction
    if not (0 <= prev < len(masks)) or not seen[prev] or not masks[prev].any():
        return False
    a, b = masks[t], masks[prev]
    ya, xa = np.nonzero(a)
    yb, xb = np.nonzero(b)
    shift = float(np.hypot(xa.mean() - xb.mean(), ya.mean() - yb.mean()))
    return shift < REST_PX and abs(len(xa) - len(xb)) < 0.1 * max(len(xa), len(xb))


def _landing(
    free: Solid, camera: PinholeCamera, mask: np.ndarray, ignore: np.ndarray | None
) -> tuple[Solid, float] | None:
    """The solid resting on the table where the camera ray through its free pose meets its resting height.

    One view confuses a small object held near the camera with the same object further away on the table (or in a
    container on it); nothing holds an object up unless a hand does, so the resting reading wins when it fits as
    well. The search starts on the ray, not next to the free pose, which may be far from it.
    """
    best: tuple[Solid, float] | None = None
    starts = [_upright(free).rotation]  # upright first: a tilt carried over must earn its keep
    if abs(free.rotation[2, 2]) <= 0.97:
        starts.append(free.rotation)
    for rot in starts:
        solid = free.moved(free.position, rot)
        rest_z = solid.position[2] - _bottom(solid)
        ray = solid.position - camera.t
        if abs(ray[2]) < 1e-9:
            continue
        s = (rest_z - camera.t[2]) / ray[2]
        if not np.isfinite(s) or s <= 0:
            continue
        start = free.moved(camera.t + s * ray, rot)
        flat = track_solid(start, camera, mask, ignore, on_table=True)
        if flat[1] < 0.85:  # one end propped up on something (a remote slid onto a mouse)
            tilted = track_solid(flat[0], camera, mask, ignore, tilt=True, on_table=True, max_tilt=PROPPED)
            if tilted[1] > flat[1] + TILT_GAIN / 2:
                flat = tilted
        if best is None or flat[1] > best[1] + TILT_GAIN / 2:
            best = flat
    return best


def _xy_gap(solid: Solid, anchor: Solid) -> float:
    """Horizontal distance (metres) between the solid and where it rested."""
    return float(np.linalg.norm(solid.position[:2] - anchor.position[:2]))


def _bottom(solid: Solid) -> float:
    """Height of the solid's lowest point above the table."""
    return float(solid.position[2] + np.min((solid.local_points() @ solid.rotation.T)[:, 2]))


def _above(
    rest: Solid, camera: PinholeCamera, mask: np.ndarray, ignore: np.ndarray | None
) -> tuple[Solid, float] | None:
    """The solid straight above where it rested, at the height whose silhouette fits the mask best, and its IoU."""
    loss = SilhouetteLoss(camera, mask, ignore)
    pts = rest.local_points() @ rest.rotation.T

    def at(z: float) -> float:
        return loss(np.array([rest.position[0], rest.position[1], z]) + pts)

    heights = rest.position[2] + np.arange(0.0, ABOVE_RANGE, 0.005)
    losses = [at(z) for z in heights]
    best = int(np.argmin(losses))
    if losses[best] >= 0.9 or best == 0:
        return None
    res = minimize_scalar(at, bounds=(heights[best] - 0.005, heights[best] + 0.005), method="bounded")
    z, value = (res.x, res.fun) if res.fun < losses[best] else (heights[best], losses[best])
    solid = rest.moved(np.array([*rest.position[:2], z]))
    return solid, 1.0 - float(value)


def _across(solid: Solid, camera: PinholeCamera, mask: np.ndarray, ignore: np.ndarray | None) -> tuple[Solid, float]:
    """The solid moved across the image onto the mask at its distance from the camera, then fitted there with
    moving along the camera's ray costing (`ALONG_RAY`); with its IoU."""
    ys, xs = np.nonzero(mask)
    ray = camera.rays(np.array([[xs.mean(), ys.mean()]]))[0]  # unit
    start = solid.moved(camera.t + ray * float(np.linalg.norm(solid.position - camera.t)))
    return track_solid(start, camera, mask, ignore, along_ray=ALONG_RAY)


def _inside(position: np.ndarray, solid: Solid, container: TrackedPose, box: Solid) -> bool:
    """Whether an object of `solid`'s size at `position` lies within the container's footprint, not above its rim."""
    local = container.rotation.T @ (position - container.position)
    if not round_footprint(box.kind):
        within = abs(local[0]) <= box.size[0] / 2 and abs(local[1]) <= box.size[1] / 2
    else:
        within = float(np.hypot(local[0], local[1])) <= box.size[0] / 2
    return within and position[2] - solid.size[2] / 2 <= container.position[2] + box.size[2] / 2


def end_over(
    track: list[TrackedPose],
    solid: Solid,
    covered: np.ndarray,
    masks: np.ndarray,
    seen: np.ndarray,
    ignore: Callable[[int], np.ndarray | None],
    camera: PinholeCamera,
) -> int:
    """Where the caption covers a thing with the object ("Covering [ball] with [cup]"), the object ends put down
    over the thing (at `covered`). One view of a cup held in the hand over a ball cannot tell it near the camera
    and high from further along the same rays and down on the table, and the hand in front of it lets the high
    reading fit its mask as well. Its final stretch (the last frame, and those before it where its mask stood
    still) lands along the camera's ray (`_landing`) when that puts it over the thing (within `COVER_REACH` of its
    width); a reading that lands elsewhere is the image's word against the caption's, and stays. Returns how many
    frames were moved."""
    moved = 0
    for t in range(len(track) - 1, 0, -1):
        if not (seen[t] and masks[t].any()) or (t < len(track) - 1 and not _at_rest(masks, seen, t, -1)):
            break
        pose = track[t]
        free = solid.moved(pose.position, pose.rotation)
        if _bottom(free) <= LIFTED:
            break
        landed = _landing(free, camera, masks[t], ignore(t))
        if landed is None or np.linalg.norm(landed[0].position[:2] - covered[:2]) > COVER_REACH * max(solid.size[:2]):
            break
        method = pose.method + " (put down over what it covers, as captioned)"
        track[t] = TrackedPose(landed[0].position, landed[0].rotation, min(pose.confidence, landed[1]), method)
        moved += 1
    return moved


def end_inside(
    track: list[TrackedPose],
    seen: np.ndarray,
    solid: Solid,
    container: list[TrackedPose],
    box: Solid,
    last_masks: tuple[np.ndarray, np.ndarray],
    camera: PinholeCamera,
) -> int:
    """Where the caption puts the object into the container ("Inserting [fork] into [container]"), it ends inside,
    resting on the floor. Its track contradicts that when it ends lost (hidden by the hand and the walls) outside
    the container's footprint or above its rim, or when its last mask (`last_masks`: the object's and the
    container's in the last frame) lies outside the container's outline, its mask having strayed. Its final
    stretch (the frames it was lost in at the end, or those it stood still in where its mask ended; never the
    first frame, where it was found) then moves to the container's centre, lying flat on the floor at its yaw:
    one view of a hidden object says no more. A last mask inside the outline with the pose floating above the
    floor (one view cannot tell near and high from far and low) lands along the camera's ray instead (at the
    centre where that ray meets the floor outside the container's footprint), and an object lost over the floor
    falls onto it, lying flat too.
    Returns the number of frames moved.
    """
    T = len(track)
    mask, container_mask = last_masks
    rest = solid.size[2] / 2 + wall_thickness(box.size)  # on the container's floor
    floating = track[-1].position[2] - rest > LIFTED
    if seen[-1]:
        if container_mask.any() and not mostly_within(mask, outline(container_mask)):
            how = "centre"  # its mask strayed outside the container
        else:
            how = "along the ray" if floating else None
    elif _inside(track[-1].position, solid, container[-1], box):
        how = "down" if floating else None  # lost over the floor: it falls onto it
    else:
        how = "centre"
    if how is None:
        return 0
    t = T - 1  # the final stretch: the frames it was lost in, or those it stood still in where its mask ended
    if seen[-1]:
        while t > 1 and seen[t - 1] and np.linalg.norm(track[t - 1].position - track[-1].position) <= 3 * STILL:
            t -= 1
    else:
        while t > 1 and not seen[t - 1]:
            t -= 1
    for s in range(t, T):
        ray = track[s].position - camera.t
        position = np.array([*container[s].position[:2], rest])  # "centre"
        if how == "along the ray" and ray[2] < 0:  # where the camera's ray through it meets the floor,
            meets = camera.t + ray * (rest - camera.t[2]) / ray[2]
            if _inside(meets, solid, container[s], box):  # if that is inside (a mask astray reads far off)
                position = meets
        elif how == "down":
            position = np.array([*track[s].position[:2], rest])
        flat = _upright(solid.moved(position, track[s].rotation)).rotation  # lying on the floor at its yaw
        track[s] = TrackedPose(position, flat, INSIDE_CONFIDENCE, "inside its container (caption)")
    return T - t


def near_wall_ignore(
    ignore: Callable[[int, int], np.ndarray], masks: np.ndarray, seen: np.ndarray, inner: int, outer: int
) -> Callable[[int, int], np.ndarray]:
    """`ignore` for an object lying in its container: where its mask stands still inside the container's outline,
    the container's pixels straight above the mask (the columns it spans, above its top row) hide nothing of it:
    there the container shows its inside (floor, far wall), and only its near wall, lower down, can hide the
    object. With the whole container free, a thing behind the near wall with only its top in view fitted anywhere
    its outline covered the visible floor, read 3-4 cm too far back. Beside the mask the container stays free (a
    hand or a missed end may hide the rest of a long thing there), and so does all of it while the thing still
    moves: it may be in the air in front of the far wall."""

    def behind(t: int, k: int) -> np.ndarray:
        out, mask, container = ignore(t, k), masks[t, k], masks[t, outer]
        if k != inner or not mask.any() or not container.any() or not mostly_within(mask, outline(container)):
            return out
        if not any(_at_rest(masks[:, k], seen[:, k], t, d) for d in (1, -1)):
            return out
        rows, cols = np.nonzero(mask)
        top, left, right = rows.min(), cols.min(), cols.max() + 1
        out = out.copy()
        out[:top, left:right] &= ~container[:top, left:right]
        return out

    return behind


def within_footprint(track: list[TrackedPose], solid: Solid, container: list[TrackedPose], box: Solid) -> int:
    """An object lying in a container at the clip's end lies within its footprint: one view of a thing half
    hidden by the walls reads its pose off along the camera's ray, or turned across a container too narrow for it.
    From the last frame back, while the object's centre is inside the container (`_inside`), its position is
    pulled in until its footprint fits within the container's; an object that cannot fit as turned is first
    turned along the container's axes (the way it fits best), when that fits. Returns the number of frames moved.
    """
    moved = 0
    for s in range(len(track) - 1, 0, -1):
        pose, holder = track[s], container[s]
        if not _inside(pose.position, solid, holder, box):
            break
        rotation = pose.rotation
        room = _room(solid, rotation, holder.rotation, box)
        if room.min() < 0 and not round_footprint(box.kind):  # it cannot lie so: turn it along the container's axes
            yaw = np.arctan2(holder.rotation[1, 0], holder.rotation[0, 0]) - np.arctan2(rotation[1, 0], rotation[0, 0])
            turns = [Rotation.from_euler("z", yaw + q).as_matrix() @ rotation for q in (0.0, np.pi / 2)]
            rotation = max(turns, key=lambda r: _room(solid, r, holder.rotation, box).min())
            room = _room(solid, rotation, holder.rotation, box)
        if room.min() < 0:
            break  # it fits no way: the sizes are off, and nothing here says where it is
        local = holder.rotation.T @ (pose.position - holder.position)
        if round_footprint(box.kind):
            r = float(np.hypot(local[0], local[1]))
            if r > room[0]:
                local[:2] *= room[0] / r
        else:
            local[:2] = np.clip(local[:2], -room, room)
        position = holder.position + holder.rotation @ local
        if np.linalg.norm(position - pose.position) > 1e-3 or rotation is not pose.rotation:
            track[s] = TrackedPose(position, rotation, pose.confidence, pose.method + " (within its container)")
            moved += 1
    return moved


def _room(solid: Solid, rotation: np.ndarray, holder: np.ndarray, box: Solid) -> np.ndarray:
    """How far (metres, along the container's axes; a radius for a round one) the object's centre may stray
    from the container's before its footprint, turned by `rotation`, crosses the container's walls."""
    half = np.abs(holder.T @ rotation)[:2, :2] @ (solid.size[:2] / 2)
    inner = box.size[:2] / 2 - wall_thickness(box.size)
    if round_footprint(box.kind):
        return np.array([inner[0] - float(np.max(half))])
    return inner - half


def on_floor(
    track: list[TrackedPose], solid: Solid, container: list[TrackedPose], box: Solid, camera: PinholeCamera
) -> int:
    """An object lying in an open container (`hollow`) rests on its floor, `hollow.wall_thickness` above the
    container's underside, not on the table through it (in the simulator the two were pushed apart): from the last
    frame back, while the object is inside the container's footprint and reaches below the floor's top, it moves
    up along the camera's ray until it rests there (the image shows it where it was; one view cannot tell near and
    high from far and low). Returns the number of frames moved."""
    moved = 0
    for s in range(len(track) - 1, 0, -1):
        pose, holder = track[s], container[s]
        if not _inside(pose.position, solid, holder, box):
            break
        floor = holder.position[2] - box.size[2] / 2 + wall_thickness(box.size)
        lift = floor - _bottom(solid.moved(pose.position, pose.rotation))
        ray = pose.position - camera.t
        if lift <= 0 or ray[2] >= 0:
            continue
        position = pose.position + ray * (lift / ray[2])  # `lift` higher, nearer the camera
        track[s] = TrackedPose(position, pose.rotation, pose.confidence, pose.method + " (on its container's floor)")
        moved += 1
    return moved
