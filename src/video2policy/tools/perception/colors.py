"""Colour words and colour models: how the classical backend tells a 'red cup' from a 'blue can'."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter

# sRGB prototypes of the colour words people use in captions (0..1).
COLOR_WORDS = {
    "red": (0.85, 0.2, 0.18),
    "blue": (0.15, 0.35, 0.85),
    "green": (0.2, 0.65, 0.25),
    "yellow": (0.95, 0.8, 0.15),
    "orange": (0.95, 0.5, 0.1),
    "purple": (0.55, 0.25, 0.7),
    "violet": (0.55, 0.25, 0.7),
    "white": (0.92, 0.92, 0.9),
    "black": (0.12, 0.12, 0.14),
    "teal": (0.1, 0.6, 0.6),
    "cyan": (0.1, 0.75, 0.8),
    "pink": (0.95, 0.5, 0.7),
    "grey": (0.5, 0.5, 0.5),
    "gray": (0.5, 0.5, 0.5),
    "brown": (0.5, 0.3, 0.15),
    "magenta": (0.85, 0.2, 0.7),
}
ACHROMATIC = {"white", "black", "grey", "gray"}


# The usual colour of things named without a colour word (a weak prior for grounding, like mesh.SIZE_PRIORS).
TYPICAL_COLORS = {
    "garlic": "white",
    "egg": "white",
    "banana": "yellow",
    "lemon": "yellow",
    "tomato": "red",
    "strawberry": "red",
    "apple": "red",
    "orange": "orange",
    "carrot": "orange",
    "lime": "green",
    "cucumber": "green",
    "broccoli": "green",
}


def typical_color(label: str) -> str | None:
    """The colour a thing named without a colour word usually has ('garlic' is white), or None."""
    words = label.lower().replace("_", " ").split()
    return TYPICAL_COLORS.get(words[-1]) if words else None


SKIN_SHARE = 0.6  # a region mostly (this share) of skin's colour is the hand or arm, not a named object


def skin_like(pixels_lab: np.ndarray) -> np.ndarray:
    """Pixels (..., 3 Lab) of skin's hue and moderate colourfulness: the hand and arm of the person."""
    hue = np.degrees(np.arctan2(pixels_lab[..., 2], pixels_lab[..., 1]))
    chroma = np.hypot(pixels_lab[..., 1], pixels_lab[..., 2])
    return (hue > 35) & (hue < 75) & (chroma > 8) & (chroma < 40)


def lab(image: np.ndarray) -> np.ndarray:
    """RGB uint8 -> float Lab with L in 0..100 and a, b centred on 0."""
    out = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    out[..., 0] *= 100.0 / 255.0
    out[..., 1:] -= 128.0
    return out


def word_lab(word: str) -> np.ndarray:
    rgb = (np.array(COLOR_WORDS[word]) * 255).astype(np.uint8)[None, None]
    return lab(rgb)[0, 0]


def color_word(label: str) -> str | None:
    for word in label.lower().replace("_", " ").split():
        if word in COLOR_WORDS:
            return word
    return None


def color_match(word: str, pixels_lab: np.ndarray) -> float:
    """How well pixels (N, 3 Lab) fit a colour word, 0..1: chroma direction for colours, lightness for greys."""
    med = np.median(pixels_lab, axis=0)
    proto = word_lab(word)
    chroma = float(np.hypot(med[1], med[2]))
    if word in ACHROMATIC:
        if chroma > 25:
            return 0.0
        return float(np.clip(1.0 - abs(med[0] - proto[0]) / 40.0, 0.0, 1.0)) * (1.0 - chroma / 25.0)
    if chroma < 10:
        return 0.0
    angle = np.degrees(np.arccos(np.clip((med[1:] @ proto[1:]) / (chroma * np.hypot(*proto[1:])), -1, 1)))
    best = min(COLOR_WORDS, key=lambda w: _angle_to(w, med) if w not in ACHROMATIC else 1e9)
    bonus = 0.25 if best == word else 0.0
    return float(np.clip(1.0 - angle / 45.0, 0.0, 1.0)) * 0.75 + bonus


def _angle_to(word: str, med: np.ndarray) -> float:
    proto = word_lab(word)
    c = np.hypot(med[1], med[2]) * np.hypot(*proto[1:])
    return float(np.degrees(np.arccos(np.clip((med[1:] @ proto[1:]) / max(c, 1e-6), -1, 1))))


UNSEEN = 0.004  # likelihood of a colour seen in neither histogram (a shadow, a hand): it is not the object


