"""Classical segmentation and tracking: a mask per object per frame, propagated from a key frame.

Each step shifts the previous mask by the median optical flow inside it (Farneback), looks for pixels of the
object's colour (foreground/background histograms from the key frame) near that prediction, and snaps the result
to image edges with GrabCut. When too little of the object's colour is left (a hand or another object hides it),
the propagated mask is kept and the frame is marked occluded. Pixels unchanged since the key frame (and off the
object there) are scenery: they leave a mask (a black cup lifted in front of a black backdrop keeps its own
outline) and a region made of them is never re-detected as the object. A mask grown past its size has merged
with something of its colour, unless it grew where something hid the object at the key frame (a box the hand
uncovers shows its whole top). A mask that lands mostly on skin's colour, for an object not of that colour, is
on the hand: a region of the object's colour and size found elsewhere then wins (a dropped orange can, lost as it
fell, was tracked on a lit finger); a thing held in the hand and seen nowhere else keeps the hand's mask, which
carries it. A thing the caption drops is carried, then let go: while it is carried, a mask the hand borders that
shrank shows part of it, not all of it further away, and does not teach the tracker its size (a stone carried
half hidden is looked for at its size once let go).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.ndimage import binary_fill_holes

from video2policy.tools.perception.colors import (
    SKIN_SHARE,
    ColorModel,
    clipped_highlight,
    lab,
    reference_colors,
    skin_like,
    word_region,
)

LOST_FRACTION = 0.3  # less than this share of the expected area: occluded
MERGED_FRACTION = 2.5  # more than this: merged with something of the same colour
GRABCUT_SIDE = 120  # GrabCut runs on crops no larger than this (pixels)
AREA_RANGE = (0.6, 1.7)  # a frame's mask outside this share of the expected area is checked by re-detection
ANCHOR_PROBABILITY = 0.3  # the colour model learns only pixels the key frame's model finds this plausible
SHADOW_FREE_SHARE = 0.3  # objects with more of their key mask shadow-like keep shadow-like pixels
STATIC_SHARE = 0.7  # a re-detected region this much unchanged since the key frame (off the object) is scenery
STATIC_DIFF = 20  # RGB difference below which a pixel counts as unchanged
SCENERY_TRIM = 0.1  # a mask with more unchanged background than this share loses it
GREY_TABLE_CHROMA = 6.0  # a table less colourful than this (Lab chroma) is grey or white
SHADOW_TINT = 1.0  # a cast shadow's chroma per lightness, as a share of the table's at least
INSIDE_PROBABILITY = 0.25  # least colour fit of an object looked for inside its container (lit unlike its key frame)
TABLE_LAB_DISTANCE = 12.0  # Lab distance within which a pixel has the table's colour, never an object's highlight
WALL_HIDDEN_FRACTION = 0.05  # an object inside its container may show this little of its expected area over the wall
MIN_INSIDE_PIXELS = 10  # ... and never fewer pixels than this,
PARTIAL_MODEL_FIT = 0.3  # ... and its key frame's colour model (not its colour word) must find it this plausible
REVEAL_REACH = 1.0  # something hid an object's neighbourhood at its key frame up to this many times its size away
HAND_RIM_SHARE = 0.2  # a mask whose rim is this share of skin's colour borders the hand
HAND_OVER_END = 4  # last frames in which the hand, come back over the container, may hide what was thrown in


@dataclass
class Tracks:
    """masks (T, K, H, W) bool; per object and frame a confidence and whether the object was seen or propagated."""

    masks: np.ndarray
    confidence: np.ndarray  # (T, K)
    seen: np.ndarray  # (T, K) bool
    notes: list[str] = field(default_factory=list)


def refine_mask(
    image: np.ndarray, mask: np.ndarray, iterations: int = 3, allowed: np.ndarray | None = None
) -> np.ndarray:
    """Snap a rough mask to colour edges with GrabCut on a crop around it, staying inside `allowed`."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 4:
        return mask
    h, w = mask.shape
    pad = max(6, int(0.5 * max(np.ptp(xs), np.ptp(ys))))
    x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
    y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
    m = mask[y0:y1, x0:x1].astype(np.uint8)
    crop = np.ascontiguousarray(image[y0:y1, x0:x1][..., ::-1])
    shrink = min(1.0, GRABCUT_SIDE / max(m.shape))  # big objects: segment a smaller copy, then scale back
    if shrink < 1.0:
        size = (max(1, round(m.shape[1] * shrink)), max(1, round(m.shape[0] * shrink)))
        m = cv2.resize(m, size, interpolation=cv2.INTER_NEAREST)
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    gc = np.full(m.shape, cv2.GC_BGD, np.uint8)
    gc[cv2.dilate(m, np.ones((7, 7), np.uint8)).astype(bool)] = cv2.GC_PR_BGD
    gc[m.astype(bool)] = cv2.GC_PR_FGD
    gc[cv2.erode(m, np.ones((3, 3), np.uint8)).astype(bool)] = cv2.GC_FGD
    try:
        seeded_grabcut(crop, gc, None, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return mask
    fg = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.uint8)
    if shrink < 1.0:
        fg = cv2.resize(fg, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    out = np.zeros_like(mask)
    out[y0:y1, x0:x1] = fg.astype(bool)
    if allowed is not None:
        out &= allowed | mask
    out = _largest_components(out, keep_fraction=0.2)
    return out if out.sum() >= 0.5 * mask.sum() else mask


def seeded_grabcut(
    bgr: np.ndarray, mask: np.ndarray, rect: tuple[int, int, int, int] | None, iterations: int, mode: int
) -> None:
    """`cv2.grabCut` (writes `mask`) with its k-means start seeded: the same input gives the same mask. Unseeded, it
    draws from OpenCV's global random state, and thin objects passed or failed from run to run."""
    cv2.setRNGSeed(0)
    cv2.grabCut(bgr, mask, rect, np.zeros((1, 65)), np.zeros((1, 65)), iterations, mode)


def shadow_like(pixels_lab: np.ndarray, table_lab: np.ndarray) -> np.ndarray:
    """Pixels (..., 3 Lab) of the table's hue, darker and no more colourful: a cast shadow (a hand's, an object's)."""
    light, a, b = pixels_lab[..., 0], pixels_lab[..., 1], pixels_lab[..., 2]
    t_chroma = float(np.hypot(table_lab[1], table_lab[2]))
    chroma = np.hypot(a, b)
    darker = (light > 15) & (light < table_lab[0] - 8)
    if t_chroma < GREY_TABLE_CHROMA:  # a grey or white table: its shadows are grey
        return darker & (chroma < 6)
    hue = np.abs(np.angle(np.exp(1j * (np.arctan2(b, a) - np.arctan2(table_lab[2], table_lab[1])))))
    return darker & (chroma >= 0.25 * t_chroma) & (chroma <= 1.2 * t_chroma) & (hue < np.radians(35))


def cast_shadow(pixels_lab: np.ndarray, table_lab: np.ndarray) -> np.ndarray:
    """Shadow-like pixels that keep at least the table's colourfulness per unit of lightness: a shadow on a cream
    table is as tinted as the table, while a white or beige object in shade (garlic under a hand) is greyer.
    On a grey or white table there is no tint to keep: every shadow-like pixel counts."""
    shadow = shadow_like(pixels_lab, table_lab)
    t_chroma = float(np.hypot(table_lab[1], table_lab[2]))
    if t_chroma < GREY_TABLE_CHROMA:
        return shadow
    chroma = np.hypot(pixels_lab[..., 1], pixels_lab[..., 2])
    return shadow & (chroma >= SHADOW_TINT * t_chroma / max(float(table_lab[0]), 1.0) * pixels_lab[..., 0])


def _largest_components(mask: np.ndarray, keep_fraction: float) -> np.ndarray:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    if n <= 2:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.flatnonzero(areas >= keep_fraction * areas.max())
    return np.isin(labels, keep)


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _shift(mask: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(mask.astype(np.uint8), m, mask.shape[::-1], flags=cv2.INTER_NEAREST).astype(bool)


def opened(mask: np.ndarray) -> np.ndarray:
    """The mask without the specks and threads a 2x2 square does not fit in. Not cv2.morphologyEx with a 2x2
    kernel: its anchor sits off the kernel's centre and the opened mask comes out one pixel right and down."""
    square = np.ones((2, 2), np.uint8)
    return cv2.dilate(cv2.erode(mask.astype(np.uint8), square, anchor=(0, 0)), square, anchor=(1, 1)).astype(bool)


def _flow_shift(prev_gray: np.ndarray, gray: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Median optical flow inside `mask` (computed on a crop around it)."""
    x0, y0, x1, y1 = _box(mask)
    h, w = mask.shape
    pad = max(12, (x1 - x0 + y1 - y0) // 2)
    x0, y0, x1, y1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    flow = cv2.calcOpticalFlowFarneback(prev_gray[y0:y1, x0:x1], gray[y0:y1, x0:x1], None, 0.5, 3, 15, 3, 5, 1.2, 0)
    inside = mask[y0:y1, x0:x1]
    if inside.sum() == 0:
        return 0.0, 0.0
    return float(np.median(flow[..., 0][inside])), float(np.median(flow[..., 1][inside]))


def track_masks(
    frames: np.ndarray,
    key_masks: dict[int, tuple[int, np.ndarray]],
    support: Callable[[int], np.ndarray | None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    words: dict[int, str | None] | None = None,
    region: np.ndarray | None = None,
    let_go: frozenset[int] = frozenset(),
) -> Tracks:
    """Masks for every frame. `key_masks`: object index -> (key frame, mask there, pixels surely of its colour);
    tracking runs both ways from the key frame.

    `support(t)` may return the pixels that can belong to any object at frame t (e.g. above the table in depth).
    `words` gives an object's colour word, whose hue region counts as its colour whatever the lighting.
    A lost object is looked for again in `region` (the table) every frame, so it is found when it reappears.
    `let_go`: objects the caption drops (carried half hidden in the hand, then seen whole again).
    """
    words = words or {}
    T, H, W = frames.shape[:3]
    K = len(key_masks)
    masks = np.zeros((T, K, H, W), bool)
    conf = np.zeros((T, K), np.float32)
    seen = np.zeros((T, K), bool)
    labs = [None] * T
    grays = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    notes: list[str] = []

    def lab_of(t: int) -> np.ndarray:
        if labs[t] is None:
            labs[t] = lab(frames[t])
        return labs[t]

    shades: list[np.ndarray | None] = [None] * T
    skins: list[np.ndarray | None] = [None] * T

    def hand(t: int) -> np.ndarray:  # pixels of skin's colour, once per frame
        if skins[t] is None:
            skins[t] = skin_like(lab_of(t))
        return skins[t]

    def unshaded(t: int) -> np.ndarray:  # the same for every shadow-free object: once per frame
        if shades[t] is None:
            shades[t] = ~cast_shadow(lab_of(t), table_lab)
        return shades[t]

    table_lab = None
    if region is not None and region.any():
        table = region & (np.linalg.norm(lab_of(0) - np.median(lab_of(0)[region], axis=0), axis=-1) < 12)
        table_lab = np.median(lab_of(0)[table], axis=0) if table.sum() > 100 else None
    shadow_free = {}  # objects of a shadow's colour (dark, the table's tint) cannot be told from shadows
    hand_free = {}  # objects not of skin's colour: a region mostly of skin's colour is the hand, not them
    models, references, hidden = {}, {}, {}
    for k, (t0, mask, core) in key_masks.items():
        shadow_free[k] = table_lab is not None and cast_shadow(lab_of(t0)[mask], table_lab).mean() < SHADOW_FREE_SHARE
        hand_free[k] = bool(skin_like(lab_of(t0)[mask]).mean() <= SKIN_SHARE)
        sure = _sure_pixels(mask, core)
        models[k] = _key_model(lab_of(t0), mask, sure)
        hidden[k] = _hidden_beside(lab_of(t0), mask, models[k], table_lab)
        references[k] = reference_colors(frames[t0], sure)
        masks[t0, k], conf[t0, k], seen[t0, k] = mask, 1.0, True
    total, done = T * K, K
    for k, (t0, mask0, _) in key_masks.items():
        for direction in (1, -1):
            model = models[k].copy()
            prev, ref_area = mask0, float(mask0.sum())
            t = t0 + direction
            while 0 <= t < T:
                dx, dy = _flow_shift(grays[t - direction], grays[t], prev)
                predicted = _shift(prev, dx, dy)
                if predicted.sum() == 0:
                    predicted = prev
                sup = support(t) if support else None
                if shadow_free[k]:
                    sup = unshaded(t) if sup is None else sup & unshaded(t)
                scenery = _scenery(frames[t], frames[t0], mask0)
                mask, ok = _segment_near(
                    frames[t], lab_of(t), model, predicted, ref_area, sup, words.get(k), references[k], table_lab
                )
                if not ok or mask.sum() < AREA_RANGE[0] * ref_area or _too_large(mask, hidden[k], ref_area):
                    # fast motion (lifted, thrown): flow and the local search lose it; look in a wider window
                    found = _redetect(frames[t], lab_of(t), model, prev, ref_area, sup, words.get(k), scenery)
                    if found is not None and (
                        not ok or abs(np.log(found.sum() / ref_area)) < abs(np.log(max(mask.sum(), 1) / ref_area))
                    ):
                        mask, ok = found, True
                if ok and hand_free[k] and _on_skin(lab_of(t), mask):  # on the hand: the object itself, seen
                    # elsewhere, wins; held in the hand and seen nowhere else, the hand that carries it stands for it
                    skin = hand(t)
                    found = _redetect(frames[t], lab_of(t), model, prev, ref_area, sup, words.get(k), scenery, skin)
                    if found is None and region is not None:
                        found = _reacquire(frames[t], lab_of(t), model, ref_area, region, words.get(k), scenery, skin)
                    if found is not None:
                        mask = found
                if ok:  # pixels unchanged since the key frame, off the object there, are what was behind it
                    # (a backdrop of its colour it was lifted in front of): what is left is the object
                    behind = mask & scenery
                    if behind.sum() > SCENERY_TRIM * mask.sum():
                        changed = _largest_components(mask & ~behind, keep_fraction=0.2)
                        if changed.sum() >= LOST_FRACTION * ref_area:
                            mask = binary_fill_holes(changed)
                merged = ok and _too_large(mask, hidden[k], ref_area)
                if merged:  # grown into something of its colour (a neighbour): keep its propagated shape
                    near = cv2.dilate(predicted.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
                    clipped = mask & near
                    keep = LOST_FRACTION * ref_area <= clipped.sum() and not _too_large(clipped, hidden[k], ref_area)
                    mask = clipped if keep else predicted
                if not ok and region is not None:
                    found = _reacquire(frames[t], lab_of(t), model, ref_area, region, words.get(k), scenery)
                    if found is not None:
                        mask, ok = found, True
                masks[t, k], seen[t, k] = mask, ok
                conf[t, k] = (0.5 if merged else 1.0) if ok else 0.2
                if ok and not merged:
                    area = float(mask.sum())
                    # what shows beside the hand that carries it is part of it, not all of it further away
                    carried = k in let_go and hand_free[k] and area < ref_area
                    if not (carried and border_share(mask, hand(t)) > HAND_RIM_SHARE):
                        ref_area = 0.8 * ref_area + 0.2 * area
                    inner = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
                    # learn only colours the key frame's model already finds plausible: a mask that strayed onto
                    # the hand or a shadow must not teach the model that they are the object
                    model.update(lab_of(t), inner & (models[k].probability(lab_of(t)) > ANCHOR_PROBABILITY))
                prev = mask
                t += direction
                done += 1
                if progress:
                    progress(done, total)
    _resolve_overlaps(masks, frames, lab_of, models)
    seen &= masks.reshape(T, K, -1).any(axis=2)  # every pixel gone to another object: not seen after all
    lost = (~seen).sum(axis=0)
    for k in range(K):
        if lost[k]:
            notes.append(f"object {k}: hidden or lost in {int(lost[k])} of {T} frames (mask propagated)")
    return Tracks(masks, conf, seen, notes)


def _on_skin(image_lab: np.ndarray, mask: np.ndarray) -> bool:
    """Whether the mask lies mostly on pixels of skin's colour: on the hand."""
    return bool(mask.any()) and float(skin_like(image_lab[mask]).mean()) > SKIN_SHARE


def border_share(mask: np.ndarray, other: np.ndarray, outside_hull: bool = False) -> float:
    """Share of the pixels just around `mask` that are `other`; with `outside_hull` only those outside its convex
    hull count (a container's differently lit floor is inside it, a neighbour's face is not)."""
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~mask
    if outside_hull:
        hull = np.zeros(mask.shape, np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(np.argwhere(mask)[:, ::-1].astype(np.int32)), 1)
        ring &= ~hull.astype(bool)
    return float((ring & other).sum() / max(ring.sum(), 1))


def _too_large(mask: np.ndarray, hidden: np.ndarray, ref_area: float) -> bool:
    """Grown past its size (`ref_area`, its recent area) into something of its colour (a neighbour). What shows
    where something hid it at the key frame does not count (a box the hand uncovers grows to its whole top): a
    neighbour of its colour was in view there."""
    return bool((mask & ~hidden).sum() > AREA_RANGE[1] * ref_area)


def _hidden_beside(
    image_lab: np.ndarray, mask: np.ndarray, model: ColorModel, table_lab: np.ndarray | None
) -> np.ndarray:
    """Pixels near an object's key mask that something in front of it covered at the key frame: neither the
    table's colour (nor its shadow) nor the object's. When they later show the object's colour, more of it is
    seen there, not a neighbour of its colour (that was in view at the key frame, and of its colour then)."""
    if table_lab is None or not mask.any():
        return np.zeros_like(mask)
    x0, y0, x1, y1 = _box(mask)
    reach = max(1, int(REVEAL_REACH * max(x1 - x0, y1 - y0)))
    near = cv2.dilate(mask.astype(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)).astype(bool)
    table = np.linalg.norm(image_lab - table_lab, axis=-1) < TABLE_LAB_DISTANCE
    return near & ~mask & ~table & ~shadow_like(image_lab, table_lab) & (model.probability(image_lab) < 0.2)


def _colour_fit(model: ColorModel, image_lab: np.ndarray, word: str | None) -> np.ndarray:
    """Per pixel, how well the colour fits the object: its colour model, raised where its colour word's hue
    region says so (the word holds whatever the lighting, the model only for the key frame's)."""
    prob = model.probability(image_lab)
    return np.maximum(prob, 0.9 * word_region(word, image_lab)) if word else prob


def _sure_pixels(mask: np.ndarray, core: np.ndarray) -> np.ndarray:
    """The key mask's core pixels away from its edge (where colours blend with the background), when enough remain."""
    inner = cv2.erode(core.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return inner if inner.sum() >= 20 else core


def _key_model(image_lab: np.ndarray, mask: np.ndarray, sure: np.ndarray) -> ColorModel:
    """The object's colour model: its sure pixels against everything outside a ring around its key mask."""
    ring = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    return ColorModel(image_lab, sure, background=~ring)


def outline(mask: np.ndarray) -> np.ndarray:
    """The mask's convex hull, filled: a container's outline, inside which what it holds is seen."""
    hull = np.zeros_like(mask, dtype=np.uint8)
    cv2.fillPoly(hull, [cv2.convexHull(cv2.findNonZero(mask.astype(np.uint8)))], 1)
    return hull.astype(bool)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two masks (0 when both are empty)."""
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 0.0


def mostly_within(mask: np.ndarray, hull: np.ndarray) -> bool:
    """Whether at least half of the mask lies in `hull` (a container's `outline`): the object is seen inside it."""
    return bool((mask & hull).sum() >= 0.5 * mask.sum())


def settle_inside(
    frames: np.ndarray,
    tracks: Tracks,
    key_masks: dict[int, tuple[int, np.ndarray, np.ndarray]],
    inner: int,
    outer: int,
    words: dict[int, str | None] | None = None,
    area_scale: float = 1.0,
) -> int:
    """Where the caption puts object `inner` into `outer` ("Throwing [garlic] into [bowl]"), the clip ends with it
    inside. A small pale object thrown in is easily lost on the way (the hand, the speed), and its track then ends
    on a speck of its colour elsewhere; so when the last frame's mask is not inside the container's outline, the
    object is looked for there: pixels of the outline (convex hull) that fit its colour better than the
    container's, about its size there (`area_scale`: its apparent area at the container over that at its key
    frame, from their distances to the camera), or a sliver of it down to `WALL_HIDDEN_FRACTION` of that size
    (lying behind the near wall) that its key frame's colours explain. From the last frame back, while it lies
    still, the found region replaces the track. The hand often comes back over the container at the very end: up
    to `HAND_OVER_END` last frames in which nothing is found count as hiding it there when skin's colour covers
    the region found just before (marked unseen, the region kept); the frame before them may show only part of it
    (within what shows a frame earlier, and smaller): it is taken as partly hidden, with the earlier frame's
    region (a sliver beside the fingers fits the thing anywhere along it). A container the hand hides (lost, its mask
    propagated) still outlines where it stands. Returns the number of frames replaced (0 when the track ended
    inside, or nothing was found).
    """
    words = words or {}
    T = len(frames)
    t_in, mask_in, core_in = key_masks[inner]
    t_out, mask_out, core_out = key_masks[outer]
    model_in = _key_model(lab(frames[t_in]), mask_in, _sure_pixels(mask_in, core_in))
    model_out = _key_model(lab(frames[t_out]), mask_out, _sure_pixels(mask_out, core_out))
    ref_area = float(mask_in.sum()) * area_scale

    def about_its_size(area: float) -> bool:
        return LOST_FRACTION * ref_area <= area <= AREA_RANGE[1] * ref_area

    later, replaced = None, 0
    covered: dict[int, np.ndarray] = {}  # last frames that showed nothing -> their Lab image
    for t in range(T - 1, -1, -1):
        container = tracks.masks[t, outer]
        if container.sum() < 20:  # hidden, its propagated mask still outlines it: it stays where it stood
            break
        hull = outline(container)
        current = tracks.masks[t, inner]
        inside = mostly_within(current, hull)
        image_lab = lab(frames[t])
        ends_inside = tracks.seen[t, inner] and about_its_size(current.sum()) and inside
        if later is None and ends_inside and not _on_skin(image_lab, current):
            return 0  # the track ends inside, about the object's size, not on the hand: nothing to mend
        p_in = _colour_fit(model_in, image_lab, words.get(inner))
        fits = hull & (p_in > INSIDE_PROBABILITY) & (p_in > model_out.probability(image_lab))
        fits = opened(fits).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(fits)
        best, best_score = None, 0.0
        # just before the hand hid it, the later frame may show only part of it: what shows there must lie within
        # what shows here
        partial = bool(covered) and replaced == 1
        for i in range(1, n):
            area = stats[i, cv2.CC_STAT_AREA]
            if not max(MIN_INSIDE_PIXELS, WALL_HIDDEN_FRACTION * ref_area) <= area <= AREA_RANGE[1] * ref_area:
                continue
            region = labels == i
            # a sliver over the wall must be of its own key-frame colours: a colour word's hue region also covers
            # the hand's skin, which lingers over the container
            if area < LOST_FRACTION * ref_area and model_in.probability(image_lab[region]).mean() < PARTIAL_MODEL_FIT:
                continue
            if later is not None:  # still lying where it was found in the later frame
                score = float((region & later).sum() / (later if partial else region | later).sum())
                if score < 0.5:
                    continue
            else:
                score = float(p_in[region].mean())
            if score > best_score:
                best, best_score = region, score
        if best is None:
            if later is None and len(covered) < HAND_OVER_END:
                covered[t] = image_lab  # the hand may be over it: judged once it is found in an earlier frame
                continue
            break
        found = binary_fill_holes(best)
        if later is None and covered:
            if not all(_on_skin(s_lab, found) for s_lab in covered.values()):
                break  # not the hand over it: it ended elsewhere
            for s in covered:
                tracks.masks[s, inner], tracks.seen[s, inner], tracks.confidence[s, inner] = found, False, 0.0
                tracks.masks[s, outer] &= ~found
        later = found
        tracks.masks[t, inner], tracks.seen[t, inner], tracks.confidence[t, inner] = later, True, 1.0
        tracks.masks[t, outer] &= ~later  # the container's outline filled over it
        replaced += 1
    if covered and replaced > 1:  # the frame before the hand hid it showing only part of it: partly hidden already
        t1 = min(covered) - 1
        fuller = tracks.masks[t1 - 1, inner].copy()
        if tracks.masks[t1, inner].sum() < AREA_RANGE[0] * fuller.sum():
            for s in (t1, *covered):
                tracks.masks[s, inner], tracks.seen[s, inner], tracks.confidence[s, inner] = fuller, False, 0.0
    if replaced:
        when = (
            f"{replaced} frames before the last {len(covered)} (the hand over it)"
            if covered
            else f"last {replaced} frames"
        )
        tracks.notes.append(f"object {inner}: found inside its container in the {when} (the caption puts it there)")
    return replaced


def _segment_near(
    image: np.ndarray,
    image_lab: np.ndarray,
    model: ColorModel,
    predicted: np.ndarray,
    ref_area: float,
    support: np.ndarray | None,
    word: str | None = None,
    references: np.ndarray | None = None,
    table_lab: np.ndarray | None = None,
) -> tuple[np.ndarray, bool]:
    """The object's mask near where the flow predicts it; False when too little of its colour is there.

    A light shade's brightening path ends near white, as a bright cream table does: pixels of the table's colour
    (`table_lab`) are never the object's saturated highlight (a red block hidden under a cup tracked the table).
    """
    x0, y0, x1, y1 = _box(predicted)
    h, w = predicted.shape
    pad = max(8, int(0.6 * max(x1 - x0, y1 - y0)))
    X0, Y0, X1, Y1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    prob = _colour_fit(model, image_lab[Y0:Y1, X0:X1], word)
    if references is not None and len(references):  # its colour saturated where the light is strongest
        lit = clipped_highlight(image[Y0:Y1, X0:X1], references)
        if table_lab is not None:
            lit &= np.linalg.norm(image_lab[Y0:Y1, X0:X1] - table_lab, axis=-1) >= TABLE_LAB_DISTANCE
        prob = np.maximum(prob, 0.6 * lit)
    fg = prob > 0.5
    if support is not None:
        fg &= support[Y0:Y1, X0:X1]
    fg = cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    near = cv2.dilate(predicted[Y0:Y1, X0:X1].astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    _, labels = cv2.connectedComponents(fg)
    touching = np.unique(labels[near & (labels > 0)])
    local = np.isin(labels, touching) if len(touching) else np.zeros_like(near)
    area = float(local.sum())
    if area < LOST_FRACTION * ref_area:
        return predicted, False
    size = max(x1 - x0, y1 - y0)
    reach = max(5, int(0.3 * size)) | 1
    cap = cv2.dilate(near.astype(np.uint8), np.ones((reach, reach), np.uint8)).astype(bool)
    local &= cap  # never more than a step beyond the prediction: neighbours of the same colour stay out
    if local.sum() < LOST_FRACTION * ref_area:
        return predicted, False
    mask = np.zeros_like(predicted)
    mask[Y0:Y1, X0:X1] = binary_fill_holes(local)
    allowed = np.zeros_like(predicted)
    allowed[Y0:Y1, X0:X1] = (prob > 0.2) & cap
    if support is not None:
        allowed &= support
    return refine_mask(image, mask, allowed=allowed), True


def unchanged(image: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Pixels whose RGB differs by less than `STATIC_DIFF` between two frames."""
    return np.abs(image.astype(np.int16) - other.astype(np.int16)).max(axis=-1) < STATIC_DIFF


def _scenery(image: np.ndarray, key_image: np.ndarray, key_mask: np.ndarray) -> np.ndarray:
    """Pixels unchanged since the key frame and off the object there: what was already there besides the object
    (a backdrop of its colour, a twin standing still) cannot be the object that moved."""
    same = unchanged(image, key_image)
    own = cv2.dilate(key_mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    return same & ~own


def _redetect(
    image: np.ndarray,
    image_lab: np.ndarray,
    model: ColorModel,
    prev: np.ndarray,
    ref_area: float,
    support: np.ndarray | None,
    word: str | None,
    scenery: np.ndarray | None = None,
    skin: np.ndarray | None = None,
) -> np.ndarray | None:
    """The region of the object's colour and about its size within a window around its last mask, or None.

    Scored by colour fit, size agreement and distance from the last mask, so a neighbour of the same colour
    further away loses to the object itself. Regions that are mostly `scenery` (unchanged since the key frame,
    off the object) are skipped: a black cup lifted past a black backdrop must not be re-found in the backdrop.
    So are regions mostly of `skin` (pixels of skin's colour, given for objects not of that colour): the hand.
    """
    x0, y0, x1, y1 = _box(prev)
    h, w = prev.shape
    size = max(x1 - x0, y1 - y0)
    pad = max(20, 2 * size)
    X0, Y0, X1, Y1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
    prob = _colour_fit(model, image_lab[Y0:Y1, X0:X1], word)
    fg = prob > 0.5
    if support is not None:
        fg &= support[Y0:Y1, X0:X1]
    fg = cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(fg)
    centre = np.array([(x0 + x1) / 2 - X0, (y0 + y1) / 2 - Y0])
    best, best_score = None, 0.5
    for i in range(1, n):
        area = float(stats[i, cv2.CC_STAT_AREA])
        if not 0.5 * ref_area <= area <= 2.0 * ref_area:
            continue
        if scenery is not None and scenery[Y0:Y1, X0:X1][labels == i].mean() > STATIC_SHARE:
            continue
        if skin is not None and skin[Y0:Y1, X0:X1][labels == i].mean() > SKIN_SHARE:
            continue
        far = float(np.linalg.norm(centroids[i] - centre)) / (pad + size)
        score = float(prob[labels == i].mean()) - 0.3 * abs(np.log(area / ref_area)) - 0.3 * far
        if score > best_score:
            best, best_score = i, score
    if best is None:
        return None
    mask = np.zeros_like(prev)
    mask[Y0:Y1, X0:X1] = binary_fill_holes(labels == best)
    allowed = np.zeros_like(prev)
    allowed[Y0:Y1, X0:X1] = prob > 0.2
    if support is not None:
        allowed &= support
    return refine_mask(image, mask, allowed=allowed)


def _reacquire(
    image: np.ndarray,
    image_lab: np.ndarray,
    model: ColorModel,
    ref_area: float,
    region: np.ndarray,
    word: str | None,
    scenery: np.ndarray | None = None,
    skin: np.ndarray | None = None,
) -> np.ndarray | None:
    """The region of the object's colour and about its size anywhere in `region` (not mostly `scenery`, nor mostly
    `skin`), or None."""
    prob = _colour_fit(model, image_lab, word)
    fg = cv2.morphologyEx(((prob > 0.6) & region).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
    best, best_score = None, 0.0
    for i in range(1, n):
        area = stats[i, cv2.CC_STAT_AREA]
        if not 0.4 * ref_area <= area <= 2.5 * ref_area:
            continue
        if scenery is not None and scenery[labels == i].mean() > STATIC_SHARE:
            continue
        if skin is not None and skin[labels == i].mean() > SKIN_SHARE:
            continue
        score = float(prob[labels == i].mean()) - 0.2 * abs(np.log(area / ref_area))
        if score > max(best_score, 0.7):
            best, best_score = labels == i, score
    return None if best is None else refine_mask(image, binary_fill_holes(best), allowed=prob > 0.2)


def _resolve_overlaps(masks: np.ndarray, frames: np.ndarray, lab_of, models: dict) -> None:
    """A pixel claimed by two objects goes to the one whose colour it fits better."""
    T, K = masks.shape[:2]
    if K < 2:
        return
    for t in range(T):
        count = masks[t].sum(axis=0)
        if count.max() < 2:
            continue
        clash = count > 1
        probs = np.stack([np.where(masks[t, k] & clash, models[k].probability(lab_of(t)), -1.0) for k in range(K)])
        winner = probs.argmax(axis=0)
        for k in range(K):
            masks[t, k] &= ~clash | (winner == k)
