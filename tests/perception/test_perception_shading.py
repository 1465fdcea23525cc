"""Round primitives told apart by their shading, on images MuJoCo renders with its own lights (no video, fast).

Seen steeply from above, a bottle with a round top and a short flat-topped one cast nearly the same outline once
segmentation loses a pixel of rim; the lit dome and the evenly lit disc tell them apart. Likewise a bottle lying
pointed away from the camera and one standing further off: a lit side is not a lit top.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from drawn_scenes import H, W, draw, render_solid
from scipy.spatial.transform import Rotation

from video2policy.tools.perception.caption import parse_objects, tipped_over
from video2policy.tools.perception.colors import lab
from video2policy.tools.perception.geometry import PinholeCamera, look_at
from video2policy.tools.perception.mesh import build_mesh_fit
from video2policy.tools.perception.pose import _lying, _stands, track_poses
from video2policy.tools.perception.shading import shading_r2, surface_normals
from video2policy.tools.perception.shapes import Solid, fit_on_table


def steep_camera() -> PinholeCamera:
    eye = np.array([0.0, -0.3, 0.7])
    f = W / 2 / np.tan(np.radians(30))
    return PinholeCamera(f, f, W / 2, H / 2, W, H, look_at(eye, np.array([0.0, 0.05, 0.0])), eye)


def test_normals_face_the_camera_where_a_ray_meets_a_ball_head_on_and_point_up_on_a_flat_top() -> None:
    cam = steep_camera()
    ball = Solid("sphere", np.array([0.06, 0.06, 0.06]), np.array([0.0, 0.05, 0.03]))
    centre = cam.project(ball.position[None])[0]
    normals, hit = surface_normals(ball, cam, centre)
    assert hit.all()
    assert np.allclose(normals[0], -cam.rays(centre)[0], atol=1e-6)  # the ray through the centre hits head-on

    can = Solid("cylinder", np.array([0.06, 0.06, 0.04]), np.array([0.0, 0.05, 0.02]))
    top = cam.project(np.array([[0.0, 0.05, 0.04]]))[0]
    beside = cam.project(np.array([[0.1, 0.05, 0.02]]))[0]
    normals, hit = surface_normals(can, cam, np.concatenate([top, beside]))
    assert hit.tolist() == [True, False]
    assert np.allclose(normals[0], [0.0, 0.0, 1.0], atol=1e-6)


def test_a_cones_normals_lean_out_from_its_side_by_its_slope() -> None:
    cam = steep_camera()
    cone = Solid("cone", np.array([0.05, 0.05, 0.06]), np.array([0.0, 0.05, 0.03]))
    radius, height = 0.025, 0.06
    for angle in (-np.pi / 2, -np.pi / 2 + 0.5, -np.pi / 2 - 0.5):  # the near side, halfway up
        point = cone.position + np.array([0.5 * radius * np.cos(angle), 0.5 * radius * np.sin(angle), 0.0])
        normals, hit = surface_normals(cone, cam, cam.project(point[None])[0])
        expected = np.array([np.cos(angle), np.sin(angle), radius / height])
        assert hit.all() and np.allclose(normals[0], expected / np.linalg.norm(expected), atol=1e-6), normals


def squat_cone(lying: bool) -> Solid:
    """A 5 cm wide, 3.6 cm tall cone standing, or lying on its slant (its tip and its rim on the table)."""
    size = np.array([0.05, 0.05, 0.036])
    if not lying:
        return Solid("cone", size, np.array([0.0, 0.05, 0.018]))
    rot = Rotation.from_rotvec([np.pi / 2 + np.arctan2(size[0] / 2, size[2]), 0.0, 0.0]).as_matrix()
    return Solid(
        "cone",
        size,
        np.array([0.0, 0.05, -np.min((Solid("cone", size, np.zeros(3), rot).surface_points())[:, 2])]),
        rot,
    )


def test_a_squat_cone_standing_is_told_from_one_lying_on_its_slant_by_its_shading() -> None:
    # synthetic push_with 52: a squat cone pushed along by a stick outlined as well lying on its slant as standing,
    # and was laid down; its lit slope, brightest towards the light, says it stands
    cam = steep_camera()
    standing, lying = squat_cone(False), squat_cone(True)
    fallen = _lying(standing, standing.position)[0]  # the lowest pose near a quarter turn about x: on its slant
    assert np.allclose(fallen.rotation[:, 2], lying.rotation[:, 2], atol=0.02), fallen.rotation
    rgb, mask = render_solid(standing, cam, rgba=(0.6, 0.3, 0.8, 1.0))
    assert _stands(standing, lying, cam, mask, rgb)
    rgb, mask = render_solid(lying, cam, rgba=(0.6, 0.3, 0.8, 1.0))
    assert not _stands(standing, lying, cam, mask, rgb)
    assert shading_r2(lying, cam, mask, lab(rgb)) > 0.8


def test_a_round_top_is_told_from_a_flat_one_by_its_shading() -> None:
    cam = steep_camera()
    bottles = {
        "capsule": Solid("capsule", np.array([0.06, 0.06, 0.072]), np.array([0.0, 0.05, 0.036])),
        "cylinder": Solid("cylinder", np.array([0.06, 0.06, 0.04]), np.array([0.0, 0.05, 0.02])),
    }
    for kind, truth in bottles.items():
        rgb, mask = render_solid(truth, cam)
        mask = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)  # the rim is lost
        fits = {k: fit_on_table(k, cam, mask) for k in bottles}
        # the premise: the silhouette alone cannot tell them apart
        assert abs(fits["capsule"][1] - fits["cylinder"][1]) < 0.02, {k: v[1] for k, v in fits.items()}
        r2 = {k: shading_r2(solid, cam, mask, lab(rgb)) for k, (solid, _) in fits.items()}
        other = next(k for k in bottles if k != kind)
        assert r2[kind] > r2[other] + 0.1, r2

        seen = np.array([True])
        fit = build_mesh_fit("orange bottle", mask[None], seen, cam, lambda t: None, image=lambda t, rgb=rgb: rgb)
        assert fit.kind == kind, fit.kind_reason
        if kind == "capsule":  # the silhouette alone would take the name's cylinder here
            assert fit.kind_reason.startswith("from the name and the shading"), fit.kind_reason


def low_camera() -> PinholeCamera:
    eye = np.array([0.0, -0.5, 0.3])
    f = W / 2 / np.tan(np.radians(30))
    return PinholeCamera(f, f, W / 2, H / 2, W, H, look_at(eye, np.array([0.0, 0.05, 0.0])), eye)


def fallen_bottle(degrees: float) -> Solid:
    """A 12.5 cm bottle tipped away from the camera about its far bottom edge."""
    size = np.array([0.05, 0.05, 0.125])
    rot = Rotation.from_euler("x", -degrees, degrees=True).as_matrix()
    pivot = np.array([0.0, 0.05 + size[0] / 2, 0.0])
    return Solid("cylinder", size, pivot + rot @ np.array([0.0, -size[0] / 2, size[2] / 2]), rot)


def bottle_knocked_over(cam: PinholeCamera) -> tuple[np.ndarray, list[np.ndarray], Callable[[int], np.ndarray | None]]:
    """Six frames of the bottle standing, then lying, fallen away from the camera, under the hand that pushed it
    (possible occluders over its upper part): masks, images and the occluders per frame."""
    standing, lying = (render_solid(fallen_bottle(d), cam) for d in (0, 90))
    ys, xs = np.nonzero(lying[1])
    hand = np.zeros((H, W), bool)
    hand[: ys.min() + int(0.3 * (ys.max() - ys.min())), xs.min() - 15 : xs.max() + 15] = True
    masks = np.stack([standing[1]] * 6 + [lying[1] & ~hand])
    return masks, [standing[0]] * 6 + [lying[0]], lambda t: hand & ~masks[t] if t == 6 else None


def test_a_bottle_knocked_over_away_from_the_camera_is_found_on_its_side_by_its_shading() -> None:
    # lying pointed away from the camera, with the hand above it, its outline is explained as well by the bottle
    # standing a few centimetres further away (its top under the hand): the silhouette alone keeps it standing, but
    # the lit side of a lying cylinder is not the lit top of a standing one
    cam = low_camera()
    masks, images, occluders = bottle_knocked_over(cam)
    start = fallen_bottle(0)
    start.size = 0.94 * start.size  # measured sizes come out a little small
    seen = np.ones(len(masks), bool)
    truth = fallen_bottle(90).position
    silhouette_only = track_poses(start, 0, masks, seen, cam, occluders, fps=15.0)[-1]
    assert np.linalg.norm(silhouette_only.position - truth) > 0.03, silhouette_only  # the premise
    shaded = track_poses(start, 0, masks, seen, cam, occluders, fps=15.0, image=lambda t: images[t])[-1]
    assert np.linalg.norm(shaded.position - truth) < 0.01, shaded.position
    assert abs(shaded.rotation[2, 2]) < 0.2, shaded.rotation  # its axis lies flat
    assert "on its side: shading" in shaded.method, shaded.method


def test_a_bottle_the_caption_says_was_tipped_over_ends_on_its_side() -> None:
    # the same clip without images: "Tipping [bottle] over" lets the lying reading win in the last frame, where it
    # fits nearly as well as standing; still standing at the end, the bottle stays standing
    cam = low_camera()
    masks, _, occluders = bottle_knocked_over(cam)
    start = fallen_bottle(0)
    start.size = 0.94 * start.size
    seen = np.ones(len(masks), bool)
    tipped = track_poses(start, 0, masks, seen, cam, occluders, fps=15.0, tipped=True)[-1]
    assert np.linalg.norm(tipped.position - fallen_bottle(90).position) < 0.01, tipped.position
    assert tipped.method.endswith("(on its side, as captioned)"), tipped.method
    standing = np.stack([masks[0]] * 7)
    kept = track_poses(start, 0, standing, seen, cam, lambda t: None, fps=15.0, tipped=True)[-1]
    assert np.linalg.norm(kept.position - start.position) < 0.01 and kept.rotation[2, 2] > 0.95, kept


def tube_falling_forwards(degrees: float) -> Solid:
    """A 14 cm tube tipped towards the camera about its near bottom edge."""
    size = np.array([0.048, 0.048, 0.142])
    rot = Rotation.from_euler("x", degrees, degrees=True).as_matrix()
    pivot = np.array([0.035, -0.09 - size[0] / 2, 0.0])
    return Solid("cylinder", size, pivot + rot @ np.array([0.0, size[0] / 2, size[2] / 2]), rot)


def test_a_tube_tipped_over_towards_the_camera_is_never_read_lifted_into_the_air() -> None:
    # synthetic tip_over 50: lying pointed at the camera, a tube read 10 % short outlines much like one tilted up in
    # the air nearer the camera; it was read lifted, and the last frame's pose floated 8.4 cm from where it lay. What
    # the caption tips over pivots on the table and lies there: it is never in the air.
    eye = np.array([0.22, -0.74, 0.43])
    cam = PinholeCamera(262.0, 262.0, W / 2, H / 2, W, H, look_at(eye, np.zeros(3)), eye)
    degrees = [0, 0, 0, 0, 20, 45, 70, 90, 90, 90, 90]
    masks = np.stack([draw(tube_falling_forwards(d), cam) for d in degrees])
    seen = np.ones(len(masks), bool)
    start = tube_falling_forwards(0)
    start.size = 0.9 * start.size
    poses = track_poses(start, 0, masks, seen, cam, lambda t: None, fps=15.0, tipped=True)
    assert np.linalg.norm(poses[-1].position - tube_falling_forwards(90).position) < 0.02, poses[-1]
    assert all(p.position[2] < start.position[2] + 0.01 for p in poses), [p.position for p in poses]


def test_the_captions_that_say_an_object_ends_on_its_side() -> None:
    cases = {
        "Tipping [orange bottle] over": "orange_bottle",
        "Knocking [cup] over": "cup",
        "Pushing [can] so that it falls over": "can",
        "Laying [bottle] on its side": "bottle",
        "Pushing [teal can] from left to right": None,
        "Moving [overcoat] next to [hat]": None,  # 'over' inside a name is not the verb's
        "Lifting [bottle] up": None,
    }
    for caption, name in cases.items():
        assert tipped_over(caption, parse_objects(caption)) == name, caption
