"""Shape and pose pieces of the classical backend on masks drawn from a known camera (no video, fast).

Each test renders silhouettes of a solid with the same projection the fits use, then checks that the fitting or
tracking code recovers what was drawn: a capsule's size, an object picked straight up, a bottle tipped onto its
side, a highlight bitten out of a colour mask, a cast shadow told from a dark object.
"""

from __future__ import annotations

import cv2
import numpy as np
from drawn_scenes import H, W, camera, draw, draw_points, paint_box
from scipy.spatial.transform import Rotation

from video2policy.tools.perception.caption import NamedObject
from video2policy.tools.perception.colors import lab, word_region
from video2policy.tools.perception.geometry import PinholeCamera, look_at
from video2policy.tools.perception.ground import (
    candidates_rgb,
    fill_notches,
    ground_objects,
    joined_parts,
    lit_highlights,
    table_region,
)
from video2policy.tools.perception.hollow import wall_thickness
from video2policy.tools.perception.mesh import build_mesh_fit, choose_kind, outline_noise
from video2policy.tools.perception.pose import PROPPED, TrackedPose, _landing, on_floor, track_poses, within_footprint
from video2policy.tools.perception.shapes import (
    Solid,
    fit_on_table,
    height_ratio,
    name_kinds,
    scaled_points,
    solid_from,
    solid_mesh,
    track_solid,
)
from video2policy.tools.perception.tipped import joint_box_size, on_side
from video2policy.tools.perception.track import cast_shadow, shadow_like


def test_a_capsule_keeps_round_ends_and_its_bounding_box() -> None:
    size = np.array([0.06, 0.06, 0.09])
    pts = scaled_points("capsule", size)
    assert np.allclose(pts.max(axis=0) - pts.min(axis=0), size, atol=1e-3)
    assert np.allclose(solid_mesh("capsule", size).extents, size, atol=1e-3)
    # straight sides, then hemispheres of the capsule's radius (a squashed sphere narrows at once)
    band = pts[(pts[:, 2] > 0.012) & (pts[:, 2] < 0.02)]
    assert np.hypot(band[:, 0], band[:, 1]).max() > 0.0295


def test_a_bottle_may_be_a_capsule_and_the_silhouette_decides() -> None:
    assert name_kinds("orange bottle") == ("cylinder", "capsule")
    assert name_kinds("red cup") == ("cylinder",)
    cam = camera()
    truth = Solid("capsule", np.array([0.06, 0.06, 0.075]), np.array([0.0, 0.05, 0.0375]))
    kind, _ = choose_kind("orange bottle", cam, draw(truth, cam), None)
    assert kind == "capsule"
    fitted, iou = fit_on_table(kind, cam, draw(truth, cam))
    assert iou > 0.95 and np.allclose(fitted.size, truth.size, rtol=0.12)


