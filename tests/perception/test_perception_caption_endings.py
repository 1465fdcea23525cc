"""Captions that say how a clip ends, and the `v2p synth` clips (320×240) that once ended wrong without them.

- "Throwing [garlic] into [bowl]": the object ends inside the other. throw_into seed 7 lost the pale garlic in the
  throw; its track ended on a speck of its colour beside the bowl, 9.4 cm off. It is now looked for in the bowl.
  throw_into seed 16's garlic lay against the bowl's near wall with a sixth of it in view, too little for the
  search, which wanted 30 % of its area; it was put at the bowl's centre, 3.2 cm off. Found, its pose sat anywhere
  its outline covered that top, 4.7 cm off, until only the near wall could hide it. throw_into seed 51's hand came
  back over the bowl at the end: the garlic is now looked for in the frames before it.
- "Inserting [purple fork] into [pink container]": insert seed 4 lost the fork over its container, hidden by the hand
  and the walls; its last pose stayed where it was last seen, 7 cm up and 6 cm off, 7.2 cm off in all. It now ends
  inside, on the floor (`pose.end_inside`).
- "Lifting [orange bottle] up": the object ends held in the air. lift_up seed 1 held the bottle still at the end,
  and a still object in the air was taken to have been put down on the table along the camera ray, 19.5 cm off.
  lift_up seed 24 hid the ball in the hand as it rose; it read as sliding away on the table, 32 cm off. A held
  object now rises straight above where it lay.
- "Covering [yellow ball] with [orange cup]": the covered object stays where it is. cover seed 6 read the ball as
  lifted with the cup whose rim its mask took, 6.5 cm off at the end.
- "Dropping [teal stone] in front of [black box]": the object is picked up before it falls. drop_in_front_of seed
  15's stone, half hidden in the hand, read as sliding away on the table while it was carried through the air, 20-26
  cm off for half the clip (8.7 cm on average, right at both ends). It now rises straight above where it lay.
- "Sliding [purple remote] to [pink mouse]": the hand moves the first object, also while it hides it. slide_to seed
  4's remote was lost under the hand as it was pushed and stayed where it was last seen, 16 cm short.
  The mouse it pushed on, hidden under the arm, stayed where it was last seen, 4.9 cm short: it is now pushed out
  of the remote (`contact.keep_apart`). push_with seed 11's stick, read half under the hand, ran on 3.8 cm into the
  can it pushed; it is now set back against it. slide_to seed 39's tanned arm read as the table's shadow, so the
  mouse half behind it was fitted to its visible part alone; skin's colour reaching in from the border now counts
  as the arm.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from video2policy.scene import SceneSpec
from video2policy.tools.perception.bench import score_clip
from video2policy.tools.perception.caption import (
    covered_with,
    dropped,
    held_up,
    on_table_throughout,
    openings,
    parse_objects,
    put_into,
    stays_put,
    uncovered,
)
from video2policy.tools.perception.hollow import wall_thickness


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("Throwing [garlic] into [bowl]", ("garlic", "bowl")),
        ("Putting [plush toy] into [bin]", ("plush_toy", "bin")),
        ("Putting [pen] in [cup]", ("pen", "cup")),
        ("Inserting [red fork] inside [black container]", ("red_fork", "black_container")),
        ("Dropping [red block] in front of [black mug]", None),
        ("Covering [ball] with [cup]", None),
        ("Pushing [cup] from left to right", None),
    ],
)
def test_the_caption_says_which_object_goes_into_which(caption: str, expected) -> None:
    assert put_into(caption, parse_objects(caption)) == expected


def test_an_object_not_among_the_named_ones_is_not_put_anywhere() -> None:
    named = parse_objects("", ["garlic", "bowl"])
    assert put_into("Throwing [garlic] into [sink]", named) is None


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("Lifting [orange bottle] up", "orange_bottle"),
        ("Lifting up [box]", "box"),
        ("Picking [pen] up", "pen"),
        ("Raising [bottle]", "bottle"),
        ("Lifting [cup] up completely, then letting it drop down", None),
        ("Putting [cup] down", None),
        ("Throwing [garlic] into [bowl]", None),
    ],
)
def test_the_caption_says_which_object_ends_held_up(caption: str, expected) -> None:
    assert held_up(caption, parse_objects(caption)) == expected


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("Dropping [teal stone] in front of [purple mug]", "teal_stone"),
        ("dropping [pen] onto [book]", "pen"),
        ("Lifting [cup] up", None),
        ("Pushing [cup] from left to right", None),
        ("Putting [cup] next to [dropped pen]", None),
    ],
)
def test_the_caption_says_which_object_is_dropped(caption: str, expected) -> None:
    assert dropped(caption, parse_objects(caption)) == expected


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("Pushing [cup] from left to right", True),
        ("Pushing [blue can] next to [pink can]", True),
        ("Pushing [stone] with [stick]", True),
        ("Sliding [teal remote] to [purple mouse]", True),
        ("Pushing [cup] off of [table]", False),
        ("Pushing [bottle] so that it falls over", False),
        ("Pushing [box] onto [book]", False),
        ("Lifting [cup] up", False),
        ("Covering [ball] with [cup]", False),
    ],
)
def test_the_caption_says_when_nothing_leaves_the_table(caption: str, expected: bool) -> None:
    assert on_table_throughout(caption) is expected


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("Covering [yellow ball] with [orange cup]", "yellow_ball"),
        ("Uncovering [teal ball]", "teal_ball"),
        ("covering [pen] with [towel]", "pen"),
        ("Putting [cup] over [ball]", None),
        ("Pushing [ball] next to [cup]", None),
        ("Lifting [cup] up", None),
    ],
)
def test_the_caption_says_which_object_stays_put_under_its_cover(caption: str, expected) -> None:
    assert stays_put(caption, parse_objects(caption)) == expected


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("Covering [yellow ball] with [orange cup]", ("yellow_ball", "orange_cup")),
        ("covering [pen] with [towel]", ("pen", "towel")),
        ("Uncovering [teal ball]", None),
        ("Covering [ball] with [ball]", None),
        ("Putting [cup] over [ball]", None),
    ],
)
def test_the_caption_says_which_object_ends_over_which(caption: str, expected) -> None:
    assert covered_with(caption, parse_objects(caption)) == expected


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("Uncovering [yellow ball]", "yellow_ball"),
        ("uncovering [pen]", "pen"),
        ("Covering [yellow ball] with [orange cup]", None),
        ("Lifting [cup] off [ball]", None),
    ],
)
def test_the_caption_says_which_object_is_hidden_at_the_start(caption: str, expected) -> None:
    assert uncovered(caption, parse_objects(caption)) == expected


@pytest.mark.parametrize(
    ("caption", "objects", "expected"),
    [
        ("Throwing [garlic] into [bowl]", None, {"bowl": "top"}),
        ("Putting [plush toy] into [bin]", None, {"bin": "top"}),
        ("Covering [ball] with [cup]", None, {"cup": "bottom"}),
        ("Uncovering [ball]", ["ball", "cup"], {"cup": "bottom"}),
        ("Uncovering [ball]", ["ball", "cup", "plate"], {}),  # which one hid it is not said
        ("Pushing [cup] from left to right", None, {}),
        ("Dropping [stone] in front of [mug]", None, {}),
    ],
)
def test_the_caption_says_which_object_is_open_and_on_which_side(caption: str, objects, expected) -> None:
    assert openings(caption, parse_objects(caption, objects)) == expected


def _perceived(family: str, seed: int, tmp_path_factory) -> tuple[dict, Path]:
    from video2policy.plugins import load_behaviors
    from video2policy.plugins.synth import synthesize

    clip = tmp_path_factory.mktemp(f"{family}{seed}")
    behavior = load_behaviors().get(family)
    synthesize(behavior, seed, clip, masks=True)
    out = tmp_path_factory.mktemp("perceived")
    return score_clip(clip, out, behavior), out


def _named(row: dict, name: str) -> dict:
    return next(o for o in row["objects"] if o["name"] == name)


def _warnings(out: Path) -> list[str]:
    return SceneSpec.load(out / "scene.json").provenance.warnings


@pytest.mark.slow
def test_garlic_thrown_into_a_bowl_ends_inside_it(tmp_path_factory) -> None:
    row, out = _perceived("throw_into", 7, tmp_path_factory)
    garlic = _named(row, "garlic")
    assert garlic["last_cm"] < 3.0, garlic
    assert garlic["segment_iou"] >= 0.5, garlic
    warnings = _warnings(out)
    assert any("garlic" in w and "inside its container" in w for w in warnings), warnings
    # in the simulator it lies on the open bowl's floor: nothing is pushed apart and the ground truth sees it inside
    assert row["replay"]["last_cm"] < 0.5 and row["replay"]["success"], row["replay"]


@pytest.mark.slow
def test_garlic_lying_behind_its_bowls_near_wall_is_found_and_placed_there(tmp_path_factory) -> None:
    row, out = _perceived("throw_into", 16, tmp_path_factory)
    garlic = _named(row, "garlic")
    assert garlic["last_cm"] < 2.0, garlic
    warnings = _warnings(out)
    assert any("garlic" in w and "found inside its container" in w for w in warnings), warnings


@pytest.mark.slow
def test_garlic_in_its_bowl_stays_there_when_the_hand_comes_back_over_it(tmp_path_factory) -> None:
    # the fingers covered most of the garlic a frame before the hand hid it in the last frame; it was looked for only
    # from the last frame back and put at the bowl's centre, 3.4 cm off
    row, out = _perceived("throw_into", 51, tmp_path_factory)
    garlic = _named(row, "garlic")
    assert garlic["last_cm"] < 2.0, garlic
    warnings = _warnings(out)
    assert any("garlic" in w and "(the hand over it)" in w for w in warnings), warnings


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "name"),
    [
        # the bottle held still at the end was taken to have been put down along the camera ray, 19.5 cm off
        pytest.param(1, "orange_bottle", id="bottle-held-still"),
        # the hand hid most of the ball as it lifted it; the partial mask climbing the image fitted the ball
        # resting on the table further from the camera better than the ball in the air, 32 cm off at the end
        pytest.param(24, "yellow_ball", id="ball-half-hidden-rises-straight-up"),
    ],
)
def test_a_thing_lifted_up_stays_in_the_air(seed: int, name: str, tmp_path_factory) -> None:
    row, out = _perceived("lift_up", seed, tmp_path_factory)
    lifted = _named(row, name)
    assert lifted["last_cm"] < 3.0, lifted
    assert SceneSpec.load(out / "scene.json").object(name).last.position[2] > 0.1  # in the air


@pytest.mark.slow
def test_a_fork_lost_over_its_container_ends_inside_it(tmp_path_factory) -> None:
    row, out = _perceived("insert", 4, tmp_path_factory)
    fork = _named(row, "purple_fork")
    assert fork["last_cm"] < 3.0, fork
    scene = SceneSpec.load(out / "scene.json")
    assert scene.object("purple_fork").last.position[2] < 0.02  # lying, not floating
    assert any("put inside" in w and "caption" in w for w in scene.provenance.warnings), scene.provenance.warnings
    # on the open container's floor, not on the table through it (6 mm lower without the floor)
    fork, box = scene.object("purple_fork"), scene.object("pink_container")
    floor = box.last.position[2] - box.size[2] / 2 + wall_thickness(box.size)
    assert abs(fork.last.position[2] - fork.size[2] / 2 - floor) < 0.002, (fork.last.position, floor)
    assert row["replay"]["last_cm"] < 0.5 and row["replay"]["success"], row["replay"]


@pytest.mark.slow
def test_a_ball_being_covered_stays_where_it_was(tmp_path_factory) -> None:
    # cover seed 6: the yellow ball's mask took the orange cup's rim as the cup came down over it, and the ball was
    # read as lifted with the cup, 6.5 cm off at the end
    row, out = _perceived("cover", 6, tmp_path_factory)
    ball = _named(row, "yellow_ball")
    assert ball["last_cm"] < 3.0, ball
    warnings = _warnings(out)
    assert any("yellow ball" in w and "covers or uncovers" in w for w in warnings), warnings
    # the cup, open at the bottom, covers the ball in the simulator too (a solid one stood on it and slid off)
    assert row["replay"]["last_cm"] < 0.5 and row["replay"]["success"], row["replay"]


@pytest.mark.slow
def test_a_dropped_thing_is_carried_through_the_air_not_slid_along_the_table(tmp_path_factory) -> None:
    row, _ = _perceived("drop_in_front_of", 15, tmp_path_factory)
    stone = _named(row, "teal_stone")
    assert stone["track_cm"] < 3.0, stone  # 8.7 cm when it read as sliding away
    assert max(stone["first_cm"], stone["last_cm"]) < 3.0, stone


@pytest.mark.slow
def test_a_remote_pushed_under_the_hand_moves_with_it_and_pushes_the_hidden_mouse_on(tmp_path_factory) -> None:
    row, out = _perceived("slide_to", 4, tmp_path_factory)
    remote = _named(row, "purple_remote")
    assert remote["last_cm"] < 3.0, remote  # 16.4 cm when it stayed where it was last seen
    mouse = _named(row, "pink_mouse")
    assert mouse["last_cm"] < 3.0, mouse  # 4.9 cm when, hidden under the arm, it stayed where it was last seen
    warnings = _warnings(out)
    assert any("pink mouse" in w and "pushed out of another object" in w for w in warnings), warnings


@pytest.mark.slow
def test_a_stick_read_on_past_the_can_it_pushes_is_set_back_against_it(tmp_path_factory) -> None:
    row, out = _perceived("push_with", 11, tmp_path_factory)
    stick = _named(row, "pink_stick")
    assert stick["last_cm"] < 3.0, stick  # 3.8 cm when its reading, half under the hand, ran on into the can
    warnings = _warnings(out)
    assert any("pink stick" in w and "pushed out of another object" in w for w in warnings), warnings


@pytest.mark.slow
def test_a_mouse_half_behind_a_tanned_arm_is_not_read_nearer_the_camera(tmp_path_factory) -> None:
    # the arm, of the cream table's hue and darker, read as the table's shadow and lingered over its far edge: none of
    # it counted as hiding things, so the mouse half behind the hand was fitted to its visible part alone, 2.9 cm
    # nearer the camera, and ended 4.3 cm off (the remote pushed up to it 4.5 cm)
    row, _ = _perceived("slide_to", 39, tmp_path_factory)
    for name in ("orange_remote", "teal_mouse"):
        thing = _named(row, name)
        assert thing["last_cm"] < 2.0, thing
