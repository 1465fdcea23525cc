"""Expected perception failures: which stage failed, for which object, and why (no traceback for users)."""

from __future__ import annotations

STAGES = ("video", "ground", "segment", "depth", "mesh", "scale", "pose", "assets", "scene")


class PerceptionError(RuntimeError):
    """A stage could not produce its output. `object` is None for failures that concern the whole video."""

    def __init__(self, stage: str, object: str | None, message: str):
        self.stage = stage
        self.object = object
        self.message = message
        where = f"stage '{stage}'" + (f", object '{object}'" if object else "")
        super().__init__(f"perception failed at {where}: {message}")

    def to_dict(self) -> dict:
        return {"stage": self.stage, "object": self.object, "message": self.message}