class ColorModel:
    """Foreground/background colour histograms in Lab; `probability(image)` is P(object | colour) per pixel."""

    BINS = (8, 24, 24)
    RANGES = ((0, 100), (-90, 90), (-90, 90))

    def __init__(self, image_lab: np.ndarray, mask: np.ndarray, background: np.ndarray | None = None):
        bg = ~mask if background is None else background
        self.fg = self._hist(image_lab[mask])
        self.bg = self._hist(image_lab[bg])

    def _hist(self, pixels: np.ndarray) -> np.ndarray:
        hist, _ = np.histogramdd(pixels, bins=self.BINS, range=self.RANGES)
        hist = gaussian_filter(hist, sigma=0.8) + 1e-3 * max(hist.sum(), 1.0) / hist.size
        return hist / hist.sum()

    def copy(self) -> ColorModel:
        other = object.__new__(ColorModel)
        other.fg, other.bg = self.fg.copy(), self.bg.copy()
        return other

    def update(self, image_lab: np.ndarray, mask: np.ndarray, rate: float = 0.1) -> None:
        """Blend in the object's current colours (lighting changes as it moves)."""
        if mask.sum() >= 20:
            self.fg = (1 - rate) * self.fg + rate * self._hist(image_lab[mask])

    def probability(self, image_lab: np.ndarray) -> np.ndarray:
        idx = []
        for c, (n, (lo, hi)) in enumerate(zip(self.BINS, self.RANGES, strict=True)):
            idx.append(np.clip(((image_lab[..., c] - lo) / (hi - lo) * n).astype(np.int32), 0, n - 1))
        pf, pb = self.fg[tuple(idx)], self.bg[tuple(idx)]
        return pf / (pf + pb + UNSEEN)


# radians (17°): colour words whose hues lie this close name one colour, as people use them: violet and purple,
# orange and brown, pink and magenta (15° apart), teal and cyan (12°). A pink thing's lit body renders nearer
# magenta's hue than pink's, and a teal thing's lit side nearer cyan's; as rivals they cut it in two. Any value from
# 15° to 20° pairs the same words; purple and magenta (20°) stay apart.
SAME_HUE = 0.3


def word_region(word: str, image_lab: np.ndarray) -> np.ndarray:
    """Pixels whose colour a person would call `word`: the nearest hue among colour words, or lightness for greys."""
    L, a, b = image_lab[..., 0], image_lab[..., 1], image_lab[..., 2]
    chroma = np.hypot(a, b)
    if word in ACHROMATIC:
        grey = chroma < 12
        return grey & {"white": L > 75, "black": L < 28}.get(word, (L >= 28) & (L <= 75))
    proto = word_lab(word)
    p_chroma = float(np.hypot(proto[1], proto[2]))
    hue = np.arctan2(b, a)
    own = np.arctan2(proto[2], proto[1])
    words = [word] + [
        w
        for w in COLOR_WORDS
        if w not in ACHROMATIC
        and abs(np.angle(np.exp(1j * (np.arctan2(word_lab(w)[2], word_lab(w)[1]) - own)))) > SAME_HUE
    ]
    protos = np.array([np.arctan2(word_lab(w)[2], word_lab(w)[1]) for w in words])
    diff = np.abs(np.angle(np.exp(1j * (hue[..., None] - protos))))
    nearest = np.array(words)[np.argmin(diff, axis=-1)]
    mine = np.abs(np.angle(np.exp(1j * (hue - own))))
    return (chroma > max(12.0, 0.35 * p_chroma)) & (nearest == word) & (mine < np.radians(30))


CLIP_LEVEL = 250  # a channel at or above this has saturated: the camera lost what was beyond it
HIGHLIGHT_TOLERANCE = 25.0  # RGB distance from a colour's brightening path still counted as on it
DOMINANCE = 1.3  # a colour's strongest channel must exceed the next by this factor to saturate on its own
# (a pink shade leads by only 1.35: its lit top, red pinned at 255, turns magenta)


def reference_colors(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A few RGB colours (K, 3) that stand for an object: the medians of its darker, middle and lighter thirds."""
    pixels = image[mask].astype(np.float64)
    if len(pixels) < 3:
        return np.zeros((0, 3))
    order = np.argsort(pixels.sum(axis=1))
    return np.array([np.median(part, axis=0) for part in np.array_split(pixels[order], 3)])


def clipped_highlight(image: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Pixels (H, W, 3 RGB uint8) that show one of `references` lit so brightly that its strongest channel clipped.

    A camera saturates the lit top of an orange pen into yellow: red is pinned at 255 and the hue is gone, so a
    colour model learnt in shade calls it another colour. Such a pixel still lies on the path the reference takes
    as it brightens (strongest channel at 255, the others growing in proportion until they clip too). Only strongly
    coloured references count: a white or yellow object brightens into the colour of a cream table.
    """
    rgb = image.astype(np.float64)
    found = np.zeros(image.shape[:2], bool)
    for ref in np.asarray(references, np.float64):
        order = np.argsort(ref)[::-1]
        strongest, others = order[0], order[1:]
        if ref[strongest] < DOMINANCE * max(ref[order[1]], 1.0):
            continue
        # the scale that best explains the unclipped channels, at least the one that saturates the strongest
        scale = (rgb[..., others] @ ref[others]) / max(float(ref[others] @ ref[others]), 1e-6)
        scale = np.maximum(scale, 255.0 / max(ref[strongest], 1.0))
        path = np.minimum(scale[..., None] * ref, 255.0)
        near = np.linalg.norm(rgb - path, axis=-1) < HIGHLIGHT_TOLERANCE
        found |= near & (rgb[..., strongest] >= CLIP_LEVEL)
    return found
