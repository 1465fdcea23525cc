"""Meshes and poses on `v2p synth` clips (320×240) that once came out wrong, each scored against its gt.json.

- slide_to, seed 6: the yellow remote lies along the camera's line of sight with its near end cut off by the
  image's bottom border. A box could grow out of the image at no cost, so with its name's flat cross-section the
  fit took it 58 cm long (and without it, 54 % too tall); what lies past the border now counts as possibly hidden.
- drop_in_front_of, seed 17: a purple mug, fitted as a cylinder, widened to cover its handle and flattened
  (9.5 × 9.5 × 6.6 cm for a 7.1 cm body 8.5 cm tall, 34 % off); it is now a cylinder with a handle.
- drop_in_front_of, seed 24: the arm covers three quarters of the green box in the first frame and has left it by
  the third. Its mask kept the first frame's size all clip long (growth past 1.7 times counted as merging into a
  neighbour of its colour) and the box came out 76 % off; what shows where the arm was now counts, and the box is
  fitted in the first frame that shows it whole.
- tip_over, seed 50: a teal tube tipped over towards the camera, read 12 % short: lying pointed at the camera it
  outlined much like one tilted up in the air, and was read lifted there, 8.4 cm from where it lay at the end.
- tip_over, seed 59: a teal bottle tipped away from the camera, read standing 8 cm further off for the five frames
  after it fell (a standing bottle further away outlines like a lying one); what the caption tips over does not
  slide away standing.
- uncover, seed 55: the arm hides most of a pink cup at the start; it shows whole while it stands, then is lifted
  towards the camera, where it shows largest. The first frame's sliver was fitted (54 % too small, 31 cm off at
  the end).
- drop_in_front_of, seed 48: a dropped cone lies on its slant; laid down a quarter turn, hanging on its rim, its
  pose slid 3.9 cm off to fit the outline.
- slide_to, seed 14: a blue remote lies pointed away from the camera. The silhouette with its name's proportion
  read its height 1.9 cm (true 1.86); the shading of its faces, a sliver of its near end beside its long top,
  moved that to 1.2 cm (38 % off). A name with a typical proportion now keeps the silhouette's height.
"""

from __future__ import annotations

import pytest

from video2policy.tools.perception.bench import FAIL_POSITION_CM, FAIL_SIZE, score_clip

pytestmark = pytest.mark.slow


def _scored(family: str, seed: int, name: str, tmp_path_factory) -> dict:
    from video2policy.plugins import load_behaviors
    from video2policy.plugins.synth import synthesize

    clip = tmp_path_factory.mktemp(f"{family}{seed}")
    synthesize(load_behaviors().get(family), seed, clip, masks=True)
    row = score_clip(clip, tmp_path_factory.mktemp("perceived"))
    return next(o for o in row["objects"] if o["name"] == name)


def test_a_remote_cut_off_by_the_image_border_is_not_stretched_out_of_the_image(tmp_path_factory) -> None:
    remote = _scored("slide_to", 6, "yellow_remote", tmp_path_factory)
    assert max(remote["size_error"]) < FAIL_SIZE, remote
    assert max(remote["first_cm"], remote["last_cm"]) < FAIL_POSITION_CM, remote


def test_a_mug_keeps_its_body_and_height_with_its_handle(tmp_path_factory) -> None:
    mug = _scored("drop_in_front_of", 17, "purple_mug", tmp_path_factory)
    assert max(mug["size_error"]) < 0.15, mug


def test_a_box_the_arm_half_hides_at_the_start_is_sized_where_it_shows_whole(tmp_path_factory) -> None:
    box = _scored("drop_in_front_of", 24, "green_box", tmp_path_factory)
    assert max(box["size_error"]) < 0.15, box
    assert max(box["first_cm"], box["last_cm"]) < 1.0, box


def test_a_tube_tipped_over_towards_the_camera_ends_lying_where_it_fell(tmp_path_factory) -> None:
    tube = _scored("tip_over", 50, "teal_tube", tmp_path_factory)
    assert tube["last_cm"] < 1.0, tube


def test_a_bottle_tipped_over_away_from_the_camera_lies_from_the_frame_it_falls(tmp_path_factory) -> None:
    bottle = _scored("tip_over", 59, "teal_bottle", tmp_path_factory)
    assert bottle["track_cm"] < 1.0 and bottle["last_cm"] < 1.0, bottle


def test_a_dropped_cone_ends_on_its_slant_where_it_fell(tmp_path_factory) -> None:
    cone = _scored("drop_in_front_of", 48, "yellow_cone", tmp_path_factory)
    assert cone["last_cm"] < 1.0, cone


def test_a_cup_half_hidden_at_the_start_is_sized_while_it_stands_whole_not_once_lifted(tmp_path_factory) -> None:
    cup = _scored("uncover", 55, "pink_cup", tmp_path_factory)
    # lifted at the end, it is placed where its fitted size puts it along the camera's ray: 31 cm off when the
    # sliver was fitted; 0.2 cm (5 % small) as x264 once encoded the clip, 1.9 cm (6.6 % small) as it does now
    assert max(cup["size_error"]) < 0.15 and cup["last_cm"] < FAIL_POSITION_CM, cup


def test_a_remote_keeps_the_height_its_name_and_silhouette_give_not_its_faces_shading(tmp_path_factory) -> None:
    remote = _scored("slide_to", 14, "blue_remote", tmp_path_factory)
    assert remote["size_error"][2] < 0.15, remote  # 38 % when its faces' shading settled the height
