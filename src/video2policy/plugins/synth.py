"""Synthetic videos with ground truth: a behavior done on a table by a visible hand proxy, seen by a random camera.

The scene comes from the behavior's `synth_objects` (plus up to two distractors), the initial layout from its
reference task code's reset, the motion from its scripted demonstration, all in the batched MuJoCo environment.
The output folder holds video.mp4, gt.json (a SceneSpec with true sizes, per-frame poses, camera intrinsics and
pose), task.py (the reference task code for this scene), assets/ (meshes) and, if asked, depth/ and masks/.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from collections.abc import Callable
from pathlib import Path

import cv2
import mujoco
import numpy as np
import torch
from scipy.spatial.transform import Rotation

from video2policy.plugins.api import Behavior, ObjectSpec
from video2policy.plugins.meshes import make_mesh, save_mesh
from video2policy.plugins.toolkit import colors, distractor
from video2policy.scene import Camera, Intrinsics, Pose, Provenance, SceneObject, SceneSpec, VideoInfo

SKIN = (0.87, 0.66, 0.53, 1.0)
MAX_OBJECTS = 3
MIN_VISIBLE_PIXELS = 30
TAIL_FRAMES = 6  # frames kept after the behavior succeeds


class SynthError(RuntimeError):
    """A synthetic video that could not be made (the message says which stage)."""


@dataclasses.dataclass
class SynthResult:
    out_dir: Path
    scene: SceneSpec
    roles: dict[str, str]
    success: bool
    frames: int
    video: Path
    gt: Path


def object_name(label: str, taken: set[str]) -> str:
    """A Python identifier from a label, unique among `taken`."""
    base = re.sub(r"\W+", "_", label.strip().lower()).strip("_") or "obj"
    base = base if base[0].isalpha() else f"obj_{base}"
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def synth_scene(behavior: Behavior, seed: int, out_dir: Path, distractors: int | None = None) -> tuple:
    """SceneSpec (no poses yet), role -> object name and role -> label for a seeded synthetic scene of `behavior`.

    Mesh objects are written to out_dir/assets/. `distractors` None: a random number up to three objects in all.
    """
    rng = np.random.default_rng(seed)
    specs = list(behavior.synth_objects(rng))
    room = MAX_OBJECTS - len(specs)
    extra = int(rng.integers(0, room + 1)) if distractors is None else min(distractors, max(room, 0))
    palette = colors(rng, len(specs) + extra + 2)
    used = {s.label.split()[0] for s in specs}
    free = [c for c in palette if c[0] not in used]
    specs += [distractor(rng, free[i % len(free)]) for i in range(extra)]
    taken: set[str] = set()
    objects, roles, labels = [], {}, {}
    for spec in specs:
        name = object_name(spec.label, taken)
        objects.append(_scene_object(spec, name, out_dir, rng))
        if spec.role:
            roles[spec.role], labels[spec.role] = name, spec.label
    scene = SceneSpec(
        task_title=f"synthetic {behavior.name} (seed {seed})",
        caption=behavior.caption(labels),
        behavior=behavior.name,
        objects=objects,
    )
    return scene, roles, labels


def _scene_object(spec: ObjectSpec, name: str, out_dir: Path, rng: np.random.Generator) -> SceneObject:
    common = dict(name=name, label=spec.label, mass=spec.mass, color=spec.color, friction=spec.friction)
    if spec.shape != "mesh":
        return SceneObject(shape=spec.shape, size=spec.size, **common)
    visual, parts = make_mesh(spec.mesh_kind or "rock", spec.size, rng)
    mesh, collision = save_mesh(visual, parts, out_dir / "assets", name)
    size = tuple(round(float(x), 5) for x in visual.extents)
    return SceneObject(
        shape="mesh", mesh=f"assets/{mesh}", collision=[f"assets/{c}" for c in collision], size=size, **common
    )


def random_camera(rng: np.random.Generator, look_at: np.ndarray, width: int, height: int) -> Camera:
    """A third-person camera in front of the table looking down at `look_at` (Something-Something framing)."""
    yaw = math.radians(rng.uniform(-30, 30))
    elevation = math.radians(rng.uniform(25, 55))
    distance = rng.uniform(0.55, 0.8)
    roll = math.radians(rng.uniform(-4, 4))
    offset = np.array([math.sin(yaw) * math.cos(elevation), -math.cos(yaw) * math.cos(elevation), math.sin(elevation)])
    eye = look_at + distance * offset
    forward = (look_at - eye) / np.linalg.norm(look_at - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rot = np.stack([right, down, forward], axis=1) @ Rotation.from_rotvec([0, 0, roll]).as_matrix()
    x, y, z, w = Rotation.from_matrix(rot).as_quat()
    hfov = math.radians(rng.uniform(50, 65))
    fx = width / 2 / math.tan(hfov / 2)
    intrinsics = Intrinsics(fx=fx, fy=fx, cx=width / 2, cy=height / 2, width=width, height=height)
    return Camera(
        intrinsics=intrinsics,
        position=tuple(float(v) for v in eye),
        quat=(float(w), float(x), float(y), float(z)),
        intrinsics_source="synthetic",
        pose_source="synthetic",
    )


def render_model(scene: SceneSpec, scene_dir: Path, robot: str = "gripper"):
    """The scene compiled again for rendering: skin-coloured hand with a forearm, same state layout as the env."""
    from video2policy.tools.sim.builder import build
    from video2policy.tools.sim.robot import make_robot

    compiled = build(scene, make_robot(robot), scene_dir)
    spec = compiled.spec
    hand = spec.body(compiled.robot.name)
    for geom in spec.geoms:
        body = geom.parent
        if body is not None and (body.name == hand.name or body.name.startswith("finger")):
            geom.rgba = list(SKIN)
    hand.add_geom(
        name="forearm",
        type=mujoco.mjtGeom.mjGEOM_CAPSULE,
        fromto=[0, 0, 0.095, 0, -0.1, 0.32],
        size=[0.035, 0, 0],
        rgba=list(SKIN),
        contype=0,
        conaffinity=0,
        density=0,
    )
    model = spec.compile()
    compiled.robot.bind(model)
    obj_geoms = {
        name: [g for g in range(model.ngeom) if model.geom_bodyid[g] == model.body(name).id]
        for name in compiled.object_names
    }
    return dataclasses.replace(compiled, model=model, obj_geoms=obj_geoms)


def _set_camera(model: mujoco.MjModel, camera: Camera) -> None:
    from video2policy.tools.sim.builder import mujoco_camera_from_cv

    pos, quat, fovy = mujoco_camera_from_cv(camera)
    cam = model.camera("video").id
    model.cam_pos[cam], model.cam_quat[cam], model.cam_fovy[cam] = pos, quat, fovy


def synthesize(
    behavior: Behavior,
    seed: int,
    out_dir: str | Path,
    size: tuple[int, int] = (320, 240),
    fps: float = 15.0,
    depth: bool = False,
    masks: bool = False,
    distractors: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SynthResult:
    """Render one synthetic video of `behavior` with ground truth into `out_dir` (see the module docstring)."""
    from video2policy.tools.sim import TaskEnv, load_task_class
    from video2policy.tools.sim.render import SceneRenderer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    width, height = size
    rng = np.random.default_rng([seed, 1])
    scene, roles, labels = synth_scene(behavior, seed, out_dir, distractors)
    code = behavior.render_task_code(roles, labels=labels)
    (out_dir / "task.py").write_text(code)
    task = load_task_class(out_dir / "task.py")()
    steps = behavior.demo_steps
    # a provisional camera so the scene compiles with a "video" camera; the real one is chosen below
    scene.camera = random_camera(rng, np.zeros(3), width, height)
    env = TaskEnv(
        scene,
        task,
        num_envs=1,
        seed=seed,
        scene_dir=out_dir,
        horizon=steps + TAIL_FRAMES + 2,
        control_period=1.0 / fps,
        nthread=1,
    )
    compiled = render_model(scene, out_dir)
    renderer = SceneRenderer(compiled, width=width, height=height)
    try:
        scene.camera = _choose_camera(rng, env, renderer, roles, width, height)
        frames, success = _record(behavior, env, renderer, roles, steps, out_dir, fps, depth, masks, progress)
    finally:
        renderer.close()

    names = env.object_names
    for name in names:
        obj = scene.object(name)
        obj.poses = [
            Pose(frame=k, time=round(k / fps, 6), position=tuple(p[name][0]), quat=tuple(p[name][1]))
            for k, p in enumerate(frames)
        ]
        obj.first, obj.last = obj.poses[0], obj.poses[-1]
    video = out_dir / "video.mp4"
    scene.video = VideoInfo(
        path="video.mp4",
        fps=fps,
        width=width - width % 2,
        height=height - height % 2,
        frame_count=len(frames),
        sha256=hashlib.sha256(video.read_bytes()).hexdigest(),
    )
    scene.provenance = Provenance(
        stages={
            "synth": {
                "behavior": behavior.name,
                "seed": seed,
                "roles": roles,
                "labels": labels,
                "success": success,
                "frames": len(frames),
                "depth": "depth/%05d.png (uint16 millimetres)" if depth else None,
                "masks": "masks/%05d.png (0 background, k = objects[k-1], K+1 hand)" if masks else None,
            }
        }
    )
    gt = scene.save(out_dir / "gt.json")
    return SynthResult(out_dir, scene, roles, success, len(frames), video, gt)


def _choose_camera(rng, env, renderer, roles, width, height, tries: int = 30) -> Camera:
    """Sample cameras until every object shows at least MIN_VISIBLE_PIXELS pixels in the first frame."""
    state = env.physics_state()[0]
    renderer.set_state(state)
    pts = np.stack([env.states[f"{n}_pos"][0].numpy() for n in roles.values()])
    centre = pts.mean(axis=0)
    best, best_score = None, -1
    for _ in range(tries):
        look_at = centre + np.array([rng.uniform(-0.05, 0.05), rng.uniform(-0.03, 0.05), 0.0])
        camera = random_camera(rng, look_at, width, height)
        _set_camera(renderer.model, camera)
        renderer.set_state(state)
        seg = renderer.segmentation("video")
        counts = [int((seg == k + 1).sum()) for k in range(len(env.object_names))]
        score = min(counts)
        if score >= MIN_VISIBLE_PIXELS:
            return camera
        if score > best_score:
            best, best_score = camera, score
    _set_camera(renderer.model, best)
    return best


def _record(behavior, env, renderer, roles, steps, out_dir, fps, depth, masks, progress):
    from video2policy.tools.sim.render import VideoWriter

    if depth:
        (out_dir / "depth").mkdir(exist_ok=True)
    if masks:
        (out_dir / "masks").mkdir(exist_ok=True)
    frames: list[dict] = []
    success, tail = False, 0
    with VideoWriter(out_dir / "video.mp4", fps=fps) as video:
        for t in range(steps + 1):
            state = env.physics_state()[0]
            renderer.set_state(state)
            video.write(renderer.rgb("video"))
            k = len(frames)
            if depth:
                mm = np.clip(renderer.depth("video") * 1000.0, 0, 65535).astype(np.uint16)
                cv2.imwrite(str(out_dir / "depth" / f"{k:05d}.png"), mm)
            if masks:
                cv2.imwrite(str(out_dir / "masks" / f"{k:05d}.png"), renderer.segmentation("video").astype(np.uint8))
            frames.append(
                {
                    n: (
                        [round(float(v), 5) for v in env.states[f"{n}_pos"][0]],
                        [round(float(v), 6) for v in env.states[f"{n}_quat"][0]],
                    )
                    for n in env.object_names
                }
            )
            if progress:
                progress(t, steps)
            if bool(behavior.success(env.states, roles)[0]):
                success = True
            if success:
                tail += 1
                if tail > TAIL_FRAMES:
                    break
            if t == steps:
                break
            with torch.no_grad():
                env.step(behavior.scripted_action(env.states, roles, t))
    return frames, success
