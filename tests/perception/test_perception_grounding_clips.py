"""Grounding on `v2p synth` clips (320×240) that it once got wrong, each scored against its gt.json.

- uncover, seed 8: a green block wholly under a purple cup in the first frame (none of it in gt's mask) showed a
  few green pixels past the rim in the video as x264 once encoded it. Grounded from that sliver, the block was a
  16-pixel speck (size 81 % off, first position 17 cm); it is now grounded in the last frame, where it is
  uncovered, and the user is told why. The caption says so too ("Uncovering [green block]"); worded otherwise,
  not being found at the start sends it there (a sliver would too: `test_perception_pipeline.py`).
- uncover, seeds 19 and 33: a yellow ball under an orange (teal) cup. Looked for in the first frame, "yellow"
  matched the orange cup's lit body or a speck elsewhere (IoU 0 both); the object the caption uncovers is now
  looked for in the last frame first.
- drop_in_front_of, seed 6: an orange box whose lit top renders yellow, beside a yellow can. The yellow of the top
  counted as a neighbour's face and zeroed the box; an orange speck off the table (a finger) was taken instead.
- throw_into, seeds 1 and 3: the garlic (no colour word: found among the regions that stand out from the table).
  On seed 1 its shaded side lies in the arm's shadow and was cut away with it; on seed 3 it was fitted as a capsule,
  which is never shorter than wide, so the squat bulb came out 72 % too tall (its name's primitive is a cylinder).
- cover, seed 12: a small orange ball on the table while the arm reaches in from the top of the frame; lit skin
  renders orange, and a patch of the arm (227 pixels against the ball's 199) was taken for the ball, 45 cm off.
- slide_to, seeds 51 and 55: a pink mouse whose lit body renders nearer magenta's hue than pink's; "pink" kept
  only its shaded rim, and a crescent was grounded (IoU 0.07 and 0.28). Pink and magenta now name one colour.
- uncover, seed 12: the orange ball is under the cup in the first frame; once the arm is not taken for it, it is
  grounded in the last frame, but its mesh was fitted in the first, on the mask the tracker had carried back
  under the cup (size 223 % off). The mesh is now fitted where the grounding found the object.
"""

from __future__ import annotations

import pytest

from video2policy.scene import SceneSpec
from video2policy.tools.perception.bench import score_clip

pytestmark = pytest.mark.slow


def _perceived(family: str, seed: int, tmp_path_factory, caption: str | None = None) -> tuple[dict, SceneSpec]:
    from video2policy.plugins import load_behaviors
    from video2policy.plugins.synth import synthesize

    clip = tmp_path_factory.mktemp(f"{family}{seed}")
    synthesize(load_behaviors().get(family), seed, clip, masks=True)
    if caption is not None:  # the same clip, worded otherwise
        gt = SceneSpec.load(clip / "gt.json")
        gt.caption = caption
        (clip / "gt.json").write_text(gt.model_dump_json(indent=2))
    out = tmp_path_factory.mktemp("perceived")
    return score_clip(clip, out), SceneSpec.load(out / "scene.json")


def _scored(row: dict, name: str) -> dict:
    entry = next(o for o in row["objects"] if o["name"] == name)
    assert entry["ground_iou"] >= 0.5, entry
    assert max(entry["size_error"]) < 0.3, entry
    assert max(entry["first_cm"], entry["last_cm"]) < 3.0, entry
    return entry


def test_a_block_hidden_under_a_cup_at_the_start_is_grounded_where_it_is_uncovered(tmp_path_factory) -> None:
    row, scene = _perceived("uncover", 8, tmp_path_factory)
    _scored(row, "green_block")
    notes = [w for w in scene.provenance.warnings if "green block" in w and "caption uncovers it" in w]
    assert notes, scene.provenance.warnings  # why its mesh comes from the last frame
    # a caption that does not say it is uncovered: not found in the first frame sends it to the last
    row, scene = _perceived("uncover", 8, tmp_path_factory, caption="Lifting [purple cup] off [green block]")
    _scored(row, "green_block")
    notes = [
        w for w in scene.provenance.warnings if "green block" in w and "in the first frame; found in the last" in w
    ]
    assert notes, scene.provenance.warnings


@pytest.mark.parametrize("seed", [19, 33])
def test_a_ball_the_caption_uncovers_is_grounded_where_it_shows(seed: int, tmp_path_factory) -> None:
    row, scene = _perceived("uncover", seed, tmp_path_factory)
    _scored(row, "yellow_ball")
    notes = [w for w in scene.provenance.warnings if "yellow ball" in w and "caption uncovers it" in w]
    assert notes, scene.provenance.warnings


def test_an_orange_box_whose_lit_top_renders_yellow_is_grounded_beside_a_yellow_can(tmp_path_factory) -> None:
    row, _ = _perceived("drop_in_front_of", 6, tmp_path_factory)
    _scored(row, "orange_box")
    _scored(row, "yellow_can")


@pytest.mark.parametrize("seed", [1, 3])
def test_the_thrown_garlic_is_grounded_whole_and_fitted_as_a_squat_bulb(seed: int, tmp_path_factory) -> None:
    row, _ = _perceived("throw_into", seed, tmp_path_factory)
    garlic = next(o for o in row["objects"] if o["name"] == "garlic")
    assert garlic["ground_iou"] >= 0.5, garlic
    assert max(garlic["size_error"]) < 0.3, garlic


def test_an_orange_ball_is_not_taken_from_the_arm_reaching_into_the_frame(tmp_path_factory) -> None:
    row, _ = _perceived("cover", 12, tmp_path_factory)
    _scored(row, "orange_ball")


def test_a_ball_uncovered_at_the_end_gets_its_mesh_where_it_was_found(tmp_path_factory) -> None:
    row, _ = _perceived("uncover", 12, tmp_path_factory)
    _scored(row, "orange_ball")


@pytest.mark.parametrize("seed", [51, 55])
def test_a_pink_mouse_lit_towards_magenta_is_grounded_whole(seed: int, tmp_path_factory) -> None:
    row, _ = _perceived("slide_to", seed, tmp_path_factory)
    assert _scored(row, "pink_mouse")["segment_iou"] > 0.8
