"""Build a MuJoCo model from a SceneSpec with `mujoco.MjSpec`: table, robot, objects and cameras.

Every object gets a free joint and its own body named after it. Primitives map to MuJoCo geoms; mesh objects
get a visual mesh (no contacts) plus their convex parts as collision geoms. Mass comes from the scene (or from
size and density), and MuJoCo computes the inertia from the collision geometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

from video2policy.scene import Camera, SceneObject, SceneSpec
from video2policy.tools.sim.robot import Robot

TIMESTEP = 0.005
TABLE_THICKNESS = 0.04
CAMERA_SIZE = (256, 256)


@dataclass
class CompiledScene:
    """The compiled model plus the indices the environment and renderer need."""

    model: mujoco.MjModel
    spec: mujoco.MjSpec
    scene: SceneSpec
    robot: Robot
    object_names: list[str]
    obj_qpos: dict[str, int] = field(default_factory=dict)  # first qpos index of each free joint
    obj_qvel: dict[str, int] = field(default_factory=dict)
    obj_geoms: dict[str, list[int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def rest_height(self, name: str) -> float:
        """z of the object frame when it rests upright on the table (its bounding-box centre)."""
        return self.scene.object(name).size[2] / 2


def build(scene: SceneSpec, robot: Robot, scene_dir: Path | str = ".") -> CompiledScene:
    """Compile the scene with the robot; mesh paths are resolved against `scene_dir`."""
    scene_dir = Path(scene_dir)
    spec = mujoco.MjSpec()
    spec.modelname = scene.task_title or "video2policy"
    spec.option.timestep = TIMESTEP
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.visual.global_.offwidth = 1024
    spec.visual.global_.offheight = 1024
    warnings: list[str] = []

    _add_environment(spec, scene)
    robot.add_to_spec(spec)
    for obj in scene.objects:
        _add_object(spec, obj, scene_dir, warnings)
    _add_cameras(spec, scene)

    model = spec.compile()
    robot.bind(model)
    compiled = CompiledScene(
        model=model,
        spec=spec,
        scene=scene,
        robot=robot,
        object_names=[o.name for o in scene.objects],
        warnings=warnings,
    )
    for obj in scene.objects:
        jnt = model.joint(f"{obj.name}_free").id
        compiled.obj_qpos[obj.name] = int(model.jnt_qposadr[jnt])
        compiled.obj_qvel[obj.name] = int(model.jnt_dofadr[jnt])
        body = model.body(obj.name).id
        compiled.obj_geoms[obj.name] = [g for g in range(model.ngeom) if model.geom_bodyid[g] == body]
    return compiled


def _add_environment(spec: mujoco.MjSpec, scene: SceneSpec) -> None:
    sx, sy = scene.table.size
    world = spec.worldbody
    spec.add_texture(
        name="grid",
        type=mujoco.mjtTexture.mjTEXTURE_2D,
        builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.55, 0.55, 0.58],
        rgb2=[0.45, 0.45, 0.48],
        width=256,
        height=256,
    )
    spec.add_material(name="floor", textures=["", "grid"], texrepeat=[8, 8])
    world.add_light(
        name="sun",
        pos=[0, -0.5, 2.0],
        dir=[0, 0.3, -1],
        diffuse=[0.8, 0.8, 0.8],
        type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL,
        castshadow=True,
    )
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    world.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[3, 3, 0.1],
        pos=[0, 0, -scene.table.height],
        material="floor",
    )
    world.add_geom(
        name="table",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[sx / 2, sy / 2, TABLE_THICKNESS / 2],
        pos=[0, 0, -TABLE_THICKNESS / 2],
        rgba=[0.82, 0.72, 0.58, 1],
        friction=[1.0, 0.005, 0.0001],
    )
    leg = (scene.table.height - TABLE_THICKNESS) / 2
    world.add_geom(
        name="table_base",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[sx / 2.5, sy / 2.5, leg],
        pos=[0, 0, -TABLE_THICKNESS - leg],
        rgba=[0.5, 0.42, 0.33, 1],
        contype=0,
        conaffinity=0,
    )


def primitive_volume(obj: SceneObject) -> float:
    length, w, h = obj.size
    r = max(length, w) / 2
    return {
        "box": length * w * h,
        "cylinder": math.pi * r * r * h,
        "sphere": 4 / 3 * math.pi * (max(obj.size) / 2) ** 3,
        "capsule": math.pi * r * r * max(h - 2 * r, 0) + 4 / 3 * math.pi * r**3,
        "ellipsoid": 4 / 3 * math.pi * length * w * h / 8,
    }[obj.shape]


def _primitive_geom(obj: SceneObject) -> tuple[int, list[float]]:
    length, w, h = obj.size
    r = max(length, w) / 2
    g = mujoco.mjtGeom
    return {
        "box": (g.mjGEOM_BOX, [length / 2, w / 2, h / 2]),
        "cylinder": (g.mjGEOM_CYLINDER, [r, h / 2, 0]),
        "sphere": (g.mjGEOM_SPHERE, [max(obj.size) / 2, 0, 0]),
        "capsule": (g.mjGEOM_CAPSULE, [r, max(h / 2 - r, 1e-4), 0]),
        "ellipsoid": (g.mjGEOM_ELLIPSOID, [length / 2, w / 2, h / 2]),
    }[obj.shape]


def load_mesh_vertices(
    path: Path, scale: float, centre: np.ndarray | None = None
) -> tuple[trimesh.Trimesh, np.ndarray]:
    """Load a mesh scaled by rho and shifted so `centre` (default: its bounding-box centre) is the origin."""
    mesh = trimesh.load(path, force="mesh")
    mesh.apply_scale(scale)
    if centre is None:
        centre = mesh.bounds.mean(axis=0)
    mesh.apply_translation(-centre)
    return mesh, centre


def _add_object(spec: mujoco.MjSpec, obj: SceneObject, scene_dir: Path, warnings: list[str]) -> None:
    body = spec.worldbody.add_body(name=obj.name, pos=[0, 0, obj.size[2] / 2])
    body.add_freejoint(name=f"{obj.name}_free")
    friction = [obj.friction, 0.005, 0.0001]
    if obj.shape != "mesh":
        gtype, size = _primitive_geom(obj)
        density = obj.mass / primitive_volume(obj) if obj.mass else obj.density
        body.add_geom(
            name=obj.name, type=gtype, size=size, rgba=list(obj.color), density=density, friction=friction, condim=4
        )
        return

    visual, centre = load_mesh_vertices(scene_dir / obj.mesh, obj.scale)
    _add_mesh_asset(spec, f"{obj.name}_visual", visual)
    parts = [load_mesh_vertices(scene_dir / p, obj.scale, centre)[0] for p in obj.collision]
    if not parts:
        warnings.append(f"object {obj.name!r} has no convex parts: colliding with the convex hull of its mesh")
        parts = [visual.convex_hull]
    volume = sum(p.convex_hull.volume for p in parts)
    density = obj.mass / volume if obj.mass else obj.density
    body.add_geom(
        name=f"{obj.name}_visual",
        type=mujoco.mjtGeom.mjGEOM_MESH,
        meshname=f"{obj.name}_visual",
        rgba=list(obj.color),
        contype=0,
        conaffinity=0,
        group=1,
        density=0,
    )
    for i, part in enumerate(parts):
        _add_mesh_asset(spec, f"{obj.name}_part{i}", part)
        body.add_geom(
            name=f"{obj.name}_part{i}",
            type=mujoco.mjtGeom.mjGEOM_MESH,
            meshname=f"{obj.name}_part{i}",
            rgba=[*obj.color[:3], 0.0],
            group=3,
            density=density,
            friction=friction,
            condim=4,
        )


def _add_mesh_asset(spec: mujoco.MjSpec, name: str, mesh: trimesh.Trimesh) -> None:
    asset = spec.add_mesh(name=name)
    asset.uservert = np.asarray(mesh.vertices, dtype=np.float32).ravel().tolist()
    asset.userface = np.asarray(mesh.faces, dtype=np.int32).ravel().tolist()


def _add_cameras(spec: mujoco.MjSpec, scene: SceneSpec) -> None:
    world = spec.worldbody
    _sx, sy = scene.table.size
    _look_at_camera(world, "front", eye=(0.0, -0.75 * sy - 0.35, 0.55), target=(0.0, 0.0, 0.0), fovy=55)
    _look_at_camera(world, "top", eye=(0.0, -0.01, 1.3), target=(0.0, 0.0, 0.0), fovy=50)
    if scene.camera is not None:
        pos, quat, fovy = mujoco_camera_from_cv(scene.camera)
        world.add_camera(name="video", pos=list(pos), quat=list(quat), fovy=fovy)


def _look_at_camera(world, name: str, eye, target, fovy: float) -> None:
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    forward = target - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0, 0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    rot = np.stack([right, up, -forward], axis=1)  # MuJoCo camera: x right, y up, looks along -z
    xyzw = Rotation.from_matrix(rot).as_quat()
    world.add_camera(name=name, pos=eye.tolist(), quat=[xyzw[3], *xyzw[:3]], fovy=fovy)


def mujoco_camera_from_cv(camera: Camera) -> tuple[np.ndarray, np.ndarray, float]:
    """Position, MuJoCo quaternion (wxyz) and vertical field of view for an OpenCV-convention camera."""
    w, x, y, z = camera.quat
    r_cv = Rotation.from_quat([x, y, z, w]).as_matrix()
    r_mj = r_cv @ np.diag([1.0, -1.0, -1.0])
    xyzw = Rotation.from_matrix(r_mj).as_quat()
    k = camera.intrinsics
    fovy = math.degrees(2 * math.atan(k.height / (2 * k.fy)))
    return np.asarray(camera.position), np.array([xyzw[3], *xyzw[:3]]), fovy
