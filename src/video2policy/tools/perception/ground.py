"""Classical grounding: find each named object in one frame without a detector.

Candidates are the regions standing out from the table: above the table plane when there is depth, otherwise
inside the table's image region but not of the table's colour (grown upwards by colour, for objects that stick out
over the table's far edge). Names are matched to candidates by the colour word in the name ('red cup'), the
shape its noun suggests ('ball' is round), user hints (a box or a colour), and size.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import binary_fill_holes
from scipy.optimize import linear_sum_assignment

from video2policy.tools.perception.caption import NamedObject
from video2policy.tools.perception.colors import (
    COLOR_WORDS,
    SKIN_SHARE,
    clipped_highlight,
    color_match,
    color_word,
    lab,
    reference_colors,
    skin_like,
    typical_color,
    word_region,
)
from video2policy.tools.perception.geometry import PinholeCamera
from video2policy.tools.perception.shapes import name_prior
from video2policy.tools.perception.track import border_share, cast_shadow, seeded_grabcut, shadow_like

MIN_AREA_FRACTION = 0.0002
MAX_AREA_FRACTION = 0.25


@dataclass
class Candidate:
    mask: np.ndarray
    area: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1


@dataclass
class Grounding:
    mask: np.ndarray
    box: tuple[int, int, int, int]
    score: float
    method: str
    core: np.ndarray | None = None  # pixels surely of the object's colour (for its colour model)

    def grown(self, extra: np.ndarray, how: str) -> Grounding:
        """The same grounding with `extra` pixels (found to be the object's own) in its mask and core."""
        core = None if self.core is None else self.core | extra
        return Grounding(self.mask | extra, self.box, self.score, f"{self.method} + {how}", core)


def parse_hint(text: str) -> tuple[str, tuple[float, float, float, float] | str]:
    """'cup=120,80,200,190' (a box in source pixels) or 'cup=red' -> (name, box or colour word)."""
    from video2policy.tools.perception.caption import identifier
    from video2policy.tools.perception.errors import PerceptionError

    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise PerceptionError("ground", None, f"hint {text!r}: expected NAME=x0,y0,x1,y1 or NAME=COLOUR")
    value = value.strip().lower()
    if value in COLOR_WORDS:
        return identifier(name), value
    try:
        box = tuple(float(v) for v in value.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or box[2] <= box[0] or box[3] <= box[1]:
        raise PerceptionError("ground", identifier(name), f"hint {text!r}: not a colour word nor a box x0,y0,x1,y1")
    return identifier(name), box  # type: ignore[return-value]


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def table_region(image_lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(table-coloured pixels, the table's convex image region) from the colour under the lower image centre."""
    h, w = image_lab.shape[:2]
    sample = image_lab[int(0.55 * h) : int(0.95 * h), int(0.2 * w) : int(0.8 * w)].reshape(-1, 3)
    centre = np.median(sample, axis=0)
    weights = np.array([0.35, 1.0, 1.0], np.float32)
    d_sample = np.linalg.norm((sample - centre) * weights, axis=1)
    centre = sample[d_sample < max(np.percentile(d_sample, 60), 4.0)].mean(axis=0)
    dist = np.linalg.norm((image_lab - centre) * weights, axis=-1)
    spread = np.percentile(np.linalg.norm((sample - centre) * weights, axis=1), 50)
    table = dist < float(np.clip(4.0 * spread + 4.0, 7.0, 20.0))
    closed = cv2.morphologyEx(table.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    n, labels, _, _ = cv2.connectedComponentsWithStats(closed)
    lower = labels[int(0.55 * h) : int(0.95 * h), int(0.2 * w) : int(0.8 * w)]
    counts = np.bincount(lower.ravel(), minlength=n)
    counts[0] = 0
    region = labels == int(np.argmax(counts))
    hull = cv2.convexHull(np.argwhere(region)[:, ::-1].astype(np.int32))
    convex = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(convex, hull, 1)
    return table, convex.astype(bool)


def candidates_rgb(image: np.ndarray) -> list[Candidate]:
    """Regions inside the table's image region that are not table-coloured, grown upwards by colour."""
    image_lab = lab(image)
    table, convex = table_region(image_lab)
    fg = convex & ~table
    fg = cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    fg = binary_fill_holes(fg)
    table_rgb = np.median(image[table], axis=0).astype(float) + 1.0
    table_lab = np.median(image_lab[table], axis=0)
    table_chroma = float(np.hypot(*table_lab[1:]))
    keep = []
    arm = person_arm(image_lab)
    for cand in _components(fg):
        if not _shadow_or_hand(image, image_lab, cand, table_rgb, table_chroma):
            # the arm reaching over or in front of an object joins its region: the object is what is left
            pieces = _without(cand, arm) if (cand.mask & arm).sum() > ARM_OVERLAP * cand.area else []
            keep += pieces or [cand]
            continue
        for piece in _beside_hand(image_lab, cand, table_lab):  # an object the hand touches joins its region
            if not _shadow_or_hand(image, image_lab, piece, table_rgb, table_chroma):
                keep.append(piece)
    return [_grow(image_lab, c, convex) for c in keep]


ARM_OVERLAP = 0.05  # a candidate this much the person's arm (`person_arm`) is an object the arm reaches over


def _beside_hand(image_lab: np.ndarray, cand: Candidate, table_lab: np.ndarray) -> list[Candidate]:
    """What is left of a hand-and-arm region without its skin and its cast shadow: an object the fingers touch
    (garlic picked up from beside the hand) is part of the arm's region and would otherwise be lost with it. The
    shadow keeps the table's tint (`track.cast_shadow`): the garlic's own shaded side, greyer, stays."""
    return _without(cand, (skin_like(image_lab) | cast_shadow(image_lab, table_lab)) & cand.mask)


def _without(cand: Candidate, removed: np.ndarray) -> list[Candidate]:
    """The regions left of a candidate without `removed` pixels and a pixel's margin around them."""
    removed = cv2.dilate(removed.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    rest = cv2.morphologyEx((cand.mask & ~removed).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return _components(binary_fill_holes(rest))


def _shadow_or_hand(
    image: np.ndarray, image_lab: np.ndarray, cand: Candidate, table_rgb: np.ndarray, table_chroma: float
) -> bool:
    """A cast shadow (the table's own colour, uniformly darker) or the hand and arm (mostly skin hue)."""
    ratio = (np.median(image[cand.mask], axis=0).astype(float) + 1.0) / table_rgb
    px = image_lab[cand.mask]
    chroma = float(np.hypot(*np.median(px, axis=0)[1:]))
    if ratio.max() / ratio.min() < 1.2 and 0.25 < ratio.mean() < 0.8 and chroma > 0.4 * table_chroma:
        return True
    return float(skin_like(px).mean()) > SKIN_SHARE


def candidates_depth(height: np.ndarray, table_pixels: np.ndarray) -> list[Candidate]:
    """Regions standing 1.2 cm to 60 cm above the table plane, inside the table's image region."""
    hull = cv2.convexHull(np.argwhere(table_pixels)[:, ::-1].astype(np.int32))
    convex = np.zeros(height.shape, np.uint8)
    cv2.fillConvexPoly(convex, hull, 1)
    fg = (height > 0.012) & (height < 0.6) & convex.astype(bool)
    fg = cv2.morphologyEx(fg.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)).astype(bool)
    return _components(binary_fill_holes(fg))


def _components(fg: np.ndarray) -> list[Candidate]:
    h, w = fg.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg.astype(np.uint8))
    found = []
    for i in range(1, n):
        area = int(stats[i, cv2.CC_STAT_AREA])
        if MIN_AREA_FRACTION * h * w <= area <= MAX_AREA_FRACTION * h * w:
            mask = labels == i
            found.append(Candidate(mask, area, _box(mask)))
    return found


def _grow(image_lab: np.ndarray, cand: Candidate, convex: np.ndarray) -> Candidate:
    """Extend a candidate above the table region's edge with pixels of its own colour."""
    x0, y0, x1, y1 = cand.box
    h = y1 - y0
    if y0 > np.argmax(convex.any(axis=1)) + 2:  # well inside the table region: nothing sticks out
        return cand
    top = max(0, y0 - 2 * h)
    window = image_lab[top:y1, x0:x1]
    own = image_lab[cand.mask]
    mean, std = own.mean(axis=0), own.std(axis=0) + 3.0
    close = (np.abs((window - mean) / std) < 2.5).all(axis=-1)
    seed = cand.mask[top:y1, x0:x1]
    _, labels = cv2.connectedComponents((close | seed).astype(np.uint8))
    keep = np.isin(labels, np.unique(labels[seed & (labels > 0)]))
    mask = cand.mask.copy()
    mask[top:y1, x0:x1] |= keep
    mask = binary_fill_holes(mask)
    return Candidate(mask, int(mask.sum()), _box(mask))


def ground_objects(
    image: np.ndarray,
    objects: list[NamedObject],
    camera: PinholeCamera,
    candidates: list[Candidate],
    hints: dict[str, tuple | str] | None = None,
    scale: float = 1.0,
    search: np.ndarray | None = None,
    table: np.ndarray | None = None,
    other_words: list[str] | None = None,
) -> tuple[dict[str, Grounding], dict[str, str]]:
    """Match names to regions; returns the groundings and, for names that found nothing, why.

    A box hint is segmented with GrabCut; a colour (from a hint or the name) selects that colour's regions inside
    `search` (the table's image region); other names share the remaining candidates by shape and size.
    `table` (the table's convex image region) tells objects, which stand on it, from a background of their colour.
    `other_words` are colour words of named objects found earlier (in another frame), as rivals for colours.
    """
    hints = hints or {}
    image_lab = lab(image)
    h, w = image.shape[:2]
    found: dict[str, Grounding] = {}
    why: dict[str, str] = {}
    claimed = np.zeros((h, w), bool)

    @functools.cache
    def region_of(word: str) -> np.ndarray:  # each colour word's region once, for the object and its rivals
        return word_region(word, image_lab)

    @functools.cache
    def arm() -> np.ndarray:
        return person_arm(image_lab)

    for obj in objects:
        hint = hints.get(obj.name)
        if isinstance(hint, tuple):
            box = tuple(round(v * scale) for v in hint)
            mask = _grabcut(image, box)
            if mask.sum() < 10:
                why[obj.name] = f"nothing separable from the background inside the hinted box {hint}"
                continue
            found[obj.name] = Grounding(mask, _box(mask), 1.0, "hint box + GrabCut")
            claimed |= mask
    for obj in objects:
        if obj.name in found or obj.name in why:
            continue
        hint = hints.get(obj.name)
        word = hint if isinstance(hint, str) else color_word(obj.label)
        if not word:
            continue
        region = region_of(word) & ~claimed
        if search is not None:
            region &= search
        raw = region
        region = cv2.morphologyEx(region.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)).astype(bool)
        comps = [c for c in _components(binary_fill_holes(region)) if not _part_of_arm(c, arm())]
        rival_words = {word_of(o, hints) for o in objects} | set(other_words or ())
        rivals = np.zeros((h, w), bool)
        for other in rival_words - {word, None}:
            rivals |= region_of(other)
        prior = name_prior(obj.label)
        neighbours = _neighbours(obj, word, objects, found, hints, region_of, other_words)
        scored = [(_word_score(c, prior, camera, table, neighbours), c) for c in comps]
        scored = [(s, c) for s, c in scored if s > 0]
        if not scored:
            why[obj.name] = f"no {word} region on the table" + (" (only faces of other objects)" if comps else "")
            continue
        best = max(scored, key=lambda sc: sc[0])[1]
        mask = best.mask | _faces(best.mask, rivals & ~claimed & (search if search is not None else True), raw)
        found[obj.name] = Grounding(mask, _box(mask), 1.0, f"colour word '{word}'", core=mask & (region | rivals))
        claimed |= mask
    rest = [o for o in objects if o.name not in found and o.name not in why]
    if not rest:
        return found, why
    pool = []
    for cand in candidates:
        mask = cand.mask & ~claimed
        if mask.sum() >= max(0.5 * cand.area, MIN_AREA_FRACTION * h * w):
            pool.append(Candidate(mask, int(mask.sum()), _box(mask)))
    if not pool:
        for obj in rest:
            why[obj.name] = "no region stands out from the table in this frame"
        return found, why
    scores = np.zeros((len(rest), len(pool)))
    areas = np.array([c.area for c in pool], float)
    typical = [typical_color(obj.label) for obj in rest]
    for i, obj in enumerate(rest):
        prior = name_prior(obj.label)
        container = any(word in obj.label.lower() for word in ("bin", "box", "crate", "basket", "tray", "bowl"))
        for j, cand in enumerate(pool):
            s = 0.5 * areas[j] / areas.max()  # salient regions first
            if prior and len(pool) > 1:
                s += 1.5 * _shape_score(prior, camera, cand.mask)
            if container:
                s += 1.0 * areas[j] / areas.max()  # containers are the large ones
            if typical[i]:
                s += 1.0 * color_match(typical[i], image_lab[cand.mask])
            scores[i, j] = s
    rows, cols = linear_sum_assignment(-scores)
    for i, j in zip(rows, cols, strict=True):
        found[rest[i].name] = Grounding(pool[j].mask, pool[j].box, float(scores[i, j]), "classical regions")
    for obj in rest:
        if obj.name not in found:
            why[obj.name] = f"more named objects than the {len(pool)} regions that stand out from the table"
    return found, why


ARM_MIN_AREA = 0.003  # share of the image: a skin-coloured region entering from the frame's edge this large is an arm


def person_arm(image_lab: np.ndarray, skin: np.ndarray | None = None) -> np.ndarray:
    """Skin-coloured regions that enter the frame from its edge (`colors.skin_like`, or `skin` where the caller
    already has it): the person's hand and arm."""
    h, w = image_lab.shape[:2]
    skin = skin_like(image_lab) if skin is None else skin
    skin = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(skin)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    keep = [i for i in edge if i > 0 and stats[i, cv2.CC_STAT_AREA] >= ARM_MIN_AREA * h * w]
    return np.isin(labels, keep)


def _part_of_arm(cand: Candidate, arm: np.ndarray) -> bool:
    """A region of the named colour that is mostly the person's arm (lit skin renders orange)."""
    return bool((cand.mask & arm).sum() > SKIN_SHARE * cand.area)


def word_of(obj: NamedObject, hints: dict) -> str | None:
    hint = hints.get(obj.name)
    return hint if isinstance(hint, str) else color_word(obj.label)


RIVAL_PENALTY = 3.0  # a region whose border is a third another named colour is that object's lit or shaded face
BEYOND_SHARE = 0.05  # a region of the named colour this little on the table, at the image's edge, is beyond it
FACE_SHARE = 0.25  # a region bordered this much by an object's colour is taken as a face of it


def _neighbours(
    obj: NamedObject,
    word: str,
    objects: list[NamedObject],
    found: dict[str, Grounding],
    hints: dict,
    region_of: Callable[[str], np.ndarray],
    other_words: list[str] | None,
) -> np.ndarray:
    """Where another named object of another colour may be: its grounding once found (the rest of its colour is
    then a lit or shaded face of something, as the top of an orange box that renders yellow), else every region
    of its colour. `other_words` belong to objects found in another frame: their colour's regions."""
    out = np.zeros_like(region_of(word))
    for other in objects:
        other_word = word_of(other, hints)
        if other.name == obj.name or other_word in (None, word):
            continue
        out |= found[other.name].mask if other.name in found else region_of(other_word)
    for other_word in set(other_words or ()) - {word_of(o, hints) for o in objects} - {None}:
        out |= region_of(other_word)
    return out


def _word_score(
    cand: Candidate, prior: str | None, camera: PinholeCamera, table: np.ndarray | None, rivals: np.ndarray
) -> float:
    """How likely a region of the named colour is the object (0: not at all): large, of the name's shape, standing
    on the table, and not a lit or shaded face of a neighbour named by another colour (an orange cup's top can
    render yellow). A region almost wholly off the table and cut by the image's edge is the scenery beyond it (a
    black backdrop 150 times a black ball's area outscored the ball however little of it lay on the table)."""
    score = float(cand.area)
    if prior:
        score *= 1.0 + 0.5 * _shape_score(prior, camera, cand.mask)
    if table is not None:
        on_table = (cand.mask & table).sum() / cand.area
        if on_table < BEYOND_SHARE and _at_border(cand, table.shape):
            return 0.0  # scenery beyond the table (a black backdrop), not a black ball standing on it
        score *= 0.02 + on_table
    if rivals.any():
        score *= max(0.0, 1.0 - RIVAL_PENALTY * border_share(cand.mask, rivals, outside_hull=True))
    return score


def _at_border(cand: Candidate, shape: tuple[int, int]) -> bool:
    x0, y0, x1, y1 = cand.box
    return x0 == 0 or y0 == 0 or x1 >= shape[1] or y1 >= shape[0]


def _faces(mask: np.ndarray, rivals: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Regions of other named colours that are faces of this object: they touch it, and so much of their outline
    is this object's colour (outside their convex hull) that they are hardly an object of their own."""
    out = np.zeros_like(mask)
    for c in _components(binary_fill_holes(rivals)):
        if border_share(c.mask, mask) >= 0.1 and border_share(c.mask, own, outside_hull=True) >= FACE_SHARE:
            out |= c.mask
    return out


NOTCH_SHARE = 0.25  # notches larger than this share of the mask are not a highlight or a shaded face


def lit_highlights(
    mask: np.ndarray, image: np.ndarray, others: np.ndarray, table: np.ndarray | None = None
) -> np.ndarray:
    """Saturated highlights of the object's own colours that touch its mask (`colors.clipped_highlight`).

    Colour grounding drops a lit top whose strongest channel clipped (an orange bottle's top looks yellow); where
    such a highlight joins the mask, it is the object's top, not something beside it. Never the `table`: a bright
    cream table is near white, where a light shade's brightening path ends too (a red block grew over it).
    """
    if mask.sum() < 10:
        return np.zeros_like(mask)
    lit = clipped_highlight(image, reference_colors(image, mask)) & ~mask & ~others
    if table is not None:
        lit &= ~table
    _, labels = cv2.connectedComponents(lit.astype(np.uint8))
    touching = np.unique(labels[cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)])
    return np.isin(labels, touching[touching > 0])


JOIN_GAP = 2  # pixels: a part of the object's colour this close to its mask is cut off only by a seam (a lit edge)
JOIN_SHARE = 0.1  # smaller parts, and thin ones (a lit edge's fringe), are left to the mask's own refinement


def joined_parts(
    mask: np.ndarray, word: str, image_lab: np.ndarray, others: np.ndarray, table: np.ndarray
) -> np.ndarray:
    """Regions of the object's colour word that (nearly) touch its mask: other faces of the same object.

    A lit rim can cut an open container in two (its back wall and its front wall both read 'pink', the rim between
    them is brighter than the colour word allows): the grounding keeps the larger part, this adds the other.
    Never the `table`: a bright cream table is near a light yellow.
    """
    if mask.sum() < 10:
        return np.zeros_like(mask)
    region = word_region(word, image_lab) & ~mask & ~others & ~table
    region = cv2.morphologyEx(region.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    near = cv2.dilate(mask.astype(np.uint8), np.ones((2 * JOIN_GAP + 1,) * 2, np.uint8)).astype(bool)
    out = np.zeros_like(mask)
    for part in _components(region):
        if (part.mask & near).any() and part.area >= JOIN_SHARE * mask.sum():
            out |= part.mask
    return out


def fill_notches(mask: np.ndarray, image_lab: np.ndarray, table: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Pixels in a notch of the mask (inside its convex hull) that are neither table nor shadow nor another object.

    Colour grounding drops an object's highlight or darkest face (a bottle's shiny cap is not 'orange'); where
    that bites into the silhouette, what fills the bite is the object itself.
    """
    if mask.sum() < 10:
        return np.zeros_like(mask)
    hull = np.zeros(mask.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.argwhere(mask)[:, ::-1].astype(np.int32)), 1)
    table_lab = np.median(image_lab[table], axis=0) if table.any() else None
    notch = hull.astype(bool) & ~mask & ~table & ~others
    if table_lab is not None:
        notch &= ~shadow_like(image_lab, table_lab)
    notch = cv2.morphologyEx(notch.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)).astype(bool)
    if notch.sum() > NOTCH_SHARE * mask.sum():
        return np.zeros_like(mask)
    return notch


def roundness(mask: np.ndarray) -> float:
    """1 for a disc, lower for corners and elongation: a ball's silhouette is round from any camera."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return 0.0
    c = max(contours, key=cv2.contourArea)
    area, perimeter = cv2.contourArea(c), cv2.arcLength(c, True)
    if len(c) < 5 or perimeter == 0:
        return 0.0
    (_, _), (a, b), _ = cv2.fitEllipse(c)
    circularity = 4 * np.pi * area / (perimeter * perimeter)
    return float(np.clip((circularity - 0.75) / 0.2, 0.0, 1.0) * min(a, b) / max(a, b, 1e-6))


def _shape_score(kind: str, camera: PinholeCamera, mask: np.ndarray) -> float:
    """How well the silhouette suits the kind the name suggests: round for a sphere, not round otherwise (-1..0).

    Camera-free on purpose: it must work before the camera is known well.
    """
    r = roundness(mask)
    return float(r - 1.0) if kind == "sphere" else float(-0.5 * r)


def _grabcut(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w - 1, box[2]), min(h - 1, box[3])
    mask = np.zeros((h, w), np.uint8)
    seeded_grabcut(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), mask, (x0, y0, x1 - x0, y1 - y0), 4, cv2.GC_INIT_WITH_RECT)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
