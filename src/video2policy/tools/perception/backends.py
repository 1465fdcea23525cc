"""Which implementation runs each stage, and the seams where the paper's unpackaged models would plug in.

`classical` (the default) needs no weights. `models` uses transformers' Grounding DINO (ground), SAM 2 video
(segment) and Depth Anything / Depth Pro (depth) from local folders named in settings. A spec may also pick per
stage: "ground=models,segment=models,depth=classical". The mesh and pose stages have only the classical backend:
InstantMesh, UniDepth and FoundationPose are not packaged and need CUDA extensions (see NOT_PACKAGED).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from video2policy.tools.perception.errors import PerceptionError

MODEL_STAGES = ("ground", "segment", "depth")
CLASSICAL_ONLY = ("mesh", "scale", "pose")
NOT_PACKAGED = {
    "mesh": "no packaged image-to-mesh model: InstantMesh (the paper's) needs CUDA extensions; "
    "plug one in at video2policy.tools.perception.pipeline._Run._mesh",
    "pose": "no packaged 6D pose model: FoundationPose (the paper's) needs CUDA extensions; "
    "plug one in at video2policy.tools.perception.pipeline._Run._pose",
    "depth": "UniDepth (the paper's) is not packaged; use --backend models with Depth Anything or Depth Pro",
}


def resolve(spec: str) -> dict[str, str]:
    """'classical' | 'models' | 'stage=backend,...' -> a backend for every stage."""
    out = {s: "classical" for s in (*MODEL_STAGES, *CLASSICAL_ONLY)}
    spec = (spec or "classical").strip()
    if spec in ("classical", "models"):
        for stage in MODEL_STAGES:
            out[stage] = spec
        return out
    for part in spec.split(","):
        stage, sep, backend = part.partition("=")
        stage, backend = stage.strip(), backend.strip()
        if not sep or stage not in out or backend not in ("classical", "models"):
            raise PerceptionError(
                stage if stage in out else "video",
                None,
                f"backend {spec!r}: expected 'classical', 'models' or stage=backend pairs with stages "
                f"{', '.join(MODEL_STAGES)} and backends classical|models",
            )
        if backend == "models" and stage in CLASSICAL_ONLY:
            raise PerceptionError(stage, None, NOT_PACKAGED.get(stage, "only the classical backend exists"))
        out[stage] = backend
    return out


@dataclass
class DepthEstimate:
    depth: dict[int, np.ndarray]  # frame -> metres at working size
    focal_px: float | None  # at working size, when the model estimates it
    model: str


def models_depth(clip, frames: list[int], opts) -> DepthEstimate:
    from video2policy.tools.perception import models

    return models.estimate_depth(clip, frames, opts)


def models_ground(image: np.ndarray, objects, opts, scale: float):
    from video2policy.tools.perception import models

    return models.ground(image, objects, opts, scale)


def models_segment(clip, key_masks: dict, opts, progress: Callable[[int, int], None]):
    from video2policy.tools.perception import models

    return models.segment(clip, key_masks, opts, progress)