def test_an_object_picked_straight_up_is_tracked_in_the_air() -> None:
    cam = camera()
    start = Solid("box", np.array([0.04, 0.04, 0.04]), np.array([0.0, 0.05, 0.02]))
    heights = [0.02] * 6 + [0.02 + 0.015 * k for k in range(1, 10)] + [0.155] * 4
    masks, hands = [], []
    for z in heights:  # once it leaves the table, a hand hides its upper half (and is known as a possible occluder)
        full = draw(Solid("box", start.size, np.array([0.0, 0.05, z])), cam)
        rows = np.flatnonzero(full.any(axis=1))
        hand = np.zeros_like(full)
        if z > 0.02:
            hand[: (rows[0] + rows[-1]) // 2] = True
        masks.append(full & ~hand)
        hands.append(cv2.dilate(hand.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~(full & ~hand))
    masks = np.stack(masks)
    poses = track_poses(start, 0, masks, np.ones(len(masks), bool), cam, lambda t: hands[t], fps=15.0)
    assert np.linalg.norm(poses[-1].position - [0.0, 0.05, 0.155]) < 0.01, poses[-1].position
    assert np.linalg.norm(poses[3].position - start.position) < 0.005  # resting frames stay on the table


def test_a_remote_slid_under_a_hand_stays_on_the_table() -> None:
    # "Sliding [remote] to [mouse]": the hand over the remote's near half leaves a mask one view also reads as the
    # remote lifted towards the camera (slide_to seeds 8, 15: ended 21 and 9 cm off, in the air); the caption says
    # nothing leaves the table, so it is tracked on the table, further along the same rays
    cam = camera()
    size = np.array([0.045, 0.14, 0.018])
    masks, hands = [], []
    for i, y in enumerate([0.0] * 4 + [0.012 * k for k in range(1, 12)] + [0.132] * 3):
        on_table = np.array([0.0, y, 0.009])
        ray = on_table - cam.t
        seen_as = on_table if i < 4 else cam.t + ray * (0.045 - cam.t[2]) / ray[2]
        full = draw(Solid("box", size, seen_as), cam)
        rows = np.flatnonzero(full.any(axis=1))
        hand = np.zeros_like(full)
        if i >= 4:
            hand[(rows[0] + rows[-1]) // 2 :] = True
        masks.append(full & ~hand)
        hands.append(cv2.dilate(hand.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~(full & ~hand))
    start = Solid("box", size, np.array([0.0, 0.0, 0.009]))
    seen = np.ones(len(masks), bool)
    read_alone = track_poses(start, 0, np.stack(masks), seen, cam, lambda t: hands[t], fps=15.0)
    assert read_alone[-1].position[2] > 0.04  # the premise: the masks alone say it was lifted
    poses = track_poses(start, 0, np.stack(masks), seen, cam, lambda t: hands[t], fps=15.0, slid=True)
    assert all(abs(p.position[2] - 0.009) < 0.003 for p in poses), [p.position for p in poses]
    assert np.linalg.norm(poses[-1].position - [0.0, 0.132, 0.009]) < 0.015, poses[-1].position


def test_a_remote_pushed_while_the_hand_hides_it_moves_with_its_carried_mask() -> None:
    # "Sliding [remote] to [mouse]" (slide_to seed 4): the hand covers the remote as it pushes it, so the tracker
    # loses its colour and carries its mask along with the image's motion; the pose stayed where the remote was last
    # seen, 16 cm short. The thing the hand pushes moves with its carried mask, on the table.
    cam = camera()
    size = np.array([0.045, 0.14, 0.018])
    ys = [0.0] * 4 + [0.012 * k for k in range(1, 12)] + [0.132] * 3
    masks = np.stack([draw(Solid("box", size, np.array([0.0, y, 0.009])), cam) for y in ys])
    seen = np.array([True] * 4 + [False] * (len(ys) - 4))  # hidden from the first push to the end
    hand = np.zeros_like(masks[0])
    start = Solid("box", size, np.array([0.0, 0.0, 0.009]))
    hidden = track_poses(start, 0, masks, seen, cam, lambda t: hand, fps=15.0, slid=True)
    assert np.linalg.norm(hidden[-1].position - start.position) < 0.005  # the premise: a hidden thing stays put
    poses = track_poses(start, 0, masks, seen, cam, lambda t: hand, fps=15.0, slid=True, pushed=True)
    assert np.linalg.norm(poses[-1].position - [0.0, 0.132, 0.009]) < 0.01, poses[-1].position
    assert all(abs(p.position[2] - 0.009) < 0.003 for p in poses)
    assert poses[-1].method == "carried under the hand" and poses[-1].confidence < 0.5


def test_a_ball_being_covered_stays_where_it_is_when_its_mask_follows_the_cover() -> None:
    # "Covering [yellow ball] with [orange cup]" (cover seed 6): as the cup comes down over the ball, the ball's mask
    # takes the cup's lower rim, of a like colour, and the ball was read as lifted with it, 6.5 cm off at the end;
    # the caption says the hand moves the cover, so the ball keeps the key frame's pose
    cam = camera()
    ball = Solid("sphere", np.full(3, 0.03), np.array([0.0, 0.05, 0.015]))
    masks, covers = [], []
    for z in [0.3] * 3 + [0.2, 0.12, 0.08, 0.06, 0.045, 0.04, 0.035]:
        cup = draw(Solid("cylinder", np.array([0.08, 0.08, 0.07]), np.array([0.01, 0.06, z])), cam)
        rim = cup & ~cv2.erode(cup.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
        masks.append((draw(ball, cam) & ~cup) | (rim if z < 0.1 else False))
        covers.append(cup & ~masks[-1])
    seen = np.ones(len(masks), bool)
    read_alone = track_poses(ball, 0, np.stack(masks), seen, cam, lambda t: covers[t], fps=15.0)
    assert np.linalg.norm(read_alone[-1].position - ball.position) > 0.03  # the premise: the masks alone move it
    poses = track_poses(ball, 0, np.stack(masks), seen, cam, lambda t: covers[t], fps=15.0, still=True)
    assert all(np.allclose(p.position, ball.position) for p in poses)
    assert poses[0].confidence == 1.0 and all(p.confidence < 1.0 for p in poses[1:])


def test_a_bottle_tipped_over_ends_on_its_side() -> None:
    cam = camera()
    size = np.array([0.04, 0.04, 0.12])
    upright = Solid("cylinder", size, np.array([0.0, 0.05, 0.06]))
    lying = Solid("cylinder", size, np.array([0.0, 0.11, 0.02]), Rotation.from_euler("x", 90, degrees=True).as_matrix())
    masks = np.stack([draw(upright, cam)] * 5 + [draw(lying, cam)] * 4)
    poses = track_poses(upright, 0, masks, np.ones(len(masks), bool), cam, lambda t: None, fps=15.0)
    assert np.linalg.norm(poses[-1].position - lying.position) < 0.02, poses[-1].position
    assert abs(poses[-1].rotation[2, 2]) < 0.3  # its axis lies flat


def test_a_capsule_rolling_up_in_the_last_frame_ends_on_the_table_not_in_the_air() -> None:
    # pushed along on its side, a capsule rolls one end up in the clip's last frame; its measured size is a little
    # small, as measured sizes are, so a pose floating nearer the camera fits the new outline better than the
    # lying one: but nothing picked it up, and it ends resting, rolled
    cam = camera()
    size = np.array([0.06, 0.06, 0.072])

    def on_side(x: float, raised_degrees: float) -> Solid:
        rot = Rotation.from_euler("y", 90 - raised_degrees, degrees=True).as_matrix()
        lowest = np.min((scaled_points("capsule", size) @ rot.T)[:, 2])
        return Solid("capsule", size, np.array([x, 0.05, -lowest]), rot)

    frames = [on_side(0.06 - 0.012 * k, 0.0) for k in range(8)] + [on_side(-0.04, 65.0)]
    masks = np.stack([draw(s, cam) for s in frames])
    start = Solid("capsule", 0.97 * size, frames[0].position.copy(), frames[0].rotation)
    poses = track_poses(start, 0, masks, np.ones(len(masks), bool), cam, lambda t: None, fps=15.0)
    assert np.linalg.norm(poses[-1].position - frames[-1].position) < 0.01, poses[-1].position
    assert poses[-1].method.startswith("silhouette on the table"), poses[-1].method


def test_a_highlight_notch_is_filled_but_a_gap_showing_the_table_is_not() -> None:
    table_rgb = np.array([240, 230, 190], np.uint8)
    image = np.full((60, 60, 3), table_rgb, np.uint8)
    cv2.circle(image, (30, 30), 15, (230, 120, 30), -1)  # an orange disc
    image[15:24, 26:35] = (250, 220, 120)  # its shiny top, not 'orange'
    mask = (np.abs(image.astype(int) - (230, 120, 30)).sum(axis=-1) < 30) & ~np.zeros((60, 60), bool)
    table = (image == table_rgb).all(axis=-1)
    notch = fill_notches(mask, lab(image), table, np.zeros_like(mask))
    assert notch[18:24, 28:33].all()
    assert not notch[table].any()


def test_a_lit_top_that_clipped_joins_the_key_frame_mask_and_a_detached_one_does_not() -> None:
    # an orange bottle seen from above: its lit top clips to yellow-orange (red pinned at 255) above the side the
    # colour word found; a clipped orange blob elsewhere, the cream table and a neighbour's pixels stay out
    image = np.full((80, 80, 3), (240, 230, 190), np.uint8)
    image[30:60, 20:40] = (190, 100, 25)  # the side, in shade
    image[40:60, 20:40] = (150, 80, 20)
    image[20:30, 20:40] = (255, 185, 45)  # the top, clipped
    image[5:12, 60:70] = (255, 185, 45)  # something else lit the same way, apart from it
    image[20:30, 40:50] = (255, 185, 45)  # the top's continuation under a neighbour
    others = np.zeros((80, 80), bool)
    others[:, 40:] = True
    mask = np.zeros((80, 80), bool)
    mask[30:60, 20:40] = True
    lit = lit_highlights(mask, image, others)
    assert lit[20:30, 20:40].all()
    assert lit.sum() == 200, lit.sum()  # the top only: not the blob, the table or the neighbour's pixels


def test_an_object_the_fingers_touch_is_a_candidate_apart_from_the_hand() -> None:
    # the garlic picked up from beside the fingers: one region with the arm, which grounding drops as the hand
    image = np.full((120, 160, 3), (250, 245, 200), np.uint8)  # a cream table filling the view
    cv2.ellipse(image, (75, 85), (22, 12), 0, 0, 360, (140, 130, 100), -1)  # the arm's cast shadow
    image[0:70, 70:95] = (150, 105, 80)  # the arm, skin-coloured, from the image's top edge
    image[70:80, 74:84] = (220, 170, 135)  # a fingertip
    cv2.circle(image, (101, 76), 7, (236, 234, 228), -1)  # a white garlic against the finger
    garlic = np.zeros(image.shape[:2], np.uint8)
    cv2.circle(garlic, (101, 76), 7, 1, -1)
    found = [c for c in candidates_rgb(image) if (c.mask & garlic.astype(bool)).sum() > 0.5 * garlic.sum()]
    assert len(found) == 1
    assert (found[0].mask & garlic.astype(bool)).sum() / (found[0].mask | garlic.astype(bool)).sum() > 0.6
    assert not (found[0].mask[0:70, 70:95]).any()  # none of the arm


def test_an_arm_reaching_over_a_bowl_is_not_part_of_the_bowls_candidate() -> None:
    # synthetic throw_into 14, 17, 19: in the first frame the arm hangs over the bowl; bowl and arm made one region,
    # too little of it skin-coloured to be dropped as the hand, and the bowl came out up to 3 times too large
    image = np.full((120, 160, 3), (250, 245, 200), np.uint8)  # a cream table filling the view
    bowl = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(bowl, (60, 60), (30, 18), 0, 0, 360, 1, -1)
    image[bowl.astype(bool)] = (40, 70, 200)  # a blue bowl
    image[0:66, 70:84] = (150, 105, 80)  # the arm, skin-coloured, from the image's top edge over the bowl's side
    bowl[0:66, 70:84] = 0
    found = [c for c in candidates_rgb(image) if (c.mask & bowl.astype(bool)).sum() > 0.5 * bowl.sum()]
    assert len(found) == 1
    assert (found[0].mask & bowl.astype(bool)).sum() / (found[0].mask | bowl.astype(bool)).sum() > 0.85
    assert found[0].mask[0:40, 70:84].sum() < 10  # none of the arm above the bowl


def test_a_black_ball_is_grounded_on_the_table_not_in_the_black_backdrop_beyond_it() -> None:
    # synthetic cover/uncover 22-23: the view reaches past the table's far edge into a black backdrop; the backdrop,
    # 150 times the ball's area, won the colour word over the ball (a factor 0.02 for lying off the table was not
    # enough), and the ball came out a metre off and 38 times too large
    image = np.full((H, W, 3), (250, 240, 200), np.uint8)
    image[:50] = (4, 4, 6)  # the backdrop, along the image's top edge
    ball = np.zeros((H, W), np.uint8)
    cv2.circle(ball, (110, 150), 6, 1, -1)
    image[ball.astype(bool)] = (20, 20, 22)
    found, why = ground_objects(
        image,
        [NamedObject("black_ball", "black ball")],
        camera(),
        candidates_rgb(image),
        search=np.ones((H, W), bool),
        table=table_region(lab(image))[1],
    )
    mask = found["black_ball"].mask
    assert (mask & ball.astype(bool)).sum() / (mask | ball.astype(bool)).sum() > 0.7, (why, found["black_ball"].box)


def test_colour_words_a_few_degrees_of_hue_apart_name_one_colour() -> None:
    # synthetic slide_to 51 and 55: a pink mouse's lit body renders at Lab hue -24°, nearer magenta's word (-23°)
    # than pink's (-8°); "pink" kept only its shaded rim, a crescent grounded as the mouse (IoU 0.07, 0.28). Likewise
    # a teal thing's lit side (-156°) fell to cyan (-152°) from teal (-164°). Purple (-43°) stays apart.
    pixels = lab(np.array([[[253, 165, 229], [253, 183, 234], [23, 135, 141], [170, 97, 208]]], np.uint8))
    assert word_region("pink", pixels)[0].tolist() == [True, True, False, False]
    assert word_region("magenta", pixels)[0].tolist() == [True, True, False, False]
    assert word_region("teal", pixels)[0].tolist() == [False, False, True, False]
    assert word_region("purple", pixels)[0].tolist() == [False, False, False, True]


def test_shadows_are_the_tables_colour_darker_and_dark_objects_are_not() -> None:
    table = lab(np.array([[[253, 238, 191]]], np.uint8))[0, 0]
    pixels = lab(np.array([[[112, 98, 82], [40, 40, 42], [230, 120, 30], [250, 236, 190]]], np.uint8))[0]
    assert shadow_like(pixels, table).tolist() == [True, False, False, False]


def test_a_cast_shadow_keeps_a_tinted_tables_tint_and_any_shadow_on_a_grey_table_counts() -> None:
    # on a cream table a beige object in shade (garlic under a hand) is greyer than the hand's cast shadow
    cream = lab(np.array([[[254, 245, 197]]], np.uint8))[0, 0]
    pixels = lab(np.array([[[120, 106, 84], [141, 133, 116]]], np.uint8))[0]
    assert shadow_like(pixels, cream).tolist() == [True, True]
    assert cast_shadow(pixels, cream).tolist() == [True, False]
    # a barely tinted grey table has no tint for its shadows to keep
    grey = lab(np.array([[[200, 198, 190]]], np.uint8))[0, 0]
    neutral = lab(np.array([[[90, 90, 90]]], np.uint8))[0]
    assert cast_shadow(neutral, grey).tolist() == shadow_like(neutral, grey).tolist() == [True]


def test_a_mouse_gets_a_mouse_height_from_one_view() -> None:
    # an ellipsoid's silhouette leaves its height open; the name's height ratio settles it, the mask decides the rest
    cam = camera()
    yaw = Rotation.from_euler("z", 1.4).as_matrix()  # seen end-on the fit alone makes it 28 % too tall
    truth = Solid("ellipsoid", np.array([0.1, 0.062, 0.036]), np.array([0.02, 0.1, 0.018]), yaw)
    fitted, iou = fit_on_table("ellipsoid", cam, draw(truth, cam), height_ratio=height_ratio("black mouse"))
    assert height_ratio("black mouse") is not None and height_ratio("black stone") is None
    assert iou > 0.9
    assert np.allclose(np.sort(fitted.size[:2]), np.sort(truth.size[:2]), rtol=0.15), fitted.size
    assert abs(fitted.size[2] / truth.size[2] - 1) < 0.2, fitted.size


def test_a_mouse_whose_mask_took_in_its_contact_shadow_is_not_made_taller() -> None:
    # a low object's mask often takes in a pixel or two of its contact shadow (video chroma bleeds the object's
    # colour into it); end-on, the fit alone makes the mouse half as tall again, the name's height ratio holds it
    cam = camera()
    yaw = Rotation.from_euler("z", 1.4).as_matrix()
    truth = Solid("ellipsoid", np.array([0.1, 0.06, 0.032]), np.array([0.02, 0.1, 0.016]), yaw)
    mask = draw(truth, cam)
    mask[1:] |= mask[:-1].copy()
    mask[1:] |= mask[:-1].copy()  # two rows of shadow below it
    fitted, _ = fit_on_table("ellipsoid", cam, mask, height_ratio=height_ratio("pink mouse"))
    assert abs(fitted.size[2] / truth.size[2] - 1) < 0.3, fitted.size


def test_a_box_height_the_silhouette_leaves_open_is_read_from_its_faces_shading() -> None:
    # seen squarely, a flat box and a taller, shallower one cast the same outline; the lit top face tells them apart
    cam = camera()
    yaw = Rotation.from_euler("z", 0.05).as_matrix()
    truth = Solid("box", np.array([0.1, 0.04, 0.02]), np.array([0.0, 0.08, 0.01]), yaw)
    mask = draw(truth, cam)
    silhouette_only, _ = fit_on_table("box", cam, mask)
    assert abs(silhouette_only.size[2] / truth.size[2] - 1) > 0.25, silhouette_only.size

    shaded = paint_box(truth, cam, top=(90, 200, 90), sides=(40, 130, 40))
    fit = build_mesh_fit("green block", mask[None], np.array([True]), cam, lambda t: None, image=lambda t: shaded)
    assert abs(fit.solid.size[2] / truth.size[2] - 1) < 0.2, fit.solid.size
    assert np.allclose(fit.solid.size[:2], truth.size[:2], rtol=0.15), fit.solid.size
    assert fit.height_reason.startswith("face shading"), fit.height_reason

    # a textured box: its faces explain nothing, and the silhouette fit stands
    textured = np.random.default_rng(1).integers(0, 255, shaded.shape).astype(np.uint8)
    textured[~mask] = shaded[~mask]
    fit = build_mesh_fit("green block", mask[None], np.array([True]), cam, lambda t: None, image=lambda t: textured)
    assert np.allclose(fit.solid.size, silhouette_only.size, rtol=0.02), fit.solid.size
    assert fit.height_reason.startswith("silhouette fit"), fit.height_reason


def test_a_box_height_its_first_frame_leaves_open_is_read_at_the_last_frame() -> None:
    # a hand's shadow lies across the box at the start: its faces explain nothing there; pushed into the light,
    # the last frame's faces settle the height, and the last frame becomes the key frame
    cam = camera()
    yaw = Rotation.from_euler("z", 0.05).as_matrix()
    start = Solid("box", np.array([0.1, 0.04, 0.02]), np.array([0.03, 0.08, 0.01]), yaw)
    end = Solid("box", start.size, np.array([-0.05, 0.08, 0.01]), yaw)
    masks = np.stack([draw(start, cam), draw(end, cam)])
    shaded = paint_box(start, cam, top=(90, 200, 90), sides=(40, 130, 40))
    in_shadow = np.random.default_rng(1).integers(0, 255, shaded.shape).astype(np.uint8)
    in_shadow[~masks[0]] = shaded[~masks[0]]
    frames = [in_shadow, paint_box(end, cam, top=(90, 200, 90), sides=(40, 130, 40))]
    fit = build_mesh_fit("green block", masks, np.array([True, True]), cam, lambda t: None, image=frames.__getitem__)
    assert fit.keyframe == 1, fit.keyframe_reason
    assert abs(fit.solid.size[2] / start.size[2] - 1) < 0.2, fit.solid.size
    assert fit.height_reason.startswith("face shading"), fit.height_reason


def test_a_box_height_neither_end_settles_is_read_where_the_box_still_stands_in_the_light() -> None:
    # synthetic push_with 48 and 60: a hand's shadow lay across the blue ruler at the start and at the end (the hand
    # holds it there); a few frames in, before the hand took it, the shadow had moved off and its faces settle its
    # height (R² 0.92): 2.3 cm, not the silhouette's flat 1.2 cm (52 % off)
    cam = camera()
    yaw = Rotation.from_euler("z", 0.05).as_matrix()
    start = Solid("box", np.array([0.1, 0.04, 0.02]), np.array([0.03, 0.08, 0.01]), yaw)
    end = Solid("box", start.size, np.array([-0.05, 0.08, 0.01]), yaw)
    masks = np.stack([draw(start, cam), draw(start, cam), draw(start, cam), draw(end, cam)])
    lit = paint_box(start, cam, top=(90, 200, 90), sides=(40, 130, 40))
    frames = []
    for t, mask in enumerate(masks):
        in_shadow = np.random.default_rng(t).integers(0, 255, lit.shape).astype(np.uint8)
        in_shadow[~mask] = lit[~mask]
        frames.append(lit if t == 2 else in_shadow)
    fit = build_mesh_fit("green block", masks, np.ones(4, bool), cam, lambda t: None, image=frames.__getitem__)
    assert fit.keyframe == 2, fit.keyframe_reason
    assert abs(fit.solid.size[2] / start.size[2] - 1) < 0.2, fit.solid.size
    assert fit.height_reason.startswith("face shading"), fit.height_reason


def test_a_long_thin_thing_whose_name_sets_its_cross_section_is_fitted_along_its_length() -> None:
    # synthetic insert 53: the pull towards a fork's proportions (height 0.6 of its width) kept the box fit from a
    # square footprint from thinning; it settled across the fork at IoU 0.26 (14 x 10 x 6 cm for 11 x 2.4 x 1.4),
    # and a cone took its place. It now also starts from a thin footprint along the mask's long axis.
    q = [-0.3199, 0.9398, 0.1180, -0.0231]  # that clip's camera (w, x, y, z)
    eye = np.array([0.1409, -0.3675, 0.5904])
    cam = PinholeCamera(304.18, 304.18, W / 2, H / 2, W, H, Rotation.from_quat([*q[1:], q[0]]).as_matrix(), eye)
    fork = Solid("box", np.array([0.107, 0.024, 0.014]), np.array([0.1527, -0.0356, 0.007]), np.eye(3))
    fit, iou = fit_on_table("box", cam, draw(fork, cam), height_ratio=height_ratio("black fork"))
    assert iou > 0.9, (iou, fit.size)
    assert np.allclose(fit.size, fork.size, rtol=0.15), fit.size


def _corner_camera() -> PinholeCamera:
    """The camera of synthetic throw_into 6: high and turned, its bowl near the image's top-left corner."""
    eye = np.array([0.164, -0.238, 0.475])
    return PinholeCamera(338.0, 338.0, W / 2, H / 2, W, H, look_at(eye, np.array([0.037, 0.077, 0.0])), eye)


def test_a_wide_bowl_near_the_images_corner_is_fitted_flat_not_as_a_tall_cylinder() -> None:
    # synthetic throw_into 6: seen steeply from above near the corner, the bowl's footprint fills its mask; started
    # from the mask's height the fit settled on a cylinder three times too tall, 1.5 cm too far (IoU 0.68)
    cam = _corner_camera()
    for place in ([-0.193, 0.122], [-0.2, 0.16]):
        bowl = Solid("cylinder", np.array([0.153, 0.153, 0.05]), np.array([*place, 0.025]))
        fitted, iou = fit_on_table("cylinder", cam, draw(bowl, cam))
        assert iou > 0.95, (place, iou, fitted.size)
        assert np.allclose(fitted.size, bowl.size, rtol=0.1), (place, fitted.size)


def test_a_still_bowl_the_hand_half_hides_at_both_ends_is_sized_where_it_shows_whole() -> None:
    # synthetic throw_into 6, 11 and 27: the arm covers half the bowl in the first and last frames; fitted to the
    # first frame's half the bowl came out half its size (and floated to match its whole outline later)
    cam = _corner_camera()
    bowl = Solid("cylinder", np.array([0.153, 0.153, 0.05]), np.array([-0.17, 0.1, 0.025]))
    whole = draw(bowl, cam)
    hand = np.zeros_like(whole)
    columns = np.flatnonzero(whole.any(axis=0))
    hand[:, : columns[len(columns) // 2]] = True  # the left half of the bowl behind the arm
    masks = np.stack([whole & ~hand, whole, whole, whole & ~hand])
    ignore = [hand, None, None, hand]
    fit = build_mesh_fit("bowl", masks, np.ones(4, bool), cam, ignore.__getitem__)
    assert fit.keyframe == 1, fit.keyframe_reason
    assert np.allclose(fit.solid.size, bowl.size, rtol=0.1), fit.solid.size

    # grown where nothing hid it at the start (onto a neighbour of its colour): not a fuller view of it
    fit = build_mesh_fit("bowl", masks, np.ones(4, bool), cam, lambda t: None)
    assert fit.keyframe == 0, fit.keyframe_reason


def test_a_cup_half_hidden_at_the_start_and_lifted_at_the_end_is_sized_where_it_stood_whole() -> None:
    # synthetic uncover 55: the arm hides most of the pink cup in the first frame, it shows whole for a few frames,
    # then the hand lifts it towards the camera, where it shows largest of all. The fuller view was looked for
    # only at about its largest (lifted, no longer where it stood), so the first frame's sliver was fitted: 54 %
    # too small, and 31 cm off once lifted
    cam = camera()
    cup = Solid("cylinder", np.array([0.078, 0.078, 0.071]), np.array([0.08, 0.09, 0.0355]))
    lifted = cup.moved(cam.t + 0.6 * (cup.position + np.array([0.0, 0.0, 0.15]) - cam.t))
    whole = draw(cup, cam)
    hand = np.zeros_like(whole)
    columns = np.flatnonzero(whole.any(axis=0))
    hand[:, columns[len(columns) // 3] :] = True  # two thirds of the cup behind the arm
    masks = np.stack([whole & ~hand, whole, whole, draw(lifted, cam)])
    assert masks[3].sum() > 1.5 * whole.sum()  # the premise: lifted near the camera, it shows larger
    ignore = [hand, None, None, None]
    fit = build_mesh_fit("cup", masks, np.ones(4, bool), cam, ignore.__getitem__)
    assert fit.keyframe == 1, fit.keyframe_reason
    assert np.allclose(fit.solid.size, cup.size, rtol=0.1), fit.solid.size


def test_a_pose_floating_near_the_camera_lands_where_its_ray_meets_the_table() -> None:
    # one view cannot tell a fork held near the camera from the same fork lying further away (in a container):
    # the landing reading starts on the camera ray through the floating pose and must find the resting one
    cam = camera()
    size = np.array([0.1, 0.02, 0.014])
    truth = Solid("box", size, np.array([-0.08, 0.085, 0.007]), Rotation.from_euler("z", 0.4).as_matrix())
    floating = Solid("box", size, cam.t + 0.75 * (truth.position - cam.t), truth.rotation)
    landed, iou = _landing(floating, cam, draw(truth, cam), None)
    assert iou > 0.9
    assert np.linalg.norm(landed.position - truth.position) < 0.01, landed.position
    # a remote propped on a mouse: one end up, landing tilts it a little rather than standing it on end
    propped = Solid("box", np.array([0.13, 0.045, 0.018]), np.array([0.02, 0.05, 0.02]))
    propped.rotation = Rotation.from_euler("y", 12, degrees=True).as_matrix()
    floating = Solid("box", propped.size, cam.t + 0.8 * (propped.position - cam.t), np.eye(3))
    landed, iou = _landing(floating, cam, draw(propped, cam), None)
    assert iou > 0.85
    assert np.degrees(np.arccos(landed.rotation[2, 2])) < 30
    assert np.linalg.norm(landed.position - propped.position) < 0.02, landed.position


def test_a_fork_read_lying_on_the_table_inside_an_open_container_is_raised_onto_its_floor() -> None:
    # fitted resting on the table, a fork inside a container reached through its floor (in the simulator the two
    # were pushed apart): it rises along the camera's ray, where the image still shows it, onto the floor
    cam = camera()
    container = Solid("box", np.array([0.16, 0.1, 0.05]), np.array([-0.1, 0.05, 0.025]))
    fork = Solid("box", np.array([0.1, 0.02, 0.014]), np.zeros(3))
    holder = [TrackedPose(container.position, np.eye(3), 1.0, "silhouette")] * 3
    track = [
        TrackedPose(np.array([0.2, -0.1, 0.007]), np.eye(3), 1.0, "silhouette on the table"),  # not there yet
        TrackedPose(np.array([-0.09, 0.06, 0.007]), np.eye(3), 1.0, "silhouette on the table"),
        TrackedPose(np.array([-0.09, 0.06, 0.007]), np.eye(3), 1.0, "silhouette on the table"),
    ]
    before = cam.project(track[-1].position[None])[0]
    assert on_floor(track, fork, holder, container, cam) == 2
    wall = wall_thickness(container.size)
    assert np.isclose(track[-1].position[2], wall + 0.007)  # resting on the floor
    assert np.allclose(cam.project(track[-1].position[None])[0], before, atol=1e-6)  # where the image shows it
    assert track[0].position[2] == 0.007  # outside the container: on the table
    assert "floor" in track[-1].method
    # inside the walls, not merely inside the outline: a fork against the wall is pulled in by the wall's thickness
    track[-1] = TrackedPose(np.array([-0.1 + 0.08 - 0.05, 0.05, 0.013]), np.eye(3), 1.0, "silhouette")
    assert within_footprint(track, fork, holder, container) >= 1
    assert np.isclose(track[-1].position[0], -0.1 + 0.08 - wall - 0.05)


def test_a_tipped_box_gets_the_depth_it_shows_lying_and_a_standing_one_keeps_its_size() -> None:
    # seen from the front, a box 7.5 cm deep a little further back outlines nearly as a 4 cm-deep one; lying on its
    # side at the clip's end, that depth stands up as its height, and both ends together fix it
    eye = np.array([0.0, -0.5, 0.3])
    f = W / 2 / np.tan(np.radians(30))
    cam = PinholeCamera(f, f, W / 2, H / 2, W, H, look_at(eye, np.array([0.0, 0.05, 0.0])), eye)
    size = np.array([0.036, 0.04, 0.15])
    first = draw(solid_from("box", np.array([0.02, 0.0, 0.1, *np.log(size)])), cam)
    deep_start = Solid("box", np.array([0.036, 0.075, 0.145]), np.array([0.02, 0.02, 0.0725]), np.eye(3))
    deep, iou = track_solid(deep_start, cam, first, None, on_table=True)
    assert iou > 0.9  # the premise: the silhouette nearly accepts the deep box
    found = joint_box_size(deep, iou, cam, first, None, draw(on_side(size, 0.03, 0.09, 0.1, 0), cam), None)
    assert found is not None
    assert np.allclose(np.sort(found[0].size), np.sort(size), rtol=0.15), found[0].size
    assert joint_box_size(deep, iou, cam, first, None, first, None) is None  # it did not fall: no new size


def test_a_few_pixels_cannot_overrule_the_name_but_a_large_clear_outline_can() -> None:
    # a square mask says "box" plainly (box IoU 0.98 against the sphere's 0.84); but 10 pixels across, half a pixel
    # of error along its outline moves the IoU by more than that, so "ball" stays a sphere
    cam = camera()
    for diameter, kind in ((0.0254, "sphere"), (0.1, "box")):
        ball = Solid("sphere", np.full(3, diameter), np.array([0.0, 0.25, diameter / 2]))
        ys, xs = np.nonzero(draw(ball, cam))
        square = np.zeros((H, W), bool)
        square[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
        box, sphere = (fit_on_table(k, cam, square, None)[1] for k in ("box", "sphere"))
        assert box > sphere + 0.1, (box, sphere)  # the premise: the silhouette prefers a box
        assert choose_kind("black ball", cam, square, None)[0] == kind, (diameter, outline_noise(square))


def test_a_block_covered_by_a_cup_stays_under_it_rather_than_jumping_to_its_colour_on_the_rim() -> None:
    # once the cup is over the block, what the block's colour model still finds is a strip of the cup's lit rim;
    # the block's last pose lies behind the cup, so it is covered there, not lost and found again on the rim
    cam = camera()
    block = Solid("box", np.full(3, 0.026), np.array([0.0, 0.05, 0.013]))
    cup = draw(Solid("cylinder", np.array([0.076, 0.076, 0.066]), np.array([0.0, 0.05, 0.033])), cam)
    ys, xs = np.nonzero(cup)
    rim = np.zeros((H, W), bool)
    rim[int(np.percentile(ys, 30)) : int(np.percentile(ys, 70)), xs.max() - 3 : xs.max() + 1] = True
    masks = np.stack([draw(block, cam)] * 5 + [rim] * 3)
    poses = track_poses(block, 0, masks, np.ones(8, bool), cam, lambda t: cup & ~masks[t] if t >= 5 else None)
    assert np.linalg.norm(poses[-1].position - block.position) < 0.005, poses[-1].position
    assert [p.method for p in poses[5:]] == ["covered"] * 3


def test_a_cup_carried_sideways_in_a_hand_keeps_its_distance_from_the_camera(monkeypatch) -> None:
    # lifted and carried sideways with the hand over its top, the cup's mask loses its rim: it looks a little
    # smaller, as if further away; a move along the camera's ray must pay for itself, so the cup keeps its depth
    import video2policy.tools.perception.pose as pose

    cam = camera()

    def cup(x: float, z: float) -> Solid:
        return Solid("cylinder", np.array([0.076, 0.076, 0.066]), np.array([x, 0.05, z]))

    truth = [cup(0.0, 0.033)] * 4 + [cup(0.0, 0.033 + 0.03 * k) for k in range(1, 5)]
    truth += [cup(-0.02 * k, 0.153) for k in range(1, 5)]
    masks, hands = [], []
    for solid in truth:
        mask = draw(solid, cam)
        ys, xs = np.nonzero(mask)
        hand = np.zeros_like(mask)
        if solid.position[2] > 0.04:
            hand[: ys.min() + int(0.4 * (ys.max() - ys.min())), xs.min() - 10 : xs.max() + 10] = True
        mask = cv2.erode((mask & ~hand).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        masks.append(mask)
        hands.append(hand & ~mask)
    seen = np.ones(len(masks), bool)

    def carried_errors() -> list[float]:
        poses = pose.track_poses(truth[0], 0, np.stack(masks), seen, cam, lambda t: hands[t], fps=15.0)
        return [float(np.linalg.norm(p.position - s.position)) for p, s in zip(poses[-4:], truth[-4:], strict=True)]

    kept = carried_errors()
    monkeypatch.setattr(pose, "ALONG_RAY", 0.0)
    drifted = carried_errors()
    assert min(drifted) > 0.03, drifted  # the premise: without the cost it drifts away from the camera
    assert max(kept) < 0.025, kept
    assert all(d - k > 0.01 for d, k in zip(drifted, kept, strict=True)), (drifted, kept)


def test_only_objects_that_a_fall_lowers_are_tried_lying_on_a_side() -> None:
    # things fall over into lower poses: a bottle or a tall box may lie down, but a flat remote pushed along does
    # not stand up on its edge, nor does a cube gain anything by turning over
    from video2policy.tools.perception.pose import _lying

    at = np.array([0.0, 0.05, 0.0])
    bottle = Solid("cylinder", np.array([0.05, 0.05, 0.12]), np.array([0.0, 0.05, 0.06]))
    tall_box = Solid("box", np.array([0.036, 0.04, 0.15]), np.array([0.0, 0.05, 0.075]))
    remote = Solid("box", np.array([0.045, 0.13, 0.018]), np.array([0.0, 0.05, 0.009]))
    cube = Solid("box", np.full(3, 0.026), np.array([0.0, 0.05, 0.013]))
    assert len(_lying(bottle, at)) == 2 and len(_lying(tall_box, at)) == 2
    assert _lying(remote, at) == [] and _lying(cube, at) == []


def test_a_red_block_on_a_bright_cream_table_does_not_grow_over_the_table() -> None:
    # the block's lighter, pinkish shade brightens towards white along its path, and so does a bright cream table:
    # its "highlight" would be the whole table; the table is never an object's highlight
    image = np.full((60, 80, 3), (253, 254, 206), np.uint8)
    image[20:40, 30:50] = (188, 58, 46)
    image[20:27, 30:50] = (250, 150, 140)  # the lit top
    block = np.zeros((60, 80), bool)
    block[20:40, 30:50] = True
    table = ~block
    nothing = np.zeros_like(block)
    assert lit_highlights(block, image, nothing).sum() > 1000  # the premise
    assert not lit_highlights(block, image, nothing, table).any()


def test_an_open_bin_cut_in_two_by_its_lit_rim_is_one_object() -> None:
    # a pink bin seen from above the front: its back wall and its front wall read 'pink', the lit rim between them
    # is too bright for the colour word; the part the grounding left out joins, a thin lit fringe and the table do not
    image = np.full((80, 100, 3), (254, 252, 203), np.uint8)  # a bright cream table
    image[20:35, 20:80] = (211, 110, 156)  # the inside of the back wall
    image[35:36, 20:80] = (238, 149, 207)  # the rim, lit: pinkish, not 'pink'
    image[36:56, 20:80] = (212, 111, 157)  # the front wall
    image[56:58, 30:70] = (212, 111, 157)  # a thin fringe of its colour below it (bled into its shadow)
    image[40:44, 81:85] = (212, 111, 157)  # and a speck beside it
    front = np.zeros((80, 100), bool)
    front[36:56, 20:80] = True
    table = (image == (254, 252, 203)).all(axis=-1)
    nothing = np.zeros_like(front)
    joined = joined_parts(front, "pink", lab(image), nothing, table)
    assert joined[21:34, 21:79].all()
    assert not joined[56:].any() and not joined[:, 80:].any() and not joined[table].any()
    others = np.zeros_like(front)
    others[20:34] = True  # another named object's pixels are never taken
    assert not joined_parts(front, "pink", lab(image), others, table).any()


def test_a_stone_seen_obliquely_gets_its_size_not_a_longer_rounder_one(monkeypatch) -> None:
    # an irregular stone resting on a flat face (the synthetic clips' rock) has a boxier outline than an ellipse: a
    # plain ellipsoid grows along the line of sight or upwards to cover it; the fit's roundness and its pull towards
    # a resting stone's proportions keep its axes near the truth (a mesh fails at 30 % off)
    import video2policy.tools.perception.shapes as shapes
    from video2policy.plugins.meshes import make_mesh

    cam = camera()
    size = np.array([0.046, 0.041, 0.04])

    def worst_axis_errors() -> list[float]:
        errors = []
        for seed in range(8):
            rock, _ = make_mesh("rock", tuple(size), np.random.default_rng(seed))
            turn = Rotation.from_euler("z", 0.45 * seed).as_matrix()
            mask = draw_points(rock.vertices @ turn.T + np.array([0.01, 0.06, 0.02]), cam)
            fitted, iou = fit_on_table("ellipsoid", cam, mask, height_ratio=height_ratio("grey stone"))
            assert iou > 0.85
            horizontal = np.abs(np.sort(fitted.size[:2]) / np.sort(size[:2]) - 1).max()
            errors.append(max(horizontal, abs(fitted.size[2] / size[2] - 1)))
        return errors

    fitted = worst_axis_errors()
    monkeypatch.setattr(shapes, "ROUND_PRIOR_WEIGHT", 0.0)
    monkeypatch.setattr(shapes, "MIN_ROUNDNESS", 0.9999)  # a plain ellipsoid
    plain = worst_axis_errors()
    assert np.median(plain) > 0.3, plain  # the premise
    assert np.median(fitted) < 0.25 and sum(e > 0.3 for e in fitted) <= 1, fitted


def test_a_mug_is_fitted_with_its_handle_not_as_a_wider_flatter_cylinder() -> None:
    # the synthetic clips' mug (a 7 cm cup with a handle reaching 2.5 cm) seen turned every 45 degrees: a plain
    # cylinder widens to cover the handle and flattens to keep its area; the mug kind, a cylinder with a typical
    # mug's handle, keeps body and height (the bench compares sorted bounding boxes, handle included)
    from video2policy.plugins.meshes import make_mesh

    cam = camera()
    size = np.array([0.095, 0.07, 0.085])
    mug, _ = make_mesh("mug", tuple(size), np.random.default_rng(0))
    assert name_kinds("purple mug") == ("mug",)

    def worst_axis_errors(kind: str) -> list[float]:
        errors = []
        for k in range(8):
            turn = Rotation.from_euler("z", k * np.pi / 4).as_matrix()
            mask = draw_points(mug.vertices @ turn.T + np.array([0.0, 0.08, 0.0]), cam)
            fitted, iou = fit_on_table(kind, cam, mask)
            assert iou > 0.85
            errors.append(float(np.abs(np.sort(fitted.size[:2]) / np.sort(size[:2]) - 1).max()))
            errors[-1] = max(errors[-1], abs(fitted.size[2] / size[2] - 1))
        return errors

    cylinder, fitted = worst_axis_errors("cylinder"), worst_axis_errors("mug")
    assert np.median(cylinder) > 0.25, cylinder  # the premise: a mesh fails at 30 % off
    assert max(fitted) < 0.15, fitted


def test_a_mugs_collision_parts_are_its_body_and_handle_bars(tmp_path) -> None:
    from video2policy.tools.perception.assets import object_parts, write_assets

    size = np.array([1.0, 0.72, 0.9])
    mesh = solid_mesh("mug", size)
    assert np.allclose(mesh.extents, size, atol=1e-6)
    parts = object_parts("mug", size, mesh)
    assert len(parts) == 4 and all(p.is_convex for p in parts)
    points = scaled_points("mug", size)
    assert np.allclose(points.max(axis=0) - points.min(axis=0), size, atol=1e-6)
    mesh_path, paths = write_assets(tmp_path, "mug", mesh, parts)
    assert (tmp_path / mesh_path).is_file() and len(paths) == 4 and all((tmp_path / p).is_file() for p in paths)


def test_long_thin_things_get_their_names_cross_section_where_the_silhouette_leaves_it_open() -> None:
    # a pen, a remote or a fork seen along its length shows its top and one side together: from the outline alone
    # the fit splits width and height at random (a fork 2.7 times too tall); the name's typical cross-section
    # (height over width) settles it
    cam = camera()
    sizes = {"pen": [0.11, 0.024, 0.024], "remote": [0.14, 0.045, 0.02], "fork": [0.11, 0.022, 0.014]}
    assert height_ratio("black pen").across and not height_ratio("black mouse").across

    def worst_axis_errors(name: str, prior) -> list[float]:
        size, errors = np.array(sizes[name]), []
        for k in range(8):
            where = np.array([0.02 * (k % 3 - 1), 0.02 * k - 0.06, size[2] / 2])
            truth = Solid("box", size, where, Rotation.from_euler("z", k * np.pi / 8).as_matrix())
            fitted, _ = fit_on_table("box", cam, draw(truth, cam), height_ratio=prior)
            got = np.r_[np.sort(fitted.size[:2]), fitted.size[2]] / np.r_[np.sort(size[:2]), size[2]]
            errors.append(float(np.abs(got - 1).max()))
        return errors

    alone = [e for name in sizes for e in worst_axis_errors(name, None)]
    assert sum(e > 0.3 for e in alone) >= 5, alone  # the premise: a mesh fails at 30 % off
    named = {name: worst_axis_errors(name, height_ratio(f"black {name}")) for name in sizes}
    assert all(max(errors) < 0.15 for errors in named.values()), named


def test_tilts_read_frame_after_frame_add_up_to_no_more_than_a_prop_holds() -> None:
    # A flat remote cannot fall onto a side, so a tilt is read only as far as a prop holds it up (`PROPPED`). That
    # bound was counted from the previous frame's pose: masks leaning a little further each frame (slide_to seed 15,
    # its end under the hand) stood it up on its edge, 88 degrees, 8 cm off. Counted from how it first lay, it is not.
    cam = camera()
    size = np.array([0.045, 0.14, 0.018])

    def resting(degrees: float) -> Solid:
        rot = Rotation.from_euler("y", degrees, degrees=True).as_matrix()
        solid = Solid("box", size, np.zeros(3), rot)
        return solid.moved(np.array([0.0, 0.0, -float(np.min((solid.local_points() @ rot.T)[:, 2]))]), rot)

    def tilt(solid: Solid) -> float:
        return float(np.degrees(np.arccos(abs(solid.rotation[2, 2]))))

    step_by_step, from_first = resting(0), resting(0)
    for degrees in (20, 40, 60, 80):
        mask = draw(resting(degrees), cam)
        step_by_step, _ = track_solid(step_by_step, cam, mask, tilt=True, on_table=True, max_tilt=PROPPED)
        from_first, _ = track_solid(
            from_first, cam, mask, tilt=True, on_table=True, max_tilt=PROPPED, tilt_from=np.eye(3)
        )
    assert tilt(step_by_step) > 60  # the premise: bounded step by step, the tilts add up
    assert tilt(from_first) < np.degrees(PROPPED) + 5, tilt(from_first)


def test_a_remote_tilted_over_a_prop_lies_flat_again_when_flat_fits_as_well() -> None:
    # A remote slid over something low (frames 3-5, tilted 8-15 degrees) and then on along the table with the hand
    # over its near half: the tilted reading fits the visible half as well as flat, so it rode along, floating 1.7
    # cm up and 5 cm short of the remote at the end. Where flat fits as well, a resting thing lies flat.
    cam = camera()
    size = np.array([0.045, 0.14, 0.018])

    def resting(degrees: float, y: float) -> Solid:
        rot = Rotation.from_euler("x", degrees, degrees=True).as_matrix()
        solid = Solid("box", size, np.zeros(3), rot)
        return solid.moved(np.array([0.0, y, -float(np.min((solid.local_points() @ rot.T)[:, 2]))]), rot)

    angles = [0] * 3 + [8, 15, 15] + [0] * 6
    masks, hands = [], []
    for t, degrees in enumerate(angles):
        full = draw(resting(degrees, 0.01 * t), cam)
        hand = np.zeros_like(full)
        if t >= 6:
            rows = np.flatnonzero(full.any(axis=1))
            hand[(rows[0] + rows[-1]) // 2 :] = True
        masks.append(full & ~hand)
        hands.append(cv2.dilate(hand.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~masks[-1])
    seen = np.ones(len(masks), bool)
    poses = track_poses(resting(0, 0.0), 0, np.stack(masks), seen, cam, lambda t: hands[t], fps=15.0, slid=True)
    assert poses[4].position[2] > 0.02  # the premise: tilted over the prop
    assert np.linalg.norm(poses[-1].position - [0.0, 0.11, 0.009]) < 0.005, poses[-1].position
    assert abs(poses[-1].rotation[2, 2]) > 0.99


def test_a_cup_held_at_the_start_is_sized_where_it_is_put_down() -> None:
    # synthetic cover 13 and 28: the hand holds the cup at the start and only a corner of it shows, bordered by the
    # hand; a slim cylinder fits it (2.7 cm wide for a 7.4 cm cup). Put down over the ball at the end, the cup
    # shows its width (the hand over it hides its middle), and a cup of that width also explains the first frame
    cam = camera()
    start = Solid("cylinder", np.array([0.074, 0.074, 0.074]), np.array([0.06, 0.06, 0.037]))
    end = Solid("cylinder", start.size, np.array([-0.06, 0.1, 0.037]))
    first, last = draw(start, cam), draw(end, cam)
    hand0 = np.zeros_like(first)
    rows, columns = np.flatnonzero(first.any(axis=1)), np.flatnonzero(first.any(axis=0))
    hand0[: rows[len(rows) // 2]] = hand0[:, : columns[len(columns) // 2]] = True  # all but its lower right quarter
    hand1 = np.zeros_like(last)
    rows, columns = np.flatnonzero(last.any(axis=1)), np.flatnonzero(last.any(axis=0))
    hand1[: rows[int(0.8 * len(rows))], columns[int(0.3 * len(columns))] : columns[int(0.7 * len(columns))]] = True
    masks = np.stack([first & ~hand0, last & ~hand1])
    fit = build_mesh_fit("pink cup", masks, np.ones(2, bool), cam, [hand0, hand1].__getitem__)
    assert fit.keyframe == 1, fit.keyframe_reason
    assert np.allclose(fit.solid.size, start.size, rtol=0.15), fit.solid.size


def test_a_cup_lifted_at_the_end_is_not_sized_there_as_if_it_rested() -> None:
    # synthetic uncover 10: the hand grasps the cup at the start, hiding its middle, and holds it up in the air at
    # the end, where nothing hides it; read resting on the table there, it came out 37 % too large. That larger
    # solid does not explain the first frame's silhouette, so the first frame stands
    cam = camera()
    start = Solid("cylinder", np.array([0.078, 0.078, 0.062]), np.array([0.0, 0.05, 0.031]))
    lifted = Solid("cylinder", start.size, np.array([0.02, 0.05, 0.185]))
    first = draw(start, cam)
    hand = np.zeros_like(first)
    rows, columns = np.flatnonzero(first.any(axis=1)), np.flatnonzero(first.any(axis=0))
    hand[: rows[int(0.8 * len(rows))], columns[int(0.3 * len(columns))] : columns[int(0.7 * len(columns))]] = True
    masks = np.stack([first & ~hand, draw(lifted, cam)])
    fit = build_mesh_fit("black cup", masks, np.ones(2, bool), cam, [hand, None].__getitem__)
    assert fit.keyframe == 0, fit.keyframe_reason
    assert np.allclose(fit.solid.size, start.size, rtol=0.1), fit.solid.size
