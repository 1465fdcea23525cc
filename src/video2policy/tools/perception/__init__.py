"""Perception: a video of someone handling objects -> scene.json (SceneSpec) and simulator assets.

    from video2policy.tools.perception import perceive, PerceptionError
    scene = perceive("clip.mp4", "Pushing [cup] from right to left", None, "out/")

See pipeline.py for the stages and backends.py for the backends.
"""

from video2policy.tools.perception.errors import STAGES, PerceptionError
from video2policy.tools.perception.pipeline import PerceptionOptions, perceive

__all__ = ["STAGES", "PerceptionError", "PerceptionOptions", "perceive"]
