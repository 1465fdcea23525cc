"""The `models` backend's seam: Grounding DINO (ground), SAM 2 video (segment), Depth Anything / Depth Pro (depth).

Not implemented yet. The pipeline calls these three functions through backends.py; an implementation loads
transformers models from the local folders named in PerceptionOptions.model_paths (grounding_dino, sam2, depth)
and returns what the classical stages return:
- ground(image, objects, opts, scale) -> (dict name -> ground.Grounding, dict name -> why it was not found)
- segment(clip, key_masks, opts, progress) -> track.Tracks
- estimate_depth(clip, frames, opts) -> backends.DepthEstimate
Until then each raises a PerceptionError naming its stage, so `--backend models` fails clearly.
"""

from __future__ import annotations

from video2policy.tools.perception.errors import PerceptionError

_MISSING = (
    "the 'models' backend ({model}) is not implemented in this version; use --backend classical "
    "(see docs/perception.md, 'Backends')"
)


def ground(image, objects, opts, scale):
    raise PerceptionError("ground", None, _MISSING.format(model="Grounding DINO"))


def segment(clip, key_masks, opts, progress):
    raise PerceptionError("segment", None, _MISSING.format(model="SAM 2 video"))


def estimate_depth(clip, frames, opts):
    raise PerceptionError("depth", None, _MISSING.format(model="Depth Anything / Depth Pro"))
