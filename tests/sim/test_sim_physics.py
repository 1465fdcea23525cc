"""Physics: every primitive and a mesh object build, settle and stay; the gripper reaches the corners and grasps."""

from __future__ import annotations

import coacd
import numpy as np
import pytest
import torch
import trimesh

from video2policy.scene import SceneObject, SceneSpec
from video2policy.tools.sim import Task, TaskEnv


class StillTask(Task):
    """Places every object at a fixed, spread-out spot so settling is measured without neighbours."""

    def reset_objects_states(self, env_ids):
        for i, name in enumerate(self.object_names):
            pos = torch.tensor([-0.3 + 0.15 * i, 0.15, self.rest_height(name)]).expand(len(env_ids), 3)
            self.set_object_pose(name, env_ids, pos)

    def compute_success(self, states):
        return torch.zeros(self.num_envs, dtype=torch.bool)

    def compute_reward(self, actions, states):
        return torch.zeros(self.num_envs), {}


def _mesh_object(tmp_path) -> SceneObject:
    """An L-shaped (non-convex) mesh, decomposed into convex parts with CoACD."""
    shape = trimesh.util.concatenate(
        [
            trimesh.creation.box([0.08, 0.03, 0.03]),
            trimesh.creation.box(
                [0.03, 0.03, 0.07], transform=trimesh.transformations.translation_matrix([0.025, 0, 0.05])
            ),
        ]
    )
    shape.export(tmp_path / "ell.obj")
    parts = coacd.run_coacd(coacd.Mesh(shape.vertices, shape.faces), threshold=0.05)
    paths = []
    for i, (verts, faces) in enumerate(parts):
        trimesh.Trimesh(verts, faces).export(tmp_path / f"ell_part{i}.obj")
        paths.append(f"ell_part{i}.obj")
    extents = shape.bounds[1] - shape.bounds[0]
    return SceneObject(name="ell", shape="mesh", mesh="ell.obj", collision=paths, size=tuple(extents))


@pytest.fixture
def all_shapes_scene(tmp_path) -> SceneSpec:
    objects = [
        SceneObject(name=shape, shape=shape, size=size)
        for shape, size in [
            ("box", (0.05, 0.04, 0.06)),
            ("cylinder", (0.06, 0.06, 0.08)),
            ("sphere", (0.05, 0.05, 0.05)),
            ("capsule", (0.04, 0.04, 0.10)),
            ("ellipsoid", (0.06, 0.04, 0.03)),
        ]
    ]
    objects.append(_mesh_object(tmp_path))
    return SceneSpec(objects=objects)


def test_every_shape_settles_and_stays(all_shapes_scene, tmp_path):
    env = TaskEnv(all_shapes_scene, StillTask(), num_envs=1, scene_dir=tmp_path, horizon=1000)
    names = env.object_names
    assert len(env.compiled.warnings) == 0
    idle = torch.zeros(1, 7)
    idle[:, 6] = -1  # gripper open, no motion
    steps_per_second = round(1.0 / env.control_period)
    for _ in range(steps_per_second):
        env.step(idle)
    settled = {n: env.states[f"{n}_pos"].clone() for n in names}
    for name in names:
        speed = float(torch.linalg.vector_norm(env.states[f"{name}_vel_linear"]))
        spin = float(torch.linalg.vector_norm(env.states[f"{name}_vel_angular"]))
        assert speed < 1e-3 and spin < 1e-2, f"{name} still moving after 1 s: {speed:.2e} m/s, {spin:.2e} rad/s"
        assert abs(float(settled[name][0, 2]) - env.compiled.rest_height(name)) < 0.01, f"{name} not resting"
    for _ in range(10 * steps_per_second):
        env.step(idle)
    for name in names:
        drift = float(torch.linalg.vector_norm(env.states[f"{name}_pos"] - settled[name]))
        assert drift < 2e-3, f"{name} drifted {drift * 1000:.1f} mm over 10 s"


def _drive_to(env: TaskEnv, target: torch.Tensor, gripper: float, steps: int = 60) -> None:
    for _ in range(steps):
        action = torch.zeros(env.num_envs, 7)
        action[:, :3] = ((target - env.states["eef_pos"]) / 0.02).clamp(-1, 1)
        action[:, 6] = gripper
        env.step(action)


def test_gripper_reaches_table_corners(block_scene_path):
    scene = SceneSpec.load(block_scene_path)
    corners = torch.tensor([[x, y, 0.05] for x in (-0.45, 0.45) for y in (-0.35, 0.35)])
    env = TaskEnv(scene, StillTask(), num_envs=4, horizon=1000)
    _drive_to(env, corners, gripper=-1.0)
    error = torch.linalg.vector_norm(env.states["eef_pos"] - corners, dim=1)
    assert (error < 0.01).all(), f"corner errors {error.tolist()}"


def test_gripper_closes_on_block_and_lifts_it(block_scene_path):
    scene = SceneSpec.load(block_scene_path)
    env = TaskEnv(scene, StillTask(), num_envs=2, horizon=1000)
    block = env.states["block_pos"].clone()
    above = block + torch.tensor([0, 0, 0.1])
    _drive_to(env, above, gripper=-1.0, steps=40)
    _drive_to(env, block, gripper=-1.0, steps=20)
    _drive_to(env, block, gripper=1.0, steps=15)
    width = env.states["gripper_width"]
    assert torch.allclose(width, torch.full_like(width, 0.05), atol=0.006), f"width on a 5 cm block: {width}"
    _drive_to(env, above, gripper=1.0, steps=30)
    lift = env.states["block_pos"][:, 2] - block[:, 2]
    assert (lift > 0.07).all(), f"block lifted only {lift.tolist()}"


def test_object_mass_follows_size_and_density(block_scene_path):
    scene = SceneSpec.load(block_scene_path)
    env = TaskEnv(scene, StillTask(), num_envs=1)
    mass = env.model.body_mass[env.model.body("block").id]
    assert mass == pytest.approx(0.05**3 * 500.0, rel=1e-6)
    scene.objects[0].mass = 0.2
    env = TaskEnv(scene, StillTask(), num_envs=1)
    assert env.model.body_mass[env.model.body("block").id] == pytest.approx(0.2, rel=1e-6)
    assert np.isfinite(env.physics_state()).all()
