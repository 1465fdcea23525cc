"""The contact sheet: a few frames with each object's mask and tracked pose drawn on, for a person to check."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from video2policy.tools.perception.geometry import PinholeCamera
from video2policy.tools.perception.shapes import Solid

PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240)]
BOX_EDGES = [(0, 1), (0, 2), (1, 3), (2, 3), (4, 5), (4, 6), (5, 7), (6, 7), (0, 4), (1, 5), (2, 6), (3, 7)]


def draw_frame(
    image: np.ndarray,
    masks: list[np.ndarray],
    solids: list[Solid | None],
    names: list[str],
    camera: PinholeCamera,
    title: str,
) -> np.ndarray:
    out = image.copy()
    for k, (mask, solid) in enumerate(zip(masks, solids, strict=True)):
        colour = PALETTE[k % len(PALETTE)]
        if mask is not None and mask.any():
            out[mask] = (0.55 * out[mask] + 0.45 * np.array(colour)).astype(np.uint8)
        if solid is not None:
            uv, depth = camera.project(solid.corners())
            if (depth > 0).all():
                for a, b in BOX_EDGES:
                    cv2.line(
                        out,
                        tuple(np.round(uv[a]).astype(int)),
                        tuple(np.round(uv[b]).astype(int)),
                        colour,
                        1,
                        cv2.LINE_AA,
                    )
                axis_uv, _ = camera.project(
                    solid.position + 0.6 * solid.size.max() * np.vstack([np.zeros(3), solid.rotation.T])
                )
                for i, c in enumerate(((255, 0, 0), (0, 255, 0), (0, 0, 255))):
                    cv2.line(
                        out,
                        tuple(np.round(axis_uv[0]).astype(int)),
                        tuple(np.round(axis_uv[i + 1]).astype(int)),
                        c,
                        1,
                        cv2.LINE_AA,
                    )
            ys, xs = np.nonzero(mask) if mask is not None and mask.any() else ([12 + 12 * k], [4])
            cv2.putText(
                out,
                names[k],
                (int(np.min(xs)), max(10, int(np.min(ys)) - 3)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.35,
                colour,
                1,
                cv2.LINE_AA,
            )
    cv2.putText(out, title, (4, out.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def contact_sheet(tiles: list[np.ndarray], path: Path, columns: int = 3, width: int = 420) -> Path:
    """Tile the drawn frames into one PNG."""
    scaled = [
        cv2.resize(t, (width, round(t.shape[0] * width / t.shape[1])), interpolation=cv2.INTER_AREA) for t in tiles
    ]
    h = scaled[0].shape[0]
    while len(scaled) % columns:
        scaled.append(np.zeros((h, width, 3), np.uint8))
    rows = [np.hstack(scaled[i : i + columns]) for i in range(0, len(scaled), columns)]
    sheet = np.vstack(rows)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return path
