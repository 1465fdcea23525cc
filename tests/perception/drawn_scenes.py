"""A fixed camera over the table and solids drawn as filled silhouettes: small images the perception tests fit."""

from __future__ import annotations

import cv2
import numpy as np

from video2policy.tools.perception.geometry import PinholeCamera, look_at
from video2policy.tools.perception.shapes import Solid

W, H = 320, 240


def camera() -> PinholeCamera:
    eye = np.array([0.05, -0.45, 0.4])
    f = W / 2 / np.tan(np.radians(30))
    return PinholeCamera(f, f, W / 2, H / 2, W, H, look_at(eye, np.array([0.0, 0.05, 0.0])), eye)


def draw(solid: Solid, cam: PinholeCamera) -> np.ndarray:
    return draw_points(solid.surface_points(), cam)


def draw_points(points: np.ndarray, cam: PinholeCamera) -> np.ndarray:
    """The filled convex outline of table-frame points (a solid's surface, a mesh's vertices) seen by `cam`."""
    uv, _ = cam.project(points)
    mask = np.zeros((H, W), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(uv).astype(np.int32)), 1)
    return mask.astype(bool)


def paint_box(solid: Solid, cam: PinholeCamera, top: tuple, sides: tuple, seed: int = 0) -> np.ndarray:
    """An RGB image of a box lit from above: the silhouette in the sides' colour, the top face brighter, noise."""
    corners = solid.corners()
    uv, _ = cam.project(corners)
    image = np.full((H, W, 3), (235, 230, 200), np.uint8)
    cv2.fillConvexPoly(image, cv2.convexHull(np.round(uv).astype(np.int32)), sides)
    cv2.fillConvexPoly(image, cv2.convexHull(np.round(uv[corners[:, 2] > solid.position[2]]).astype(np.int32)), top)
    noise = np.random.default_rng(seed).normal(0, 3, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def render_solid(
    solid: Solid, cam: PinholeCamera, rgba: tuple = (0.9, 0.5, 0.15, 1.0)
) -> tuple[np.ndarray, np.ndarray]:
    """A cylinder, capsule or cone on a table rendered by MuJoCo (its own lighting and shading, not ours) from
    `cam`: the RGB image and the object's mask."""
    import mujoco
    import trimesh

    from video2policy.scene import Camera, Intrinsics
    from video2policy.tools.perception.geometry import quat_wxyz
    from video2policy.tools.sim.builder import mujoco_camera_from_cv

    spec = mujoco.MjSpec()
    spec.visual.headlight.ambient = (0.3, 0.3, 0.3)
    spec.visual.headlight.diffuse = (0.3, 0.3, 0.3)
    world = spec.worldbody
    sun = mujoco.mjtLightType.mjLIGHT_DIRECTIONAL
    world.add_light(pos=(0.1, -0.2, 1.0), dir=(-0.1, 0.2, -1.0), diffuse=(0.7, 0.7, 0.7), type=sun)
    world.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=(1, 1, 0.01), rgba=(0.92, 0.9, 0.78, 1))
    radius = solid.size[0] / 2
    quat = quat_wxyz(solid.rotation)
    if solid.kind == "cone":  # no such primitive: a fine mesh, its bounding box centred on the solid's position
        cone = trimesh.creation.cone(radius=radius, height=solid.size[2], sections=64)
        cone.apply_translation([0.0, 0.0, -solid.size[2] / 2])
        spec.add_mesh(name="cone", uservert=cone.vertices.flatten(), userface=cone.faces.flatten())
        world.add_geom(type=mujoco.mjtGeom.mjGEOM_MESH, meshname="cone", pos=solid.position, quat=quat, rgba=rgba)
    else:
        if solid.kind == "capsule":
            geom_type, half = mujoco.mjtGeom.mjGEOM_CAPSULE, solid.size[2] / 2 - radius
        else:
            geom_type, half = mujoco.mjtGeom.mjGEOM_CYLINDER, solid.size[2] / 2
        world.add_geom(type=geom_type, size=(radius, half, 0), pos=solid.position, quat=quat, rgba=rgba)
    intrinsics = Intrinsics(fx=cam.fx, fy=cam.fy, cx=cam.cx, cy=cam.cy, width=W, height=H)
    pos, quat, fovy = mujoco_camera_from_cv(Camera(intrinsics=intrinsics, position=cam.t, quat=quat_wxyz(cam.R)))
    world.add_camera(name="view", pos=pos, quat=quat, fovy=fovy)
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    with mujoco.Renderer(model, height=H, width=W) as renderer:
        renderer.update_scene(data, camera="view")
        rgb = renderer.render().copy()
        renderer.enable_segmentation_rendering()
        renderer.update_scene(data, camera="view")
        segmentation = renderer.render()[..., 0].copy()
    return rgb, segmentation == 1
