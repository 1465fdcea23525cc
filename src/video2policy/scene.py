"""The scene.json contract (`SceneSpec`): what perception writes and everything downstream reads.

Lengths are metres, quaternions are ``wxyz``, and the world frame is the table frame: its origin is the
centre of the table top, z points up. Reading validates everything; a bad file fails with a message that
names the file and the field, and nothing is written.
"""

from __future__ import annotations

import json
import keyword
import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SCHEMA_VERSION = "1.0"

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
Shape = Literal["box", "cylinder", "sphere", "capsule", "ellipsoid", "mesh"]
Source = Literal["given", "estimated", "default", "synthetic"]


class SceneError(ValueError):
    """A scene file that cannot be used; the message names the file and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)


def _positive(values: tuple[float, ...], what: str) -> tuple[float, ...]:
    if any(v <= 0 for v in values):
        raise ValueError(f"{what} must be positive, got {list(values)}")
    return values


def _unit_quat(q: Quat) -> Quat:
    norm = math.sqrt(sum(c * c for c in q))
    if not 0.5 < norm < 2.0:
        raise ValueError(f"quaternion {list(q)} is not close to unit length (norm {norm:.3g})")
    return tuple(c / norm for c in q)  # type: ignore[return-value]


class VideoInfo(_Model):
    """The source video, so a scene can be traced back to the exact bytes it came from."""

    path: str
    fps: float = Field(gt=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    frame_count: int = Field(ge=0)
    sha256: str | None = None


class Intrinsics(_Model):
    fx: float = Field(gt=0)
    fy: float = Field(gt=0)
    cx: float
    cy: float
    width: int = Field(gt=0, description="image width in pixels the intrinsics refer to")
    height: int = Field(gt=0, description="image height in pixels the intrinsics refer to")


class Camera(_Model):
    """Pinhole camera; `position`/`quat` are the OpenCV camera frame (x right, y down, z forward) in the table frame."""

    intrinsics: Intrinsics
    position: Vec3
    quat: Quat
    intrinsics_source: Source = "default"
    pose_source: Source = "default"

    _q = field_validator("quat")(classmethod(lambda cls, q: _unit_quat(q)))


class Table(_Model):
    size: tuple[float, float] = (1.0, 0.8)
    height: float = Field(0.75, gt=0, description="height of the table top above the floor")

    _s = field_validator("size")(classmethod(lambda cls, v: _positive(v, "table size")))


class Pose(_Model):
    """One tracked pose of an object's frame (the centre of its bounding box) in the table frame."""

    frame: int = Field(ge=0)
    time: float = Field(ge=0)
    position: Vec3
    quat: Quat = (1.0, 0.0, 0.0, 0.0)
    confidence: float = Field(1.0, ge=0, le=1)

    _q = field_validator("quat")(classmethod(lambda cls, q: _unit_quat(q)))


class SceneObject(_Model):
    """One manipulated object: its geometry, physical properties and trajectory in the video."""

    name: str = Field(description="a Python identifier, used in state keys such as <name>_pos")
    label: str = Field("", description="the caption's words for it")
    shape: Shape = "mesh"
    mesh: str | None = Field(None, description="visual mesh path, relative to the scene file")
    collision: list[str] = Field(default_factory=list, description="convex parts, relative paths")
    size: Vec3 = Field(description="l, w, h of the scaled object (its bounding box), metres")
    scale: float = Field(1.0, gt=0, description="rho = D_image / D_mesh applied to the mesh")
    mass: float | None = Field(None, gt=0, description="kg; null: from size and density")
    density: float = Field(500.0, gt=0, description="kg/m^3, used when mass is null")
    friction: float = Field(1.0, gt=0)
    color: tuple[float, float, float, float] = (0.8, 0.3, 0.2, 1.0)
    poses: list[Pose] = Field(default_factory=list)
    first: Pose | None = None
    last: Pose | None = None

    _s = field_validator("size")(classmethod(lambda cls, v: _positive(v, "size")))

    @field_validator("name")
    @classmethod
    def _identifier(cls, name: str) -> str:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"object name {name!r} is not a Python identifier (use e.g. {_suggest(name)!r})")
        return name

    @model_validator(mode="after")
    def _mesh_needed(self) -> SceneObject:
        if self.shape == "mesh" and not self.mesh:
            raise ValueError(f"object {self.name!r} has shape 'mesh' but no mesh path")
        return self


def _suggest(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in name.strip().lower()).strip("_") or "obj"
    return cleaned if cleaned[0].isalpha() else f"obj_{cleaned}"


class Provenance(_Model):
    """Where each stage's output came from: backend and version, timings, warnings, failures."""

    stages: dict[str, dict] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    failures: dict[str, str] = Field(default_factory=dict)


class SceneSpec(_Model):
    """The whole reconstructed scene. See DESIGN.md, 'scene.json'."""

    schema_version: str = SCHEMA_VERSION
    task_title: str = ""
    caption: str = ""
    behavior: str | None = None
    video: VideoInfo | None = None
    camera: Camera | None = None
    table: Table = Field(default_factory=Table)
    objects: list[SceneObject] = Field(min_length=1)
    provenance: Provenance = Field(default_factory=Provenance)

    @model_validator(mode="after")
    def _unique_names(self) -> SceneSpec:
        seen: set[str] = set()
        for i, obj in enumerate(self.objects):
            if obj.name in seen:
                raise ValueError(f"objects[{i}].name {obj.name!r} is used twice; object names must be unique")
            seen.add(obj.name)
        return self

    def object(self, name: str) -> SceneObject:
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise KeyError(f"no object named {name!r} in the scene (objects: {[o.name for o in self.objects]})")

    # --- files -------------------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> SceneSpec:
        """Read and validate a scene file; mesh paths are checked relative to the file's folder."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise SceneError(f"{path}: no such scene file") from None
        except json.JSONDecodeError as exc:
            raise SceneError(f"{path}: not valid JSON ({exc})") from None
        try:
            scene = cls.model_validate(raw)
        except ValidationError as exc:
            raise SceneError(f"{path}: {_describe(exc)}") from None
        scene.check_files(path.parent, source=path)
        return scene

    def check_files(self, root: Path, source: Path | str | None = None) -> None:
        """Every mesh and collision part must exist below `root`."""
        where = source or root
        for i, obj in enumerate(self.objects):
            refs = [("mesh", obj.mesh)] if obj.mesh else []
            refs += [(f"collision[{j}]", p) for j, p in enumerate(obj.collision)]
            for field, rel in refs:
                if not (root / rel).is_file():
                    raise SceneError(f"{where}: objects[{i}].{field}: mesh file {rel!r} not found (looked in {root})")

    def save(self, path: str | Path) -> Path:
        """Validate, then write atomically: a scene that does not validate never reaches disk."""
        path = Path(path)
        checked = SceneSpec.model_validate(self.model_dump())
        checked.check_files(path.parent, source=path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(checked.model_dump_json(indent=2))
        tmp.replace(path)
        return path


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".") or "(root)"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def scene_json_schema() -> dict:
    """The JSON Schema of scene.json, as printed by `v2p schema scene`."""
    return SceneSpec.model_json_schema()
